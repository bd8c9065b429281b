package dev.easel.gateway.pool;

import jakarta.inject.Inject;
import dev.easel.gateway.kafka.KafkaClients;
import dev.easel.gateway.jobs.JobState;

import dev.easel.contracts.Topics;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListShareGroupOffsetsSpec;
import org.apache.kafka.clients.admin.SharePartitionOffsetInfo;
import org.apache.kafka.common.TopicPartition;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * The broker's own figures for each model's queue, refreshed every second: the share group's start offset (jobs
 * before it are done) and its lag (jobs not yet acknowledged, running ones included); for a served model whose queue
 * no device took yet (the group keeps no state for it: placement has not moved a device to it), every job on it. Queue length and position are
 * read from these in O(1) per request; they are estimates, up to a second old.
 */
@ApplicationScoped
public class QueueFigures {
    private static final Logger LOG = Logger.getLogger(QueueFigures.class);

    /** One queue's figures. */
    record Figures(long startOffset, long lag) {
    }

    @Inject
    KafkaClients kafka;

    @Inject
    WorkerRegistry workers;

    @ConfigProperty(name = "easel.kafka.read", defaultValue = "true")
    boolean enabled;

    private final Map<String, Figures> byModel = new ConcurrentHashMap<>();
    /** Per model, a moving mean of how long a job held its device (started to completed). */
    private final Map<String, Long> meanRunMillis = new ConcurrentHashMap<>();
    private ScheduledExecutorService timer;
    private Admin admin;

    void onStart(@Observes StartupEvent event) {
        if (!enabled) {
            return;
        }
        admin = kafka.admin();
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "easel-queue-figures");
            thread.setDaemon(true);
            return thread;
        });
        timer.scheduleWithFixedDelay(this::refresh, 0, 1, TimeUnit.SECONDS);
    }

    void onStop(@Observes ShutdownEvent event) {
        if (timer != null) {
            timer.shutdownNow();
        }
    }

    private void refresh() {
        try {
            Map<TopicPartition, SharePartitionOffsetInfo> offsets = admin.listShareGroupOffsets(
                    Map.of(Topics.WORKER_GROUP, new ListShareGroupOffsetsSpec())).partitionsToOffsetInfo(
                    Topics.WORKER_GROUP).get(5, TimeUnit.SECONDS);
            Map<String, Figures> fresh = new ConcurrentHashMap<>();
            offsets.forEach((partition, info) -> {
                if (info == null || !partition.topic().startsWith(Topics.JOBS_PREFIX)) {
                    return;
                }
                String model = partition.topic().substring(Topics.JOBS_PREFIX.length());
                Figures previous = fresh.get(model);
                long lag = info.lag().orElse(0L) + (previous == null ? 0 : previous.lag());
                fresh.put(model, new Figures(info.startOffset(), lag));
            });
            Map<TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> latest = new java.util.HashMap<>();
            Map<TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> earliest = new java.util.HashMap<>();
            for (String model : workers.servedModels()) {
                if (!fresh.containsKey(model)) {
                    latest.put(new TopicPartition(Topics.jobs(model), 0), org.apache.kafka.clients.admin.OffsetSpec
                            .latest());
                    earliest.put(new TopicPartition(Topics.jobs(model), 0), org.apache.kafka.clients.admin.OffsetSpec
                            .earliest());
                }
            }
            if (!latest.isEmpty()) {
                try {
                    var ends = admin.listOffsets(latest).all().get(5, TimeUnit.SECONDS);
                    var starts = admin.listOffsets(earliest).all().get(5, TimeUnit.SECONDS);
                    ends.forEach((partition, end) -> {
                        long start = starts.get(partition).offset();
                        fresh.put(partition.topic().substring(Topics.JOBS_PREFIX.length()),
                                new Figures(start, Math.max(0, end.offset() - start)));
                    });
                } catch (Exception e) {
                    LOG.debugf("figures of queues no device took not read: %s", e.toString());
                }
            }
            byModel.keySet().retainAll(fresh.keySet());
            byModel.putAll(fresh);
        } catch (Exception e) {
            LOG.debugf("queue figures not refreshed: %s", e.toString());
        }
    }

    /** Jobs of {@code modelId} waiting for a device: the lag less the jobs running now. */
    public long queuedJobs(String modelId, int runningJobs) {
        Figures figures = byModel.get(modelId);
        return figures == null ? 0 : Math.max(0, figures.lag() - runningJobs);
    }

    /**
     * 1 for the next job to start. Where this gateway accepted the job it knows its offset: the jobs between the start
     * offset and it, less the running ones, are ahead. Elsewhere the whole queue is the bound given.
     */
    public Integer position(JobState job, int runningJobs) {
        Figures figures = job.model() == null ? null : byModel.get(job.model());
        if (figures == null) {
            return null;
        }
        if (job.queueOffset() >= 0) {
            return (int) Math.max(1, job.queueOffset() - figures.startOffset() - runningJobs + 1);
        }
        return (int) Math.max(1, figures.lag() - runningJobs);
    }

    /** A job of {@code modelId} ran this long; the mean moves a tenth of the way towards it. */
    public void jobRan(String modelId, long runMillis) {
        if (modelId != null && runMillis >= 0) {
            meanRunMillis.merge(modelId, runMillis, (mean, latest) -> mean + (latest - mean) / 10);
        }
    }

    /**
     * An estimate of how long until the job at {@code position} of the model's queue starts: 0 if an idle device is
     * left for it, else the jobs that must start before it spread over the model's devices, each taking the model's
     * recent mean run time. Null before a job of the model completed here, or with no device.
     */
    public Long startEtaMillis(String modelId, Integer position, int devices, int busyDevices) {
        Long mean = modelId == null ? null : meanRunMillis.get(modelId);
        if (mean == null || position == null || devices <= 0) {
            return null;
        }
        int waitingFor = Math.max(0, position - (devices - busyDevices));
        return Math.round((double) waitingFor / devices * mean);
    }
}
