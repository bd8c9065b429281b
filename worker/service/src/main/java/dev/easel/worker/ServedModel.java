package dev.easel.worker;

import dev.easel.engine.pipeline.ImageUpscalePipeline;
import dev.easel.engine.pipeline.ModelKind;
import dev.easel.engine.pipeline.Pipeline;
import java.util.List;

/** What the worker announces of a model it serves, read once from its pipeline: kind, schedulers, upscale factor. */
record ServedModel(String id, ModelKind kind, List<String> schedulers, int upscaleFactor) {
    static ServedModel of(Pipeline pipeline) {
        int factor = pipeline instanceof ImageUpscalePipeline image ? image.upscaler().scale() : 1;
        return new ServedModel(pipeline.modelName(), pipeline.kind(), pipeline.schedulers(), factor);
    }
}
