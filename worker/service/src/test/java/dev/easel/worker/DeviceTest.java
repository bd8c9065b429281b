package dev.easel.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** When a device is offered for its next job: EASEL_RESERVE_AHEAD_MS ahead, or as long as its leases take. */
class DeviceTest {
    @Test
    void aDeviceIsOfferedAsFarAheadAsItsSlowestRecentLease() {
        try (Device device = new Device(0, new ResidentModels(List.of(), folder -> null, Long.MAX_VALUE))) {
            assertEquals(200, device.reserveAheadMillis(200), "no lease yet: the setting");
            device.leased(40);
            assertEquals(200, device.reserveAheadMillis(200), "leases quicker than the setting change nothing");
            device.leased(700);
            device.leased(90);
            assertEquals(700, device.reserveAheadMillis(200), "a slow lease: offered that far ahead");
            for (int i = 0; i < 16; i++) {
                device.leased(30);
            }
            assertEquals(200, device.reserveAheadMillis(200), "once the slow lease is among the last 16 no more");
        }
    }
}
