package dev.easel.worker;

/**
 * The object store could not take a job's results: unreachable for longer than the configured bound (another attempt
 * may succeed), or it refused them ({@link #refused}: a 4xx, which no attempt would change).
 */
final class StorageUnavailableException extends Exception {
    private final boolean refused;

    StorageUnavailableException(String message, Throwable cause) {
        this(message, cause, false);
    }

    StorageUnavailableException(String message, Throwable cause, boolean refused) {
        super(message, cause);
        this.refused = refused;
    }

    /** Whether the store refused the request, so retrying cannot help. */
    boolean refused() {
        return refused;
    }
}
