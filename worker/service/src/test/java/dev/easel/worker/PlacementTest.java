package dev.easel.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The placement policy on given figures: which device of a worker takes which model's queue, when a cold model has
 * jobs, when a busy model gains a device, and never within a device's minimum residency.
 */
class PlacementTest {
    private static final long NOW = 1_000_000;
    private static final long RESIDENCY = 10_000;
    private static final long WAIT = 5_000;
    private static final Set<String> ALL = Set.of("a", "b", "c");

    /** A one-model device (its budget holds one of a, b, c): placing a model drops the one it serves. */
    private static Placement.DeviceView device(int index, String serving, boolean generating, long placedAtMillis) {
        return new Placement.DeviceView(index, Set.of(serving), generating, placedAtMillis, ALL, model -> Set.of(model));
    }

    private static Placement.PoolState state(Map<String, Long> backlog, Map<String, Integer> elsewhere,
            Map<String, Long> waitingSince) {
        return new Placement.PoolState(backlog, elsewhere, waitingSince, Map.of());
    }

    private static Optional<Placement.Move> decide(Placement.PoolState state, Placement.DeviceView... devices) {
        return Placement.decide(state, List.of(devices), NOW, RESIDENCY, WAIT);
    }

    @Test
    void aColdModelGoesToTheIdleDeviceWhoseModelIsServedElsewhere() {
        // b: 3 jobs, no device. Device 0 is busy with a; device 1 is idle, and its model c has another device.
        Placement.PoolState state = state(Map.of("a", 2L, "b", 3L, "c", 0L), Map.of("c", 1),
                Map.of("b", NOW - 100));
        Placement.Move move = decide(state, device(0, "a", true, 0), device(1, "c", false, 0)).orElseThrow();
        assertEquals(1, move.device());
        assertEquals("b", move.model());
        assertFalse(move.leavesJobs(), "c has no jobs: the device's slots poll b's queue at once");
    }

    @Test
    void aColdModelTakesTheDeviceThatStrandsFewestJobsWhenEveryDeviceIsBusy() {
        // Both devices busy and the only ones for their models: a has 5 jobs, c 2, so c's device goes to b.
        Placement.PoolState state = state(Map.of("a", 5L, "b", 3L, "c", 2L), Map.of(), Map.of("b", NOW - 100));
        Placement.Move move = decide(state, device(0, "a", true, 0), device(1, "c", true, 0)).orElseThrow();
        assertEquals(1, move.device());
        assertTrue(move.reason().contains("1 job(s) of the models it leaves"), move.reason());
        assertTrue(move.leavesJobs(), "c's queue may still hand the device a job until the share group takes it away");
    }

    @Test
    void aWorkerWaitsItsTurnForAColdModel() {
        Placement.PoolState state = new Placement.PoolState(Map.of("b", 1L), Map.of(), Map.of("b", NOW - 500),
                Map.of("b", 1_000L));
        assertEquals(Optional.empty(), decide(state, device(0, "a", false, 0)), "another worker goes first");
        Placement.PoolState later = new Placement.PoolState(Map.of("b", 1L), Map.of(), Map.of("b", NOW - 1_500),
                Map.of("b", 1_000L));
        assertEquals("b", decide(later, device(0, "a", false, 0)).orElseThrow().model());
    }

    @Test
    void aDeviceKeepsItsModelForTheMinimumResidencyWhileThatModelHasJobs() {
        // Jobs of two models taking turns on one device: b's wait until a has been placed for the minimum time.
        Placement.PoolState state = state(Map.of("a", 2L, "b", 1L), Map.of(), Map.of("b", NOW - 100));
        assertEquals(Optional.empty(), decide(state, device(0, "a", true, NOW - RESIDENCY + 1)));
        assertEquals("b", decide(state, device(0, "a", true, NOW - RESIDENCY)).orElseThrow().model());
        // An idle device whose model has no job moves at once.
        Placement.PoolState aIsDone = state(Map.of("a", 0L, "b", 1L), Map.of(), Map.of("b", NOW - 100));
        assertEquals("b", decide(aIsDone, device(0, "a", false, NOW - 1)).orElseThrow().model());
    }

    @Test
    void aBusyModelGainsADeviceOnlyFromModelsThatDoNotNeedIt() {
        // a: 6 jobs on one device elsewhere, waiting longer than the placement wait.
        Map<String, Long> waiting = Map.of("a", NOW - WAIT);
        Placement.PoolState cNeedsItsDevice = state(Map.of("a", 6L, "c", 3L), Map.of("a", 1), waiting);
        assertEquals(Optional.empty(), decide(cNeedsItsDevice, device(0, "c", false, 0)));
        Placement.PoolState cIsDone = state(Map.of("a", 6L, "c", 1L), Map.of("a", 1), waiting);
        Placement.Move move = decide(cIsDone, device(0, "c", true, 0)).orElseThrow();
        assertEquals("a", move.model());
        assertTrue(move.reason().contains("5 job(s) beyond its 1 device(s)"), move.reason());
        Placement.PoolState notLongEnough = state(Map.of("a", 6L, "c", 0L), Map.of("a", 1), Map.of("a", NOW - 10));
        assertEquals(Optional.empty(), decide(notLongEnough, device(0, "c", false, 0)));
    }

    @Test
    void nothingMovesWithoutJobsOrWhenTheDeviceCannotHoldTheModel() {
        assertEquals(Optional.empty(), decide(state(Map.of("a", 0L, "b", 0L), Map.of(), Map.of()),
                device(0, "a", false, 0)));
        Placement.DeviceView small = new Placement.DeviceView(0, Set.of("a"), false, 0, Set.of("a"), Set::of);
        assertEquals(Optional.empty(), decide(state(Map.of("b", 4L), Map.of(), Map.of("b", NOW - WAIT)), small));
    }
}
