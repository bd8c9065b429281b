package dev.easel.gateway.kafka;

import dev.easel.contracts.Topics;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * The gateway's own Kafka clients (besides the SmallRye channels): the broker address in one place, client properties
 * for its consumers and producer, one shared admin client, and topic creation with the contracts' policies.
 */
@ApplicationScoped
public class KafkaClients {
    private static final Logger LOG = Logger.getLogger(KafkaClients.class);

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    private volatile Admin admin;

    /** Properties for a client named {@code clientId} of this gateway. */
    public Properties properties(String clientId) {
        Properties props = new Properties();
        props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(CommonClientConfigs.CLIENT_ID_CONFIG, clientId);
        return props;
    }

    /** The admin client (created on first use): answers within 4 s, so a request never waits on a lost broker. */
    public Admin admin() {
        if (admin == null) {
            synchronized (this) {
                if (admin == null) {
                    Properties props = properties("easel-gateway-admin");
                    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "4000");
                    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
                    admin = Admin.create(props);
                }
            }
        }
        return admin;
    }

    /** Creates each topic with its policy unless it exists; failures are logged (auto-creation is the fallback). */
    public void createTopics(List<Topics.Policy> policies) {
        for (Topics.Policy policy : policies) {
            NewTopic topic = new NewTopic(policy.name(), policy.partitions(), Optional.empty())
                    .configs(policy.configs());
            try {
                admin().createTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    LOG.warnf("could not create %s: %s", topic.name(), e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception e) {
                LOG.warnf("could not create %s: %s", topic.name(), e);
            }
        }
    }

    @PreDestroy
    void close() {
        if (admin != null) {
            admin.close(Duration.ofSeconds(2));
        }
    }
}
