package dev.easel.engine.pipeline;

import dev.easel.engine.image.RgbImage;

/** An image upscaler's job: the decoded picture and the tiles it is worked in (one progress step each). */
record UpscalePlan(GenerationRequest request, RgbImage picture, int tiles) implements JobPlan {
    @Override
    public long seed() {
        return request.seed() == null ? 0 : request.seed();
    }

    @Override
    public int stepsPerImage() {
        return tiles;
    }
}
