package dev.easel.worker;

import dev.easel.contracts.JobEvent;
import dev.easel.contracts.Json;
import dev.easel.contracts.Topics;
import dev.easel.contracts.WorkerStatus;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Publishes job events (key: job id), dead letters and the worker's announcements; acks from all in-sync replicas,
 * idempotent. Sends to a broker that is down are retried by the producer (up to its delivery timeout).
 */
final class EventPublisher implements JobEvents, AutoCloseable {
    private final KafkaProducer<String, byte[]> producer;

    private final WorkerMetrics metrics;

    EventPublisher(WorkerConfig config, WorkerMetrics metrics) {
        this.metrics = metrics;
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        // Progress events wait up to EASEL_EVENT_LINGER_MS to share a produce request (the broker's cost is per
        // request); events that must be durable are flushed at once.
        props.put(ProducerConfig.LINGER_MS_CONFIG, Integer.toString(config.eventLingerMillis()));
        props.put(ProducerConfig.CLIENT_ID_CONFIG, "easel-worker-" + config.workerId());
        this.producer = new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
    }

    @Override
    public void publish(JobEvent event) {
        producer.send(traced(new ProducerRecord<>(Topics.EVENTS, event.jobId(), Json.bytes(event))));
        metrics.observe(event);
    }

    @Override
    public void publishDurably(JobEvent event) throws InterruptedException {
        java.util.concurrent.Future<?> sent = producer.send(traced(new ProducerRecord<>(Topics.EVENTS, event.jobId(),
                Json.bytes(event))));
        producer.flush();
        await(sent);
        metrics.observe(event);
    }

    /** Announces the worker; {@code acknowledged} runs once the broker has the announcement. */
    void announce(WorkerStatus status, Runnable acknowledged) {
        producer.send(new ProducerRecord<>(Topics.WORKERS, status.workerId(), Json.bytes(status)), (metadata, error) -> {
            if (error == null) {
                acknowledged.run();
            }
        });
    }

    /** Withdraws the worker's announcement: a tombstone on the compacted topic. */
    void withdraw(String workerId) throws InterruptedException {
        await(producer.send(new ProducerRecord<>(Topics.WORKERS, workerId, null)));
    }

    /** The reason and the attempts go in headers ({@code easel.error}, {@code easel.attempts}), with the source. */
    @Override
    public void deadLetter(ConsumerRecord<String, byte[]> job, String reason, int attempts) throws InterruptedException {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(Topics.DEAD_LETTER, job.key(), job.value());
        record.headers().add("easel.error", reason.getBytes(StandardCharsets.UTF_8));
        record.headers().add("easel.attempts", Integer.toString(attempts).getBytes(StandardCharsets.UTF_8));
        record.headers().add("easel.source", (job.topic() + "/" + job.partition() + "/" + job.offset())
                .getBytes(StandardCharsets.UTF_8));
        await(producer.send(record));
    }

    private static void await(java.util.concurrent.Future<?> send) throws InterruptedException {
        try {
            send.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("Kafka did not acknowledge the event: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        producer.close();
    }

    /** A job's event carries the trace of the job it belongs to (the current span, when tracing is on). */
    private static ProducerRecord<String, byte[]> traced(ProducerRecord<String, byte[]> record) {
        Tracing.inject(record.headers());
        return record;
    }
}
