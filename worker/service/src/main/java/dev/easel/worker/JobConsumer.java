package dev.easel.worker;

import dev.easel.contracts.Topics;
import dev.easel.engine.pipeline.StableDiffusionPipeline;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Consumes {@code easel.jobs} in the workers' consumer group and runs at most one job per device.
 *
 * <p>A generation may take longer than {@code max.poll.interval.ms}, so jobs never run on the polling thread: a
 * taken job's partition is paused (all partitions when every device is busy) and the thread keeps polling, which keeps
 * the member in the group without fetching more. When the job's terminal event is durable the thread commits the
 * offset after it and resumes the partition. One job in flight per partition keeps commits in order; the cooperative
 * assignor moves only the partitions that must move, and a partition being revoked first has its job finished and
 * committed, so a rebalance does not deliver a job twice.
 */
final class JobConsumer implements Runnable, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(JobConsumer.class.getName());

    private record Done(TopicPartition partition, long offset, int device) {
    }

    private final KafkaConsumer<String, byte[]> consumer;
    private final JobProcessor processor;
    private final List<StableDiffusionPipeline> devices;
    private final List<ExecutorService> executors;
    private final Deque<Integer> idleDevices = new ArrayDeque<>();
    private final Map<TopicPartition, Long> inFlight = new HashMap<>();
    private final LinkedBlockingQueue<Done> done = new LinkedBlockingQueue<>();
    private volatile boolean running = true;
    private volatile boolean polling;

    JobConsumer(WorkerConfig config, JobProcessor processor, List<StableDiffusionPipeline> devices) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, config.groupId());
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "easel-worker-" + config.workerId());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "1");
        props.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, Integer.toString(config.maxPollIntervalMs()));
        props.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
        this.consumer = new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer());
        this.processor = processor;
        this.devices = devices;
        this.executors = devices.stream().map(d -> Executors.newSingleThreadExecutor(r -> {
            Thread thread = new Thread(r, "easel-device");
            thread.setDaemon(true);
            return thread;
        })).toList();
        for (int i = 0; i < devices.size(); i++) {
            idleDevices.add(i);
        }
    }

    /** True once the consumer has joined and is polling. */
    boolean isPolling() {
        return polling;
    }

    @Override
    public void run() {
        consumer.subscribe(List.of(Topics.JOBS), new Rebalance());
        try {
            while (running) {
                commitFinished(0);
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                    take(record);
                }
                polling = true;
            }
            // Shutting down: let running jobs finish and commit them, so they are not generated twice.
            while (!inFlight.isEmpty()) {
                commitFinished(1000);
            }
        } catch (org.apache.kafka.common.errors.WakeupException e) {
            // close() during poll
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            consumer.close();
        }
    }

    private void take(ConsumerRecord<String, byte[]> record) {
        TopicPartition partition = new TopicPartition(record.topic(), record.partition());
        int device = idleDevices.removeFirst();
        inFlight.put(partition, record.offset());
        consumer.pause(List.of(partition));
        if (idleDevices.isEmpty()) {
            consumer.pause(consumer.assignment());
        }
        executors.get(device).submit(() -> {
            try {
                processor.process(record, devices.get(device));
            } catch (Throwable e) {
                // The terminal event could not be made durable: leave the offset uncommitted so the job is retried.
                LOG.log(System.Logger.Level.ERROR, "job at " + partition + "@" + record.offset()
                        + " not acknowledged: " + e.getMessage(), e);
                done.add(new Done(partition, -1, device));
                return;
            }
            done.add(new Done(partition, record.offset(), device));
        });
    }

    /** Commits finished jobs (waiting up to {@code waitMillis} for one) and resumes their partitions. */
    private void commitFinished(long waitMillis) throws InterruptedException {
        Done first = waitMillis > 0 ? done.poll(waitMillis, TimeUnit.MILLISECONDS) : done.poll();
        for (Done finished = first; finished != null; finished = done.poll()) {
            inFlight.remove(finished.partition());
            idleDevices.add(finished.device());
            boolean assigned = consumer.assignment().contains(finished.partition());
            if (finished.offset() >= 0 && assigned) {
                consumer.commitSync(Map.of(finished.partition(), new OffsetAndMetadata(finished.offset() + 1)));
            } else if (finished.offset() < 0 && assigned) {
                consumer.seek(finished.partition(), inFlightRetryOffset(finished));
            }
        }
        if (first != null) {
            Set<TopicPartition> resumable = new HashSet<>(consumer.assignment());
            resumable.removeAll(inFlight.keySet());
            consumer.resume(resumable);
        }
    }

    private long inFlightRetryOffset(Done failed) {
        OffsetAndMetadata committed = consumer.committed(Set.of(failed.partition())).get(failed.partition());
        return committed == null ? 0 : committed.offset();
    }

    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            // Finish and commit the jobs of partitions that move, so the next owner does not run them again.
            try {
                while (partitions.stream().anyMatch(inFlight::containsKey)) {
                    commitFinished(500);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            if (idleDevices.isEmpty()) {
                consumer.pause(partitions);
            }
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            LOG.log(System.Logger.Level.WARNING, "partitions lost without a clean handover: " + partitions);
            partitions.forEach(inFlight::remove);
        }
    }

    @Override
    public void close() {
        running = false;
        executors.forEach(ExecutorService::shutdown);
    }
}
