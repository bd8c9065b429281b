package dev.easel.engine.model;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A float32 or float16 tensor over a direct buffer: ONNX Runtime reads and writes it in place, so a tensor rewritten
 * every denoising step costs a copy of its values and no allocation.
 */
public final class TensorBuffer implements AutoCloseable {
    private final ByteBuffer bytes;
    private final boolean half;
    private final OnnxTensor tensor;

    public TensorBuffer(OrtEnvironment environment, ElementType type, long... shape) throws OrtException {
        if (type != ElementType.FLOAT && type != ElementType.FLOAT16) {
            throw new IllegalArgumentException("a float tensor buffer cannot hold " + type);
        }
        long count = 1;
        for (long dim : shape) {
            count *= dim;
        }
        this.half = type == ElementType.FLOAT16;
        this.bytes = ByteBuffer.allocateDirect(Math.toIntExact(count * (half ? 2 : 4))).order(ByteOrder.nativeOrder());
        this.tensor = half
                ? OnnxTensor.createTensor(environment, bytes, shape, OnnxJavaType.FLOAT16)
                : OnnxTensor.createTensor(environment, bytes.asFloatBuffer(), shape);
    }

    public OnnxTensor tensor() {
        return tensor;
    }

    /** The buffer's size in bytes. */
    public long byteSize() {
        return bytes.capacity();
    }

    /** Writes {@code values} starting at element {@code offset}, each multiplied by {@code scale}. */
    public void put(float[] values, int offset, float scale) {
        put(values, 0, values.length, offset, scale);
    }

    /** Writes {@code count} values from {@code values[from]} on, starting at element {@code offset}, scaled. */
    public void put(float[] values, int from, int count, int offset, float scale) {
        if (half) {
            for (int i = 0; i < count; i++) {
                bytes.putShort((offset + i) * 2, Float.floatToFloat16(values[from + i] * scale));
            }
        } else {
            for (int i = 0; i < count; i++) {
                bytes.putFloat((offset + i) * 4, values[from + i] * scale);
            }
        }
    }

    /** Reads {@code target.length} elements starting at element {@code offset}. */
    public void get(float[] target, int offset) {
        for (int i = 0; i < target.length; i++) {
            target[i] = read(offset + i);
        }
    }

    public float read(int index) {
        return half ? Float.float16ToFloat(bytes.getShort(index * 2)) : bytes.getFloat(index * 4);
    }

    @Override
    public void close() {
        tensor.close();
    }
}
