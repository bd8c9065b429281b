package dev.easel.models.onnx;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A small builder for ONNX graphs (opset 17): inputs, outputs, initializers and nodes, named automatically where the
 * name does not matter. It writes a {@code model.onnx}, optionally with large initializers in an external data file
 * beside it, the way exports of models over 2 GB store their weights.
 */
public final class OnnxGraph {
    public static final int FLOAT = OnnxMl.TensorProto.DataType.FLOAT_VALUE;
    public static final int INT32 = OnnxMl.TensorProto.DataType.INT32_VALUE;
    public static final int INT64 = OnnxMl.TensorProto.DataType.INT64_VALUE;
    public static final int FLOAT16 = OnnxMl.TensorProto.DataType.FLOAT16_VALUE;
    private static final int OPSET = 17;

    private final OnnxMl.GraphProto.Builder graph = OnnxMl.GraphProto.newBuilder();
    private int counter;

    public OnnxGraph(String name) {
        graph.setName(name);
    }

    /** A graph input; each dimension is a Long (fixed) or a String (symbolic, e.g. "batch"). */
    public String input(String name, int elementType, Object... dims) {
        graph.addInput(valueInfo(name, elementType, dims));
        return name;
    }

    /** Declares {@code value} as graph output {@code name} (renamed through Identity when they differ). */
    public void output(String value, String name, int elementType, Object... dims) {
        if (!value.equals(name)) {
            graph.addNode(OnnxMl.NodeProto.newBuilder().setOpType("Identity").addInput(value).addOutput(name)
                    .setName(name + "_identity"));
        }
        graph.addOutput(valueInfo(name, elementType, dims));
    }

    private static OnnxMl.ValueInfoProto valueInfo(String name, int elementType, Object... dims) {
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
        for (Object dim : dims) {
            OnnxMl.TensorShapeProto.Dimension.Builder d = OnnxMl.TensorShapeProto.Dimension.newBuilder();
            if (dim instanceof String symbol) {
                d.setDimParam(symbol);
            } else {
                d.setDimValue(((Number) dim).longValue());
            }
            shape.addDim(d);
        }
        OnnxMl.TypeProto.Tensor tensor = OnnxMl.TypeProto.Tensor.newBuilder().setElemType(elementType).setShape(shape)
                .build();
        return OnnxMl.ValueInfoProto.newBuilder().setName(name)
                .setType(OnnxMl.TypeProto.newBuilder().setTensorType(tensor)).build();
    }

    public String floats(String name, float[] values, long... dims) {
        ByteBuffer bytes = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        graph.addInitializer(OnnxMl.TensorProto.newBuilder().setName(name).setDataType(FLOAT).addAllDims(boxed(dims))
                .setRawData(ByteString.copyFrom(bytes.array())));
        return name;
    }

    public String floats(float[] values, long... dims) {
        return floats(fresh("const"), values, dims);
    }

    public String scalar(float value) {
        return floats(new float[] {value});
    }

    public String longs(long... values) {
        String name = fresh("ints");
        ByteBuffer bytes = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asLongBuffer().put(values);
        graph.addInitializer(OnnxMl.TensorProto.newBuilder().setName(name).setDataType(INT64).addDims(values.length)
                .setRawData(ByteString.copyFrom(bytes.array())));
        return name;
    }

    /** A rank-0 int64 constant (for Range bounds and scalar Gather indices). */
    public String longScalar(long value) {
        String name = fresh("int");
        ByteBuffer bytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putLong(0, value);
        graph.addInitializer(OnnxMl.TensorProto.newBuilder().setName(name).setDataType(INT64)
                .setRawData(ByteString.copyFrom(bytes.array())));
        return name;
    }

    private static List<Long> boxed(long[] dims) {
        return java.util.Arrays.stream(dims).boxed().toList();
    }

    private String fresh(String prefix) {
        return prefix + "_" + (counter++);
    }

    /** Adds a node with one output and returns the output's name. */
    public String op(String opType, List<String> inputs, Attribute... attributes) {
        String output = fresh(opType.toLowerCase(java.util.Locale.ROOT));
        OnnxMl.NodeProto.Builder node = OnnxMl.NodeProto.newBuilder().setOpType(opType).setName(output + "_node")
                .addAllInput(inputs).addOutput(output);
        for (Attribute attribute : attributes) {
            node.addAttribute(attribute.proto());
        }
        graph.addNode(node);
        return output;
    }

    public String op(String opType, String input, Attribute... attributes) {
        return op(opType, List.of(input), attributes);
    }

    // Common operations, named after their ONNX operators.

    public String add(String a, String b) {
        return op("Add", List.of(a, b));
    }

    public String sub(String a, String b) {
        return op("Sub", List.of(a, b));
    }

    public String mul(String a, String b) {
        return op("Mul", List.of(a, b));
    }

    public String div(String a, String b) {
        return op("Div", List.of(a, b));
    }

    public String matmul(String a, String b) {
        return op("MatMul", List.of(a, b));
    }

    public String sigmoid(String x) {
        return op("Sigmoid", x);
    }

    public String silu(String x) {
        return mul(x, sigmoid(x));
    }

    public String reshape(String x, long... shape) {
        return op("Reshape", List.of(x, longs(shape)));
    }

    public String transpose(String x, long... perm) {
        return op("Transpose", x, Attribute.ints("perm", perm));
    }

    public String slice(String x, long axis, long start, long end) {
        return op("Slice", List.of(x, longs(start), longs(end), longs(axis)));
    }

    public String concat(long axis, String... inputs) {
        return op("Concat", List.of(inputs), Attribute.integer("axis", axis));
    }

    public String cast(String x, int elementType) {
        return op("Cast", x, Attribute.integer("to", elementType));
    }

    /** Writes the model; initializers of at least {@code externalMinBytes} go to {@code externalFileName} beside it. */
    public void write(Path modelFile, String producer, String externalFileName, long externalMinBytes)
            throws IOException {
        Files.createDirectories(modelFile.getParent());
        OnnxMl.GraphProto.Builder written = graph.clone();
        if (externalFileName != null) {
            Path external = modelFile.resolveSibling(externalFileName);
            try (OutputStream out = Files.newOutputStream(external)) {
                long offset = 0;
                for (int i = 0; i < written.getInitializerCount(); i++) {
                    OnnxMl.TensorProto tensor = written.getInitializer(i);
                    ByteString raw = tensor.getRawData();
                    if (raw.size() < externalMinBytes) {
                        continue;
                    }
                    raw.writeTo(out);
                    written.setInitializer(i, tensor.toBuilder().clearRawData()
                            .setDataLocation(OnnxMl.TensorProto.DataLocation.EXTERNAL)
                            .addExternalData(entry("location", externalFileName))
                            .addExternalData(entry("offset", Long.toString(offset)))
                            .addExternalData(entry("length", Integer.toString(raw.size()))));
                    offset += raw.size();
                }
            }
        }
        OnnxMl.ModelProto model = OnnxMl.ModelProto.newBuilder()
                .setIrVersion(8)
                .setProducerName(producer)
                .setModelVersion(1)
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setGraph(written)
                .build();
        Files.write(modelFile, model.toByteArray());
    }

    private static OnnxMl.StringStringEntryProto entry(String key, String value) {
        return OnnxMl.StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }
}
