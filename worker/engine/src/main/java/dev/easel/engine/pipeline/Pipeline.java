package dev.easel.engine.pipeline;

import ai.onnxruntime.OrtException;
import dev.easel.engine.adapter.AdapterLibrary;
import dev.easel.engine.model.ImageUpscaler;
import dev.easel.engine.model.ModelFolder;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.model.Sd3Model;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * One loaded model and how its jobs run: {@link #plan} checks a request and makes it ready, {@link #generate} runs the
 * plan. The worker and {@code easel run} hold models only through this.
 */
public sealed interface Pipeline extends AutoCloseable
        permits StableDiffusionPipeline, ImageUpscalePipeline, StableDiffusion3Pipeline {

    /**
     * The pipeline for the model in {@code folder}: an image upscaler ({@code model.onnx} alone), an SD3-family
     * pipeline (a {@code transformer/}) or a Stable Diffusion 1.x/2.x/XL pipeline; {@code adapters} are the LoRAs and embeddings it offers, {@code upscalers} the image upscalers its hires
     * fix may use (by id).
     */
    static Pipeline load(Path folder, OrtRuntime runtime, AdapterLibrary adapters,
            Map<String, ImageUpscaler> upscalers) {
        if (ImageUpscaler.isUpscalerFolder(folder)) {
            return new ImageUpscalePipeline(ImageUpscaler.load(folder, runtime));
        }
        if (Sd3Model.isSd3Folder(folder)) {
            return new StableDiffusion3Pipeline(Sd3Model.load(folder, runtime, runtime.options().withoutT5()));
        }
        return new StableDiffusionPipeline(ModelFolder.load(folder, runtime), adapters, upscalers);
    }

    /** The model's id: its folder's name. */
    String modelName();

    ModelKind kind();

    /** The schedulers a request may name for this model (none: the model takes no scheduler). */
    java.util.List<String> schedulers();

    /** The ONNX Runtime execution provider the model runs on. */
    String provider();

    /** Checks {@code request} against this model ({@link InvalidRequestException}) and makes it ready to run. */
    JobPlan plan(GenerationRequest request);

    /**
     * Runs a plan this pipeline made. {@code progress} hears every step; {@code cancelled} is asked before each and
     * stops the job with {@link CancelledException}.
     */
    GenerationResult generate(JobPlan plan, Consumer<StepProgress> progress, BooleanSupplier cancelled)
            throws OrtException;

    /** Plans and runs {@code request}. */
    default GenerationResult generate(GenerationRequest request, Consumer<StepProgress> progress,
            BooleanSupplier cancelled) throws OrtException {
        return generate(plan(request), progress, cancelled);
    }

    /** A small job that runs every component a job of this model runs, to warm the sessions before real jobs. */
    GenerationRequest warmUpRequest();

    /** Releases the model's sessions; no job may be running. */
    @Override
    void close();
}
