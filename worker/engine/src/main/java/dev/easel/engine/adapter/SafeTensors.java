package dev.easel.engine.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A {@code .safetensors} file: an unsigned 64-bit little-endian header length, a JSON header naming each tensor's
 * dtype, shape and byte range, then the little-endian data. Float tensors (F32, F16, BF16) are read as float32.
 */
public final class SafeTensors {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Headers beyond this are refused: real LoRA headers are tens of kilobytes. */
    private static final long MAX_HEADER_BYTES = 100L << 20;

    /** One tensor: its dtype as the file names it, its shape and where its bytes are in the data. */
    public record Tensor(String dtype, long[] shape, long begin, long end) {
        public long elements() {
            long count = 1;
            for (long dim : shape) {
                count *= dim;
            }
            return count;
        }
    }

    private final Path file;
    private final ByteBuffer data;
    private final Map<String, Tensor> tensors;

    private SafeTensors(Path file, ByteBuffer data, Map<String, Tensor> tensors) {
        this.file = file;
        this.data = data;
        this.tensors = tensors;
    }

    /** Reads a file; a file that is not safetensors fails with an {@link IllegalArgumentException} saying why. */
    public static SafeTensors read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        if (bytes.length < 8) {
            throw new IllegalArgumentException(file + " is not a safetensors file (it has " + bytes.length + " bytes)");
        }
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength = buffer.getLong(0);
        if (headerLength <= 0 || headerLength > Math.min(MAX_HEADER_BYTES, bytes.length - 8L)) {
            throw new IllegalArgumentException(file + " is not a safetensors file (header length " + headerLength
                    + "); a .pt or .ckpt file must be converted to .safetensors first");
        }
        JsonNode header;
        try {
            header = JSON.readTree(new String(bytes, 8, (int) headerLength, java.nio.charset.StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalArgumentException(file + " has an unreadable safetensors header: " + e.getMessage(), e);
        }
        ByteBuffer data = ByteBuffer.wrap(bytes, 8 + (int) headerLength, bytes.length - 8 - (int) headerLength)
                .slice().order(ByteOrder.LITTLE_ENDIAN);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            if (entry.getKey().equals("__metadata__")) {
                continue;
            }
            JsonNode node = entry.getValue();
            long[] shape = new long[node.path("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = node.path("shape").get(i).asLong();
            }
            long begin = node.path("data_offsets").path(0).asLong();
            long end = node.path("data_offsets").path(1).asLong();
            if (begin < 0 || end < begin || end > data.capacity()) {
                throw new IllegalArgumentException(file + ": tensor " + entry.getKey() + " points outside the file");
            }
            tensors.put(entry.getKey(), new Tensor(node.path("dtype").asText(), shape, begin, end));
        }
        return new SafeTensors(file, data, tensors);
    }

    public Path file() {
        return file;
    }

    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /** The bytes after the header: what AUTOMATIC1111's "addnet" hash of a LoRA covers. */
    public ByteBuffer data() {
        return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Tensor {@code name} as float32 values (float16 and bfloat16 widened exactly). */
    public float[] floats(String name) {
        Tensor tensor = tensors.get(name);
        if (tensor == null) {
            throw new IllegalArgumentException(file + " has no tensor " + name);
        }
        int count = (int) tensor.elements();
        float[] values = new float[count];
        int at = (int) tensor.begin();
        int width = switch (tensor.dtype()) {
            case "F32" -> 4;
            case "F16", "BF16" -> 2;
            default -> throw new IllegalArgumentException(file + ": tensor " + name + " is " + tensor.dtype()
                    + "; Easel reads F32, F16 and BF16 tensors");
        };
        if ((long) count * width != tensor.end() - tensor.begin()) {
            throw new IllegalArgumentException(file + ": tensor " + name + " has " + (tensor.end() - tensor.begin())
                    + " bytes for " + count + " " + tensor.dtype() + " values");
        }
        for (int i = 0; i < count; i++) {
            values[i] = switch (tensor.dtype()) {
                case "F32" -> data.getFloat(at + 4 * i);
                case "F16" -> Float.float16ToFloat(data.getShort(at + 2 * i));
                default -> Float.intBitsToFloat((data.getShort(at + 2 * i) & 0xffff) << 16);
            };
        }
        return values;
    }
}
