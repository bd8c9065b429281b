package dev.easel.worker;

import dev.easel.contracts.Topics;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.consumer.ShareConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicIdPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * One lease at a time on the job queues of one device's models, in the workers' share group. The slot first takes its
 * device while it is idle, then acquires exactly one job (record_limit, one record per fetch), so a worker never holds
 * a job it cannot start: a job waits on the queue, where any idle device of any worker serving its model can take it.
 * While the job runs the slot renews its lock every half lock duration; once the job's images and terminal event are
 * durable it acknowledges the record. A device has two slots, so it starts its next job while the previous one is
 * still being stored; a device is offered again shortly before its job ends (EASEL_RESERVE_AHEAD_MS), so the next job
 * is leased, renewed and begun by then and starts without a gap. The slot subscribes to the queues of the models its
 * device serves, and follows it when {@link Placement} moves the device to another model.
 */
final class QueueSlot implements Runnable {
    private static final System.Logger LOG = System.getLogger(QueueSlot.class.getName());
    private static final Duration POLL = Duration.ofMillis(200);
    /** The group's lock duration this worker last warned of, so that its slots warn once. */
    private static final AtomicLong LOGGED_LOCK_MILLIS = new AtomicLong();
    /**
     * How long one poll waits for a job on a single model's queue. Every poll that starts while the consumer still
     * fetches for an earlier one (a poll that returned nothing leaves it fetching) can re-arm it just after a job came
     * in: the consumer then acquires a second job in the background, which waits in its buffer, its lock running, while
     * the other slot holds the device. So the slot polls once per job, and a placement move or a drain wakes it.
     */
    private static final Duration WAIT_FOR_JOB = Duration.ofSeconds(30);

    private final WorkerConfig config;
    /**
     * How long a slot waits after a placement move that left a model with jobs before it polls: the share group's
     * {@link QueueSetup#handOver}, within which it hands the new queues and takes the old ones. A job polled from the
     * old queue meanwhile would load the model the device just left. A move away from models without jobs polls at
     * once: there is nothing on the old queues to hand out.
     */
    private final Duration settle;
    private final JobRunner runner;
    private final Device device;
    private final java.util.concurrent.atomic.AtomicInteger generating;
    private final Executor storage;
    private final BooleanSupplier taking;
    private final BooleanSupplier releaseRequested;
    private final ShareConsumer<String, byte[]> consumer;
    private List<String> topics = List.of();
    private int subscribedVersion = -1;
    private volatile boolean polled;
    /** Guards the two flags below: the consumer is woken only while the slot polls for a job. */
    private final Object wakeLock = new Object();
    private boolean waitingForJob;
    /** The slot was woken during its current poll for a job. */
    private boolean wokenInPoll;
    /** When a poll for a job last returned records: a record fetched after cannot have been acquired before. */
    private long lastFetchedNanos = System.nanoTime();
    /** How long the broker locks a job for this slot: EASEL_LOCK_MS until a fetch says otherwise. */
    private long lockMillis;

    /**
     * A slot on {@code consumer} (a member of the workers' share group, {@link #consumer}) leasing jobs of the models
     * {@code device} serves, for it; {@code settle} is the group's {@link QueueSetup#handOver}.
     */
    QueueSlot(ShareConsumer<String, byte[]> consumer, WorkerConfig config, Duration settle, Device device,
            JobRunner runner, java.util.concurrent.atomic.AtomicInteger generating, Executor storage,
            BooleanSupplier taking, BooleanSupplier releaseRequested) {
        this.config = config;
        this.settle = settle;
        this.runner = runner;
        this.device = device;
        this.generating = generating;
        this.storage = storage;
        this.taking = taking;
        this.releaseRequested = releaseRequested;
        this.consumer = consumer;
        this.lockMillis = config.lockMillis();
        device.onMove(this::wake);
    }

