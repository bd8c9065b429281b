package dev.easel.gateway.jobs;

import jakarta.inject.Inject;
import dev.easel.gateway.kafka.KafkaClients;
import dev.easel.contracts.Json;
import dev.easel.contracts.Topics;
import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * The gateways' memory on {@code easel.job-state} (compacted, one partition): a snapshot per job at each change of its
 * lifecycle, a tombstone once it leaves memory, and now and then a checkpoint: how far into the events topic those
 * snapshots reach. A starting gateway reads the snapshots and replays the events topic only from the checkpoint, so its
 * start-up depends on the jobs it must hold, not on history. Every replica writes the same snapshots (they fold the same
 * events); replaying from an older replica's checkpoint only repeats events that folding ignores.
 */
@ApplicationScoped
public class JobStateLog {
    private static final Logger LOG = Logger.getLogger(JobStateLog.class);
    /** No job id has this form ({@link JobIds}), so this key names no job. */
    private static final String CHECKPOINT_KEY = "checkpoint";

    /** Every event before these offsets (per partition of the events topic) is in the snapshots written before it. */
    record Checkpoint(Map<Integer, Long> eventPositions, long atMillis) {
    }

    /** What a starting gateway found: the jobs to hold and where to resume the events topic. */
    public record Restored(List<JobSnapshot> jobs, Map<Integer, Long> eventPositions) {
    }

    @Inject
    KafkaClients kafka;

    @ConfigProperty(name = "easel.kafka.read", defaultValue = "true")
    boolean enabled;

    private KafkaProducer<String, String> producer;
    private final AtomicBoolean writeFailed = new AtomicBoolean();
    private Map<Integer, Long> checkpointed = Map.of();

    @PostConstruct
    void init() {
        if (!enabled) {
            return;
        }
        Properties props = kafka.properties("easel-gateway-job-state");
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        // Read only by a starting gateway, and a checkpoint flushes what it covers first: snapshots gather for a quarter
        // second, so the broker takes one request per batch of jobs rather than one or two per job.
        props.put(ProducerConfig.LINGER_MS_CONFIG, "250");
        props.put(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(256 * 1024));
        producer = new KafkaProducer<>(props, new StringSerializer(), new StringSerializer());
    }

    @PreDestroy
    void close() {
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
        }
    }

    /** Keeps a job's lifecycle (null: nothing to keep yet). */
    void write(JobSnapshot snapshot) {
        if (snapshot != null) {
            send(snapshot.jobId(), Json.write(snapshot));
        }
    }

    /** The job left memory: compaction drops it. */
    void forget(String jobId) {
        send(jobId, null);
    }

    private void send(String key, String value) {
        if (producer == null) {
            return;
        }
        producer.send(new ProducerRecord<>(Topics.JOB_STATE, key, value), (metadata, e) -> {
            if (e != null && !writeFailed.getAndSet(true)) {
                LOG.warnf("could not keep job state on %s (%s); it is written again before the next checkpoint",
                        Topics.JOB_STATE, e.toString());
            }
        });
    }

    /**
     * Records that the events before {@code positions} are folded into what was written so far. Waits for those writes;
     * if one failed, writes every held job again first, and checkpoints only once that succeeded.
     */
    public void checkpoint(Map<Integer, Long> positions, Supplier<List<JobSnapshot>> held) {
        if (producer == null || positions.equals(checkpointed)) {
            return;
        }
        producer.flush();
        if (writeFailed.getAndSet(false)) {
            held.get().forEach(this::write);
            producer.flush();
            if (writeFailed.get()) {
                return;
            }
        }
        send(CHECKPOINT_KEY, Json.write(new Checkpoint(positions, System.currentTimeMillis())));
        checkpointed = Map.copyOf(positions);
    }

    /** Reads the topic to its end with {@code consumer} (which it leaves assigned to it). */
    public Restored read(Consumer<String, String> consumer) {
        TopicPartition partition = new TopicPartition(Topics.JOB_STATE, 0);
        consumer.assign(List.of(partition));
        consumer.seekToBeginning(List.of(partition));
        long end = consumer.endOffsets(List.of(partition)).get(partition);
        // The latest value per key, tombstones applied as they come: bounded by the jobs held, even before compaction.
        Map<String, String> latest = new HashMap<>();
        while (consumer.position(partition) < end) {
            for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(500))) {
                if (record.value() == null) {
                    latest.remove(record.key());
                } else {
                    latest.put(record.key(), record.value());
                }
            }
        }
        String checkpoint = latest.remove(CHECKPOINT_KEY);
        Map<Integer, Long> positions = checkpoint == null ? Map.of()
                : Json.read(checkpoint, Checkpoint.class).eventPositions();
        List<JobSnapshot> jobs = new ArrayList<>(latest.size());
        for (Map.Entry<String, String> entry : latest.entrySet()) {
            try {
                jobs.add(Json.read(entry.getValue(), JobSnapshot.class));
            } catch (IllegalArgumentException e) {
                LOG.warnf("ignoring the unreadable state of job %s: %s", entry.getKey(), e.getMessage());
            }
        }
        checkpointed = positions;
           return new Restored(jobs, positions);
    }
}
