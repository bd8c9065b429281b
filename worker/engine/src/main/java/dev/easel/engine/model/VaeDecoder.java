package dev.easel.engine.model;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.easel.engine.image.RgbImage;
import java.util.Map;

/** The VAE decoder: {@code latent_sample} [1, c, h, w] (c 4; SD3's 16) in, the image [1, 3, 8h, 8w] in [-1, 1] out. */
public final class VaeDecoder {
    private final Component component;
    private final Component.Port latent;
    private final int latentChannels;

    VaeDecoder(Component component, int latentChannels) {
        this.component = component;
        this.latentChannels = latentChannels;
        this.latent = component.input("latent_sample");
        component.requireOnlyInputs("latent_sample");
        Tensors.requireFloat(latent, component.file().toString());
    }

    Component component() {
        return component;
    }

    /** Decodes diffusion latents (divided by {@code scalingFactor} first) to 8-bit RGB. */
    public RgbImage decode(OrtEnvironment environment, float[] latents, int latentHeight, int latentWidth,
            float scalingFactor) throws OrtException {
        Decoded decoded = decodeValues(environment, latents, latentHeight, latentWidth, scalingFactor);
        return RgbImage.fromPlanar(decoded.width(), decoded.height(), decoded.values(), 0.5f, 0.5f);
    }

    /** A decoded picture before rounding: planar RGB in [-1, 1] (roughly: the network does not clamp). */
    public record Decoded(int height, int width, float[] values) {
    }

    /** Decodes diffusion latents (divided by {@code scalingFactor} first) to the network's float output. */
    public Decoded decodeValues(OrtEnvironment environment, float[] latents, int latentHeight, int latentWidth,
            float scalingFactor) throws OrtException {
        try (TensorBuffer input = new TensorBuffer(environment, latent.type(), 1, latentChannels, latentHeight,
                latentWidth);
                OrtSession.Result result = run(input, latents, scalingFactor)) {
            long[] shape = Tensors.shape(result.get(0));
            if (shape.length != 4 || shape[1] != 3) {
                throw new ModelException(component.file() + ": decoded image has shape "
                        + java.util.Arrays.toString(shape) + "; expected [1, 3, height, width]");
            }
            return new Decoded((int) shape[2], (int) shape[3],
                    Tensors.readFloats(result.get(0), component.file() + " output"));
        }
    }

    private OrtSession.Result run(TensorBuffer input, float[] latents, float scalingFactor) throws OrtException {
        input.put(latents, 0, 1f / scalingFactor);
        return component.run(Map.of(latent.name(), input.tensor()));
    }
}
