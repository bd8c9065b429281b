package dev.easel.engine.model;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The denoising UNet: {@code sample} [batch, 4, h, w], {@code timestep} (float32, float16 or int64; shape [batch],
 * [1] or scalar) and {@code encoder_hidden_states} [batch, sequence, width] in, the prediction out.
 */
public final class Unet {
    private final Component component;
    private final Component.Port sample;
    private final Component.Port timestep;
    private final Component.Port hidden;

    Unet(Component component) {
        this.component = component;
        this.sample = component.input("sample");
        this.timestep = component.input("timestep");
        this.hidden = component.input("encoder_hidden_states");
        component.requireOnlyInputs("sample", "timestep", "encoder_hidden_states");
        String file = component.file().toString();
        Tensors.requireFloat(sample, file);
        Tensors.requireFloat(hidden, file);
        if (timestep.type() == ElementType.INT32) {
            throw new ModelException(file + ": timestep is int32; expected float32, float16 or int64");
        }
        if (timestep.shape().length > 1) {
            throw new ModelException(file + ": timestep has rank " + timestep.shape().length
                    + "; expected a scalar or shape [batch]");
        }
        if (sample.shape().length != 4 || (sample.shape()[1] != 4 && sample.shape()[1] > 0)) {
            throw new ModelException(file + ": sample has shape " + java.util.Arrays.toString(sample.shape())
                    + "; expected [batch, 4, height, width]");
        }
    }

    Component component() {
        return component;
    }

    /** The element type of the timestep input, for reports and tests. */
    public ElementType timestepType() {
        return timestep.type();
    }

    /**
     * Buffers for one job of {@code batch} samples of h x w latents: allocated once, rewritten every step.
     * {@code hiddenStates} holds one prompt's hidden states per batch entry.
     */
    public Session open(OrtEnvironment environment, int batch, int latentHeight, int latentWidth,
            List<TextEncoder.HiddenStates> hiddenStates) throws OrtException {
        return new Session(environment, batch, latentHeight, latentWidth, hiddenStates);
    }

    /** The tensors of one job; {@link #predict} runs one denoising evaluation. */
    public final class Session implements AutoCloseable {
        private final int batch;
        private final int plane;
        private final TensorBuffer sampleBuffer;
        private final TensorBuffer hiddenBuffer;
        private final TensorBuffer outputBuffer;
        private final TensorBuffer timestepFloat;
        private final ByteBuffer timestepLongs;
        private final OnnxTensor timestepTensor;
        private final int timestepCount;
        private final float[] timestepValues;
        private final Map<String, OnnxTensor> feeds = new HashMap<>();

        private Session(OrtEnvironment environment, int batch, int latentHeight, int latentWidth,
                List<TextEncoder.HiddenStates> hiddenStates) throws OrtException {
            this.batch = batch;
            this.plane = 4 * latentHeight * latentWidth;
            TextEncoder.HiddenStates first = hiddenStates.get(0);
            sampleBuffer = new TensorBuffer(environment, sample.type(), batch, 4, latentHeight, latentWidth);
            hiddenBuffer = new TensorBuffer(environment, hidden.type(), batch, first.sequence(), first.width());
            outputBuffer = new TensorBuffer(environment, sample.type(), batch, 4, latentHeight, latentWidth);
            for (int b = 0; b < batch; b++) {
                hiddenBuffer.put(hiddenStates.get(b).values(), b * first.values().length, 1f);
            }
            long[] timestepShape;
            if (timestep.shape().length == 0) {
                timestepShape = new long[0];
            } else if (timestep.shape()[0] == 1) {
                timestepShape = new long[] {1};
            } else {
                timestepShape = new long[] {batch};
            }
            timestepCount = timestepShape.length == 0 ? 1 : (int) timestepShape[0];
            timestepValues = new float[timestepCount];
            if (timestep.type() == ElementType.INT64) {
                timestepFloat = null;
                timestepLongs = ByteBuffer.allocateDirect(timestepCount * 8).order(ByteOrder.nativeOrder());
                timestepTensor = OnnxTensor.createTensor(environment, timestepLongs.asLongBuffer(), timestepShape);
            } else {
                timestepLongs = null;
                timestepFloat = new TensorBuffer(environment, timestep.type(), timestepShape);
                timestepTensor = timestepFloat.tensor();
            }
            feeds.put(sample.name(), sampleBuffer.tensor());
            feeds.put(timestep.name(), timestepTensor);
            feeds.put(hidden.name(), hiddenBuffer.tensor());
        }

        /**
         * One evaluation: every batch entry gets {@code latents * inputScale}; the predictions land in
         * {@code predictions} ([batch][4*h*w]).
         */
        public void predict(float[] latents, float inputScale, double t, float[][] predictions) throws OrtException {
            for (int b = 0; b < batch; b++) {
                sampleBuffer.put(latents, b * plane, inputScale);
            }
            if (timestepLongs != null) {
                // An int64 model gets the timestep truncated, as numpy's astype does in the diffusers ONNX pipelines.
                for (int i = 0; i < timestepCount; i++) {
                    timestepLongs.putLong(i * 8, (long) t);
                }
            } else {
                java.util.Arrays.fill(timestepValues, (float) t);
                timestepFloat.put(timestepValues, 0, 1f);
            }
            component.runInto(feeds, outputBuffer.tensor());
            for (int b = 0; b < batch; b++) {
                outputBuffer.get(predictions[b], b * plane);
            }
        }

        @Override
        public void close() {
            sampleBuffer.close();
            hiddenBuffer.close();
            outputBuffer.close();
            timestepTensor.close();
        }
    }
}
