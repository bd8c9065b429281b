package dev.easel.models.tiny;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.models.onnx.Attribute;
import dev.easel.models.onnx.OnnxGraph;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A tiny image upscaler with the shape of Real-ESRGAN's compact network (SRVGGNetCompact): convolutions with leaky
 * ReLUs, a last convolution to 3 x s x s channels rearranged to s times the size (DepthToSpace), added to the picture
 * enlarged by nearest neighbour. Input {@code input} [1, 3, H, W] in 0..1, output {@code output} [1, 3, sH, sW]. Its
 * receptive field is 3 pixels each way, so tiles that overlap by more reproduce the whole picture.
 */
public final class TinyUpscaler {
    public static final int SCALE = 4;
    private static final int WIDTH = 16;

    private TinyUpscaler() {
    }

    /** Writes {@code model.onnx} and {@code config.json} into {@code folder}. */
    public static Path write(Path folder) throws IOException {
        Files.createDirectories(folder);
        OnnxGraph g = new OnnxGraph("tiny_esrgan");
        Layers l = new Layers(g, 77);
        g.input("input", OnnxGraph.FLOAT, 1L, 3L, "height", "width");
        String x = leaky(g, l.conv("input", 3, WIDTH, 3));
        x = leaky(g, l.conv(x, WIDTH, WIDTH, 3));
        x = l.conv(x, WIDTH, 3 * SCALE * SCALE, 3, 1, 0.3f);
        String detail = g.op("DepthToSpace", x, Attribute.integer("blocksize", SCALE));
        String base = g.op("Resize", List.of("input", "", g.floats(new float[] {1, 1, SCALE, SCALE}, 4)),
                Attribute.string("mode", "nearest"));
        g.output(g.add(base, detail), "output", OnnxGraph.FLOAT, 1L, 3L, "out_height", "out_width");
        g.write(folder.resolve("model.onnx"), "easel-tiny", null, 0);
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(folder.resolve("config.json").toFile(),
                Map.of("scale", SCALE, "architecture", "SRVGGNetCompact-like (Easel's tiny test model)"));
        return folder;
    }

    private static String leaky(OnnxGraph g, String x) {
        return g.op("LeakyRelu", x, Attribute.real("alpha", 0.1f));
    }
}
