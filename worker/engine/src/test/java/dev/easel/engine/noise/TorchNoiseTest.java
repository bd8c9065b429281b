package dev.easel.engine.noise;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.engine.SharedData;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link TorchNoise} against torch's own values (../shared/parity/torch-noise/torch-randn.json), bit for bit. */
class TorchNoiseTest {
    private static JsonNode reference;

    @BeforeAll
    static void load() throws IOException {
        Optional<Path> file = SharedData.file("parity/torch-noise/torch-randn.json");
        if (file.isEmpty()) {
            System.out.println("SKIPPED torch noise: ../shared/parity/torch-noise/torch-randn.json not found");
        }
        Assumptions.assumeTrue(file.isPresent(), "../shared/parity/torch-noise/torch-randn.json not found");
        reference = new ObjectMapper().readTree(file.get().toFile());
    }

    private static int numel(JsonNode shape) {
        int n = 1;
        for (JsonNode dimension : shape) {
            n *= dimension.asInt();
        }
        return n;
    }

    private static List<String> bits(float[] values, int from, int to) {
        List<String> bits = new ArrayList<>();
        for (int i = from; i < to; i++) {
            bits.add(String.format("%08x", Float.floatToRawIntBits(values[i])));
        }
        return bits;
    }

    private static List<String> strings(JsonNode array) {
        List<String> values = new ArrayList<>();
        array.forEach(value -> values.add(value.asText()));
        return values;
    }

    @Test
    void theGeneratorIsMt19937OnTheSeedsLow32Bits() {
        for (String seed : List.of("0", "42")) {
            TorchNoise noise = new TorchNoise(Long.parseLong(seed));
            List<String> outputs = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                outputs.add(Long.toString(noise.next32() & 0xFFFFFFFFL));
            }
            assertEquals(strings(reference.path("mt19937_first_outputs").path("seed_" + seed)), outputs, "seed " + seed);
        }
    }

    @Test
    void everyCaseBitForBit() {
        int compared = 0;
        for (JsonNode testCase : reference.path("cases")) {
            long seed = testCase.path("seed").asLong();
            int n = numel(testCase.path("shape"));
            float[] values = new float[n];
            new TorchNoise(seed).fill(values);
            String label = "seed " + seed + " shape " + testCase.path("shape");
            if (testCase.has("bits")) {
                assertEquals(strings(testCase.path("bits")), bits(values, 0, n), label);
                compared += n;
            } else {
                assertEquals(strings(testCase.path("first_64").path("bits")), bits(values, 0, 64), label + " first 64");
                assertEquals(strings(testCase.path("last_64").path("bits")), bits(values, n - 64, n), label + " last 64");
                compared += 128;
            }
        }
        System.out.println("torch noise: " + compared + " values bit for bit");
    }

    @Test
    void successiveDrawsContinueOneGenerator() {
        TorchNoise noise = new TorchNoise(42);
        for (JsonNode draw : reference.path("reused_generator_seed_42_shape_1x4x8x8")) {
            float[] values = new float[256];
            noise.fill(values);
            assertEquals(strings(draw.path("first_8").path("bits")), bits(values, 0, 8), "draw " + draw.path("draw"));
            assertEquals(strings(draw.path("last_8").path("bits")), bits(values, 248, 256), "draw " + draw.path("draw"));
        }
    }

    @Test
    void theFloat64PathCachesItsSecondValueAcrossCalls() {
        TorchNoise noise = new TorchNoise(5);
        for (JsonNode call : reference.path("float64_path_cache_seed_5_two_calls_of_3")) {
            float[] values = new float[numel(call.path("shape"))];
            noise.fill(values);
            assertEquals(strings(call.path("bits")), bits(values, 0, values.length));
        }
    }
}
