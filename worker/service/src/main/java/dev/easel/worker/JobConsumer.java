package dev.easel.worker;

import dev.easel.contracts.Topics;
import dev.easel.engine.pipeline.StableDiffusionPipeline;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
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
 * <p>A generation may take longer than {@code max.poll.interval.ms}, so jobs never run on the polling thread: when
 * every device is busy all partitions are paused and the thread keeps polling, which keeps the member in the group
 * without fetching more. A job's offset counts as done once its terminal event is durable; per partition the thread
 * commits up to the oldest job still running, so jobs of one partition may run side by side and finish in any order.
 * The cooperative assignor moves only the partitions that must move, and a partition being revoked first has its
 * jobs finished and committed, so a rebalance does not deliver a job twice.
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
    /** Offsets taken and not yet done, per partition. */
    private final Map<TopicPartition, TreeSet<Long>> inFlight = new HashMap<>();
    /** The highest offset taken per partition. */
    private final Map<TopicPartition, Long> lastTaken = new HashMap<>();
    /** Offsets to commit; kept when a rebalance is under way and retried after the next poll. */
    private final Map<TopicPartition, OffsetAndMetadata> pendingCommits = new HashMap<>();
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

    /** True once the consumer has joined and while it is polling. */
    boolean isPolling() {
        return polling;
    }

    @Override
    public void run() {
        consumer.subscribe(List.of(Topics.JOBS), new Rebalance());
        try {
            while (running) {
                commitFinished(0);
                commitPending();
                try {
                    for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                        take(record);
                    }
                } catch (org.apache.kafka.common.errors.WakeupException e) {
                    // a job finished (or close() was called): commit it now rather than when the poll times out
                }
                polling = true;
            }
            // Shutting down: let running jobs finish and commit them, so they are not generated twice.
            while (inFlight.values().stream().anyMatch(offsets -> !offsets.isEmpty())) {
                commitFinished(1000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            if (running) {
                LOG.log(System.Logger.Level.ERROR, "the job consumer stopped", e);
            }
        } finally {
            polling = false;
            consumer.close();
        }
    }

    private void take(ConsumerRecord<String, byte[]> record) {
        TopicPartition partition = new TopicPartition(record.topic(), record.partition());
        int device = idleDevices.removeFirst();
        inFlight.computeIfAbsent(partition, p -> new TreeSet<>()).add(record.offset());
        lastTaken.put(partition, record.offset());
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
                consumer.wakeup();
                return;
            }
            done.add(new Done(partition, record.offset(), device));
            consumer.wakeup();
        });
    }

    /** Commits finished jobs (waiting up to {@code waitMillis} for one) and resumes fetching when a device is free. */
    private void commitFinished(long waitMillis) throws InterruptedException {
        Done first = waitMillis > 0 ? done.poll(waitMillis, TimeUnit.MILLISECONDS) : done.poll();
        for (Done finished = first; finished != null; finished = done.poll()) {
            idleDevices.add(finished.device());
            TopicPartition partition = finished.partition();
            TreeSet<Long> offsets = inFlight.getOrDefault(partition, new TreeSet<>());
            boolean assigned = consumer.assignment().contains(partition);
            if (finished.offset() < 0) {
                // Not acknowledged: read the partition again from the oldest unfinished job (at least once).
                long retry = offsets.isEmpty() ? lastTaken.getOrDefault(partition, 0L) : offsets.first();
                offsets.clear();
                if (assigned) {
                    consumer.seek(partition, retry);
                }
                continue;
            }
            offsets.remove(finished.offset());
            Long last = lastTaken.get(partition);
            if (last == null) {
                continue; // the partition was lost meanwhile: its new owner decides what is done
            }
            long committable = offsets.isEmpty() ? last + 1 : offsets.first();
            if (assigned) {
                pendingCommits.put(partition, new OffsetAndMetadata(committable));
            }
        }
        commitPending();
        if (first != null && !idleDevices.isEmpty()) {
            consumer.resume(consumer.assignment());
        }
    }

    /**
     * Commits what is pending for partitions still assigned. A wakeup from a finishing job is spent by the time it
     * throws, so the commit is repeated; during a rebalance the commit waits for the next poll; a commit refused because
     * this member left the group is dropped (those partitions are lost anyway).
     */
    private void commitPending() {
        pendingCommits.keySet().retainAll(consumer.assignment());
        while (!pendingCommits.isEmpty()) {
            try {
                consumer.commitSync(pendingCommits);
                pendingCommits.clear();
            } catch (org.apache.kafka.common.errors.WakeupException e) {
                if (!running) {
                    throw e;
                }
            } catch (org.apache.kafka.common.errors.RebalanceInProgressException e) {
                return;
            } catch (org.apache.kafka.clients.consumer.CommitFailedException e) {
                LOG.log(System.Logger.Level.WARNING, "offsets not committed, the group moved on: " + e.getMessage());
                pendingCommits.clear();
            }
        }
    }

    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            // Finish and commit the jobs of partitions that move, so the next owner does not run them again.
            try {
                while (partitions.stream().anyMatch(p -> !inFlight.getOrDefault(p, new TreeSet<>()).isEmpty())) {
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
            partitions.forEach(p -> {
                inFlight.remove(p);
                lastTaken.remove(p);
            });
        }
    }

    @Override
    public void close() {
        running = false;
        executors.forEach(ExecutorService::shutdown);
    }
}
