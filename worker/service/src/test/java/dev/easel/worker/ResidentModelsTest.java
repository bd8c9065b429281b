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
                new ResidentModels.Model("b", toy, toyBytes, false),
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
}
