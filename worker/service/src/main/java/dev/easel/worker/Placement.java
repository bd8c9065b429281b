package dev.easel.worker;

import dev.easel.contracts.Json;
import dev.easel.contracts.Topics;
import dev.easel.contracts.WorkerStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.ListShareGroupOffsetsSpec;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.SharePartitionOffsetInfo;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Which model's queue each device of this worker takes, decided from the pool's queues. A device takes the queues of
 * the models it serves (at start: those it holds); its queue slots subscribe to them, so a worker is handed jobs only
 * for models its devices are placed on, and a job never evicts a model another job is about to need. Every half second
 * the worker reads each model's backlog from the broker (the share group's lag, one request; the whole queue of a
 * model no device ever took) and the other workers' placements from their announcements, and moves at most one device:
 * <ul>
 * <li>a model with jobs and no device in the pool (cold) goes to the device that costs least to switch: an idle one
 * before a busy one, then the one whose models lose the fewest waiting jobs (none when another device serves them),
 * then the one placed longest ago. Workers serving the model take turns at this (a rank per model and worker), so
 * one job does not make every worker load its model;</li>
 * <li>a model whose jobs outnumber its devices for {@code EASEL_PLACEMENT_WAIT_MS} gains a device whose models
 * have no job waiting for it (an idle one first);</li>
 * <li>a device placed on a model keeps it for {@code EASEL_MIN_RESIDENCY_MS} while it has jobs of it, so models
 * whose jobs take turns on one device switch at most once per that time, not on every job (an idle device whose
 * models have no job moves at once: keeping it would only make the waiting jobs wait).</li>
 * </ul>
 * Moving a device subscribes its slots to the new queues; the model is loaded by the first job for it (a
 * {@code loading} event), unloading first the models the device no longer serves.
 */
