package dev.easel.gateway.kafka;

/** The broker did not acknowledge a message in time: the job was not accepted. */
public final class KafkaUnavailableException extends RuntimeException {
    public KafkaUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
