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
     * The tensors of one job, allocated once: {@code rows} batch rows (the negative conditioning first when guided) of
     * latents [16, h, w], text states [sequence, width] and pooled embeddings, which stay for every step.
     */
    public Session open(OrtEnvironment environment, int rows, int latentHeight, int latentWidth, float[][] textRows,
            int sequence, int width, float[][] pooledRows) throws OrtException {
        return new Session(environment, rows, latentHeight, latentWidth, textRows, sequence, width, pooledRows);
    }

    /** One job's transformer inputs; {@link #predict} runs one evaluation of every row. */
    public final class Session implements AutoCloseable {
        private final int rows;
        private final int plane;
        private final TensorBuffer sample;
        private final TensorBuffer states;
        private final TensorBuffer pooledBuffer;
        private final TensorBuffer time;
        private final float[] timestepValues;
        private final Map<String, ai.onnxruntime.OnnxTensorLike> feeds;

        private Session(OrtEnvironment environment, int rows, int latentHeight, int latentWidth, float[][] textRows,
                int sequence, int width, float[][] pooledRows) throws OrtException {
            this.rows = rows;
            this.plane = Sd3Model.LATENT_CHANNELS * latentHeight * latentWidth;
            this.sample = new TensorBuffer(environment, latents.type(), rows, Sd3Model.LATENT_CHANNELS, latentHeight,
                    latentWidth);
            this.states = new TensorBuffer(environment, text.type(), rows, sequence, width);
            this.pooledBuffer = new TensorBuffer(environment, pooled.type(), rows, pooledRows[0].length);
            this.time = new TensorBuffer(environment, timestep.type(), rows);
            this.timestepValues = new float[rows];
            for (int r = 0; r < rows; r++) {
                states.put(textRows[r], r * sequence * width, 1f);
                pooledBuffer.put(pooledRows[r], r * pooledRows[r].length, 1f);
            }
            this.feeds = Map.of(latents.name(), sample.tensor(), text.name(), states.tensor(), pooled.name(),
                    pooledBuffer.tensor(), timestep.name(), time.tensor());
        }

        /** Every row's velocity for {@code latentValues} (the same latents in each row) at {@code timestepValue}. */
        public float[][] predict(float[] latentValues, float timestepValue) throws OrtException {
            java.util.Arrays.fill(timestepValues, timestepValue);
            time.put(timestepValues, 0, 1f);
            for (int r = 0; r < rows; r++) {
                sample.put(latentValues, r * plane, 1f);
            }
            try (OrtSession.Result result = component.run(feeds)) {
                long[] shape = Tensors.shape(result.get(0));
                if (shape.length != 4 || shape[0] != rows || shape[1] * shape[2] * shape[3] != plane) {
                    throw new ModelException(component.file() + ": the transformer's output has shape "
                            + java.util.Arrays.toString(shape) + "; expected [" + rows + ", 16, h, w]");
                }
                float[] all = Tensors.readFloats(result.get(0), component.file() + " output");
                float[][] out = new float[rows][];
                for (int r = 0; r < rows; r++) {
                    out[r] = java.util.Arrays.copyOfRange(all, r * plane, (r + 1) * plane);
                }
                return out;
            }
        }

        @Override
        public void close() {
            sample.close();
            states.close();
            pooledBuffer.close();
            time.close();
        }
    }
}
