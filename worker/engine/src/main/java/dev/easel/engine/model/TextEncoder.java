package dev.easel.engine.model;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A CLIP text encoder: token ids (int32 or int64) in, hidden states [1, sequence, width] out. Stable Diffusion 1.x/2.x
 * condition on the first output (the last layer, after the final LayerNorm); SDXL on the penultimate layer,
 * {@code hidden_states.(N-1)} of the {@code hidden_states.0 .. hidden_states.N} outputs optimum exports, and its second
 * encoder also gives the pooled {@code text_embeds}. Outputs are looked up by name.
 */
public final class TextEncoder {
    /** Which hidden states condition the UNet. */
    public enum Layer { LAST, PENULTIMATE }

    private final Component component;
    private final Component.Port ids;
    private final String hiddenOutput;
    private final String pooledOutput;

    TextEncoder(Component component, Layer layer, boolean pooled) throws OrtException {
        this.component = component;
        this.ids = component.input("input_ids");
        component.requireOnlyInputs("input_ids");
        if (ids.type() != ElementType.INT32 && ids.type() != ElementType.INT64) {
            throw new ModelException(component.file() + ": input_ids is " + ids.type() + "; expected int32 or int64");
        }
        List<Component.Port> outputs = component.outputs();
        Component.Port first = outputs.get(0);
        if (first.type() != ElementType.FLOAT && first.type() != ElementType.FLOAT16) {
            throw new ModelException(component.file() + ": the first output is " + first.type()
                    + "; expected float32 or float16 hidden states");
        }
        if (layer == Layer.LAST) {
            hiddenOutput = first.name();
        } else {
            long layers = outputs.stream().filter(o -> o.name().startsWith("hidden_states.")).count();
            if (layers < 2) {
                throw new ModelException(component.file() + ": SDXL conditions on the penultimate layer, and this"
                        + " export has no hidden_states.N outputs; export it with optimum-cli export onnx");
            }
            hiddenOutput = "hidden_states." + (layers - 2);
        }
        if (pooled) {
            pooledOutput = outputs.stream().filter(o -> o.name().equals("text_embeds")).findFirst()
                    .or(() -> outputs.stream().filter(o -> o.shape().length == 2).findFirst())
                    .map(Component.Port::name)
                    .orElseThrow(() -> new ModelException(component.file() + ": the second SDXL text encoder needs a"
                            + " pooled output (text_embeds, [batch, width]); this export has none"));
        } else {
            pooledOutput = null;
        }
    }

    public Component component() {
        return component;
    }

    /**
     * Hidden states of one prompt chunk: {@code values} holds sequence x width floats; {@code pooled} the pooled
     * embedding (SDXL's second encoder) or null.
     */
    public record HiddenStates(float[] values, int sequence, int width, float[] pooled) {
        public HiddenStates(float[] values, int sequence, int width) {
            this(values, sequence, width, null);
        }

        /** The same shape, every value 0 (SDXL's negative conditioning for an empty negative prompt). */
        public HiddenStates zeros() {
            return new HiddenStates(new float[values.length], sequence, width,
                    pooled == null ? null : new float[pooled.length]);
        }
    }

    public HiddenStates encode(OrtEnvironment environment, int[] tokenIds) throws OrtException {
        long[] shape = {1, tokenIds.length};
        ByteBuffer buffer;
        OnnxTensor input;
        if (ids.type() == ElementType.INT32) {
            buffer = ByteBuffer.allocateDirect(tokenIds.length * 4).order(ByteOrder.nativeOrder());
            buffer.asIntBuffer().put(tokenIds);
            input = OnnxTensor.createTensor(environment, buffer.asIntBuffer(), shape);
        } else {
            buffer = ByteBuffer.allocateDirect(tokenIds.length * 8).order(ByteOrder.nativeOrder());
            for (int i = 0; i < tokenIds.length; i++) {
                buffer.putLong(i * 8, tokenIds[i]);
            }
            input = OnnxTensor.createTensor(environment, buffer.asLongBuffer(), shape);
        }
        Set<String> wanted = new LinkedHashSet<>();
        wanted.add(hiddenOutput);
        if (pooledOutput != null) {
            wanted.add(pooledOutput);
        }
        try (input; OrtSession.Result result = component.run(Map.of(ids.name(), input), wanted)) {
            OnnxTensor hidden = (OnnxTensor) result.get(hiddenOutput).orElseThrow();
            long[] outputShape = Tensors.shape(hidden);
            if (outputShape.length != 3 || outputShape[0] != 1 || outputShape[1] != tokenIds.length) {
                throw new ModelException(component.file() + ": hidden states have shape "
                        + java.util.Arrays.toString(outputShape) + "; expected [1, " + tokenIds.length + ", width]");
            }
            float[] values = Tensors.readFloats(hidden, component.file() + " output");
            float[] pooled = pooledOutput == null ? null
                    : Tensors.readFloats((OnnxTensor) result.get(pooledOutput).orElseThrow(),
                            component.file() + " " + pooledOutput);
            return new HiddenStates(values, tokenIds.length, (int) outputShape[2], pooled);
        }
    }
}
