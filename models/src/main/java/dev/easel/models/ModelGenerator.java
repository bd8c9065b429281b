package dev.easel.models;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.easel.engine.SharedData;
import dev.easel.engine.scheduler.SchedulerConfig;
import dev.easel.engine.tokenizer.ClipTokenizer;
import dev.easel.models.tiny.TinyModel;
import dev.easel.models.tiny.TinyUpscaler;
import dev.easel.models.toy.ToyModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes complete model folders in the diffusers ONNX layout: {@code toy} (analytic, prompt-controlled) or
 * {@code tiny} (Stable-Diffusion-shaped with deterministic random weights). The tokenizer is the real CLIP BPE from
 * {@code ../shared/clip-tokenizer} when present, else a small vocabulary built here.
 */
public final class ModelGenerator {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The kinds of model the generator makes. */
    public enum Kind {
        TOY, TINY,
        /** An image upscaler (ESRGAN family), not a diffusion model: see {@link TinyUpscaler}. */
        ESRGAN;

        public static Kind parse(String value) {
            try {
                return valueOf(value.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown model kind '" + value + "'; use toy, tiny or esrgan");
            }
        }
    }

    /**
     * What to generate: kind, timestep input variant, whether the UNet predicts v instead of noise, and whether it is
     * LCM-distilled (a {@code timestep_cond} input carrying the guidance scale's embedding, tiny model only).
     */
    public record Spec(Kind kind, TimestepInput timestepInput, boolean vPrediction, boolean lcm) {
        public Spec(Kind kind, TimestepInput timestepInput, boolean vPrediction) {
            this(kind, timestepInput, vPrediction, false);
        }

        public static Spec of(Kind kind) {
            return new Spec(kind, TimestepInput.FLOAT32, false);
        }
    }

    private ModelGenerator() {
    }

    /**
     * Writes the folder (created if needed; existing model files are replaced) and returns it, with the real CLIP
     * tokenizer from ../shared when it is there.
     */
    public static Path write(Spec spec, Path folder) throws IOException {
        return write(spec, folder, SharedData.file("clip-tokenizer/vocab.json").map(Path::getParent).orElse(null));
    }

    /** Writes the folder with the CLIP tokenizer files from {@code clipTokenizer}, or a small vocabulary when null. */
    public static Path write(Spec spec, Path folder, Path clipTokenizer) throws IOException {
        if (spec.kind() == Kind.ESRGAN) {
            return TinyUpscaler.write(folder);
        }
        Files.createDirectories(folder);
        SchedulerConfig scheduler = SchedulerConfig.stableDiffusion15()
                .with("prediction_type", spec.vPrediction() ? "v_prediction" : "epsilon");
        Map<String, Integer> vocabulary = writeTokenizer(folder.resolve("tokenizer"), clipTokenizer);
        Files.createDirectories(folder.resolve("scheduler"));
        Files.createDirectories(folder.resolve("vae_decoder"));
        JSON.writeValue(folder.resolve("scheduler/scheduler_config.json").toFile(), scheduler.asMap());
        JSON.writeValue(folder.resolve("model_index.json").toFile(), modelIndex());
        ObjectNode vaeConfig = JSON.createObjectNode();
        vaeConfig.put("scaling_factor", ToyModel.VAE_SCALING_FACTOR);
        vaeConfig.put("latent_channels", 4);
        if (spec.lcm() && spec.kind() != Kind.TINY) {
            throw new IllegalArgumentException("the LCM variant is offered for the tiny model only");
        }
        switch (spec.kind()) {
            case TOY -> {
                ToyModel toy = new ToyModel(vocabulary, scheduler);
                toy.writeTextEncoder(folder.resolve("text_encoder/model.onnx"), spec.timestepInput());
                toy.writeUnet(folder.resolve("unet/model.onnx"), spec.timestepInput(), spec.vPrediction());
                toy.writeVaeDecoder(folder.resolve("vae_decoder/model.onnx"), spec.timestepInput());
                toy.writeVaeEncoder(folder.resolve("vae_encoder/model.onnx"), spec.timestepInput());
                vaeConfig.set("latent_rgb_factors", JSON.valueToTree(ToyModel.latentRgbFactors()));
            }
            case TINY -> {
                if (spec.timestepInput().halfPrecision()) {
                    throw new IllegalArgumentException("the float16 variant is offered for the toy model only");
                }
                TinyModel tiny = new TinyModel(vocabulary.values().stream().mapToInt(Integer::intValue).max().orElse(0) + 1);
                tiny.writeTextEncoder(folder.resolve("text_encoder/model.onnx"), spec.timestepInput());
                tiny.writeUnet(folder.resolve("unet/model.onnx"), spec.timestepInput(), spec.lcm());
                if (spec.lcm()) {
                    ObjectNode unetConfig = JSON.createObjectNode();
                    unetConfig.put("in_channels", 4);
                    unetConfig.put("time_cond_proj_dim", TinyModel.TIME_COND_WIDTH);
                    JSON.writeValue(folder.resolve("unet/config.json").toFile(), unetConfig);
                }
                tiny.writeVaeDecoder(folder.resolve("vae_decoder/model.onnx"));
                tiny.writeVaeEncoder(folder.resolve("vae_encoder/model.onnx"), spec.timestepInput());
            }
        }
        JSON.writeValue(folder.resolve("vae_decoder/config.json").toFile(), vaeConfig);
        return folder;
    }

