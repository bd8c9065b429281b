package dev.easel.cli;

/** A command line Easel cannot act on; the message says what was wrong. */
final class UsageException extends RuntimeException {
    UsageException(String message) {
        super(message);
    }
}
