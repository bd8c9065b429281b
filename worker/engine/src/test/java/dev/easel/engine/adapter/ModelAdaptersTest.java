package dev.easel.engine.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.easel.contracts.PromptTags;
import dev.easel.engine.SharedData;
import dev.easel.engine.model.ModelFolder;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.model.RuntimeOptions;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.GenerationResult;
import dev.easel.engine.pipeline.InvalidRequestException;
import dev.easel.engine.pipeline.StableDiffusionPipeline;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LoRAs and embeddings patched into a loaded model job after job (the parity fixture's model and adapter files in
 * {@code ../shared/parity}): a job without adapters is the base picture exactly, whatever ran before; the same LoRA
 * gives the same picture again; bad files and names are refused with what to do.
 */
class ModelAdaptersTest {
    @TempDir
    static Path scratch;

    private static ModelFolder model;
    private static StableDiffusionPipeline pipeline;
    private static Path loras;
    private static Path embeddings;

    @BeforeAll
    static void load() throws Exception {
        Optional<Path> cases = SharedData.file("parity/lora/cases.json");
        if (cases.isEmpty()) {
            System.out.println("SKIPPED ModelAdaptersTest: ../shared/parity/lora not found");
        }
        Assumptions.assumeTrue(cases.isPresent(), "../shared/parity/lora not found");
        Path folder = cases.get().getParent();
        loras = scratch.resolve("loras");
        embeddings = scratch.resolve("embeddings");
        Files.createDirectories(loras);
        Files.createDirectories(embeddings);
        for (String name : List.of("easel_style", "easel_peft", "easel_locon")) {
            Files.copy(folder.resolve("loras/" + name + ".safetensors"), loras.resolve(name + ".safetensors"));
        }
        Files.copy(folder.resolve("embeddings/easelcat.safetensors"), embeddings.resolve("easelcat.safetensors"));
        model = ModelFolder.load(folder.resolveSibling("model"), new OrtRuntime(RuntimeOptions.defaults()));
        pipeline = new StableDiffusionPipeline(model, new AdapterLibrary(loras, embeddings), java.util.Map.of());
    }

    @AfterAll
    static void close() throws Exception {
        if (model != null) {
            model.close();
        }
    }

    private static byte[] picture(String prompt) throws Exception {
        GenerationRequest request = GenerationRequest.builder(prompt).negativePrompt("blurry").size(64, 64).steps(6)
                .scheduler("euler").seed(7L).build();
        GenerationResult result = pipeline.generate(request, step -> { }, () -> false);
        return pixels(result.images().get(0).png());
    }

