package dev.easel.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.contracts.JobEvent;
import dev.easel.contracts.Json;
import dev.easel.contracts.Topics;
import dev.easel.deploy.LocalStack;
import dev.easel.deploy.ServiceProcess;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * {@code easel bench state}: what history costs a gateway. On a stack of its own (under {@code .easel/bench-state}) a
 * gateway watches {@code jobs} synthetic jobs go by on the events topic (queued, started, a progress event per step,
 * completed; the last hundredth left running), then a new gateway process starts on that history: its start-up time
 * (launch to ready) and its heap after a full collection, against the same gateway's heap on an empty system.
 */
final class BenchState {
    private static final Duration START = Duration.ofSeconds(300);
    private static final Pattern HEAP_USED = Pattern.compile("used (\\d+)K");

    private final PrintStream out;
    private final PrintStream err;

    BenchState(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    ObjectNode run(int jobs, int steps) throws Exception {
        BenchStack bench = BenchStack.fresh("bench-state");
        LocalStack stack = bench.stack();
        String kafka = bench.kafka();
        String s3 = bench.s3();
        List<ServiceProcess> gateways = new ArrayList<>();
        try {
            bench.start(err);
            ServiceProcess watching = stack.gateway("bench-state-watching", LocalStack.freePort(), kafka, s3);
            gateways.add(watching);
            long emptyStartMillis = startMillis(watching);
            double emptyHeapMb = heapAfterGcMb(watching);
            err.printf("empty system: gateway ready in %d ms, heap %.1f MB%n", emptyStartMillis, emptyHeapMb);

            long produceStart = System.nanoTime();
            Map<TopicPartition, Long> ends = produce(kafka, jobs, steps);
            err.printf("produced %d jobs' events in %.1f s; waiting for the gateway to fold them%n", jobs,
                    (System.nanoTime() - produceStart) / 1e9);
            awaitCheckpoint(kafka, ends);
            watching.stop(Duration.ofSeconds(30));

            ServiceProcess starting = stack.gateway("bench-state-starting", LocalStack.freePort(), kafka, s3);
            gateways.add(starting);
            long startupMillis = startMillis(starting);
            double heapMb = heapAfterGcMb(starting);
            String log = Files.readString(starting.logFile(), StandardCharsets.UTF_8);
            ObjectNode summary = Json.MAPPER.createObjectNode();
            summary.put("benchmark", "state");
            summary.put("jobs", jobs);
            summary.put("liveJobs", liveJobs(jobs));
            summary.put("eventsPerJob", steps + 3);
            summary.put("restoredJobs", intFrom(log, "restored (\\d+) jobs"));
            summary.put("jobsInMemory", intFrom(log, "ready: (\\d+) jobs in memory"));
            summary.put("emptyStartupMillis", emptyStartMillis);
            summary.put("startupMillis", startupMillis);
            summary.put("emptyHeapMb", BenchE2e.round(emptyHeapMb));
            summary.put("heapMb", BenchE2e.round(heapMb));
            summary.put("heapGrowthMb", BenchE2e.round(heapMb - emptyHeapMb));
            out.printf("%d jobs of history: gateway ready in %d ms (empty: %d ms), heap %.1f MB (empty: %.1f MB)%n",
                    jobs, startupMillis, emptyStartMillis, heapMb, emptyHeapMb);
            return summary;
        } finally {
            for (ServiceProcess gateway : gateways) {
                gateway.stop(Duration.ofSeconds(30));
            }
            bench.stop();
        }
    }

    private static int liveJobs(int jobs) {
        return jobs / 100;
    }

    private long startMillis(ServiceProcess gateway) throws Exception {
        err.println("starting " + gateway.name());
        long start = System.nanoTime();
        gateway.start(START);
        return (System.nanoTime() - start) / 1_000_000;
    }

    /** Synthetic history, produced as workers and gateways would; returns the events topic's end offsets. */
    private static Map<TopicPartition, Long> produce(String kafka, int jobs, int steps) throws Exception {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka);
        props.put(ProducerConfig.LINGER_MS_CONFIG, "20");
        props.put(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(256 * 1024));
        props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        try (KafkaProducer<String, String> producer =
                new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
            long now = System.currentTimeMillis();
            for (int i = 0; i < jobs; i++) {
                String id = UUID.randomUUID().toString();
                List<JobEvent> events = new ArrayList<>();
                events.add(new JobEvent.Queued(id, now, i, steps, "toy", "bench"));
                events.add(new JobEvent.Started(id, now, "bench-worker", "CPUExecutionProvider", steps, 1, 3L));
                for (int step = 1; step <= steps; step++) {
                    events.add(new JobEvent.Progress(id, now, 0, step, steps, 1000.0 - step * 50, 14.6 / step,
                            step * 50L, (steps - step) * 50L, null));
                }
                if (i < jobs - liveJobs(jobs)) {
                    events.add(new JobEvent.Completed(id, now, List.of(new JobEvent.Image(0, "easel-images",
                            id + "/0.png", null, 512, 512, i)), new JobEvent.Timings(5, steps * 50L, 40, 30)));
                }
                for (JobEvent event : events) {
                    producer.send(new ProducerRecord<>(Topics.EVENTS, id, Json.write(event)));
                }
            }
            producer.flush();
        }
        try (KafkaConsumer<String, String> consumer = consumer(kafka)) {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.EVENTS, Duration.ofSeconds(10)).stream()
                    .map(p -> new TopicPartition(Topics.EVENTS, p.partition())).toList();
            return consumer.endOffsets(partitions);
        }
    }

    /** Waits until a gateway's checkpoint on the job-state topic reaches {@code ends}. */
    private void awaitCheckpoint(String kafka, Map<TopicPartition, Long> ends) throws Exception {
        TopicPartition state = new TopicPartition(Topics.JOB_STATE, 0);
        long deadline = System.nanoTime() + Duration.ofMinutes(15).toNanos();
        try (KafkaConsumer<String, String> consumer = consumer(kafka)) {
            consumer.assign(List.of(state));
            consumer.seekToBeginning(List.of(state));
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(500))) {
                    if ("checkpoint".equals(record.key()) && record.value() != null && reaches(record.value(), ends)) {
                        return;
                    }
                }
            }
        }
        throw new IOException("the gateway did not fold the events within 15 minutes");
    }

    private static boolean reaches(String checkpoint, Map<TopicPartition, Long> ends) throws IOException {
        var positions = Json.MAPPER.readTree(checkpoint).path("eventPositions");
        return ends.entrySet().stream().allMatch(end ->
                positions.path(Integer.toString(end.getKey().partition())).asLong(-1) >= end.getValue());
    }

    private static KafkaConsumer<String, String> consumer(String kafka) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        return new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer());
    }

    /** The process's used heap after a full collection, from {@code jcmd}. */
    private static double heapAfterGcMb(ServiceProcess gateway) throws Exception {
        long pid = gateway.process().orElseThrow(() -> new IOException(gateway.name() + " is not running")).pid();
        jcmd(pid, "GC.run");
        Matcher used = HEAP_USED.matcher(jcmd(pid, "GC.heap_info"));
        if (!used.find()) {
            throw new IOException("jcmd GC.heap_info of " + gateway.name() + " shows no used heap");
        }
        return Long.parseLong(used.group(1)) / 1024.0;
    }

    private static String jcmd(long pid, String command) throws Exception {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process process = new ProcessBuilder(jcmd.toString(), Long.toString(pid), command).redirectErrorStream(true)
                .start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (process.waitFor() != 0) {
            throw new IOException("jcmd " + command + " failed: " + output.strip());
        }
        return output;
    }

    private static long intFrom(String log, String regex) {
        Matcher matcher = Pattern.compile(regex).matcher(log);
        long last = -1;
        while (matcher.find()) {
            last = Long.parseLong(matcher.group(1));
        }
        return last;
    }
}
