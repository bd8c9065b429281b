package dev.easel.worker;

import dev.easel.contracts.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Makes the broker ready for this worker before it joins: the job queue of each model it serves (one partition: a share
 * group lets any number of workers consume it, and one partition keeps jobs in submission order), the compacted
 * announcements topic, and the share group's settings. Every worker does this at start; it is idempotent.
 */
final class QueueSetup {
    /** Kafka's defaults for a share group's heartbeat and assignment intervals, where the broker names neither. */
    private static final int DEFAULT_HEARTBEAT_MS = 5000;
    private static final int DEFAULT_ASSIGNMENT_MS = 1000;
    /** Kafka's default {@code group.share.max.delivery.count.limit}. */
    private static final int MAX_DELIVERIES = 10;

    private QueueSetup() {
    }

    /** Prepares the queues of {@code modelIds} and the group; returns the group's {@link #handOver}. */
    static Duration prepare(WorkerConfig config, Collection<String> modelIds) throws Exception {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        try (Admin admin = Admin.create(props)) {
            List<Topics.Policy> topics = new ArrayList<>();
            for (String model : modelIds) {
                topics.add(Topics.jobQueuePolicy(model));
            }
            topics.add(Topics.workersPolicy());
            for (Topics.Policy policy : topics) {
                NewTopic topic = new NewTopic(policy.name(), policy.partitions(), Optional.empty())
                        .configs(policy.configs());
                try {
                    admin.createTopics(List.of(topic)).all().get();
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e;
                    }
                }
            }
            // earliest: jobs published before the group first reads a queue are not skipped. The delivery limit sits
            // above Easel's attempts: a delivery whose lock expires unseen in a consumer's fetch buffer counts too, and
            // a record at the limit is archived with no outcome, so the slack lets a worker see a delivery past the
            // attempts and fail the job with its reason. Renewals (Kafka's default, which an operator can turn off for
            // the group) are how a slot keeps its job: without them every job would fail its renewal before it starts,
            // be delivered again until the limit, and be archived with no outcome.
            ConfigResource group = new ConfigResource(ConfigResource.Type.GROUP, Topics.WORKER_GROUP);
            List<AlterConfigOp> settings = List.of(
                    set("share.auto.offset.reset", "earliest"),
                    set("share.record.lock.duration.ms", Integer.toString(config.lockMillis())),
                    set("share.delivery.count.limit", Integer.toString(deliveryLimit(config.maxAttempts()))),
                    set("share.renew.acknowledge.enable", "true"));
            try {
                admin.incrementalAlterConfigs(Map.of(group, settings)).all().get();
            } catch (ExecutionException e) {
                throw new IllegalStateException("the broker refused the share group settings (" + e.getCause()
                        .getMessage() + "); check that the broker runs Kafka 4.3 or"
                        + " newer (4.2 does not know share.delivery.count.limit), that share groups are enabled,"
                        + " and EASEL_LOCK_MS against the broker's group.share.min/max.record.lock.duration.ms", e);
            }
            Config effective = admin.describeConfigs(List.of(group)).all().get().get(group);
            return handOver(intSetting(effective, "share.heartbeat.interval.ms", DEFAULT_HEARTBEAT_MS),
                    intSetting(effective, "share.assignment.interval.ms", DEFAULT_ASSIGNMENT_MS));
        }
    }

    /**
     * How long after a member changes its subscription the share group has surely given it the new queues and taken
     * the old ones: the change goes out with the member's next heartbeat, the assignment is recomputed within its
     * interval, and comes back with the heartbeat after that (2.1 s in the bundled stacks, 11 s on Kafka's defaults).
     */
    static Duration handOver(int heartbeatMillis, int assignmentMillis) {
        return Duration.ofMillis(2L * heartbeatMillis + assignmentMillis);
    }

    private static int intSetting(Config config, String name, int absent) {
        ConfigEntry entry = config.get(name);
        return entry == null || entry.value() == null ? absent : Integer.parseInt(entry.value());
    }

    /** The share group's delivery limit: up to three deliveries past the attempts, within the broker's default 10. */
    static int deliveryLimit(int maxAttempts) {
        return Math.min(maxAttempts + 3, MAX_DELIVERIES);
    }

    private static AlterConfigOp set(String name, String value) {
        return new AlterConfigOp(new ConfigEntry(name, value), AlterConfigOp.OpType.SET);
    }
}
