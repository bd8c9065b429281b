package dev.easel.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.easel.engine.adapter.AdapterLibrary;
import dev.easel.engine.model.ModelException;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.model.RuntimeOptions;
import dev.easel.engine.pipeline.Pipeline;
import dev.easel.models.ModelGenerator;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A device's models within its memory budget: loaded on demand, least recently used unloaded, pinned ones kept. */
class ResidentModelsTest {
    @TempDir
    static Path folder;

    private static Path toy;
    private static Path esrgan;
    private static long toyBytes;
    private static final OrtRuntime RUNTIME = new OrtRuntime(new RuntimeOptions("cpu", 0, 1, 0));

    @BeforeAll
    static void makeModels() throws Exception {
        toy = ModelGenerator.write(ModelGenerator.Spec.of(ModelGenerator.Kind.TOY), folder.resolve("toy"));
        esrgan = ModelGenerator.write(ModelGenerator.Spec.of(ModelGenerator.Kind.ESRGAN), folder.resolve("esrgan"));
        toyBytes = ResidentModels.Model.estimateBytes(toy);
    }

    private static ResidentModels models(long budget) {
        return new ResidentModels(List.of(new ResidentModels.Model("a", toy, toyBytes, false),
                new ResidentModels.Model("b", toy, toyBytes, false), new ResidentModels.Model("c", toy, toyBytes, false),
                new ResidentModels.Model("up", esrgan, ResidentModels.Model.estimateBytes(esrgan), true)),
                dir -> Pipeline.load(dir, RUNTIME, AdapterLibrary.empty(), Map.of()), budget);
    }

    @Test
    void aBudgetForOneModelKeepsTheOneInUseAndLoadsEachOnlyWhenItChanges() {
        try (ResidentModels models = models(toyBytes + toyBytes / 2 + ResidentModels.Model.estimateBytes(esrgan))) {
            models.get("up");
            Pipeline a = models.get("a");
            assertSame(a, models.get("a"), "held: no second load");
            assertEquals(2, models.loads());
            models.get("b");
            assertEquals(List.of("up", "b"), models.held(), "a made room for b; the pinned upscaler stays");
            models.get("b");
            models.get("a");
            assertEquals(4, models.loads(), "one load per change of model, none per job");
            assertTrue(models.usedBytes() <= models.budgetBytes());
            assertFalse(models.holds("b"));
            assertTrue(models.expectedLoadMillis("a") >= 0);
        }
    }

    @Test
    void aModelLargerThanTheBudgetIsRefusedSayingWhatToRaise() {
        try (ResidentModels models = models(toyBytes / 2)) {
            ModelException e = assertThrows(ModelException.class, () -> models.get("a"));
            assertTrue(e.getMessage().contains("EASEL_DEVICE_MEMORY_MB"), e.getMessage());
            assertEquals(0, models.loads());
        }
    }

    @Test
    void anUnservedModelIsNull() {
        try (ResidentModels models = models(Long.MAX_VALUE)) {
            assertEquals(null, models.get("nope"));
        }
    }

    @Test
    void modelsTheDeviceNoLongerServesMakeRoomFirstAndPlacementKeepsWhatFits() {
        // Room for two toy models beside the pinned upscaler.
        try (ResidentModels models = models(2 * toyBytes + toyBytes / 2 + ResidentModels.Model.estimateBytes(esrgan))) {
            models.get("up");
            models.get("a");
            models.get("b");
            models.get("a"); // b is now the least recently used, a the most
            assertEquals(java.util.Set.of("up", "c", "a"), models.servingWith("c", java.util.Set.of("up", "a", "b")),
                    "c joins with the pinned upscaler and the most recently used model that fits beside it");
            models.want(java.util.Set.of("up", "b", "c"));
            models.get("c");
            assertEquals(java.util.Set.of("up", "b", "c"), java.util.Set.copyOf(models.held()),
                    "a, no longer served, made room although b was used less recently");
            assertTrue(models.canHold("a"));
        }
        try (ResidentModels small = models(toyBytes / 2 + ResidentModels.Model.estimateBytes(esrgan))) {
            assertFalse(small.canHold("a"), "a toy model does not fit beside the pinned upscaler");
        }
    }

    @Test
    void aDevicePlacedOnAModelTakesItsQueueAndLeavesTheOnesThatNoLongerFit() {
        ResidentModels models = models(toyBytes + toyBytes / 2 + ResidentModels.Model.estimateBytes(esrgan));
        models.get("up");
        models.get("a");
        try (Device device = new Device(0, models)) {
            Device.Serving before = device.serving();
            assertEquals(java.util.Set.of("up", "a"), before.models(), "at start: what it holds");
            assertEquals(0, before.sinceMillis(), "not placed by a decision");
            device.serveAlso("b");
            assertEquals(before, device.serving(), "b does not fit beside a: left to placement");
            device.place("b", false);
            assertEquals(java.util.Set.of("up", "b"), device.serving().models());
            assertTrue(device.serving().version() > before.version() && device.serving().sinceMillis() > 0);
        }
    }
}
