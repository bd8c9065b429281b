package dev.easel.models.tiny;

import dev.easel.models.TimestepInput;
import dev.easel.models.onnx.OnnxGraph;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * A Stable-Diffusion-shaped model with deterministic random weights: a causal CLIP-like text encoder, a UNet with
 * ResBlocks (GroupNorm, SiLU), a sinusoidal timestep embedding, cross-attention on the text states and down/up
 * sampling with skip connections, and convolutional VAE encoder and decoder. Its pictures are noise; its per-step
 * cost and its inputs and outputs are those of the real thing, scaled down.
 */
public final class TinyModel {
    static final int TEXT_WIDTH = 64;
    static final int SEQUENCE = 77;
    private static final int TIME_FEATURES = 32;
    private static final int TIME_WIDTH = 128;
    /** The LCM variant's guidance embedding width (diffusers' time_cond_proj_dim). */
    public static final int TIME_COND_WIDTH = 32;
    private static final int C0 = 32;
    private static final int C1 = 64;

    private final int vocabularySize;

    public TinyModel(int vocabularySize) {
        this.vocabularySize = vocabularySize;
    }

    public void writeTextEncoder(Path file, TimestepInput variant) throws IOException {
        OnnxGraph g = new OnnxGraph("tiny_text_encoder");
        Layers l = new Layers(g, 11);
        g.input("input_ids", variant == TimestepInput.INT64 ? OnnxGraph.INT64 : OnnxGraph.INT32, "batch", (long) SEQUENCE);
        String ids = g.cast("input_ids", OnnxGraph.INT64);
        String x = g.add(g.op("Gather", List.of(l.weights(0.02f, vocabularySize, TEXT_WIDTH), ids)),
                l.weights(0.01f, 1, SEQUENCE, TEXT_WIDTH));
        float[] causal = new float[SEQUENCE * SEQUENCE];
        for (int i = 0; i < SEQUENCE; i++) {
            for (int j = i + 1; j < SEQUENCE; j++) {
                causal[i * SEQUENCE + j] = -1e9f;
            }
        }
        String mask = g.floats(causal, 1, SEQUENCE, SEQUENCE);
        for (int layer = 0; layer < 2; layer++) {
            String normed = l.layerNorm(x, TEXT_WIDTH);
            x = g.add(x, l.attention(normed, normed, TEXT_WIDTH, TEXT_WIDTH, mask));
            String hidden = l.quickGelu(l.linear(l.layerNorm(x, TEXT_WIDTH), TEXT_WIDTH, 4 * TEXT_WIDTH));
            x = g.add(x, l.linear(hidden, 4 * TEXT_WIDTH, TEXT_WIDTH));
        }
        g.output(l.layerNorm(x, TEXT_WIDTH), "last_hidden_state", OnnxGraph.FLOAT, "batch", (long) SEQUENCE,
                (long) TEXT_WIDTH);
        g.write(file, "easel-tiny", null, 0);
    }

