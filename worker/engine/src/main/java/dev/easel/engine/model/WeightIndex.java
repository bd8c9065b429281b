package dev.easel.engine.model;

import ai.onnx.proto.OnnxMl;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where a component's patchable weights are in its ONNX file, by the module path of the layer they belong to. An
 * exported graph keeps module paths in node names even where a weight was renamed or transposed: an {@code nn.Linear}
 * is a MatMul node {@code /<path>/MatMul} whose second input holds the weight transposed ([in, out]); an
 * {@code nn.Conv2d} a Conv node {@code /<path>/Conv} with the weight [out, in, kh, kw]; a 2-D Linear a Gemm. The token
 * embedding table is the first input of the Gather node named for {@code token_embedding}.
 */
public final class WeightIndex {
    /** ONNX TensorProto data types Easel patches. */
    static final int FLOAT = 1;
    static final int FLOAT16 = 10;

    /**
     * One layer's weight: its initializer, dims and element type, whether it is stored transposed against the torch
     * weight ([in, out] for a MatMul), and where its bytes are.
     */
    public record Weight(String modulePath, String initializer, long[] dims, int dataType, boolean transposed) {
        public long elements() {
            long count = 1;
            for (long dim : dims) {
                count *= dim;
            }
            return count;
        }
    }

    private final Path file;
    private final Map<String, Weight> byModule;
    private final Weight tokenEmbedding;

    private WeightIndex(Path file, Map<String, Weight> byModule, Weight tokenEmbedding) {
        this.file = file;
        this.byModule = byModule;
        this.tokenEmbedding = tokenEmbedding;
    }

    /** Indexes {@code file}'s Linear and Conv weights by module path (reads the graph, not external weights). */
    public static WeightIndex of(Path file) throws IOException {
        OnnxMl.GraphProto graph = parse(file).getGraph();
        Map<String, OnnxMl.TensorProto> initializers = new HashMap<>();
        for (OnnxMl.TensorProto tensor : graph.getInitializerList()) {
            initializers.put(tensor.getName(), tensor);
        }
        Map<String, Weight> byModule = new LinkedHashMap<>();
        Weight tokenEmbedding = null;
        for (OnnxMl.NodeProto node : graph.getNodeList()) {
            String op = node.getOpType();
            if (op.equals("Gather") && node.getName().contains("token_embedding") && node.getInputCount() > 0
                    && initializers.containsKey(node.getInput(0))) {
                tokenEmbedding = weight(modulePath(node.getName()), initializers.get(node.getInput(0)), false);
                continue;
            }
            if (!(op.equals("MatMul") || op.equals("Conv") || op.equals("Gemm")) || node.getInputCount() < 2
                    || !node.getName().startsWith("/")) {
                continue;
            }
            OnnxMl.TensorProto tensor = initializers.get(node.getInput(1));
            if (tensor == null || !(tensor.getDataType() == FLOAT || tensor.getDataType() == FLOAT16)) {
                continue;
            }
            boolean transposed = op.equals("MatMul") || (op.equals("Gemm") && !transB(node));
            byModule.putIfAbsent(modulePath(node.getName()), weight(modulePath(node.getName()), tensor, transposed));
        }
        return new WeightIndex(file, byModule, tokenEmbedding);
    }

    /** {@code /down_blocks.1/attentions.0/proj_in/Conv} is module {@code down_blocks.1.attentions.0.proj_in}. */
    static String modulePath(String nodeName) {
        String path = nodeName.startsWith("/") ? nodeName.substring(1) : nodeName;
        int last = path.lastIndexOf('/');
        return (last < 0 ? path : path.substring(0, last)).replace('/', '.');
    }

    private static boolean transB(OnnxMl.NodeProto node) {
        return node.getAttributeList().stream().anyMatch(a -> a.getName().equals("transB") && a.getI() == 1);
    }

    private static Weight weight(String module, OnnxMl.TensorProto tensor, boolean transposed) {
        long[] dims = tensor.getDimsList().stream().mapToLong(Long::longValue).toArray();
        return new Weight(module, tensor.getName(), dims, tensor.getDataType(), transposed);
    }

    public Path file() {
        return file;
    }

    /** The weights by module path. */
    public Map<String, Weight> weights() {
        return byModule;
    }

    /** The token embedding table [vocabulary, width] of a text encoder, or null. */
    public Weight tokenEmbedding() {
        return tokenEmbedding;
    }

    /** The float32 values of {@code weights}, read from the file (inline or external data), keyed by initializer. */
    public Map<String, float[]> read(Collection<Weight> weights) throws IOException {
        Set<String> wanted = new java.util.HashSet<>();
        weights.forEach(w -> wanted.add(w.initializer()));
        Map<String, float[]> values = new HashMap<>();
        for (OnnxMl.TensorProto tensor : parse(file).getGraph().getInitializerList()) {
            if (wanted.contains(tensor.getName())) {
                values.put(tensor.getName(), values(tensor));
            }
        }
        List<String> missing = new ArrayList<>(wanted);
        missing.removeAll(values.keySet());
        if (!missing.isEmpty()) {
            throw new ModelException(file + ": initializers " + missing + " are not in the graph");
        }
        return values;
    }

    private float[] values(OnnxMl.TensorProto tensor) throws IOException {
        long count = 1;
        for (long dim : tensor.getDimsList()) {
            count *= dim;
        }
        ByteBuffer bytes;
        if (tensor.getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL) {
            Map<String, String> external = new HashMap<>();
            tensor.getExternalDataList().forEach(entry -> external.put(entry.getKey(), entry.getValue()));
            long offset = Long.parseLong(external.getOrDefault("offset", "0"));
            long length = Long.parseLong(external.getOrDefault("length", Long.toString(count
                    * (tensor.getDataType() == FLOAT16 ? 2 : 4))));
            Path data = file.resolveSibling(external.get("location"));
            try (FileChannel channel = FileChannel.open(data)) {
                bytes = ByteBuffer.allocate((int) length);
                channel.read(bytes, offset);
                bytes.flip();
            }
        } else if (!tensor.getRawData().isEmpty()) {
            bytes = tensor.getRawData().asReadOnlyByteBuffer();
        } else if (tensor.getDataType() == FLOAT && tensor.getFloatDataCount() == count) {
            float[] values = new float[(int) count];
            for (int i = 0; i < values.length; i++) {
                values[i] = tensor.getFloatData(i);
            }
            return values;
        } else {
            throw new ModelException(file + ": initializer " + tensor.getName() + " has no data Easel can read");
        }
        bytes.order(ByteOrder.LITTLE_ENDIAN);
        float[] values = new float[(int) count];
        for (int i = 0; i < values.length; i++) {
            values[i] = tensor.getDataType() == FLOAT16 ? Float.float16ToFloat(bytes.getShort(bytes.position() + 2 * i))
                    : bytes.getFloat(bytes.position() + 4 * i);
        }
        return values;
    }

    private static OnnxMl.ModelProto parse(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            com.google.protobuf.CodedInputStream coded = com.google.protobuf.CodedInputStream.newInstance(in);
            coded.setSizeLimit(Integer.MAX_VALUE);
            return OnnxMl.ModelProto.parseFrom(coded);
        }
    }
}