    /** The share consumer of slot {@code index}: explicit acknowledgement, exactly one record per fetch. */
    static ShareConsumer<String, byte[]> consumer(WorkerConfig config, int index) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, Topics.WORKER_GROUP);
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "easel-worker-" + config.workerId() + "-" + index);
        props.put(ConsumerConfig.SHARE_ACKNOWLEDGEMENT_MODE_CONFIG, "explicit");
        props.put(ConsumerConfig.SHARE_ACQUIRE_MODE_CONFIG, "record_limit");
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "1");
        // A slot waits for a device without polling; it must not leave the group meanwhile. Liveness is the lock's job.
        String dayMillis = Integer.toString(24 * 3600 * 1000);
        props.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, dayMillis);
        // Kafka 4.4 warns when idle connections close sooner than that, a check meant for classic groups' rebalances;
        // a share consumer has none, and its heartbeat keeps its coordinator's connection busy.
        props.put(ConsumerConfig.CONNECTIONS_MAX_IDLE_MS_CONFIG, dayMillis);
        return new KafkaShareConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer());
    }

    /**
     * Ends the slot's wait for a job now (the device moved, the worker drains). A wake that comes as the poll returns a
     * job stays pending in the consumer: {@link #pollForJob} gives such a job back.
     */
    void wake() {
        synchronized (wakeLock) {
            if (waitingForJob) {
                consumer.wakeup();
                wokenInPoll = true;
            }
        }
    }

    /** True once the slot has polled the queue. */
    boolean hasPolled() {
        return polled;
    }

    @Override
    public void run() {
        try {
            while (taking.getAsBoolean()) {
                if (!followPlacement()) {
                    // The device serves no model now (none could load); placement may give it one.
                    Thread.sleep(POLL.toMillis());
                    continue;
                }
                Device free = device.idle().poll(POLL.toMillis(), TimeUnit.MILLISECONDS);
                if (free == null) {
                    continue;
                }
                Optional<Lease> job = acquire();
                if (job.isEmpty()) {
                    device.idle().add(device);
                    continue;
                }
                run(job.get());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "queue slot stopped", e);
        } finally {
            consumer.close();
        }
    }

    /**
     * Subscribes to the queues of the models the device serves when they changed (a rebalance: the share group hands
     * the slot the new queues within its hand-over), then waits {@link #settle} if the move left jobs behind; false while
     * it serves none.
     */
    private boolean followPlacement() throws InterruptedException {
        Device.Serving serving = device.serving();
        if (serving.version() != subscribedVersion) {
            boolean moved = subscribedVersion != -1;
            topics = serving.models().stream().sorted().map(Topics::jobs).toList();
            if (topics.isEmpty()) {
                consumer.unsubscribe();
            } else {
                consumer.subscribe(topics);
            }
            subscribedVersion = serving.version();
            if (moved && !topics.isEmpty() && serving.settle()) {
                Thread.sleep(settle.toMillis());
            }
        }
        return !topics.isEmpty();
    }

    /**
     * Polls for one job while the slot holds the device; empty when the worker stops taking jobs, when the device serves
     * no model, or, with several models, after one empty poll. The share group may assign each slot only some of
     * several models' queues, so such a slot hands the device on to its other slot rather than hold it for queues it is
     * not given. With one model both slots share its queue, and the slot keeps polling: handing over would leave a job
     * fetched into the idle slot's buffer waiting for the device (a share consumer goes on fetching after a poll that
     * returned nothing). For the same reason a slot follows a placement move holding the device, and polls on.
     */
    private Optional<Lease> acquire() throws InterruptedException {
        // The consumer may have fetched a job into its buffer after the slot's last one came out (see WAIT_FOR_JOB).
        // Its lock ran from then, so past half a lock the renewal cannot vouch for it (see Lease): what the buffer holds
        // is looked at first, with a poll that does not wait, and such a job has its stored outcome checked.
        boolean lookInBuffer = System.nanoTime() - lastFetchedNanos > lockNanos() / 2;
        do {
            ConsumerRecord<String, byte[]> first = null;
            boolean leftBehind = false;
            ConsumerRecords<String, byte[]> records = lookInBuffer ? pollForJob(Duration.ZERO)
                    : ConsumerRecords.empty();
            boolean mayHaveWaited = !records.isEmpty();
            lookInBuffer = false;
            if (records.isEmpty()) {
                records = pollForJob(polled && topics.size() == 1 ? WAIT_FOR_JOB : POLL);
            }
            if (!records.isEmpty()) {
                lastFetchedNanos = System.nanoTime();
                followLockDuration();
            }
            for (ConsumerRecord<String, byte[]> record : records) {
                if (!topics.contains(record.topic())) {
                    // Fetched before the device moved: its renewal could not be confirmed (the consumer no longer
                    // knows the topic), and the job would wait out its lock. Released, a device placed on its model
                    // takes it at once.
                    giveBack(record, "its model's queue is no longer this device's");
                    leftBehind = true;
                } else if (first == null) {
                    first = record;
                } else {
                    giveBack(record, "one job per device");
                }
            }
            polled = true;
            if (leftBehind) {
                // Until a heartbeat takes the old queue from this consumer, its next fetch would carry the release and
                // acquire the same job again, one more delivery each time (a job used up its attempts in a second so).
                // So the release goes out now, and the slot polls again only once the group has moved it.
                commitGiveBacks();
                if (first == null) {
                    Thread.sleep(settle.toMillis());
                }
            }
            if (first != null) {
                return Optional.of(new Lease(first, mayHaveWaited));
            }
            if (!followPlacement()) {
                return Optional.empty();
            }
        } while (topics.size() == 1 && taking.getAsBoolean());
        return Optional.empty();
    }

    /**
     * One poll for a job, which {@link #wake} ends. With one model it waits until a job comes, after the slot's first
     * poll (which says the consumer joined the group); with several, {@link #POLL}.
     */
    private ConsumerRecords<String, byte[]> pollForJob(Duration wait) {
        synchronized (wakeLock) {
            waitingForJob = true;
            wokenInPoll = false;
        }
        ConsumerRecords<String, byte[]> records;
        boolean woken;
        try {
            // A move or a drain before waitingForJob was set did not wake the consumer: it is seen here instead.
            if (device.serving().version() != subscribedVersion || !taking.getAsBoolean()) {
                return ConsumerRecords.empty();
            }
            records = consumer.poll(wait);
        } catch (WakeupException e) {
            return ConsumerRecords.empty();
        } finally {
            synchronized (wakeLock) {
                waitingForJob = false;
                woken = wokenInPoll;
            }
        }
        if (woken && !records.isEmpty()) {
            // The wake is still pending in the consumer and would interrupt the job's renewal. The slot would then poll
            // for the renewed record before the broker answered, and such a poll leaves Kafka's share consumer
            // fetching: it acquired the next job into its buffer, where the job waited out its lock while the device
            // ran this one and the other slot waited on an empty queue. The move or drain that woke the slot means the
            // job is likely not this device's to start anyway: it is given back, and the give-back's commit takes the
            // pending wake.
            records.forEach(record -> giveBack(record, "the device moved or the worker drains"));
            commitGiveBacks();
            return ConsumerRecords.empty();
        }
        return records;
    }

    /**
     * Commits the acknowledgements made; a wake that came as a poll for a job returned interrupts the wait for the
     * outcome (only a give-back's commit meets one), not the acknowledgements, which go out all the same: their outcome
     * is unknown then (empty).
     */
    private Map<TopicIdPartition, Optional<KafkaException>> commit(Duration timeout) {
        try {
            return consumer.commitSync(timeout);
        } catch (WakeupException e) {
            return Map.of();
        }
    }

    /**
     * Gives back a job this slot will not run. Past EASEL_MAX_ATTEMPTS it is settled here instead, as any delivery past
     * its attempts is: its stored result repeated, or failed as {@code attempts_exhausted}. Released, it would be
     * delivered again only to be failed, and at the share group's limit archived with no outcome, its client waiting
     * for ever.
     */
    private void giveBack(ConsumerRecord<String, byte[]> record, String why) {
        int delivery = delivery(record);
        if (delivery <= config.maxAttempts()) {
            LOG.log(System.Logger.Level.INFO, "released job " + where(record) + " unrun: " + why);
            consumer.acknowledge(record, AcknowledgeType.RELEASE);
            return;
        }
        LOG.log(System.Logger.Level.WARNING, "job " + where(record) + " not run (" + why + ") on delivery "
                + delivery + ", past its attempts: settled now rather than released");
        AcknowledgeType settled = AcknowledgeType.RELEASE;
        try {
            settled = acknowledgement(runner.begin(record, delivery, false).settlement());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "job " + where(record) + " could not be settled, released: " + e);
        }
        consumer.acknowledge(record, settled);
    }

    private void commitGiveBacks() {
        try {
            commit(Duration.ofSeconds(5)).forEach((partition, error) -> error.ifPresent(e ->
                    LOG.log(System.Logger.Level.INFO, "giving back jobs of " + partition + " failed ("
                            + e.getMessage() + "); they are delivered again once their locks expire")));
        } catch (KafkaException | IllegalStateException e) {
            LOG.log(System.Logger.Level.INFO, "giving back jobs failed (" + e + "); they are delivered again once"
                    + " their locks expire");
        }
    }

    private static AcknowledgeType acknowledgement(JobRunner.Settlement settlement) {
        return switch (settlement) {
            case ACCEPT -> AcknowledgeType.ACCEPT;
            case RELEASE -> AcknowledgeType.RELEASE;
            case REJECT -> AcknowledgeType.REJECT;
        };
    }

    private long lockNanos() {
        return TimeUnit.MILLISECONDS.toNanos(lockMillis);
    }

    /**
     * Takes the lock duration the broker gave the records just polled or renewed: the share group has one, set by
     * whichever worker started last (EASEL_LOCK_MS), so a worker whose own setting differs still renews in time.
     */
    private void followLockDuration() {
        consumer.acquisitionLockTimeoutMs().ifPresent(millis -> {
            if (millis != lockMillis) {
                if (LOGGED_LOCK_MILLIS.getAndSet(millis) != millis) {
                    LOG.log(System.Logger.Level.WARNING, "the share group locks jobs for " + millis + " ms, not "
                            + lockMillis + " ms (EASEL_LOCK_MS is " + config.lockMillis() + "; the worker that started"
                            + " last sets the group's): renewing every " + millis / 2 + " ms");
                }
                lockMillis = millis;
            }
        });
    }

    /** Runs one leased job to its settlement; the device goes back to the idle ones as soon as it is done with it. */
    private void run(Lease lease) throws InterruptedException {
        // A record can wait in the consumer's buffer, its lock running, from a fetch the consumer made in the background
        // (it goes on fetching after a poll that returned nothing) or before a subscription change; its lock may be gone
        // and the job running elsewhere. Renewing it first proves the lock is ours, for a full lock duration from now,
        // unless another attempt has settled the job since: the broker takes any acknowledgement below the share
        // partition's start offset as done, a renewal too. So a record that may have waited past its lock has the
        // job's stored outcome checked as well (JobRunner.begin).
        lease.renew();
        if (lease.lost) {
            device.idle().add(device);
            LOG.log(System.Logger.Level.INFO, "job " + where(lease.record) + " not started: its lock had expired"
                    + " before it came out of the buffer (it is delivered again)");
            return;
        }
        ConsumerRecord<String, byte[]> record = lease.record;
        int attempt = delivery(record);
        JobRunner.Begun begun;
        try {
            begun = runner.begin(record, attempt, lease.mayHaveWaited);
        } catch (RuntimeException e) {
            device.idle().add(device);
            LOG.log(System.Logger.Level.WARNING, "job " + where(record) + " not begun, released: " + e.getMessage());
            lease.settle(JobRunner.Settlement.RELEASE);
            return;
        }
        if (begun.settlement() != null) {
            device.idle().add(device);
            lease.settle(begun.settlement());
            return;
        }
        // The device is offered at least this long before its job ends, so that the next lease is done by then. The
        // fetch is timed as a broker round trip like the renewal: a poll's own time includes any wait for a job to come
        // (or for the group to hand the slot its queue after a move), which would offer the device seconds early.
        device.leased(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lease.fetchedNanos + lease.firstRenewalNanos));
        // The device goes back to the idle ones once, when its job is nearly done or else when it ends: the slot that
        // takes it then leases the next job, which waits on the device's thread for at most the rest of this one.
        AtomicBoolean handedBack = new AtomicBoolean();
        Runnable handBack = () -> {
            if (handedBack.compareAndSet(false, true)) {
                device.idle().add(device);
            }
        };
        CompletableFuture<JobRunner.Settlement> outcome = CompletableFuture
                .supplyAsync(() -> {
                    Long idleMillis = device.idleMillis();
                    device.generationStarted();
                    generating.incrementAndGet();
                    try {
                        return uninterrupted(() -> runner.generate(begun.job(), device, idleMillis, releaseRequested,
                                handBack));
                    } finally {
                        device.generationEnded();
                        generating.decrementAndGet();
                    }
                }, device.thread())
                .whenComplete((generated, error) -> handBack.run())
                .thenApplyAsync(generated -> generated.settlement() != null ? generated.settlement()
                        : uninterrupted(() -> runner.store(generated)), storage)
                .whenComplete((settlement, error) -> begun.job().span().end());
        lease.settle(lease.keepUntil(outcome));
    }

    private interface Phase<T> {
        T run() throws InterruptedException;
    }

    private static <T> T uninterrupted(Phase<T> phase) {
        try {
            return phase.run();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CompletionException(e);
        }
    }

    /** Which delivery of its record this is, as the share group counts them (1 for the first). */
    private static int delivery(ConsumerRecord<?, ?> record) {
        return record.deliveryCount().map(Short::intValue).orElse(1);
    }

    /** A job record as log lines name it: the job id (the record's key), then where the record is. */
    private static String where(ConsumerRecord<?, ?> record) {
        return record.key() + " (" + record.topic() + "/" + record.partition() + "@" + record.offset() + ")";
    }

    /**
     * The acquisition lock on one record, renewed before the job starts and then every half lock duration: acknowledge
     * RENEW and commit it synchronously (a poll while a renewal is under way fetches, and could acquire, another job);
     * the renewed record then comes back from a poll and can be renewed or settled again. A renewal the broker refuses, or a record
     * that does not come back, means the lock was lost (it expired, the broker restarted): the job may already run
     * elsewhere, so it is finished but its record is not settled here.
     */
    private final class Lease {
        private ConsumerRecord<String, byte[]> record;
        /**
         * The record was in the buffer when the slot took its device more than half a lock after its last job: it may
         * have waited there past its lock.
         */
        private final boolean mayHaveWaited;
        /** When the poll returned the record, and how long its first renewal took. */
        private final long fetchedNanos = System.nanoTime();
        private long firstRenewalNanos = -1;
        private long renewedNanos;
        private boolean lost;

        Lease(ConsumerRecord<String, byte[]> record, boolean mayHaveWaited) {
            this.record = record;
            this.mayHaveWaited = mayHaveWaited;
        }

        JobRunner.Settlement keepUntil(CompletableFuture<JobRunner.Settlement> outcome) throws InterruptedException {
            long renewEveryNanos = lockNanos() / 2;
            while (true) {
                long waitNanos = lost ? Long.MAX_VALUE : renewedNanos + renewEveryNanos - System.nanoTime();
                try {
                    return outcome.get(Math.max(0, waitNanos), TimeUnit.NANOSECONDS);
                } catch (TimeoutException e) {
                    renew();
                } catch (ExecutionException e) {
                    LOG.log(System.Logger.Level.WARNING, "job " + where(record) + " ended without a settlement,"
                            + " released: " + e.getCause());
                    return JobRunner.Settlement.RELEASE;
                }
            }
        }

        private void renew() {
            renewedNanos = System.nanoTime();
            try {
                consumer.acknowledge(record, AcknowledgeType.RENEW);
                for (Optional<KafkaException> error : commit(Duration.ofNanos(lockNanos() / 2)).values()) {
                    if (error.isPresent()) {
                        throw error.get();
                    }
                }
                long deadline = System.nanoTime() + lockNanos() / 2;
                while (System.nanoTime() < deadline) {
                    boolean returned = false;
                    for (ConsumerRecord<String, byte[]> again : consumer.poll(Duration.ofMillis(20))) {
                        if (again.topic().equals(record.topic()) && again.partition() == record.partition()
                                && again.offset() == record.offset()) {
                            record = again;
                            returned = true;
                            followLockDuration();
                        } else {
                            giveBack(again, "fetched during a renewal");
                        }
                    }
                    if (returned) {
                        if (firstRenewalNanos < 0) {
                            firstRenewalNanos = System.nanoTime() - renewedNanos;
                        }
                        return;
                    }
                }
                throw new KafkaException("the renewed record did not come back");
            } catch (KafkaException | IllegalStateException e) {
                lost = true;
                LOG.log(System.Logger.Level.WARNING, "the lock of job " + where(record) + " was lost (" + e
                        + "); another worker may run it");
            }
        }

        void settle(JobRunner.Settlement settlement) {
            if (lost) {
                return;
            }
            try {
                consumer.acknowledge(record, acknowledgement(settlement));
                Map<TopicIdPartition, Optional<KafkaException>> results = commit(Duration.ofSeconds(30));
                results.values().forEach(error -> error.ifPresent(e -> LOG.log(System.Logger.Level.WARNING,
                        "acknowledging job " + where(record) + " failed (" + e.getMessage() + "); it may be"
                                + " delivered again, and its stored result is reused then")));
            } catch (KafkaException | IllegalStateException e) {
                LOG.log(System.Logger.Level.WARNING, "acknowledging job " + where(record) + " failed: " + e);
            }
        }
    }
}
