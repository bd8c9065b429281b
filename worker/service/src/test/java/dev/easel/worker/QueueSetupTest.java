package dev.easel.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class QueueSetupTest {
    @Test
    void theDeliveryLimitLeavesThreeDeliveriesPastTheAttemptsWithinTheBrokersMaximum() {
        assertEquals(6, QueueSetup.deliveryLimit(3), "the default: attempts 3, deliveries 4 to 6 fail the job");
        assertEquals(4, QueueSetup.deliveryLimit(1));
        assertEquals(10, QueueSetup.deliveryLimit(7));
        assertEquals(10, QueueSetup.deliveryLimit(9), "EASEL_MAX_ATTEMPTS' highest: one delivery past it");
    }

    @Test
    void theHandOverIsTwoHeartbeatsAndAnAssignment() {
        assertEquals(Duration.ofMillis(2100), QueueSetup.handOver(1000, 100), "the bundled stacks' settings");
        assertEquals(Duration.ofSeconds(11), QueueSetup.handOver(5000, 1000), "Kafka's defaults");
    }
}
