package dev.easel.worker;

import dev.easel.contracts.ControlMessage;
import dev.easel.contracts.Json;
import dev.easel.contracts.Topics;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * The cancelled job ids, read from {@code easel.control} from its beginning by every worker (its own consumer group,
 * nothing committed), so a worker knows about cancellations made before it started.
 */
final class Cancellations implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Cancellations.class.getName());

    private final Set<String> cancelled = ConcurrentHashMap.newKeySet();
    private final KafkaConsumer<String, byte[]> consumer;
    private final Thread thread;
    private volatile boolean running = true;

    Cancellations(WorkerConfig config) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "easel-control-" + config.workerId());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        this.consumer = new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer());
        this.thread = new Thread(this::run, "easel-control");
        this.thread.setDaemon(true);
    }

    void start() {
        consumer.subscribe(List.of(Topics.CONTROL));
        thread.start();
    }

    boolean isCancelled(String jobId) {
        return cancelled.contains(jobId);
    }

    private void run() {
        try {
            while (running) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    try {
                        ControlMessage message = Json.read(record.value(), ControlMessage.class);
                        if (ControlMessage.CANCEL.equals(message.type()) && message.jobId() != null) {
                            cancelled.add(message.jobId());
                        }
                    } catch (IllegalArgumentException e) {
                        LOG.log(System.Logger.Level.WARNING, "ignoring unreadable control message at offset "
                                + record.offset() + ": " + e.getMessage());
                    }
                }
            }
        } catch (WakeupException e) {
            // closing
        } finally {
            consumer.close();
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        consumer.wakeup();
        thread.join(5000);
    }
}