    private static byte[] pixels(byte[] png) throws Exception {
        java.awt.image.BufferedImage image = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(png));
        ByteBuffer rgb = ByteBuffer.allocate(image.getWidth() * image.getHeight() * 4);
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                rgb.putInt(image.getRGB(x, y));
            }
        }
        return rgb.array();
    }

    @Test
    void adaptersComeAndGoWithoutLeavingATraceOnTheBaseModel() throws Exception {
        byte[] base = picture("a lighthouse on a cliff, oil painting");
        byte[] style = picture("a lighthouse on a cliff, <lora:easel_style:1> oil painting");
        assertFalse(java.util.Arrays.equals(base, style), "the LoRA changes the picture");
        assertArrayEquals(base, picture("a lighthouse on a cliff,  oil painting"), "back to the base weights");
        byte[] peft = picture("a lighthouse on a cliff, <lora:easel_peft:0.5> oil painting");
        assertArrayEquals(style, picture("a lighthouse on a cliff, <lora:easel_style:1> oil painting"),
                "the same LoRA after another: the same picture");
        byte[] both = picture("a lighthouse on a cliff, <lora:easel_locon:1> <lora:easel_style:0.5> oil painting");
        assertFalse(java.util.Arrays.equals(both, style));
        assertFalse(java.util.Arrays.equals(both, peft));
        byte[] cat = picture("easelcat on a cliff, oil painting");
        assertFalse(java.util.Arrays.equals(cat, picture("a cat on a cliff, oil painting")), "the embedding is used");
        assertArrayEquals(base, picture("a lighthouse on a cliff, oil painting"), "and the base model is intact");
    }

    @Test
    void theInfotextNamesTheLorasAndEmbeddingsWithTheirHashes() throws Exception {
        GenerationRequest request = GenerationRequest.builder("easelcat, <lora:easel_style:0.8> a hat").size(64, 64)
                .steps(2).scheduler("euler").seed(1L).build();
        String infotext = pipeline.generate(request, step -> { }, () -> false).images().get(0).infotext();
        assertTrue(infotext.startsWith("easelcat, <lora:easel_style:0.8> a hat\n"), "the prompt as written");
        assertTrue(infotext.matches("(?s).*, Lora hashes: \"easel_style: [0-9a-f]{12}\".*"), infotext);
        assertTrue(infotext.matches("(?s).*, TI hashes: \"easelcat: [0-9a-f]{12}\".*"), infotext);
    }

    @Test
    void unknownNamesAndUnreadableFilesAreRefusedWithWhatToDo() throws Exception {
        InvalidRequestException unknown = assertThrows(InvalidRequestException.class, () -> picture("<lora:nope:1> x"));
        assertTrue(unknown.getMessage().contains("unknown LoRA 'nope'; known: easel_locon, easel_peft, easel_style"),
                unknown.getMessage());
        InvalidRequestException weight = assertThrows(InvalidRequestException.class,
                () -> picture("<lora:easel_style:strong> x"));
        assertTrue(weight.getMessage().contains("write a number"), weight.getMessage());

        Files.write(embeddings.resolve("oldcat.pt"), new byte[] {1, 2, 3});
        try {
            InvalidRequestException pickled = assertThrows(InvalidRequestException.class, () -> picture("an oldcat"));
            assertTrue(pickled.getMessage().contains("convert it to .safetensors"), pickled.getMessage());
        } finally {
            Files.delete(embeddings.resolve("oldcat.pt"));
        }

        Files.write(loras.resolve("foreign.safetensors"), safetensors(
                "lora_unet_no_such_block_to_q.lora_down.weight", new long[] {1, 2},
                "lora_unet_no_such_block_to_q.lora_up.weight", new long[] {2, 1}));
        Files.write(loras.resolve("misfit.safetensors"), safetensors(
                "lora_unet_mid_block_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight", new long[] {1, 3},
                "lora_unet_mid_block_attentions_0_transformer_blocks_0_attn1_to_q.lora_up.weight", new long[] {5, 1}));
        try {
            InvalidRequestException foreign = assertThrows(InvalidRequestException.class,
                    () -> picture("<lora:foreign:1> x"));
            assertTrue(foreign.getMessage().contains("matches no layer") && foreign.getMessage()
                    .contains("lora_unet_no_such_block_to_q"), foreign.getMessage());
            InvalidRequestException misfit = assertThrows(InvalidRequestException.class,
                    () -> picture("<lora:misfit:1> x"));
            assertTrue(misfit.getMessage().contains("does not fit mid_block.attentions.0.transformer_blocks.0.attn1"
                    + ".to_q"), misfit.getMessage());
        } finally {
            Files.delete(loras.resolve("foreign.safetensors"));
            Files.delete(loras.resolve("misfit.safetensors"));
        }
        byte[] base = picture("a lighthouse on a cliff, oil painting");
        assertArrayEquals(base, picture("a lighthouse on a cliff, oil painting"), "a refused job leaves no patch");
    }

    @Test
    void aPromptOverTheChunkCapIsRefused() {
        String longPrompt = "a BREAK ".repeat(9) + "a";
        InvalidRequestException refused = assertThrows(InvalidRequestException.class, () -> picture(longPrompt));
        assertTrue(refused.getMessage().contains("takes 10 chunks of 75 tokens; at most 8"), refused.getMessage());
        assertEquals(10, PromptTags.minimumChunks(longPrompt));
    }

    /** A float32 safetensors file of zero-filled tensors with the names and shapes given in pairs. */
    private static byte[] safetensors(Object... namesAndShapes) {
        StringBuilder header = new StringBuilder("{");
        long offset = 0;
        for (int i = 0; i < namesAndShapes.length; i += 2) {
            long[] shape = (long[]) namesAndShapes[i + 1];
            long bytes = 4;
            for (long dim : shape) {
                bytes *= dim;
            }
            header.append(i == 0 ? "" : ",").append('"').append(namesAndShapes[i]).append("\":{\"dtype\":\"F32\","
                    + "\"shape\":").append(java.util.Arrays.toString(shape)).append(",\"data_offsets\":[")
                    .append(offset).append(',').append(offset + bytes).append("]}");
            offset += bytes;
        }
        byte[] json = header.append('}').toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer file = ByteBuffer.allocate(8 + json.length + (int) offset).order(ByteOrder.LITTLE_ENDIAN);
        file.putLong(json.length).put(json);
        return file.array();
    }
}
