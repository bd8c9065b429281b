package dev.easel.engine.model;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

/** Reading float32 and float16 outputs into float arrays. */
final class Tensors {
    private Tensors() {
    }

    static float[] readFloats(OnnxValue value, String what) {
        if (!(value instanceof OnnxTensor tensor)) {
            throw new ModelException(what + " is not a tensor");
        }
        OnnxJavaType type = tensor.getInfo().type;
        if (type == OnnxJavaType.FLOAT) {
            FloatBuffer buffer = tensor.getFloatBuffer();
            float[] values = new float[buffer.remaining()];
            buffer.get(values);
            return values;
        }
        if (type == OnnxJavaType.FLOAT16) {
            ShortBuffer buffer = tensor.getShortBuffer();
            float[] values = new float[buffer.remaining()];
            for (int i = 0; i < values.length; i++) {
                values[i] = Float.float16ToFloat(buffer.get(i));
            }
            return values;
        }
        throw new ModelException(what + " has element type " + type + "; expected float32 or float16");
    }

    static long[] shape(OnnxValue value) {
        return ((OnnxTensor) value).getInfo().getShape();
    }

    static void requireFloat(Component.Port port, String file) {
        if (port.type() != ElementType.FLOAT && port.type() != ElementType.FLOAT16) {
            throw new ModelException(file + ": input '" + port.name() + "' is " + port.type()
                    + "; expected float32 or float16");
        }
    }
}
