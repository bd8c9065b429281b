package dev.easel.engine.model;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.easel.engine.image.RgbImage;
import java.util.Map;

/**
 * The VAE encoder: {@code sample} [1, 3, H, W] in [-1, 1] in; either sampled latents [1, c, h, w] (legacy diffusers
 * export) or the distribution's parameters [1, 2c, h, w] (optimum export: mean then log-variance) out, c the latent
 * channels (4; SD3's 16). Easel takes the mean, so image-to-image is deterministic.
 */
public final class VaeEncoder {
    private final Component component;
    private final Component.Port image;
    private final int latentChannels;

    VaeEncoder(Component component, int latentChannels) {
        this.component = component;
        this.latentChannels = latentChannels;
        this.image = component.input("sample");
        component.requireOnlyInputs("sample");
        Tensors.requireFloat(image, component.file().toString());
    }

    Component component() {
        return component;
    }

    /** Unscaled latents [c * h * w] of an image whose sides are multiples of 8. */
    public float[] encode(OrtEnvironment environment, RgbImage picture) throws OrtException {
        return encode(environment, picture.normalised(), picture.width(), picture.height());
    }

    /** Unscaled latents of a picture given as [3, height, width] values in [-1, 1]. */
    public float[] encode(OrtEnvironment environment, float[] pixels, int width, int height) throws OrtException {
        try (TensorBuffer input = new TensorBuffer(environment, image.type(), 1, 3, height, width)) {
            input.put(pixels, 0, 1f);
            try (OrtSession.Result result = component.run(Map.of(image.name(), input.tensor()))) {
                long[] shape = Tensors.shape(result.get(0));
                if (shape.length != 4 || (shape[1] != latentChannels && shape[1] != 2L * latentChannels)) {
                    throw new ModelException(component.file() + ": encoder output has shape "
                            + java.util.Arrays.toString(shape) + "; expected [1, " + latentChannels + " or "
                            + 2 * latentChannels + ", height/8, width/8]");
                }
                float[] values = Tensors.readFloats(result.get(0), component.file() + " output");
                int latentPlane = (int) (shape[2] * shape[3]);
                return java.util.Arrays.copyOf(values, latentChannels * latentPlane);
            }
        }
    }
}
