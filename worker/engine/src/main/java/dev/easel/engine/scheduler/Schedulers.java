package dev.easel.engine.scheduler;

import dev.easel.contracts.RequestLimits;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** The schedulers Easel offers, by the names users pass. */
public final class Schedulers {
    private static final Map<String, Function<SchedulerConfig, Scheduler>> FACTORIES = Map.of(
            "ddim", DdimScheduler::new,
            "pndm", PndmScheduler::new,
            "euler", EulerScheduler::new,
            "euler_a", EulerAncestralScheduler::new,
            "lms", LmsScheduler::new,
            "heun", HeunScheduler::new,
            "dpmpp_2m", DpmSolverScheduler::new,
            "unipc", UniPcScheduler::new,
            "lcm", LcmScheduler::new);

    /** The names in the order the README lists them. */
    public static final List<String> NAMES = RequestLimits.SCHEDULERS;

    /** Names of the schedulers with Karras sigmas (where diffusers offers them). */
    public static final List<String> KARRAS_CAPABLE = RequestLimits.KARRAS_SCHEDULERS;

    private static final Map<String, String> BY_CLASS_NAME = Map.of(
            "DDIMScheduler", "ddim",
            "PNDMScheduler", "pndm",
            "EulerDiscreteScheduler", "euler",
            "EulerAncestralDiscreteScheduler", "euler_a",
            "LMSDiscreteScheduler", "lms",
            "HeunDiscreteScheduler", "heun",
            "DPMSolverMultistepScheduler", "dpmpp_2m",
            "UniPCMultistepScheduler", "unipc",
            "LCMScheduler", "lcm");

    private Schedulers() {
    }

    /**
     * Builds scheduler {@code name} from a model's scheduler config; {@code karras} turns on Karras sigmas and
     * {@code spacing} (nullable) overrides the timestep spacing.
     */
    public static Scheduler create(String name, SchedulerConfig config, boolean karras, String spacing) {
        Function<SchedulerConfig, Scheduler> factory = FACTORIES.get(name);
        if (factory == null) {
            throw new IllegalArgumentException(
                    "unknown scheduler '" + name + "'; choose one of " + String.join(", ", NAMES));
        }
        if (karras && !KARRAS_CAPABLE.contains(name)) {
            throw new IllegalArgumentException("scheduler " + name + " has no Karras sigmas; use karras with one of "
                    + String.join(", ", KARRAS_CAPABLE));
        }
        SchedulerConfig effective = config;
        if (karras) {
            effective = effective.with("use_karras_sigmas", true);
        }
        if (spacing != null) {
            effective = effective.with("timestep_spacing", TimestepSpacing.parse(spacing).configName());
        }
        return factory.apply(effective);
    }

    /** The scheduler a model folder's config names ({@code _class_name}), or euler when it names none we know. */
    public static String defaultFor(SchedulerConfig config) {
        return BY_CLASS_NAME.getOrDefault(config.stringValue("_class_name", ""), "euler");
    }

    /** The sampler name AUTOMATIC1111 uses, for the PNG infotext. */
    public static String infotextName(String name, boolean karras) {
        String base = switch (name) {
            case "ddim" -> "DDIM";
            case "pndm" -> "PLMS";
            case "euler" -> "Euler";
            case "euler_a" -> "Euler a";
            case "lms" -> "LMS";
            case "heun" -> "Heun";
            case "dpmpp_2m" -> "DPM++ 2M";
            case "unipc" -> "UniPC";
            case "lcm" -> "LCM";
            default -> name;
        };
        return karras ? base + " Karras" : base;
    }
}
