package dev.easel.models;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.easel.engine.model.ModelException;
import dev.easel.engine.model.ModelFolder;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.model.RuntimeOptions;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.StableDiffusionPipeline;
import dev.easel.engine.tokenizer.ClipTokenizer;
import dev.easel.models.toy.ToyModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Incomplete folders and signatures Easel cannot drive fail at load with the file named. */
class ModelFolderTest {
    private static final OrtRuntime RUNTIME = new OrtRuntime(RuntimeOptions.defaults());

    @Test
    void missingFilesAreNamed(@TempDir Path scratch) throws Exception {
        for (String file : List.of("model_index.json", "unet/model.onnx", "text_encoder/model.onnx",
                "vae_decoder/model.onnx", "scheduler/scheduler_config.json", "tokenizer/vocab.json")) {
            Path folder = ModelGenerator.write(ModelGenerator.Spec.of(ModelGenerator.Kind.TOY), scratch.resolve("m"));
            Files.delete(folder.resolve(file));
            ModelException error = assertThrows(ModelException.class, () -> ModelFolder.load(folder, RUNTIME));
            assertTrue(error.getMessage().contains(file), error.getMessage());
        }
    }

    @Test
    void missingExternalWeightsAreReported(@TempDir Path scratch) throws Exception {
        Path folder = ModelGenerator.write(ModelGenerator.Spec.of(ModelGenerator.Kind.TOY), scratch.resolve("m"));
        Files.delete(folder.resolve("unet/model.onnx_data"));
        ModelException error = assertThrows(ModelException.class, () -> ModelFolder.load(folder, RUNTIME));
        assertTrue(error.getMessage().contains("unet/model.onnx"), error.getMessage());
    }

    @Test
    void aUnetWithTheWrongSignatureIsRejected(@TempDir Path scratch) throws Exception {
        Path folder = ModelGenerator.write(ModelGenerator.Spec.of(ModelGenerator.Kind.TOY), scratch.resolve("m"));
        Files.copy(folder.resolve("vae_decoder/model.onnx"), folder.resolve("unet/model.onnx"),
                StandardCopyOption.REPLACE_EXISTING);
        ModelException error = assertThrows(ModelException.class, () -> ModelFolder.load(folder, RUNTIME));
        assertTrue(error.getMessage().contains("unet/model.onnx") && error.getMessage().contains("'sample'"),
                error.getMessage());
    }

    @Test
    void imageToImageWithoutAnEncoderSaysWhatIsMissing(@TempDir Path scratch) throws Exception {
        Path folder = ModelGenerator.write(ModelGenerator.Spec.of(ModelGenerator.Kind.TOY), scratch.resolve("m"));
        Files.delete(folder.resolve("vae_encoder/model.onnx"));
        try (ModelFolder model = ModelFolder.load(folder, RUNTIME)) {
            StableDiffusionPipeline pipeline = new StableDiffusionPipeline(model);
            byte[] init = pipeline.generate(GenerationRequest.builder("red").size(64, 64).steps(2).seed(1L).build(),
                    s -> { }, () -> false).images().get(0).png();
            ModelException error = assertThrows(ModelException.class, () -> pipeline.generate(
                    GenerationRequest.builder("red").size(64, 64).steps(2).initImage(init, 0.5).build(),
                    s -> { }, () -> false));
            assertTrue(error.getMessage().contains("vae_encoder/model.onnx"), error.getMessage());
        }
    }

    @Test
    void toyWithTheSmallVocabularyStillFollowsThePrompt(@TempDir Path scratch) throws Exception {
        Path folder = ModelGenerator.write(ModelGenerator.Spec.of(ModelGenerator.Kind.TOY), scratch.resolve("m"), null);
        try (ModelFolder model = ModelFolder.load(folder, RUNTIME)) {
            StableDiffusionPipeline pipeline = new StableDiffusionPipeline(model);
            byte[] red = Pictures.rgbOf(pipeline.generate(GenerationRequest.builder("red").size(64, 64).steps(10)
                    .guidanceScale(1).scheduler("euler").seed(1L).build(), s -> { }, () -> false).images().get(0).png());
            assertTrue((red[0] & 0xff) > 200 && (red[1] & 0xff) < 60, "a red picture, got RGB " + (red[0] & 0xff)
                    + "," + (red[1] & 0xff) + "," + (red[2] & 0xff));
        }
    }

    @Test
    void smallVocabularyMakesEveryToyWordOneToken(@TempDir Path scratch) throws Exception {
        List<String> words = new ArrayList<>(ToyModel.COLOURS.keySet());
        words.addAll(ToyModel.SHAPE_WORDS);
        words.addAll(ToyModel.PLACEMENT_WORDS);
        SmallVocabulary small = new SmallVocabulary(words);
        new com.fasterxml.jackson.databind.ObjectMapper().writeValue(scratch.resolve("vocab.json").toFile(),
                small.vocabulary());
        Files.writeString(scratch.resolve("merges.txt"), small.mergesText());
        ClipTokenizer tokenizer = ClipTokenizer.load(scratch);
        for (String word : words) {
            assertTrue(tokenizer.bpeIds(word).size() == 1, word + " -> " + tokenizer.bpeIds(word));
        }
        assertTrue(tokenizer.bpeIds("zebra crossing!").size() > 2, "other text still tokenizes, byte by byte");
    }
}
