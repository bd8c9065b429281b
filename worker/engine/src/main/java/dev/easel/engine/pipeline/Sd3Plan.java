package dev.easel.engine.pipeline;

import dev.easel.engine.image.RgbImage;
import dev.easel.engine.scheduler.FlowMatchSchedule;

/** An SD3 job made ready: the request at the model's size, its schedule and start, the seed, the init picture. */
record Sd3Plan(GenerationRequest request, FlowMatchSchedule schedule, int startIndex, long seed, RgbImage initImage)
        implements JobPlan {
    @Override
    public int stepsPerImage() {
        return schedule.steps() - startIndex;
    }
}
