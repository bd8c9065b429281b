package dev.easel.worker;

/** The object store stayed unreachable for longer than the configured bound. */
final class StorageUnavailableException extends Exception {
    StorageUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
