package dev.easel.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ProgressThrottleTest {
    private static final long MS = 1_000_000L;

    @Test
    void atMostTheConfiguredRateButAlwaysTheLastStep() {
        ProgressThrottle throttle = new ProgressThrottle(10);
        int sent = 0;
        // 100 steps, 1 ms apart: 0.1 s of progress allows 1 event per 100 ms plus the last step.
        for (int step = 1; step <= 100; step++) {
            if (throttle.allow(step, 100, step * MS)) {
                sent++;
            }
        }
        assertEquals(2, sent, "the first step and the last one");
        assertTrue(throttle.allow(100, 100, 101 * MS), "an image's last step always goes out");
    }

    @Test
    void spacedStepsAllPass() {
        ProgressThrottle throttle = new ProgressThrottle(10);
        for (int step = 1; step <= 20; step++) {
            assertTrue(throttle.allow(step, 20, step * 150 * MS), "step " + step);
        }
    }

    @Test
    void zeroMeansEveryStep() {
        ProgressThrottle throttle = new ProgressThrottle(0);
        for (int step = 1; step <= 50; step++) {
            assertTrue(throttle.allow(step, 50, step));
        }
    }
}
