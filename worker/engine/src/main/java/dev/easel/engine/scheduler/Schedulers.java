package dev.easel.engine.scheduler;

import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The schedulers Easel offers: the one table of their names, factories, diffusers classes, AUTOMATIC1111 sampler names
 * and Karras support. The wire contract's list, the JSON Schema, the CLI, the web page and the docs are checked against
 * it ({@code DeclarationsAgreeTest}).
 */
public final class Schedulers {
    /**
     * One scheduler: {@code name} as requests spell it, {@code factory} building it from a model's config,
     * {@code diffusersClass} (a model folder's {@code _class_name}), {@code a1111Name} (the infotext's sampler), and
     * whether it offers Karras sigmas (where diffusers does).
     */
    public record Entry(String name, Function<SchedulerConfig, Scheduler> factory, String diffusersClass,
            String a1111Name, boolean karras) {
    }

    /** Every scheduler, in the order the docs list them. */
    public static final List<Entry> ALL = List.of(
            new Entry("ddim", DdimScheduler::new, "DDIMScheduler", "DDIM", false),
            new Entry("pndm", PndmScheduler::new, "PNDMScheduler", "PLMS", false),
            new Entry("euler", EulerScheduler::new, "EulerDiscreteScheduler", "Euler", true),
            new Entry("euler_a", EulerAncestralScheduler::new, "EulerAncestralDiscreteScheduler", "Euler a", false),
            new Entry("lms", LmsScheduler::new, "LMSDiscreteScheduler", "LMS", true),
            new Entry("heun", HeunScheduler::new, "HeunDiscreteScheduler", "Heun", true),
            new Entry("dpmpp_2m", DpmSolverScheduler::new, "DPMSolverMultistepScheduler", "DPM++ 2M", true),
            new Entry("unipc", UniPcScheduler::new, "UniPCMultistepScheduler", "UniPC", true),
            new Entry("lcm", LcmScheduler::new, "LCMScheduler", "LCM", false));

    /** The names requests use. */
    public static final List<String> NAMES = ALL.stream().map(Entry::name).toList();

    /** Names of the schedulers with Karras sigmas. */
    public static final List<String> KARRAS_CAPABLE = ALL.stream().filter(Entry::karras).map(Entry::name).toList();

    /** The scheduler of a model folder's config that names no class Easel knows. */
    private static final String FALLBACK = "euler";

    private Schedulers() {
    }

    /** The entry called {@code name}, if Easel offers it. */
    public static Optional<Entry> find(String name) {
        return ALL.stream().filter(entry -> entry.name().equals(name)).findFirst();
    }

    /**
     * Builds scheduler {@code name} from a model's scheduler config; {@code karras} turns on Karras sigmas and
     * {@code spacing} (nullable) overrides the timestep spacing.
     */
    public static Scheduler create(String name, SchedulerConfig config, boolean karras, String spacing) {
        Entry entry = find(name).orElseThrow(() -> new IllegalArgumentException(
                "unknown scheduler '" + name + "'; choose one of " + String.join(", ", NAMES)));
        if (karras && !entry.karras()) {
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
        return entry.factory().apply(effective);
    }

    /** The scheduler a model folder's config names ({@code _class_name}), or euler when it names none we know. */
    public static String defaultFor(SchedulerConfig config) {
        String className = config.stringValue("_class_name", "");
        return ALL.stream().filter(entry -> entry.diffusersClass().equals(className)).map(Entry::name).findFirst()
                .orElse(FALLBACK);
    }

    /** The sampler name AUTOMATIC1111 uses, for the PNG infotext. */
    public static String infotextName(String name, boolean karras) {
        String base = find(name).map(Entry::a1111Name).orElse(name);
        return karras ? base + " Karras" : base;
    }
}
