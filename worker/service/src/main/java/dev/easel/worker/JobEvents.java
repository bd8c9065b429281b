package dev.easel.worker;

import dev.easel.contracts.JobEvent;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/** Where a job's events and dead letters go ({@link EventPublisher} on the broker). */
interface JobEvents {
    /** Sends without waiting (progress events: order is kept per job, losing one on a crash is harmless). */
    void publish(JobEvent event);

    /** Sends and waits until it is durable: terminal events, before the job's record is settled. */
    void publishDurably(JobEvent event) throws InterruptedException;

    /** Copies a job that ended without a result for good to the dead-letter topic, with the reason. */
    void deadLetter(ConsumerRecord<String, byte[]> job, String reason, int attempts) throws InterruptedException;
}
