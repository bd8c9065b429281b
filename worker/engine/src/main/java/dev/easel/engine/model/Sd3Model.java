package dev.easel.engine.model;

import ai.onnxruntime.OrtException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.engine.tokenizer.ClipTokenizer;
import dev.easel.engine.tokenizer.T5Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A Stable Diffusion 3 / 3.5 model in Optimum's ONNX layout ({@code optimum-cli export onnx}): two CLIP text encoders
 * with projection, an optional T5 encoder with its SentencePiece tokenizer, the MMDiT {@code transformer/}, a
 * 16-channel VAE and the flow-matching Euler scheduler's config. Every check happens here, so a folder that loads can
 * run any job. Without T5 (the folder has none, {@code model_index.json} names none, or the worker is told to leave it
 * out) its place in the conditioning is zeros, as diffusers does with {@code text_encoder_3=None}.
 */
public final class Sd3Model implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** diffusers' default {@code max_sequence_length} for the T5 tokens. */
    public static final int T5_SEQUENCE = 256;
    public static final int LATENT_CHANNELS = 16;

    private final String name;
    private final OrtRuntime runtime;
    private final ClipTokenizer tokenizer;
    private final ClipTokenizer tokenizer2;
    private final T5Tokenizer tokenizer3;
    private final TextEncoder textEncoder;
    private final TextEncoder textEncoder2;
    private final TextEncoder textEncoder3;
    private final Transformer transformer;
    private final VaeDecoder vaeDecoder;
    private final VaeEncoder vaeEncoder;
    private final float scalingFactor;
    private final float shiftFactor;
    private final int latentFactor;
    private final int defaultSide;
    private final int jointAttentionDim;
    private final int maxSide;
    private final double shift;
    private final int trainTimesteps;
    private final List<Component> components = new ArrayList<>();

    /** Whether {@code folder} holds an SD3-family pipeline (its index names one, or it has a transformer/). */
    public static boolean isSd3Folder(Path folder) {
        try {
            JsonNode index = readJson(folder.resolve("model_index.json"));
            return index.path("_class_name").asText().startsWith("StableDiffusion3")
                    || Files.isRegularFile(folder.resolve("transformer/model.onnx"));
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Loads and checks an SD3 folder; {@code withoutT5} leaves its T5 encoder out (T5-XXL alone is 9.5 GB in half
     * precision). Problems surface as {@link ModelException} naming the file.
     */
    public static Sd3Model load(Path folder, OrtRuntime runtime, boolean withoutT5) {
        if (!Files.isDirectory(folder)) {
            throw new ModelException("model folder " + folder + " does not exist");
        }
        try {
            return new Sd3Model(folder, runtime, withoutT5);
        } catch (IOException e) {
            throw new ModelException(folder + ": " + e.getMessage(), e);
        } catch (OrtException e) {
            throw new ModelException(folder + ": ONNX Runtime cannot load the model: " + e.getMessage(), e);
        }
    }

    private Sd3Model(Path folder, OrtRuntime runtime, boolean withoutT5) throws IOException, OrtException {
        this.name = folder.toAbsolutePath().normalize().getFileName().toString();
        this.runtime = runtime;
        JsonNode index = readJson(folder.resolve("model_index.json"));
        JsonNode scheduler = readJson(require(folder, "scheduler/scheduler_config.json", "the scheduler's config"));
        if (scheduler.path("use_dynamic_shifting").asBoolean(false)) {
            throw new ModelException(folder.resolve("scheduler/scheduler_config.json") + ": use_dynamic_shifting is"
                    + " true (resolution-dependent shift, as Flux uses); Easel runs SD3's fixed shift only: set it to"
                    + " false to run the model with its shift of " + scheduler.path("shift").asDouble(3.0));
        }
        this.shift = scheduler.path("shift").asDouble(3.0);
        this.trainTimesteps = scheduler.path("num_train_timesteps").asInt(1000);
        JsonNode transformerConfig = readJson(folder.resolve("transformer/config.json"));
        this.defaultSide = 8 * transformerConfig.path("sample_size").asInt(128);
        this.jointAttentionDim = transformerConfig.path("joint_attention_dim").asInt(4096);
        JsonNode vaeConfig = readJson(folder.resolve("vae_decoder/config.json"));
        this.scalingFactor = (float) vaeConfig.path("scaling_factor").asDouble(1.5305);
        this.shiftFactor = (float) vaeConfig.path("shift_factor").asDouble(0.0609);
        int levels = vaeConfig.path("block_out_channels").size();
        this.latentFactor = levels > 1 ? 1 << (levels - 1) : 8;
        // The transformer crops its position embedding from a grid of pos_embed_max_size patches a side.
        this.maxSide = transformerConfig.path("pos_embed_max_size").asInt(192)
                * transformerConfig.path("patch_size").asInt(2) * latentFactor;
        boolean t5InFolder = !index.path("text_encoder_3").isArray() || !index.path("text_encoder_3").get(0).isNull();
        boolean t5 = t5InFolder && !withoutT5 && Files.isRegularFile(folder.resolve("text_encoder_3/model.onnx"));
        try {
            this.tokenizer = ClipTokenizer.load(require(folder, "tokenizer/vocab.json", "the first CLIP tokenizer")
                    .getParent());
            this.tokenizer2 = ClipTokenizer.load(require(folder, "tokenizer_2/vocab.json", "the second CLIP tokenizer")
                    .getParent());
            this.tokenizer3 = t5 ? T5Tokenizer.load(folder.resolve("tokenizer_3")) : null;
        } catch (IllegalArgumentException e) {
            throw new ModelException(e.getMessage(), e);
        }
        try {
            this.textEncoder = new TextEncoder(open("text_encoder", require(folder, "text_encoder/model.onnx",
                    "the first CLIP text encoder")), TextEncoder.Layer.PENULTIMATE, true);
            this.textEncoder2 = new TextEncoder(open("text_encoder_2", require(folder, "text_encoder_2/model.onnx",
                    "the second CLIP text encoder")), TextEncoder.Layer.PENULTIMATE, true);
            this.textEncoder3 = t5 ? new TextEncoder(open("text_encoder_3", folder.resolve(
                    "text_encoder_3/model.onnx")), TextEncoder.Layer.LAST, false) : null;
            this.transformer = new Transformer(open("transformer", require(folder, "transformer/model.onnx",
                    "the MMDiT transformer")));
            this.vaeDecoder = new VaeDecoder(open("vae_decoder", require(folder, "vae_decoder/model.onnx",
                    "the VAE decoder")), LATENT_CHANNELS);
            Path encoder = folder.resolve("vae_encoder/model.onnx");
            this.vaeEncoder = Files.isRegularFile(encoder)
                    ? new VaeEncoder(open("vae_encoder", encoder), LATENT_CHANNELS) : null;
        } catch (RuntimeException | OrtException e) {
            close();
            throw e;
        }
    }

    private Component open(String component, Path file) throws OrtException {
        try {
            Component opened = new Component(component, file, runtime);
            components.add(opened);
            return opened;
        } catch (OrtException e) {
            throw new ModelException(file + ": ONNX Runtime cannot load it: " + e.getMessage(), e);
        }
    }

    private static Path require(Path folder, String relative, String what) {
        Path file = folder.resolve(relative);
        if (!Files.isRegularFile(file)) {
            throw new ModelException("incomplete SD3 model folder: " + file + " is missing (expected " + what + ")");
        }
        return file;
    }

    private static JsonNode readJson(Path file) throws IOException {
        return Files.isRegularFile(file) ? JSON.readTree(file.toFile()) : JSON.createObjectNode();
    }

    public String name() {
        return name;
    }

    public OrtRuntime runtime() {
        return runtime;
    }

    public ClipTokenizer tokenizer() {
        return tokenizer;
    }

    public ClipTokenizer tokenizer2() {
        return tokenizer2;
    }

    /** T5's tokenizer, or null when the model runs without T5. */
    public T5Tokenizer tokenizer3() {
        return tokenizer3;
    }

    public TextEncoder textEncoder() {
        return textEncoder;
    }

    public TextEncoder textEncoder2() {
        return textEncoder2;
    }

    /** The T5 encoder, or null when the model runs without T5. */
    public TextEncoder textEncoder3() {
        return textEncoder3;
    }

    public boolean hasT5() {
        return textEncoder3 != null;
    }

    public Transformer transformer() {
        return transformer;
    }

    public VaeDecoder vaeDecoder() {
        return vaeDecoder;
    }

    /** The VAE encoder, or null when the folder has none (no image-to-image). */
    public VaeEncoder vaeEncoder() {
        return vaeEncoder;
    }

    public float scalingFactor() {
        return scalingFactor;
    }

    public float shiftFactor() {
        return shiftFactor;
    }

    /** Pixels per latent along each side (the VAE's factor, 8). */
    public int latentFactor() {
        return latentFactor;
    }

    /** diffusers' default picture side: 8 x the transformer's sample_size (1024 for SD3). */
    public int defaultSide() {
        return defaultSide;
    }

    /** The largest side the transformer's position embedding covers (1536 for SD3: 192 patches of 2 latents). */
    public int maxSide() {
        return maxSide;
    }

    /** The width of the transformer's text conditioning (T5's; the CLIP states are zero-padded to it). */
    public int jointAttentionDim() {
        return jointAttentionDim;
    }

    /** The flow-matching schedule's shift (3.0 for SD3). */
    public double shift() {
        return shift;
    }

    public int trainTimesteps() {
        return trainTimesteps;
    }

    public void resetRunNanos() {
        components.forEach(Component::resetRunNanos);
    }

    public long runNanos() {
        return components.stream().mapToLong(Component::runNanos).sum();
    }

    @Override
    public void close() {
        for (Component component : components) {
            try {
                component.close();
            } catch (OrtException e) {
                // closing: nothing more can be done with a session that fails to close
            }
        }
    }
}
