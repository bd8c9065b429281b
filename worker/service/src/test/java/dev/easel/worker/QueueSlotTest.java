package dev.easel.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.easel.contracts.FinishedJob;
import dev.easel.contracts.JobEvent;
import dev.easel.contracts.JobMessage;
import dev.easel.contracts.JobRequest;
import dev.easel.contracts.Json;
import dev.easel.engine.model.ModelFolder;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.model.RuntimeOptions;
import dev.easel.engine.pipeline.StableDiffusionPipeline;
import dev.easel.models.ModelGenerator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockShareConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicIdPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.InvalidRecordStateException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How a {@link QueueSlot} acknowledges its lease for each outcome: RENEW before the job starts and every half lock
 * while it runs, then ACCEPT, RELEASE or REJECT as the runner settled it; nothing more once the lock is lost. Kafka's
 * {@link MockShareConsumer} stands in for the broker; the runner and the engine are real.
 */
class QueueSlotTest {
    @TempDir
    static Path folder;

    private static ModelFolder toy;
    private static Device device;
    private static final ExecutorService STORAGE = Executors.newSingleThreadExecutor();

    @BeforeAll
    static void loadModel() throws Exception {
        Path toyFolder = ModelGenerator.write(ModelGenerator.Spec.of(ModelGenerator.Kind.TOY), folder.resolve("toy"));
        toy = ModelFolder.load(toyFolder, new OrtRuntime(new RuntimeOptions("cpu", 0, 1, 0)));
        ResidentModels models = new ResidentModels(List.of(new ResidentModels.Model("toy", toyFolder, 1, false)),
                dir -> new StableDiffusionPipeline(toy), Long.MAX_VALUE);
        models.get("toy");
        device = new Device(0, models);
    }

    @AfterAll
    static void close() {
        STORAGE.shutdownNow();
        device.close();
    }

