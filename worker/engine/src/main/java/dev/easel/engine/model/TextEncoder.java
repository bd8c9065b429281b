package dev.easel.engine.model;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;

/** The CLIP text encoder: token ids (int32 or int64) in, hidden states [1, sequence, width] out. */
public final class TextEncoder {
    private final Component component;
    private final Component.Port ids;

    TextEncoder(Component component) throws OrtException {
        this.component = component;
        this.ids = component.input("input_ids");
        component.requireOnlyInputs("input_ids");
        if (ids.type() != ElementType.INT32 && ids.type() != ElementType.INT64) {
            throw new ModelException(component.file() + ": input_ids is " + ids.type() + "; expected int32 or int64");
        }
        ElementType output = component.firstOutputType();
        if (output != ElementType.FLOAT && output != ElementType.FLOAT16) {
            throw new ModelException(component.file() + ": the first output is " + output
                    + "; expected float32 or float16 hidden states");
        }
    }

    Component component() {
        return component;
    }

    /** Hidden states of one prompt: {@code values} holds sequence x width floats. */
    public record HiddenStates(float[] values, int sequence, int width) {
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
        try (input; OrtSession.Result result = component.run(Map.of(ids.name(), input))) {
            long[] outputShape = Tensors.shape(result.get(0));
            if (outputShape.length != 3 || outputShape[0] != 1 || outputShape[1] != tokenIds.length) {
                throw new ModelException(component.file() + ": hidden states have shape "
                        + java.util.Arrays.toString(outputShape) + "; expected [1, " + tokenIds.length + ", width]");
            }
            float[] values = Tensors.readFloats(result.get(0), component.file() + " output");
            return new HiddenStates(values, tokenIds.length, (int) outputShape[2]);
        }
    }
}
