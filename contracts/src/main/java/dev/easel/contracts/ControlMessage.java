package dev.easel.contracts;

/** A request on {@code easel.control} to every worker: {@code type} "cancel" stops job {@code jobId}. */
public record ControlMessage(int schemaVersion, String type, String jobId, long atMillis) {
    public static final int SCHEMA_VERSION = 1;
    public static final String CANCEL = "cancel";

    public static ControlMessage cancel(String jobId, long atMillis) {
        return new ControlMessage(SCHEMA_VERSION, CANCEL, jobId, atMillis);
    }
}
