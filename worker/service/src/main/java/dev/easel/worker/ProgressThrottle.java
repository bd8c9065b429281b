package dev.easel.worker;

/**
 * At most {@code maxPerSecond} progress events per job; the last step of every image always goes out, so clients see
 * each image finish. 0 lets every step through.
 */
final class ProgressThrottle {
    private final long intervalNanos;
    private long lastNanos = Long.MIN_VALUE;

    ProgressThrottle(int maxPerSecond) {
        this.intervalNanos = maxPerSecond <= 0 ? 0 : 1_000_000_000L / maxPerSecond;
    }

    boolean allow(int step, int total, long nowNanos) {
        if (intervalNanos == 0 || step == total || lastNanos == Long.MIN_VALUE || nowNanos - lastNanos >= intervalNanos) {
            lastNanos = nowNanos;
            return true;
        }
        return false;
    }
}
