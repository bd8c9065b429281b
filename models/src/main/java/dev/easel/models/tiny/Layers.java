package dev.easel.models.tiny;

import dev.easel.engine.noise.GaussianNoise;
import dev.easel.models.onnx.Attribute;
import dev.easel.models.onnx.OnnxGraph;
import java.util.List;

/** Neural network layers as ONNX subgraphs, with deterministic random weights from one seed. */
final class Layers {
    final OnnxGraph g;
    private final GaussianNoise random;

    Layers(OnnxGraph graph, long seed) {
        this.g = graph;
        this.random = new GaussianNoise(seed);
    }

    String weights(float std, long... dims) {
        long count = 1;
        for (long dim : dims) {
            count *= dim;
        }
        float[] values = new float[Math.toIntExact(count)];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextGaussian() * std;
        }
        return g.floats(values, dims);
    }

    String constant(float value, long... dims) {
        long count = 1;
        for (long dim : dims) {
            count *= dim;
        }
        float[] values = new float[Math.toIntExact(count)];
        java.util.Arrays.fill(values, value);
        return g.floats(values, dims);
    }

    /** x [..., in] times W [in, out] plus bias. */
    String linear(String x, int in, int out) {
        return g.add(g.matmul(x, weights((float) Math.sqrt(1.0 / in), in, out)), constant(0f, out));
    }

    String conv(String x, int in, int out, int kernel, int stride, float gain) {
        int pad = kernel / 2;
        String w = weights(gain * (float) Math.sqrt(2.0 / (in * kernel * kernel)), out, in, kernel, kernel);
        return g.op("Conv", List.of(x, w, constant(0f, out)), Attribute.ints("kernel_shape", kernel, kernel),
                Attribute.ints("pads", pad, pad, pad, pad), Attribute.ints("strides", stride, stride));
    }

    String conv(String x, int in, int out, int kernel) {
        return conv(x, in, out, kernel, 1, 1f);
    }

    /** GroupNorm as exporters emit it: Reshape, InstanceNormalization, Reshape, then the per-channel affine. */
    String groupNorm(String x, int channels, int groups) {
        String grouped = g.reshape(x, 0, groups, -1);
        String normed = g.op("InstanceNormalization", List.of(grouped, constant(1f, groups), constant(0f, groups)),
                Attribute.real("epsilon", 1e-5f));
        String restored = g.op("Reshape", List.of(normed, g.op("Shape", x)));
        return g.add(g.mul(restored, constant(1f, channels, 1, 1)), constant(0f, channels, 1, 1));
    }

    String layerNorm(String x, int width) {
        return g.op("LayerNormalization", List.of(x, constant(1f, width), constant(0f, width)),
                Attribute.integer("axis", -1), Attribute.real("epsilon", 1e-5f));
    }

    String quickGelu(String x) {
        return g.mul(x, g.sigmoid(g.mul(x, g.scalar(1.702f))));
    }

    /** Single-head attention of queries [b, n, width] over keys/values from context [b, m, contextWidth]. */
    String attention(String queries, String context, int width, int contextWidth, String additiveMask) {
        String q = linear(queries, width, width);
        String k = linear(context, contextWidth, width);
        String v = linear(context, contextWidth, width);
        String scores = g.mul(g.matmul(q, g.transpose(k, 0, 2, 1)), g.scalar((float) (1 / Math.sqrt(width))));
        if (additiveMask != null) {
            scores = g.add(scores, additiveMask);
        }
        String probabilities = g.op("Softmax", scores, Attribute.integer("axis", -1));
        return linear(g.matmul(probabilities, v), width, width);
    }

    /** ResNet block with GroupNorm and SiLU; {@code timeEmbedding} (nullable) is added after the first conv. */
    String resBlock(String x, int in, int out, String timeEmbedding, int embeddingWidth) {
        String h = conv(g.silu(groupNorm(x, in, 8)), in, out, 3);
        if (timeEmbedding != null) {
            h = g.add(h, g.reshape(linear(g.silu(timeEmbedding), embeddingWidth, out), -1, out, 1, 1));
        }
        h = conv(g.silu(groupNorm(h, out, 8)), out, out, 3, 1, 0.2f);
        String skip = in == out ? x : conv(x, in, out, 1);
        return g.add(skip, h);
    }

    /** A transformer block over the feature map: cross-attention on the text states, then a feed-forward layer. */
    String crossAttention(String x, int channels, String context, int contextWidth) {
        String normed = groupNorm(x, channels, 8);
        String tokens = g.transpose(g.reshape(normed, 0, channels, -1), 0, 2, 1);
        String attended = g.add(tokens, attention(layerNorm(tokens, channels), context, channels, contextWidth, null));
        String hidden = quickGelu(linear(layerNorm(attended, channels), channels, 2 * channels));
        String fed = g.add(attended, linear(hidden, 2 * channels, channels));
        String map = g.op("Reshape", List.of(g.transpose(fed, 0, 2, 1), g.op("Shape", x)));
        return g.add(x, map);
    }

    String upsample(String x, int in, int out) {
        String bigger = g.op("Resize", List.of(x, "", g.floats(new float[] {1, 1, 2, 2}, 4)),
                Attribute.string("mode", "nearest"),
                Attribute.string("coordinate_transformation_mode", "asymmetric"),
                Attribute.string("nearest_mode", "floor"));
        return conv(bigger, in, out, 3);
    }

    String downsample(String x, int in, int out) {
        return conv(x, in, out, 3, 2, 1f);
    }
}
