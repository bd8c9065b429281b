package dev.easel.engine.model;

import ai.onnxruntime.OrtException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.engine.image.LatentPreview;
import dev.easel.engine.scheduler.SchedulerConfig;
import dev.easel.engine.tokenizer.ClipTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A Stable Diffusion model in the diffusers ONNX layout, loaded once: {@code model_index.json},
 * {@code text_encoder/model.onnx}, {@code unet/model.onnx} (weights may sit in an external data file beside it),
 * {@code vae_decoder/model.onnx}, optionally {@code vae_encoder/model.onnx} (image-to-image), {@code tokenizer/} and
 * {@code scheduler/scheduler_config.json}; an SDXL folder (Optimum's layout) also {@code text_encoder_2/} and
 * {@code tokenizer_2/}. Every check happens here, so a folder that loads can run any job.
 */
public final class ModelFolder implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final float DEFAULT_SCALING_FACTOR = 0.18215f;

    private final Path folder;
    private final String name;
    private final ClipTokenizer tokenizer;
    private final SchedulerConfig schedulerConfig;
    private final float scalingFactor;
    private final float[][] latentRgbFactors;
    private final OrtRuntime runtime;
    private final TextEncoder textEncoder;
    private final Unet unet;
    private final VaeDecoder vaeDecoder;
    private final VaeEncoder vaeEncoder;
    private final TextEncoder textEncoder2;
    private final ClipTokenizer tokenizer2;
    private final boolean sdxl;
    private final boolean forceZerosForEmptyPrompt;
    private final int defaultSide;
    private final boolean upscaler;
    private final int latentFactor;
    private final dev.easel.engine.scheduler.NoiseSchedule lowResSchedule;
    private final int maxNoiseLevel;

    private ModelFolder(Path folder, OrtRuntime runtime) throws IOException, OrtException {
        this.folder = folder;
        this.name = folder.toAbsolutePath().normalize().getFileName().toString();
        this.runtime = runtime;
        requireFile("model_index.json", "the diffusers pipeline index");
        Path schedulerFile = requireFile("scheduler/scheduler_config.json", "the scheduler configuration");
        requireFile("tokenizer/vocab.json", "the CLIP vocabulary");
        requireFile("tokenizer/merges.txt", "the CLIP BPE merges");
        Path textEncoderFile = requireFile("text_encoder/model.onnx", "the CLIP text encoder");
        Path unetFile = requireFile("unet/model.onnx", "the UNet");
        JsonNode index0 = readJson(folder.resolve("model_index.json"));
        // The x4 upscaler's ONNX layout names its decoder-only VAE vae/ (the component its pipeline loads).
        this.upscaler = index0.path("_class_name").asText().contains("Upscale");
        String vaeFolder = upscaler ? "vae" : "vae_decoder";
        Path vaeDecoderFile = requireFile(vaeFolder + "/model.onnx", "the VAE decoder");
        try {
            this.schedulerConfig = SchedulerConfig.read(schedulerFile);
            this.tokenizer = ClipTokenizer.load(folder.resolve("tokenizer"));
        } catch (IllegalArgumentException e) {
            throw new ModelException(e.getMessage(), e);
        }
        JsonNode index = index0;
        Path textEncoder2File = folder.resolve("text_encoder_2/model.onnx");
        this.sdxl = Files.isRegularFile(textEncoder2File)
                || index.path("_class_name").asText().contains("StableDiffusionXL");
        if (sdxl) {
            requireFile("text_encoder_2/model.onnx", "SDXL's second text encoder");
            requireFile("tokenizer_2/vocab.json", "SDXL's second tokenizer");
            try {
                this.tokenizer2 = ClipTokenizer.load(folder.resolve("tokenizer_2"));
            } catch (IllegalArgumentException e) {
                throw new ModelException(e.getMessage(), e);
            }
        } else {
            this.tokenizer2 = null;
        }
        this.forceZerosForEmptyPrompt = index.path("force_zeros_for_empty_prompt").asBoolean(false);
        JsonNode unetConfig = readJson(folder.resolve("unet/config.json"));
        // diffusers' default picture size: the UNet's sample_size in latents, times the VAE's factor of 8.
        this.defaultSide = unetConfig.has("sample_size") ? 8 * unetConfig.path("sample_size").asInt() : 512;
        JsonNode vaeConfig = readJson(folder.resolve(vaeFolder + "/config.json"));
        this.scalingFactor = (float) vaeConfig.path("scaling_factor").asDouble(DEFAULT_SCALING_FACTOR);
        // The VAE halves the picture once per level after the first: 8 for Stable Diffusion's four, 4 for the x4
        // upscaler's three.
        this.latentFactor = vaeConfig.path("block_out_channels").size() > 1
                ? 1 << (vaeConfig.path("block_out_channels").size() - 1) : (upscaler ? 4 : 8);
        if (upscaler) {
            Path lowRes = requireFile("low_res_scheduler/scheduler_config.json", "the upscaler's low-res noise schedule");
            try {
                this.lowResSchedule = dev.easel.engine.scheduler.NoiseSchedule.fromConfig(SchedulerConfig.read(lowRes));
            } catch (IllegalArgumentException e) {
                throw new ModelException(lowRes + ": " + e.getMessage(), e);
            }
            this.maxNoiseLevel = index.path("max_noise_level").asInt(350);
        } else {
            this.lowResSchedule = null;
            this.maxNoiseLevel = 0;
        }
        this.latentRgbFactors = readFactors(vaeConfig.path("latent_rgb_factors"));
        List<Component> opened = new ArrayList<>();
        try {
            TextEncoder.Layer layer = sdxl ? TextEncoder.Layer.PENULTIMATE : TextEncoder.Layer.LAST;
            this.textEncoder = new TextEncoder(open("text_encoder", textEncoderFile, opened), layer, false);
            this.textEncoder2 = sdxl
                    ? new TextEncoder(open("text_encoder_2", textEncoder2File, opened), layer, true) : null;
            this.unet = new Unet(open("unet", unetFile, opened), unetConfig.path("in_channels").asInt(4),
                    unetConfig.path("time_cond_proj_dim").asInt(0));
            if (sdxl != unet.takesAddedConditioning()) {
                throw new ModelException(unetFile + (sdxl
                        ? ": an SDXL folder's UNet must take text_embeds and time_ids; this one does not"
                        : ": this UNet takes SDXL's text_embeds and time_ids, and the folder has no text_encoder_2/"));
            }
            if (unet.isUpscaler() != upscaler) {
                throw new ModelException(unetFile + (upscaler
                        ? ": an x4 upscaler folder's UNet must take 7 channels and class_labels; this one does not"
                        : ": this UNet is an x4 upscaler's, and model_index.json does not name an upscale pipeline"));
            }
            this.vaeDecoder = new VaeDecoder(open(vaeFolder, vaeDecoderFile, opened), 4);
            Path vaeEncoderFile = folder.resolve("vae_encoder/model.onnx");
            this.vaeEncoder = Files.isRegularFile(vaeEncoderFile)
                    ? new VaeEncoder(open("vae_encoder", vaeEncoderFile, opened), 4) : null;
        } catch (RuntimeException | OrtException e) {
            for (Component component : opened) {
                component.close();
            }
            throw e;
        }
    }

    /** Loads and checks a model folder; problems surface as {@link ModelException} naming the file. */
    public static ModelFolder load(Path folder, OrtRuntime runtime) {
        if (!Files.isDirectory(folder)) {
            throw new ModelException("model folder " + folder + " does not exist");
        }
        try {
            return new ModelFolder(folder, runtime);
        } catch (IOException e) {
            throw new ModelException(folder + ": " + e.getMessage(), e);
        } catch (OrtException e) {
            throw new ModelException(folder + ": ONNX Runtime cannot load the model: " + e.getMessage(), e);
        }
    }

    private Path requireFile(String relative, String what) {
        Path file = folder.resolve(relative);
        if (!Files.isRegularFile(file)) {
            throw new ModelException("incomplete model folder: " + file + " is missing (expected " + what + ")");
        }
        return file;
    }

    private Component open(String component, Path file, List<Component> opened) throws OrtException {
        try {
            Component result = new Component(component, file, runtime);
            opened.add(result);
            return result;
        } catch (OrtException e) {
            throw new ModelException(file + ": ONNX Runtime cannot load it: " + e.getMessage(), e);
        }
    }

    private static JsonNode readJson(Path file) throws IOException {
        return Files.isRegularFile(file) ? JSON.readTree(file.toFile()) : JSON.createObjectNode();
    }

    private static float[][] readFactors(JsonNode node) {
        if (!node.isArray() || node.size() == 0) {
            return LatentPreview.SD1_FACTORS;
        }
        float[][] factors = new float[node.size()][3];
        for (int c = 0; c < node.size(); c++) {
            for (int k = 0; k < 3; k++) {
                factors[c][k] = (float) node.get(c).path(k).asDouble();
            }
        }
        return factors;
    }

    public Path folder() {
        return folder;
    }

    /** The model's name in image metadata: the folder name. */
    public String name() {
        return name;
    }

    public ClipTokenizer tokenizer() {
        return tokenizer;
    }

    public SchedulerConfig schedulerConfig() {
        return schedulerConfig;
    }

    public float scalingFactor() {
        return scalingFactor;
    }

    public float[][] latentRgbFactors() {
        return latentRgbFactors;
    }

    public OrtRuntime runtime() {
        return runtime;
    }

    public TextEncoder textEncoder() {
        return textEncoder;
    }

    /** Whether this is an SDXL folder (two text encoders, a UNet with added conditioning). */
    public boolean isSdxl() {
        return sdxl;
    }

    /** Whether an empty negative prompt means zero conditioning (model_index.json's force_zeros_for_empty_prompt). */
    public boolean forceZerosForEmptyPrompt() {
        return forceZerosForEmptyPrompt;
    }

    /**
     * Whether this is the x4 upscaler (diffusers' StableDiffusionUpscalePipeline): a low-resolution picture and a
     * prompt in, the picture four times as large out.
     */
    public boolean isUpscaler() {
        return upscaler;
    }

    /** Pixels per latent along each side: 8 for Stable Diffusion's VAE, 4 for the x4 upscaler's. */
    public int latentFactor() {
        return latentFactor;
    }

    /** The upscaler's schedule for noising the low-resolution picture (its low_res_scheduler); null otherwise. */
    public dev.easel.engine.scheduler.NoiseSchedule lowResSchedule() {
        return lowResSchedule;
    }

    /** The largest noise level the upscaler takes (model_index.json's max_noise_level); 0 for other models. */
    public int maxNoiseLevel() {
        return maxNoiseLevel;
    }

    /** The width and height of a picture when a request names none: 8 x the UNet's sample_size, else 512. */
    public int defaultSide() {
        return defaultSide;
    }

    /** The text encoders with the tokenizers that feed them, in the order their outputs are concatenated. */
    public List<TokenizedEncoder> textEncoders() {
        return sdxl ? List.of(new TokenizedEncoder(tokenizer, textEncoder), new TokenizedEncoder(tokenizer2, textEncoder2))
                : List.of(new TokenizedEncoder(tokenizer, textEncoder));
    }

    /** A text encoder and the tokenizer of its input ids. */
    public record TokenizedEncoder(ClipTokenizer tokenizer, TextEncoder encoder) {
    }

    public Unet unet() {
        return unet;
    }

    public VaeDecoder vaeDecoder() {
        return vaeDecoder;
    }

    /** The VAE encoder, or a clear error when the folder has none (image-to-image needs it). */
    public VaeEncoder vaeEncoder() {
        if (vaeEncoder == null) {
            throw new ModelException(folder.resolve("vae_encoder/model.onnx")
                    + " is missing: image-to-image and inpainting need the VAE encoder");
        }
        return vaeEncoder;
    }

    /** Nanoseconds all sessions spent in OrtSession.run since the last reset. */
    public long runNanos() {
        long total = textEncoder.component().runNanos() + unet.component().runNanos()
                + vaeDecoder.component().runNanos()
                + (textEncoder2 == null ? 0 : textEncoder2.component().runNanos());
        return vaeEncoder == null ? total : total + vaeEncoder.component().runNanos();
    }

    public void resetRunNanos() {
        textEncoder.component().resetRunNanos();
        if (textEncoder2 != null) {
            textEncoder2.component().resetRunNanos();
        }
        unet.component().resetRunNanos();
        vaeDecoder.component().resetRunNanos();
        if (vaeEncoder != null) {
            vaeEncoder.component().resetRunNanos();
        }
    }

    @Override
    public void close() throws OrtException {
        textEncoder.component().close();
        if (textEncoder2 != null) {
            textEncoder2.component().close();
        }
        unet.component().close();
        vaeDecoder.component().close();
        if (vaeEncoder != null) {
            vaeEncoder.component().close();
        }
    }
}
