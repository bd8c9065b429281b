package dev.easel.engine.pipeline;

/** What a model does with a job, by the names the API shows ({@code GET /v1/models}'s {@code kind}). */
public enum ModelKind {
    /** Draws pictures from a prompt (text-to-image, image-to-image, inpainting): SD 1.x, 2.x, SDXL. */
    GENERATOR("generator"),
    /** Stable Diffusion's x4 upscaler: a prompt-guided diffusion that enlarges its init image 4 times. */
    DIFFUSION_UPSCALER("upscaler"),
    /** An ONNX image-to-image network (ESRGAN family) that enlarges its init image; no prompt. */
    IMAGE_UPSCALER("image-upscaler");

    private final String wireName;

    ModelKind(String wireName) {
        this.wireName = wireName;
    }

    public String wireName() {
        return wireName;
    }
}
