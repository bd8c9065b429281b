package dev.easel.engine.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.engine.SharedData;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** Every scheduler's timesteps, sigmas and init noise sigma against what diffusers produced (../shared/conformance). */
class SchedulerConformanceTest {
    private static final Map<String, String> EASEL_NAMES = Map.of(
            "ddim", "ddim", "pndm", "pndm", "euler", "euler", "euler_a", "euler_a", "lms", "lms", "heun", "heun",
            "dpmpp2m", "dpmpp_2m", "unipc", "unipc", "lcm", "lcm");

    @TestFactory
    Stream<DynamicTest> matchesDiffusers() throws IOException {
        Optional<Path> file = SharedData.file("conformance/scheduler-timesteps.json");
        if (file.isEmpty()) {
            System.out.println("SKIPPED scheduler conformance: ../shared/conformance/scheduler-timesteps.json not found");
        }
        Assumptions.assumeTrue(file.isPresent(), "../shared/conformance/scheduler-timesteps.json not found");
        JsonNode root = new ObjectMapper().readTree(file.get().toFile());
        @SuppressWarnings("unchecked")
        Map<String, Object> base = new ObjectMapper().convertValue(root.path("meta").path("base_config"), Map.class);
        SchedulerConfig config = SchedulerConfig.of(base);
        List<DynamicTest> tests = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> cases = root.path("cases").fields();
        int covered = 0;
        while (cases.hasNext()) {
            Map.Entry<String, JsonNode> entry = cases.next();
            String[] parts = entry.getKey().split("\\|");
            String easelName = EASEL_NAMES.get(parts[0]);
            if (easelName == null) {
                System.out.println("not checked: " + entry.getKey() + " (Easel does not offer " + parts[0] + ")");
                continue;
            }
            covered++;
            boolean karras = parts[2].equals("karras=true");
            int steps = Integer.parseInt(parts[3].substring("steps=".length()));
            JsonNode expected = entry.getValue();
            tests.add(DynamicTest.dynamicTest(entry.getKey(), () -> check(easelName, config, karras, steps, expected)));
        }
        assertTrue(covered >= 18, "expected the conformance file to cover every Easel scheduler, covered " + covered);
        return tests.stream();
    }

    private static void check(String name, SchedulerConfig config, boolean karras, int steps, JsonNode expected) {
        Scheduler scheduler = Schedulers.create(name, config, karras, null);
        scheduler.setTimesteps(steps);
        double[] timesteps = scheduler.timesteps();
        JsonNode expectedTimesteps = expected.path("timesteps");
        assertEquals(expectedTimesteps.size(), timesteps.length, "number of timesteps");
        boolean integer = expected.path("timesteps_dtype").asText().equals("int64");
        for (int i = 0; i < timesteps.length; i++) {
            double want = expectedTimesteps.get(i).asDouble();
            if (integer || want == Math.rint(want)) {
                assertEquals(want, timesteps[i], 0.0, "timestep " + i);
            } else {
                assertEquals(want, timesteps[i], 1e-4, "timestep " + i);
            }
        }
        if (expected.has("sigmas")) {
            double[] sigmas = allSigmas(scheduler);
            JsonNode expectedSigmas = expected.path("sigmas");
            assertEquals(expectedSigmas.size(), sigmas.length, "number of sigmas");
            for (int i = 0; i < sigmas.length; i++) {
                assertEquals(expectedSigmas.get(i).asDouble(), sigmas[i], 1e-4, "sigma " + i);
            }
        }
        assertEquals(expected.path("init_noise_sigma").asDouble(), scheduler.initNoiseSigma(), 1e-4, "init_noise_sigma");
        if (expected.has("final_alpha_cumprod") && scheduler instanceof AlphaScheduler alpha) {
            assertEquals(expected.path("final_alpha_cumprod").asDouble(), alpha.finalAlphaCumprod(), 0.0,
                    "final_alpha_cumprod");
        }
    }

    static double[] allSigmas(Scheduler scheduler) {
        if (scheduler instanceof SigmaScheduler sigma) {
            return sigma.allSigmas();
        }
        MultistepScheduler multistep = (MultistepScheduler) scheduler;
        return multistep.stepSigmas.clone();
    }
}