final class Placement implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Placement.class.getName());
    static final long EVERY_MILLIS = 500;

    /** One device as placement sees it. */
    record DeviceView(int index, Set<String> serving, boolean generating, long placedAtMillis, Set<String> canHold,
            Function<String, Set<String>> servingWith) {
    }

    /**
     * Device {@code device} takes {@code model}'s queue from now on; {@code leavesJobs}: a model it leaves still has
     * jobs, which its old queue may hand it until the share group takes that queue away.
     */
    record Move(int device, String model, boolean leavesJobs, String reason) {
    }

    /** What the policy reads: each model's backlog, where the pool serves it, and how long its jobs have waited. */
    record PoolState(Map<String, Long> backlog, Map<String, Integer> placedElsewhere,
            Map<String, Long> waitingSinceMillis, Map<String, Long> coldDelayMillis) {
        int placed(String model, List<DeviceView> devices) {
            return placedElsewhere.getOrDefault(model, 0)
                    + (int) devices.stream().filter(d -> d.serving().contains(model)).count();
        }
    }

    private final WorkerConfig config;
    private final List<Device> devices;
    private final java.util.function.Supplier<List<String>> models;
    private final Runnable announce;
    private final Admin admin;
    private final KafkaConsumer<String, byte[]> announcements;
    private final Map<String, WorkerStatus> pool = new HashMap<>();
    private final Map<String, Long> waitingSince = new HashMap<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "easel-placement");
        thread.setDaemon(true);
        return thread;
    });
    private Map<TopicPartition, Long> caughtUpAt;
    private long lastWarnedMillis;

    /** Whether any device of the worker does not take every model's queue (else there is nothing to place). */
    static boolean needed(List<Device> devices, List<String> models) {
        return devices.stream().anyMatch(d -> !d.serving().models().containsAll(models));
    }

    /** Placement of {@code devices} over {@code models} (the worker's, read each round: store models join later). */
    Placement(WorkerConfig config, List<Device> devices, java.util.function.Supplier<List<String>> models,
            Runnable announce) {
        this.config = config;
        this.devices = devices;
        this.models = models;
        this.announce = announce;
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        this.admin = Admin.create(props);
        Properties consumer = new Properties();
        consumer.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        consumer.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        consumer.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        this.announcements = new KafkaConsumer<>(consumer, new StringDeserializer(), new ByteArrayDeserializer());
    }

    void start() {
        timer.scheduleWithFixedDelay(this::placeOnce, 0, EVERY_MILLIS, TimeUnit.MILLISECONDS);
    }

    private void placeOnce() {
        try {
            if (!readAnnouncements()) {
                return; // the other workers' placements are not known yet
            }
            long now = System.currentTimeMillis();
            List<DeviceView> views = devices.stream().map(Placement::view).toList();
            Map<String, Integer> elsewhere = placedElsewhere(now);
            List<String> served = models.get();
            Map<String, Long> backlog = backlog(served);
            PoolState state = new PoolState(backlog, elsewhere, waitingSince, coldDelays(served, now));
            for (String model : served) {
                long jobs = backlog.getOrDefault(model, 0L);
                int placed = state.placed(model, views);
                boolean needs = placed == 0 ? jobs > 0 : jobs > placed;
                if (!needs) {
                    waitingSince.remove(model);
                } else {
                    waitingSince.putIfAbsent(model, now);
                }
            }
            decide(state, views, now, config.minResidencyMillis(), config.placementWaitMillis()).ifPresent(move -> {
                Device device = devices.get(move.device());
                Set<String> before = device.serving().models();
                device.place(move.model(), move.leavesJobs());
                LOG.log(System.Logger.Level.INFO, "device " + move.device() + " now takes " + device.serving().models()
                        + " (was " + before + "): " + move.reason());
                waitingSince.remove(move.model());
                announce.run();
            });
        } catch (Exception e) {
            // Say so once a minute at most: the broker being away is reported elsewhere, and the next round retries.
            long now = System.currentTimeMillis();
            if (now - lastWarnedMillis > 60_000) {
                lastWarnedMillis = now;
                LOG.log(System.Logger.Level.WARNING, "placement skipped a round (tried again every " + EVERY_MILLIS
                        + " ms): " + e);
            }
        }
    }

    /**
     * The move to make now, if any: the policy described on the class, on {@code state} and this worker's
     * {@code devices}. At most one move per round, so each move shows in the next round's figures.
     */
    static Optional<Move> decide(PoolState state, List<DeviceView> devices, long nowMillis, long minResidencyMillis,
            long placementWaitMillis) {
        List<String> byNeed = new ArrayList<>(state.backlog().keySet());
        byNeed.sort(Comparator.comparingLong((String m) -> state.backlog().get(m) - state.placed(m, devices))
                .reversed().thenComparing(Comparator.naturalOrder()));
        for (String model : byNeed) {
            long jobs = state.backlog().get(model);
            int placed = state.placed(model, devices);
            Long since = state.waitingSinceMillis().get(model);
            if (jobs <= 0 || since == null) {
                continue;
            }
            boolean cold = placed == 0;
            long waitedMillis = nowMillis - since;
            if (cold ? waitedMillis < state.coldDelayMillis().getOrDefault(model, 0L)
                    : jobs <= placed || waitedMillis < placementWaitMillis) {
                continue;
            }
            DeviceView best = null;
            long[] bestCost = null;
            long bestDroppedJobs = 0;
            for (DeviceView device : devices) {
                if (device.serving().contains(model) || !device.canHold().contains(model)) {
                    continue;
                }
                Set<String> dropped = new HashSet<>(device.serving());
                dropped.removeAll(device.servingWith().apply(model));
                long lost = 0;
                long droppedJobs = 0;
                boolean needed = false;
                for (String other : dropped) {
                    long otherJobs = state.backlog().getOrDefault(other, 0L);
                    int otherPlaced = state.placed(other, devices);
                    // Beyond the job its device may be running, a model's jobs have no device once its only one goes.
                    lost += otherPlaced == 1 ? Math.max(0, otherJobs - 1) : 0;
                    droppedJobs += otherJobs;
                    needed |= otherJobs > otherPlaced;
                }
                // The minimum residency keeps a device on models that have jobs; an idle device whose models have none
                // would only keep the waiting model's jobs waiting.
                boolean resident = device.placedAtMillis() > 0 && nowMillis - device.placedAtMillis() < minResidencyMillis;
                if (resident && (device.generating() || droppedJobs > 0)) {
                    continue;
                }
                if (!cold && (lost > 0 || needed)) {
                    continue; // an extra device comes only from models that do not need it
                }
                long[] cost = {device.generating() ? 1 : 0, lost, device.placedAtMillis()};
                if (best == null || java.util.Arrays.compare(cost, bestCost) < 0) {
                    best = device;
                    bestCost = cost;
                    bestDroppedJobs = droppedJobs;
                }
            }
            if (best != null) {
                return Optional.of(new Move(best.index(), model, bestDroppedJobs > 0, cold
                        ? jobs + " job(s) and no device in the pool" + (bestCost[1] > 0 ? "; " + bestCost[1]
                                + " job(s) of the models it leaves wait for another device" : "")
                        : (jobs - placed) + " job(s) beyond its " + placed + " device(s) for " + waitedMillis + " ms"));
            }
        }
        return Optional.empty();
    }

    private static DeviceView view(Device device) {
        Device.Serving serving = device.serving();
        Set<String> canHold = new HashSet<>();
        ResidentModels models = device.models();
        for (String id : models.ids()) {
            if (models.canHold(id)) {
                canHold.add(id);
            }
        }
        return new DeviceView(device.index(), serving.models(), device.isGenerating(), serving.sinceMillis(), canHold,
                model -> models.servingWith(model, serving.models()));
    }

    /**
     * Per model, the jobs not yet acknowledged (running ones included): the share group's lag, or, for a queue no
     * device ever took (the group keeps no state for it), every record on it.
     */
    private Map<String, Long> backlog(List<String> models) throws Exception {
        Map<TopicPartition, SharePartitionOffsetInfo> group = admin.listShareGroupOffsets(
                Map.of(Topics.WORKER_GROUP, new ListShareGroupOffsetsSpec())).partitionsToOffsetInfo(
                Topics.WORKER_GROUP).get(5, TimeUnit.SECONDS);
        Map<String, Long> backlog = new HashMap<>();
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
        for (String model : models) {
            TopicPartition partition = new TopicPartition(Topics.jobs(model), 0);
            SharePartitionOffsetInfo info = group.get(partition);
            if (info != null && info.lag().isPresent()) {
                backlog.put(model, Math.max(0, info.lag().get()));
            } else {
                latest.put(partition, OffsetSpec.latest());
                earliest.put(partition, OffsetSpec.earliest());
            }
        }
        if (!latest.isEmpty()) {
            // Only for the queues the group keeps no state for: two more requests, rare once every queue was taken.
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends = admin.listOffsets(latest).all()
                    .get(5, TimeUnit.SECONDS);
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> starts = admin.listOffsets(earliest).all()
                    .get(5, TimeUnit.SECONDS);
            ends.forEach((partition, end) -> {
                SharePartitionOffsetInfo info = group.get(partition);
                long start = starts.get(partition).offset();
                if (info != null) {
                    start = Math.max(start, info.startOffset());
                }
                backlog.put(partition.topic().substring(Topics.JOBS_PREFIX.length()),
                        Math.max(0, end.offset() - start));
            });
        }
        return backlog;
    }

    /** Reads new announcements; true once caught up with what was on the topic when placement started. */
    private boolean readAnnouncements() {
        if (caughtUpAt == null) {
            List<TopicPartition> partitions = announcements.partitionsFor(Topics.WORKERS).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            announcements.assign(partitions);
            announcements.seekToBeginning(partitions);
            caughtUpAt = announcements.endOffsets(partitions);
        }
        for (ConsumerRecord<String, byte[]> record : announcements.poll(Duration.ofMillis(100))) {
            if (record.key() == null || record.key().equals(config.workerId())) {
                continue;
            }
            if (record.value() == null) {
                pool.remove(record.key());
            } else {
                try {
                    pool.put(record.key(), Json.read(record.value(), WorkerStatus.class));
                } catch (IllegalArgumentException e) {
                    pool.remove(record.key());
                }
            }
        }
        return caughtUpAt.entrySet().stream().allMatch(e -> announcements.position(e.getKey()) >= e.getValue());
    }

    private List<WorkerStatus> liveOthers(long nowMillis) {
        return pool.values().stream().filter(w -> nowMillis - w.atMillis() <= 3 * w.heartbeatMillis()
                && !WorkerStatus.DRAINING.equals(w.state())).toList();
    }

    /** Per model, the devices of the other live workers that take its queue. */
    private Map<String, Integer> placedElsewhere(long nowMillis) {
        Map<String, Integer> placed = new HashMap<>();
        for (WorkerStatus worker : liveOthers(nowMillis)) {
            Map<String, Integer> theirs = worker.placedDevices();
            if (theirs == null) {
                // A worker from before placement takes every queue it serves on every device.
                worker.models().forEach(m -> placed.merge(m, worker.devices(), Integer::sum));
            } else {
                theirs.forEach((m, n) -> placed.merge(m, n, Integer::sum));
            }
        }
        return placed;
    }

    /**
     * Per model, how long this worker lets a cold model's jobs wait before placing it, so that workers serving it take
     * turns (the others see the move in the mover's announcement): its rank among them, in an order that differs per
     * model, times two rounds.
     */
    private Map<String, Long> coldDelays(List<String> models, long nowMillis) {
        Map<String, Long> delays = new HashMap<>();
        List<WorkerStatus> others = liveOthers(nowMillis);
        for (String model : models) {
            List<String> serving = new ArrayList<>();
            serving.add(config.workerId());
            others.stream().filter(w -> w.models().contains(model)).forEach(w -> serving.add(w.workerId()));
            serving.sort(Comparator.comparingInt((String id) -> (id + "/" + model).hashCode()).thenComparing(id -> id));
            delays.put(model, serving.indexOf(config.workerId()) * 2 * EVERY_MILLIS);
        }
        return delays;
    }

    @Override
    public void close() {
        timer.shutdownNow();
        try {
            timer.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        announcements.close(Duration.ofSeconds(1));
        admin.close(Duration.ofSeconds(1));
    }
}
