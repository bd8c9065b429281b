package dev.easel.gateway.events;

import java.util.Properties;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.jboss.logging.Logger;

/** A Kafka consumer polled on a daemon thread of its own until {@link #stop}, which wakes it and waits for it. */
public final class ConsumerLoop {
    private static final Logger LOG = Logger.getLogger(ConsumerLoop.class);

    /** What the thread does with its consumer while {@code running} holds. */
    public interface Body {
        void run(KafkaConsumer<String, String> kafka, BooleanSupplier running);
    }

    private volatile KafkaConsumer<String, String> consumer;
    private volatile boolean running = true;
    private Thread thread;

    /** Starts the thread; {@code failure} is logged if the body ends with an error. */
    public void start(String threadName, Properties props, String failure, Body body) {
        thread = new Thread(() -> {
            try (KafkaConsumer<String, String> kafka =
                    new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
                consumer = kafka;
                body.run(kafka, () -> running);
            } catch (WakeupException e) {
                // stopping
            } catch (RuntimeException e) {
                LOG.error(failure, e);
            }
        }, threadName);
        thread.setDaemon(true);
        thread.start();
    }

    public void stop() throws InterruptedException {
        running = false;
        KafkaConsumer<String, String> current = consumer;
        if (current != null) {
            current.wakeup();
        }
        if (thread != null) {
            thread.join(5000);
        }
    }
}
