package dev.easel.engine.model;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.easel.engine.image.RgbImage;
import dev.easel.engine.image.TileGrid;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * An image-to-image upscaler of the ESRGAN family (Real-ESRGAN, SwinIR and the like exported to ONNX): a folder with
 * {@code model.onnx}, one input {@code [1, 3, H, W]} in 0..1 and one output {@code [1, 3, sH, sW]}, and optionally
 * {@code config.json} with {@code "scale"}. Without the config the scale is read from the output of a small probe run,
 * which also warms the session. Pictures are enlarged in overlapping tiles (EASEL_UPSCALE_TILE) blended in float.
 */
public final class ImageUpscaler implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PROBE_SIDE = 16;

    private final String name;
    private final OrtRuntime runtime;
    private final Component network;
    private final Component.Port input;
    private final int scale;
    /** A side the network insists on (a static export), or 0 when it takes any size. */
    private final int fixedSide;

    private ImageUpscaler(Path folder, OrtRuntime runtime) throws IOException, OrtException {
        this.name = folder.toAbsolutePath().normalize().getFileName().toString();
        this.runtime = runtime;
        this.network = new Component("upscaler", folder.resolve("model.onnx"), runtime);
        try {
            if (network.outputs().size() != 1) {
                throw new ModelException(network.file() + ": an upscaler has one output, the enlarged picture; this"
                        + " model has " + network.outputs().size());
            }
            this.input = network.input(onlyInput(network));
            long[] shape = input.shape();
            if (shape.length != 4 || (shape[1] != 3 && shape[1] != -1)) {
                throw new ModelException(network.file() + ": an upscaler's input is [1, 3, height, width]; this model's"
                        + " is " + java.util.Arrays.toString(shape));
            }
            this.fixedSide = shape[2] > 0 ? (int) shape[2] : 0;
            if (fixedSide > 0 && shape[3] != shape[2]) {
                throw new ModelException(network.file() + ": a fixed-size upscaler must take square tiles, this one"
                        + " takes " + shape[2] + "x" + shape[3]);
            }
            int probed = probeScale();
            JsonNode config = readConfig(folder.resolve("config.json"));
            if (config.has("scale") && config.path("scale").asInt() != probed) {
                throw new ModelException(folder.resolve("config.json") + ": says scale " + config.path("scale").asInt()
                        + ", but the network enlarges " + probed + " times");
            }
            this.scale = probed;
        } catch (RuntimeException | OrtException e) {
            network.close();
            throw e;
        }
    }

    /** Whether {@code folder} holds an image upscaler (a {@code model.onnx} and no diffusers pipeline). */
    public static boolean isUpscalerFolder(Path folder) {
        return Files.isRegularFile(folder.resolve("model.onnx")) && !Files.exists(folder.resolve("model_index.json"));
    }

    public static ImageUpscaler load(Path folder, OrtRuntime runtime) {
        if (!isUpscalerFolder(folder)) {
            throw new ModelException(folder + " is not an upscaler folder: it needs model.onnx (and no"
                    + " model_index.json, which marks a Stable Diffusion pipeline)");
        }
        try {
            return new ImageUpscaler(folder, runtime);
        } catch (IOException e) {
            throw new ModelException(folder + ": " + e.getMessage(), e);
        } catch (OrtException e) {
            throw new ModelException(folder + ": ONNX Runtime cannot load the upscaler: " + e.getMessage(), e);
        }
    }

    public String name() {
        return name;
    }

    /** How many times the network enlarges each side. */
    public int scale() {
        return scale;
    }

    public OrtRuntime runtime() {
        return runtime;
    }

    /** The tile side the network insists on (a fixed-size export), or 0 when it takes any size. */
    public int fixedSide() {
        return fixedSide;
    }

    /** Nanoseconds spent inside ONNX Runtime since {@link #resetRunNanos}. */
    public long runNanos() {
        return network.runNanos();
    }

    public void resetRunNanos() {
        network.resetRunNanos();
    }

    /** Tiles {@link #upscale} works {@code picture} in. */
    public int tiles(int width, int height) {
        return grid(width, height).tiles().size();
    }

    /**
     * {@code picture} enlarged {@link #scale} times: each tile through the network, the tiles' outputs blended where
     * they overlap. {@code tileDone} hears each tile finished (1-based), and may stop the work by throwing.
     */
    public RgbImage upscale(RgbImage picture, IntConsumer tileDone) throws OrtException {
        TileGrid tiles = grid(picture.width(), picture.height());
        float[] pixels = picture.planar(1f / 255f, 0f);
        float[] window = new float[3 * tiles.tilePlane()];
        // Half the overlap but one cell is discarded at each inner edge: those pixels saw the tile's zero padding.
        int margin = Math.max(0, tiles.overlap() / 2 - 1) * scale;
        TileGrid.Blend blend = tiles.scaled(scale).new Blend(3, margin);
        int done = 0;
        for (TileGrid.Tile tile : tiles.tiles()) {
            tiles.crop(pixels, 0, 3, tile, window, 0);
            float[] enlarged = run(window, tiles.tileHeight(), tiles.tileWidth());
            blend.add(new TileGrid.Tile(tile.y() * scale, tile.x() * scale), enlarged, 0);
            tileDone.accept(++done);
        }
        return RgbImage.fromPlanar(picture.width() * scale, picture.height() * scale, blend.result(), 1f, 0f);
    }

    private TileGrid grid(int width, int height) {
        if (fixedSide > 0) {
            if (width < fixedSide || height < fixedSide) {
                throw new IllegalArgumentException("is " + width + "x" + height + "; upscaler " + name + " takes"
                        + " tiles of " + fixedSide + "x" + fixedSide + ", so the picture must be at least that large");
            }
            return TileGrid.of(height, width, fixedSide, fixedSide / 8);
        }
        RuntimeOptions options = runtime.options();
        return TileGrid.of(height, width, options.upscaleTile(), options.upscaleTileOverlap());
    }

    private float[] run(float[] window, int height, int width) throws OrtException {
        try (TensorBuffer buffer = new TensorBuffer(runtime.environment(), input.type(), 1, 3, height, width)) {
            buffer.put(window, 0, 1f);
            try (OrtSession.Result result = network.run(Map.of(input.name(), buffer.tensor()))) {
                long[] shape = Tensors.shape(result.get(0));
                if (shape.length != 4 || shape[1] != 3 || shape[2] != (long) height * scale
                        || shape[3] != (long) width * scale) {
                    throw new ModelException(network.file() + ": enlarged a " + width + "x" + height + " tile to "
                            + java.util.Arrays.toString(shape) + "; expected [1, 3, " + height * scale + ", "
                            + width * scale + "]");
                }
                return Tensors.readFloats(result.get(0), network.file() + " output");
            }
        }
    }

    private int probeScale() throws OrtException {
        int side = fixedSide > 0 ? fixedSide : PROBE_SIDE;
        try (TensorBuffer buffer = new TensorBuffer(runtime.environment(), input.type(), 1, 3, side, side);
                OrtSession.Result result = network.run(Map.of(input.name(), buffer.tensor()))) {
            long[] shape = Tensors.shape(result.get(0));
            if (shape.length != 4 || shape[1] != 3 || shape[2] % side != 0 || shape[2] != shape[3]
                    || shape[2] < side) {
                throw new ModelException(network.file() + ": a " + side + "x" + side + " picture came out as "
                        + java.util.Arrays.toString(shape) + "; an upscaler outputs [1, 3, s x height, s x width]");
            }
            return (int) (shape[2] / side);
        }
    }

    private static String onlyInput(Component network) {
        java.util.Set<String> names = network.inputNames();
        if (names.size() != 1) {
            throw new ModelException(network.file() + ": an upscaler takes one input, the picture; this model takes "
                    + names);
        }
        return names.iterator().next();
    }

    private static JsonNode readConfig(Path file) throws IOException {
        return Files.isRegularFile(file) ? JSON.readTree(file.toFile()) : JSON.createObjectNode();
    }

    @Override
    public void close() throws OrtException {
        network.close();
    }
}
