package dev.easel.engine.model;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.util.Map;

/**
 * SD3's MMDiT as Optimum exports it, fed by name: {@code hidden_states} [B, 16, h, w] (the latents),
 * {@code encoder_hidden_states} [B, 77 + 256, D] (CLIP and T5 states), {@code pooled_projections} [B, P] (both CLIP
 * encoders' pooled embeddings) and {@code timestep} [B] (sigma x 1000, fractional) in; the velocity
 * {@code out_hidden_states} [B, 16, h, w] out. Element types are read from the session (float32 or float16).
 */
public final class Transformer {
    private final Component component;
    private final Component.Port latents;
    private final Component.Port text;
    private final Component.Port pooled;
    private final Component.Port timestep;

    Transformer(Component component) {
        this.component = component;
        component.requireOnlyInputs("hidden_states", "encoder_hidden_states", "pooled_projections", "timestep");
        this.latents = component.input("hidden_states");
        this.text = component.input("encoder_hidden_states");
        this.pooled = component.input("pooled_projections");
        this.timestep = component.input("timestep");
        for (Component.Port port : new Component.Port[] {latents, text, pooled, timestep}) {
            Tensors.requireFloat(port, component.file().toString());
        }
    }

    /**
     * One evaluation of {@code rows} batch rows: row r takes {@code latents} (the same for every row), text states
     * {@code text[r]} ([sequence x width]) and pooled {@code pooledRows[r]}; returns each row's velocity.
     */
    public float[][] predict(OrtEnvironment environment, float[] latents, int latentHeight, int latentWidth,
            float[][] textRows, int sequence, int width, float[][] pooledRows, float timestepValue)
            throws OrtException {
        int rows = textRows.length;
        int plane = latents.length;
        try (TensorBuffer sample = new TensorBuffer(environment, this.latents.type(), rows, Sd3Model.LATENT_CHANNELS,
                        latentHeight, latentWidth);
                TensorBuffer states = new TensorBuffer(environment, text.type(), rows, sequence, width);
                TensorBuffer pooledBuffer = new TensorBuffer(environment, pooled.type(), rows,
                        pooledRows[0].length);
                TensorBuffer time = new TensorBuffer(environment, timestep.type(), rows)) {
            for (int r = 0; r < rows; r++) {
                sample.put(latents, r * plane, 1f);
                states.put(textRows[r], r * sequence * width, 1f);
                pooledBuffer.put(pooledRows[r], r * pooledRows[r].length, 1f);
                time.put(new float[] {timestepValue}, r, 1f);
            }
            try (OrtSession.Result result = component.run(Map.of(this.latents.name(), sample.tensor(), text.name(),
                    states.tensor(), pooled.name(), pooledBuffer.tensor(), timestep.name(), time.tensor()))) {
                long[] shape = Tensors.shape(result.get(0));
                if (shape.length != 4 || shape[0] != rows || shape[1] * shape[2] * shape[3] != plane) {
                    throw new ModelException(component.file() + ": the transformer's output has shape "
                            + java.util.Arrays.toString(shape) + "; expected [" + rows + ", 16, " + latentHeight + ", "
                            + latentWidth + "]");
                }
                float[] all = Tensors.readFloats(result.get(0), component.file() + " output");
                float[][] out = new float[rows][];
                for (int r = 0; r < rows; r++) {
                    out[r] = java.util.Arrays.copyOfRange(all, r * plane, (r + 1) * plane);
                }
                return out;
            }
        }
    }
}