    private static Map<String, Object> modelIndex() {
        Map<String, Object> index = new LinkedHashMap<>();
        index.put("_class_name", "OnnxStableDiffusionPipeline");
        index.put("_diffusers_version", "0.30.0");
        index.put("feature_extractor", List.of());
        index.put("requires_safety_checker", false);
        index.put("safety_checker", java.util.Arrays.asList(null, null));
        index.put("scheduler", List.of("diffusers", "PNDMScheduler"));
        index.put("text_encoder", List.of("diffusers", "OnnxRuntimeModel"));
        index.put("tokenizer", List.of("transformers", "CLIPTokenizer"));
        index.put("unet", List.of("diffusers", "OnnxRuntimeModel"));
        index.put("vae_decoder", List.of("diffusers", "OnnxRuntimeModel"));
        index.put("vae_encoder", List.of("diffusers", "OnnxRuntimeModel"));
        return index;
    }

    /** Writes tokenizer/ and returns its vocabulary. */
    private static Map<String, Integer> writeTokenizer(Path folder, Path clipTokenizer) throws IOException {
        Files.createDirectories(folder);
        if (clipTokenizer != null) {
            Path source = clipTokenizer;
            Files.copy(source.resolve("vocab.json"), folder.resolve("vocab.json"), StandardCopyOption.REPLACE_EXISTING);
            Files.copy(source.resolve("merges.txt"), folder.resolve("merges.txt"), StandardCopyOption.REPLACE_EXISTING);
        } else {
            List<String> words = new ArrayList<>(ToyModel.COLOURS.keySet());
            words.addAll(ToyModel.SHAPE_WORDS);
            words.addAll(ToyModel.PLACEMENT_WORDS);
            words.addAll(List.of("a", "on", "the", "of", "and", "in", "background", "with", "photo"));
            SmallVocabulary small = new SmallVocabulary(words);
            JSON.writeValue(folder.resolve("vocab.json").toFile(), small.vocabulary());
            Files.writeString(folder.resolve("merges.txt"), small.mergesText());
        }
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("model_max_length", 77);
        config.put("bos_token", "<|startoftext|>");
        config.put("eos_token", "<|endoftext|>");
        config.put("pad_token", "<|endoftext|>");
        config.put("unk_token", "<|endoftext|>");
        config.put("do_lower_case", true);
        config.put("tokenizer_class", "CLIPTokenizer");
        JSON.writeValue(folder.resolve("tokenizer_config.json").toFile(), config);
        Map<String, Object> special = new LinkedHashMap<>();
        special.put("bos_token", "<|startoftext|>");
        special.put("eos_token", "<|endoftext|>");
        special.put("pad_token", "<|endoftext|>");
        special.put("unk_token", "<|endoftext|>");
        JSON.writeValue(folder.resolve("special_tokens_map.json").toFile(), special);
        return readVocabulary(folder);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Integer> readVocabulary(Path folder) throws IOException {
        ClipTokenizer.load(folder); // the written folder must load
        return JSON.readValue(folder.resolve("vocab.json").toFile(), Map.class);
    }
}
