package dev.easel.engine.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.engine.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** SD3's flow-matching schedule, bit for bit against the sigmas and timesteps diffusers gave ../shared/parity/sd3. */
class FlowMatchScheduleTest {
    @Test
    void everyReferenceScheduleIsReproducedExactly() throws Exception {
        Optional<Path> cases = SharedData.file("parity/sd3/cases.json");
        if (cases.isEmpty()) {
            System.out.println("SKIPPED FlowMatchScheduleTest: ../shared/parity/sd3 not found");
        }
        Assumptions.assumeTrue(cases.isPresent(), "../shared/parity/sd3 not found");
        ObjectMapper json = new ObjectMapper();
        int checked = 0;
        try (var refs = Files.list(cases.get().getParent().resolve("refs"))) {
            for (Path ref : refs.filter(p -> p.toString().endsWith(".json")).toList()) {
                JsonNode reference = json.readTree(ref.toFile());
                JsonNode sigmas = reference.path("scheduler_sigmas");
                FlowMatchSchedule schedule = FlowMatchSchedule.of(3.0, 1000, sigmas.size() - 1);
                for (int i = 0; i < sigmas.size(); i++) {
                    assertEquals((float) sigmas.get(i).asDouble(), schedule.sigmas()[i], 0f, ref + " sigma " + i);
                }
                JsonNode timesteps = reference.path("scheduler_timesteps");
                for (int i = 0; i < timesteps.size(); i++) {
                    assertEquals((float) timesteps.get(i).asDouble(), schedule.timesteps()[i], 0f, ref + " t " + i);
                }
                checked++;
            }
        }
        assertEquals(3, checked);
    }

    @Test
    void imageToImageStartsWhereDiffusersDoes() {
        FlowMatchSchedule schedule = FlowMatchSchedule.of(3.0, 1000, 12);
        assertEquals(4, schedule.startIndex(0.6), "12 x 0.6 = 7.199999999999999 in Python floats");
        assertEquals(0, schedule.startIndex(1.0));
        assertEquals(12, schedule.startIndex(0.0));
    }
}