    /**
     * The UNet; {@code lcm} adds diffusers' {@code timestep_cond} input, projected and added to the timestep features
     * as an LCM-distilled UNet's TimestepEmbedding does with the guidance-scale embedding.
     */
    public void writeUnet(Path file, TimestepInput variant, boolean lcm) throws IOException {
        OnnxGraph g = new OnnxGraph("tiny_unet");
        Layers l = new Layers(g, 22);
        g.input("sample", OnnxGraph.FLOAT, "batch", 4L, "height", "width");
        g.input("timestep", variant == TimestepInput.INT64 ? OnnxGraph.INT64 : OnnxGraph.FLOAT, "batch");
        g.input("encoder_hidden_states", OnnxGraph.FLOAT, "batch", "sequence", (long) TEXT_WIDTH);
        String context = "encoder_hidden_states";

        int half = TIME_FEATURES / 2;
        float[] frequencies = new float[half];
        for (int i = 0; i < half; i++) {
            frequencies[i] = (float) Math.exp(-Math.log(10000) * i / half);
        }
        String t = g.reshape(g.cast("timestep", OnnxGraph.FLOAT), -1, 1);
        String angles = g.mul(t, g.floats(frequencies, 1, half));
        String sinusoid = g.concat(1, g.op("Cos", angles), g.op("Sin", angles));
        if (lcm) {
            g.input("timestep_cond", OnnxGraph.FLOAT, "batch", (long) TIME_COND_WIDTH);
            sinusoid = g.add(sinusoid, l.linear("timestep_cond", TIME_COND_WIDTH, TIME_FEATURES));
        }
        String time = l.linear(g.silu(l.linear(sinusoid, TIME_FEATURES, TIME_WIDTH)), TIME_WIDTH, TIME_WIDTH);

        String h0 = l.conv("sample", 4, C0, 3);
        String d0 = l.crossAttention(l.resBlock(h0, C0, C0, time, TIME_WIDTH), C0, context, TEXT_WIDTH);
        String h1 = l.downsample(d0, C0, C0);
        String d1 = l.crossAttention(l.resBlock(h1, C0, C1, time, TIME_WIDTH), C1, context, TEXT_WIDTH);
        String mid = l.resBlock(l.crossAttention(l.resBlock(d1, C1, C1, time, TIME_WIDTH), C1, context, TEXT_WIDTH),
                C1, C1, time, TIME_WIDTH);
        String u1 = l.crossAttention(l.resBlock(g.concat(1, mid, d1), 2 * C1, C1, time, TIME_WIDTH), C1, context,
                TEXT_WIDTH);
        String up = l.upsample(u1, C1, C1);
        String u0 = l.crossAttention(l.resBlock(g.concat(1, up, d0), C1 + C0, C0, time, TIME_WIDTH), C0, context,
                TEXT_WIDTH);
        String out = l.conv(g.silu(l.groupNorm(u0, C0, 8)), C0, 4, 3, 1, 0.3f);
        g.output(out, "out_sample", OnnxGraph.FLOAT, "batch", 4L, "height", "width");
        g.write(file, "easel-tiny", "model.onnx_data", 1024);
    }

    public void writeVaeDecoder(Path file) throws IOException {
        OnnxGraph g = new OnnxGraph("tiny_vae_decoder");
        Layers l = new Layers(g, 33);
        g.input("latent_sample", OnnxGraph.FLOAT, "batch", 4L, "latent_height", "latent_width");
        String x = l.conv("latent_sample", 4, 64, 3);
        x = l.resBlock(x, 64, 64, null, 0);
        x = l.upsample(x, 64, 32);
        x = l.upsample(x, 32, 16);
        x = l.upsample(x, 16, 16);
        String image = l.conv(g.silu(l.groupNorm(x, 16, 4)), 16, 3, 3, 1, 0.5f);
        g.output(image, "sample", OnnxGraph.FLOAT, "batch", 3L, "height", "width");
        g.write(file, "easel-tiny", null, 0);
    }

    /** The encoder: 4 latent channels named latent_sample (legacy) or 8 named latent_parameters (optimum). */
    public void writeVaeEncoder(Path file, TimestepInput variant) throws IOException {
        OnnxGraph g = new OnnxGraph("tiny_vae_encoder");
        Layers l = new Layers(g, 44);
        g.input("sample", OnnxGraph.FLOAT, "batch", 3L, "height", "width");
        String x = l.conv("sample", 3, 16, 3);
        x = l.downsample(x, 16, 32);
        x = l.downsample(x, 32, 64);
        x = l.downsample(x, 64, 64);
        x = l.resBlock(x, 64, 64, null, 0);
        boolean parameters = variant == TimestepInput.INT64;
        String latent = l.conv(g.silu(l.groupNorm(x, 64, 8)), 64, parameters ? 8 : 4, 3);
        g.output(latent, parameters ? "latent_parameters" : "latent_sample", OnnxGraph.FLOAT, "batch",
                parameters ? 8L : 4L, "latent_height", "latent_width");
        g.write(file, "easel-tiny", null, 0);
    }
}