    @Test
    void aJobIsRenewedBeforeItStartsThenAcceptedOnceStored() throws Exception {
        Slot slot = new Slot(Map.of());
        // It comes with the poll right after an empty one, which says nothing of when it was acquired: a share consumer
        // goes on fetching after an empty poll, and one such record had waited 16 s in the buffer.
        int polled = slot.consumer.polls.get();
        Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> slot.consumer.polls.get() >= polled + 2);
        slot.consumer.offer(record("j-1", 2, 1));
        slot.awaitAcks(2);
        assertEquals(List.of("RENEW@0", "ACCEPT@0"), slot.stop());
        assertEquals("completed", slot.world.last().type());
    }

    @Test
    void aJobLongerThanHalfItsLockIsRenewedWhileItRuns() throws Exception {
        // 1 s lock, renewed every 500 ms; 12 steps of at least 150 ms run for about 1.8 s.
        Slot slot = new Slot(Map.of("EASEL_LOCK_MS", "1000", "EASEL_MIN_STEP_MS", "150"));
        slot.consumer.offer(record("j-long", 12, 1));
        Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> slot.consumer.acks.contains("ACCEPT@0"));
        List<String> acks = slot.stop();
        assertEquals("ACCEPT@0", acks.getLast());
        assertTrue(acks.stream().filter(a -> a.equals("RENEW@0")).count() >= 3, "renewed while running: " + acks);
    }

    @Test
    void aJobIsRenewedByTheLockTheBrokerGaveItNotTheWorkersOwnSetting() throws Exception {
        // The group's lock is whatever the worker that started last set: 1 s here, against this worker's 15 s.
        Slot slot = new Slot(Map.of("EASEL_LOCK_MS", "15000", "EASEL_MIN_STEP_MS", "150"));
        slot.consumer.lockMillis = 1000;
        slot.consumer.offer(record("j-group-lock", 12, 1));
        Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> slot.consumer.acks.contains("ACCEPT@0"));
        List<String> acks = slot.stop();
        assertTrue(acks.stream().filter(a -> a.equals("RENEW@0")).count() >= 3, "renewed every 500 ms: " + acks);
    }

    @Test
    void aJobWhoseStorageStaysDownIsReleasedThenRejectedOnItsLastDelivery() throws Exception {
        Slot slot = new Slot(Map.of("EASEL_MAX_ATTEMPTS", "2"));
        slot.world.storageDown = true;
        slot.consumer.offer(record("j-s3", 2, 1));
        slot.awaitAcks(2);
        slot.consumer.offer(record("j-s3", 2, 2));
        slot.awaitAcks(4);
        assertEquals(List.of("RENEW@0", "RELEASE@0", "RENEW@0", "REJECT@0"), slot.stop());
    }

    @Test
    void aJobWhoseLockIsLostBeforeItStartsIsNeitherRunNorSettled() throws Exception {
        Slot slot = new Slot(Map.of());
        slot.consumer.refuseRenewals = true;
        slot.consumer.offer(record("j-lost", 2, 1));
        slot.awaitAcks(1);
        assertEquals(List.of("RENEW@0"), slot.stop(), "the job may run elsewhere: this slot leaves it alone");
        assertEquals(List.of(), slot.world.events, "nothing was published for it");
        assertEquals(1, device.idle().size(), "the device went back to be taken again");
    }

    @Test
    void aJobThatMayHaveWaitedInTheBufferPastItsLockIsNotRunAgainOnceFinishedElsewhere() throws Exception {
        // 1 s lock: a record in the buffer when the slot takes the device more than 500 ms after it last fetched one may
        // have waited until its lock ran out and another worker finished the job; Kafka renews such a record without
        // an error.
        Device busy = device.idle().take();
        Slot slot = new Slot(Map.of("EASEL_LOCK_MS", "1000"));
        ConsumerRecord<String, byte[]> record = record("j-waited", 2, 1);
        slot.world.earlier = FinishedJob.of(Json.read(record.value(), JobMessage.class), null,
                new JobEvent.Completed("j-waited", 5L, List.of(), null));
        slot.consumer.offer(record);
        // The job waits in the consumer while the device is busy elsewhere, longer than half the lock.
        Awaitility.await().pollDelay(Duration.ofMillis(600)).until(() -> true);
        device.idle().add(busy);
        slot.awaitAcks(2);
        assertEquals(List.of("RENEW@0", "ACCEPT@0"), slot.stop());
        assertEquals(List.of("completed"), slot.world.lifecycle(), "its stored outcome repeated, the job not run");
    }

    @Test
    void aSlotWaitingForAJobIsWokenByADrain() throws Exception {
        Slot slot = new Slot(Map.of());
        slot.consumer.waitWholeTimeout = true;
        // Its first poll is short (it tells the worker the slot joined); the second waits for a job.
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> slot.consumer.polls.get() >= 2);
        slot.taking = false;
        slot.queueSlot.wake();
        slot.stop();
        assertEquals(1, slot.consumer.wokenInPoll.get(), "the wait ended by the wake, not by its timeout");
    }

    @Test
    void aSlotWaitingForAJobFollowsAPlacementMoveAtOnce() throws Exception {
        Slot slot = new Slot(Map.of());
        slot.consumer.waitWholeTimeout = true;
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> slot.consumer.polls.get() >= 2);
        device.place("toy", false);
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> slot.consumer.subscriptions.get() >= 2);
        assertEquals(1, slot.consumer.wokenInPoll.get(), "the wait ended by the move's wake");
        slot.stop();
    }

    @Test
    void aJobFetchedAsTheSlotIsWokenIsGivenBackBeforeAnyRenewal() throws Exception {
        // A wake that comes as the poll returns a job stays pending and would interrupt the renewal's commit; polling
        // for the renewed record before the broker answered leaves Kafka's share consumer fetching the next job into a
        // buffer no one polls (checked against a real broker; the mock does not model it).
        Slot slot = new Slot(Map.of());
        slot.consumer.asARecordIsReturned = () -> {
            slot.consumer.asARecordIsReturned = () -> { };
            slot.queueSlot.wake();
        };
        slot.consumer.offer(record("j-woken", 2, 1));
        slot.awaitAcks(1);
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> slot.consumer.commits.get() >= 1);
        // Delivered again, it runs.
        slot.consumer.offer(record("j-woken", 2, 2));
        slot.awaitAcks(3);
        assertEquals(List.of("RELEASE@0", "RENEW@0", "ACCEPT@0"), slot.stop());
        assertEquals(List.of("requeued", "started", "completed"), slot.world.lifecycle(),
                "run once, on its second delivery");
    }

    @Test
    void aJobOfAModelTheDeviceLeftIsReleasedUnrun() throws Exception {
        // Fetched under the device's previous placement, it comes out of the buffer after the move.
        Slot slot = new Slot(Map.of());
        ConsumerRecord<String, byte[]> left = record("j-left", 2, 1);
        slot.consumer.offer(new ConsumerRecord<>("easel.jobs.other", 0, 7, 0L, TimestampType.CREATE_TIME, 0, 0,
                left.key(), left.value(), new RecordHeaders(), Optional.empty(), Optional.of((short) 1)));
        slot.awaitAcks(1);
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> slot.consumer.commits.get() >= 1);
        assertEquals(List.of("RELEASE@7"), slot.stop());
        assertEquals(0, slot.consumer.pollsCarryingAcks.get(), "the release went out before the next poll's fetch,"
                + " which would acquire the job again while the group still gives the slot the old queue");
        assertEquals(List.of(), slot.world.events, "nothing was published for it");
    }

    @Test
    void aJobTheDeviceLeftOnItsLastDeliveryIsFailedNotArchivedUnheardOf() throws Exception {
        // Delivery 4 of 3 attempts: released, it would only be failed later, or archived unheard of at the limit.
        Slot slot = new Slot(Map.of("EASEL_MAX_ATTEMPTS", "3"));
        ConsumerRecord<String, byte[]> left = record("j-last", 2, 1);
        slot.consumer.offer(new ConsumerRecord<>("easel.jobs.other", 0, 7, 0L, TimestampType.CREATE_TIME, 0, 0,
                left.key(), left.value(), new RecordHeaders(), Optional.empty(), Optional.of((short) 4)));
        slot.awaitAcks(1);
        assertEquals(List.of("REJECT@7"), slot.stop());
        JobEvent.Failed failed = assertInstanceOf(JobEvent.Failed.class, slot.world.last());
        assertEquals("attempts_exhausted", failed.code());
    }

    @Test
    void anUnreadableJobIsRejectedAtOnce() throws Exception {
        Slot slot = new Slot(Map.of());
        slot.consumer.offer(new ConsumerRecord<>("easel.jobs.toy", 0, 0, 0L, TimestampType.CREATE_TIME, 0, 0,
                "j-poison", "{".getBytes(), new RecordHeaders(), Optional.empty(), Optional.of((short) 1)));
        slot.awaitAcks(2);
        assertEquals(List.of("RENEW@0", "REJECT@0"), slot.stop());
    }

    private static ConsumerRecord<String, byte[]> record(String id, int steps, int deliveryCount) {
        JobRequest request = JobRequest.builder("a green square").size(64, 64).steps(steps).scheduler("euler").seed(3L)
                .build().withDefaults().withModel("toy");
        return new ConsumerRecord<>("easel.jobs.toy", 0, 0, 0L, TimestampType.CREATE_TIME, 0, 0, id,
                Json.bytes(JobMessage.of(id, "acme", System.currentTimeMillis(), request)), new RecordHeaders(),
                Optional.empty(), Optional.of((short) deliveryCount));
    }

    /** A slot on a recording consumer for the toy model's device, running on its own thread. */
    private static final class Slot {
        final RecordingConsumer consumer = new RecordingConsumer();
        final Recorded world = new Recorded();
        final QueueSlot queueSlot;
        volatile boolean taking = true;
        private final Thread thread;

        Slot(Map<String, String> settings) {
            Map<String, String> env = new java.util.HashMap<>(Map.of("EASEL_WORKER_ID", "unit-worker",
                    "EASEL_MODEL_DIR", folder.toString(), "EASEL_RESERVE_AHEAD_MS", "0"));
            env.putAll(settings);
            WorkerConfig config = WorkerConfig.fromEnvironment(env);
            JobRunner runner = new JobRunner(config, world, world, id -> false, Tracing.fromEnvironment(Map.of(),
                    "unit"));
            queueSlot = new QueueSlot(consumer, config, QueueSetup.handOver(1000, 100), device, runner,
                    new AtomicInteger(), STORAGE, () -> taking, () -> false);
            thread = new Thread(queueSlot, "unit-slot");
            thread.start();
        }

        void awaitAcks(int count) {
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> consumer.acks.size() >= count);
        }

        /** Stops the slot and returns every acknowledgement it made, as TYPE@offset. */
        List<String> stop() throws InterruptedException {
            taking = false;
            queueSlot.wake();
            thread.join(60_000);
            synchronized (consumer.acks) {
                return List.copyOf(consumer.acks);
            }
        }
    }

    /**
     * Kafka's mock share consumer, recording acknowledgements: a renewed record comes back from the next poll (as the
     * broker returns it), unless renewals are refused, when the commit reports the lock as lost.
     */
    private static final class RecordingConsumer extends MockShareConsumer<String, byte[]> {
        final List<String> acks = Collections.synchronizedList(new ArrayList<>());
        final AtomicInteger polls = new AtomicInteger();
        /** Commits, and polls made while acknowledgements waited uncommitted (the poll's fetch carries them). */
        final AtomicInteger commits = new AtomicInteger();
        final AtomicInteger pollsCarryingAcks = new AtomicInteger();
        final AtomicInteger subscriptions = new AtomicInteger();
        /** Polls that {@link #wakeup} ended. */
        final AtomicInteger wokenInPoll = new AtomicInteger();
        /** An empty poll waits its whole timeout (as Kafka's does) unless woken; else at most 20 ms. */
        volatile boolean waitWholeTimeout;
        /** The lock duration the broker reports with a fetch, if any. */
        volatile Integer lockMillis;
        /** Runs as a poll returns a record: a wake that comes just then stays pending, as in Kafka's consumer. */
        volatile Runnable asARecordIsReturned = () -> { };
        private boolean wakeupPending;
        private int uncommitted;
        volatile boolean refuseRenewals;
        private final LinkedBlockingQueue<ConsumerRecord<String, byte[]>> queued = new LinkedBlockingQueue<>();
        private ConsumerRecord<String, byte[]> renewed;
        private boolean renewalRefused;

        void offer(ConsumerRecord<String, byte[]> record) {
            queued.add(record);
        }

        @Override
        public synchronized ConsumerRecords<String, byte[]> poll(Duration timeout) {
            polls.incrementAndGet();
            if (uncommitted > 0) {
                pollsCarryingAcks.incrementAndGet();
                uncommitted = 0;
            }
            ConsumerRecord<String, byte[]> next = renewed;
            renewed = null;
            if (next == null) {
                next = queued.poll();
            }
            if (next == null) {
                long waitMillis = waitWholeTimeout ? timeout.toMillis() : Math.min(timeout.toMillis(), 20);
                long deadline = System.nanoTime() + waitMillis * 1_000_000;
                try {
                    while (!wakeupPending && System.nanoTime() < deadline) {
                        wait(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                if (wakeupPending) {
                    wakeupPending = false;
                    wokenInPoll.incrementAndGet();
                    throw new org.apache.kafka.common.errors.WakeupException();
                }
                return ConsumerRecords.empty();
            }
            asARecordIsReturned.run();
            return new ConsumerRecords<>(Map.of(new org.apache.kafka.common.TopicPartition(next.topic(),
                    next.partition()), List.of(next)), Map.of());
        }

        @Override
        public Optional<Integer> acquisitionLockTimeoutMs() {
            return Optional.ofNullable(lockMillis);
        }

        @Override
        public synchronized void wakeup() {
            wakeupPending = true;
            notifyAll();
        }

        @Override
        public synchronized void subscribe(java.util.Collection<String> topics) {
            subscriptions.incrementAndGet();
            super.subscribe(topics);
        }

        @Override
        public synchronized void acknowledge(ConsumerRecord<String, byte[]> record, AcknowledgeType type) {
            acks.add(type.name() + "@" + record.offset());
            uncommitted++;
            if (type == AcknowledgeType.RENEW) {
                if (refuseRenewals) {
                    renewalRefused = true;
                } else {
                    renewed = record;
                }
            }
        }

        @Override
        public synchronized Map<TopicIdPartition, Optional<KafkaException>> commitSync(Duration timeout) {
            commits.incrementAndGet();
            uncommitted = 0;
            if (wakeupPending) {
                // Kafka's consumer sends the acknowledgements, then the pending wake ends the wait for their outcome.
                wakeupPending = false;
                throw new org.apache.kafka.common.errors.WakeupException();
            }
            if (renewalRefused) {
                renewalRefused = false;
                return Map.of(new TopicIdPartition(Uuid.randomUuid(), 0, "easel.jobs.toy"),
                        Optional.of(new InvalidRecordStateException("the record's lock had expired")));
            }
            return Map.of();
        }
    }
}
