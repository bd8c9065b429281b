package dev.easel.models.toy;

import dev.easel.engine.scheduler.NoiseSchedule;
import dev.easel.engine.scheduler.SchedulerConfig;
import dev.easel.models.TimestepInput;
import dev.easel.models.onnx.Attribute;
import dev.easel.models.onnx.OnnxGraph;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The analytic "toy" Stable Diffusion. Its text encoder reads colour, shape and placement words from the prompt; its
 * UNet computes the exact noise (or v) that separates the current sample from the latent image those words describe.
 * A correct pipeline therefore lands on that image with every scheduler, which makes the toy a test oracle as well as a
 * demo where the prompt visibly controls the picture.
 *
 * <p>Prompt language: the first colour word paints the shape, the second the background ("a red circle on a blue
 * background"); shapes are circle, square and stripes; left, right, top and bottom move the shape. Without a shape the
 * first colour fills the picture; without colours the picture is mid grey. The Java methods here are the reference the
 * ONNX graphs are built to match.
 */
public final class ToyModel {
    /** Width of the text encoder's hidden states. */
    public static final int FEATURES = 16;
    /** Latent magnitude of a full-scale colour; large against the residual noise schedulers leave. */
    public static final float LATENT_RANGE = 4.0f;
    public static final float VAE_SCALING_FACTOR = 0.18215f;

    private static final int FG = 0;
    private static final int FG_PRESENT = 4;
    private static final int BG = 5;
    private static final int BG_PRESENT = 9;
    private static final int SHAPES = 10;
    private static final int OFFSET_X = 13;
    private static final int OFFSET_Y = 14;
    private static final float EDGE_SHARPNESS = 40f;
    private static final float CIRCLE_RADIUS = 0.28f;
    private static final float SQUARE_HALF_SIDE = 0.22f;
    private static final float STRIPE_FREQUENCY = 3f;
    private static final float STRIPE_SHARPNESS = 8f;
    private static final float PLACEMENT = 0.22f;
    // Without colour words the target is mid grey, latent zero: the unconditional prediction is then "nothing", and
    // classifier-free guidance scales the prompt's picture (saturating it) instead of mixing in another one.
    private static final float[] DEFAULT_FOREGROUND = {0f, 0f, 0f};
    private static final float[] DEFAULT_BACKGROUND = {0f, 0f, 0f};

    /** Colour words and their RGB values. */
    public static final Map<String, float[]> COLOURS = colours();
    public static final List<String> SHAPE_WORDS = List.of("circle", "square", "stripes");
    public static final List<String> PLACEMENT_WORDS = List.of("left", "right", "top", "bottom");

    private final int vocabularySize;
    private final Map<Integer, float[]> rows = new LinkedHashMap<>();
    private final float[] logSigmas;

    /** Builds the toy over a tokenizer vocabulary; keywords must be single tokens ({@code word</w>}). */
    public ToyModel(Map<String, Integer> vocabulary, SchedulerConfig schedulerConfig) {
        this.vocabularySize = vocabulary.values().stream().mapToInt(Integer::intValue).max().orElse(0) + 1;
        COLOURS.forEach((word, colour) -> {
            float[] row = new float[FEATURES];
            float[] latent = latentOf(colour);
            System.arraycopy(latent, 0, row, FG, 4);
            row[FG_PRESENT] = 1;
            System.arraycopy(latent, 0, row, BG, 4);
            row[BG_PRESENT] = 1;
            put(vocabulary, word, row);
        });
        for (int i = 0; i < SHAPE_WORDS.size(); i++) {
            float[] row = new float[FEATURES];
            row[SHAPES + i] = 1;
            put(vocabulary, SHAPE_WORDS.get(i), row);
        }
        float[][] offsets = {{-PLACEMENT, 0}, {PLACEMENT, 0}, {0, -PLACEMENT}, {0, PLACEMENT}};
        for (int i = 0; i < PLACEMENT_WORDS.size(); i++) {
            float[] row = new float[FEATURES];
            row[OFFSET_X] = offsets[i][0];
            row[OFFSET_Y] = offsets[i][1];
            put(vocabulary, PLACEMENT_WORDS.get(i), row);
        }
        float[] sigmas = NoiseSchedule.fromConfig(schedulerConfig).sigmas();
        this.logSigmas = new float[sigmas.length];
        for (int i = 0; i < sigmas.length; i++) {
            logSigmas[i] = (float) Math.log(sigmas[i]);
        }
    }

    private void put(Map<String, Integer> vocabulary, String word, float[] row) {
        Integer id = vocabulary.get(word + "</w>");
        if (id != null) {
            rows.put(id, row);
        }
    }

    /** The words of the toy language that are single tokens in this vocabulary. */
    public int keywordCount() {
        return rows.size();
    }

    private static float[] rgb(int r, int g, int b) {
        return new float[] {r / 127.5f - 1, g / 127.5f - 1, b / 127.5f - 1};
    }

    private static Map<String, float[]> colours() {
        Map<String, float[]> colours = new LinkedHashMap<>();
        colours.put("red", rgb(220, 40, 40));
        colours.put("orange", rgb(240, 140, 20));
        colours.put("yellow", rgb(240, 220, 40));
        colours.put("green", rgb(40, 170, 60));
        colours.put("cyan", rgb(40, 200, 220));
        colours.put("blue", rgb(40, 80, 220));
        colours.put("purple", rgb(130, 50, 180));
        colours.put("magenta", rgb(220, 40, 200));
        colours.put("pink", rgb(240, 150, 190));
        colours.put("white", rgb(245, 245, 245));
        colours.put("black", rgb(15, 15, 15));
        colours.put("gray", rgb(128, 128, 128));
        colours.put("grey", rgb(128, 128, 128));
        colours.put("brown", rgb(130, 80, 40));
        return colours;
    }

    /** The latent (4 channels) whose decoding is colour {@code rgb} (components in [-1, 1]). */
    static float[] latentOf(float[] rgb) {
        float mean = (rgb[0] + rgb[1] + rgb[2]) / 3;
        return new float[] {LATENT_RANGE * rgb[0], LATENT_RANGE * rgb[1], LATENT_RANGE * rgb[2], LATENT_RANGE * mean};
    }

    /** The text encoder's pooled features for one prompt's ids (sum over positions of the hidden states). */
    public float[] pooledFeatures(int[] ids) {
        float[] pooled = new float[FEATURES];
        float colourCount = 0;
        for (int id : ids) {
            float[] row = rows.getOrDefault(id, new float[FEATURES]);
            float isColour = row[FG_PRESENT];
            colourCount += isColour;
            float first = isColour * (colourCount == 1 ? 1 : 0);
            float second = isColour * (colourCount == 2 ? 1 : 0);
            for (int f = 0; f < FEATURES; f++) {
                float factor = f < BG ? first : f < SHAPES ? second : 1;
                pooled[f] += row[f] * factor;
            }
        }
        return pooled;
    }

    /** The clean latent image [4, height, width] the prompt with these ids describes. */
    public float[] targetLatent(int[] ids, int height, int width) {
        float[] pooled = pooledFeatures(ids);
        float[] foreground = new float[4];
        float[] background = new float[4];
        float[] defaultForeground = latentOf(DEFAULT_FOREGROUND);
        float[] defaultBackground = latentOf(DEFAULT_BACKGROUND);
        for (int c = 0; c < 4; c++) {
            foreground[c] = pooled[FG + c] + defaultForeground[c] * (1 - pooled[FG_PRESENT]);
            background[c] = pooled[BG + c] + defaultBackground[c] * (1 - pooled[BG_PRESENT]);
        }
        float circleWeight = Math.min(1, pooled[SHAPES]);
        float squareWeight = Math.min(1, pooled[SHAPES + 1]);
        float stripesWeight = Math.min(1, pooled[SHAPES + 2]);
        float noShape = 1 - Math.min(1, pooled[SHAPES] + pooled[SHAPES + 1] + pooled[SHAPES + 2]);
        float scale = Math.min(height, width);
        float[] latent = new float[4 * height * width];
        for (int y = 0; y < height; y++) {
            float v = (y + 0.5f - height / 2f) / scale - pooled[OFFSET_Y];
            for (int x = 0; x < width; x++) {
                float u = (x + 0.5f - width / 2f) / scale - pooled[OFFSET_X];
                float circle = sigmoid(EDGE_SHARPNESS * (CIRCLE_RADIUS - (float) Math.sqrt(u * u + v * v)));
                float square = sigmoid(EDGE_SHARPNESS * (SQUARE_HALF_SIDE - Math.max(Math.abs(u), Math.abs(v))));
                float stripes = sigmoid(STRIPE_SHARPNESS * (float) Math.sin(2 * Math.PI * STRIPE_FREQUENCY * v));
                float mask = Math.min(1, circleWeight * circle + squareWeight * square + stripesWeight * stripes + noShape);
                for (int c = 0; c < 4; c++) {
                    latent[(c * height + y) * width + x] = background[c] + (foreground[c] - background[c]) * mask;
                }
            }
        }
        return latent;
    }

    private static float sigmoid(float x) {
        return (float) (1 / (1 + Math.exp(-x)));
    }

    /**
     * The image the VAE decoder makes of a (diffusion-scaled) latent, as 8-bit RGB, row-major, 8 pixels per latent
     * pixel: what a correct pipeline writes for that latent.
     */
    public static byte[] decodeToRgb(float[] latent, int height, int width) {
        int imageWidth = width * 8;
        byte[] rgb = new byte[height * 8 * imageWidth * 3];
        for (int y = 0; y < height * 8; y++) {
            for (int x = 0; x < imageWidth; x++) {
                for (int c = 0; c < 3; c++) {
                    float value = latent[(c * height + y / 8) * width + x / 8] / LATENT_RANGE;
                    float unit = Math.max(0, Math.min(1, value / 2 + 0.5f));
                    rgb[(y * imageWidth + x) * 3 + c] = (byte) Math.rint(unit * 255);
                }
            }
        }
        return rgb;
    }

    /** The linear latent-to-RGB map of the decoder, for cheap previews ([channel][rgb]). */
    public static float[][] latentRgbFactors() {
        float[][] factors = new float[4][3];
        for (int c = 0; c < 3; c++) {
            factors[c][c] = 1 / LATENT_RANGE;
        }
        return factors;
    }

    public void writeTextEncoder(Path file, TimestepInput variant) throws IOException {
        OnnxGraph g = new OnnxGraph("toy_text_encoder");
        int idsType = variant == TimestepInput.INT64 ? OnnxGraph.INT64 : OnnxGraph.INT32;
        int floatType = variant.halfPrecision() ? OnnxGraph.FLOAT16 : OnnxGraph.FLOAT;
        g.input("input_ids", idsType, "batch", "sequence");
        float[] table = new float[vocabularySize * FEATURES];
        rows.forEach((id, row) -> System.arraycopy(row, 0, table, id * FEATURES, FEATURES));
        String embedded = g.op("Gather", List.of(g.floats("token_features", table, vocabularySize, FEATURES),
                g.cast("input_ids", OnnxGraph.INT64)));
        // Causal in the way CLIP is: a colour word knows how many colour words came before it.
        String isColour = g.slice(embedded, 2, FG_PRESENT, FG_PRESENT + 1);
        String count = g.op("CumSum", List.of(isColour, g.longScalar(1)));
        String first = g.mul(isColour, g.cast(g.op("Equal", List.of(count, g.scalar(1))), OnnxGraph.FLOAT));
        String second = g.mul(isColour, g.cast(g.op("Equal", List.of(count, g.scalar(2))), OnnxGraph.FLOAT));
        String hidden = g.concat(2,
                g.mul(g.slice(embedded, 2, FG, BG), first),
                g.mul(g.slice(embedded, 2, BG, SHAPES), second),
                g.slice(embedded, 2, SHAPES, FEATURES));
        g.output(g.cast(hidden, floatType), "last_hidden_state", floatType, "batch", "sequence", (long) FEATURES);
        g.write(file, "easel-toy", null, 0);
    }

    public void writeUnet(Path file, TimestepInput variant, boolean vPrediction) throws IOException {
        OnnxGraph g = new OnnxGraph("toy_unet");
        int floatType = variant.halfPrecision() ? OnnxGraph.FLOAT16 : OnnxGraph.FLOAT;
        g.input("sample", floatType, "batch", 4L, "height", "width");
        g.input("timestep", switch (variant) {
            case FLOAT32 -> OnnxGraph.FLOAT;
            case INT64 -> OnnxGraph.INT64;
            case FLOAT16 -> OnnxGraph.FLOAT16;
        }, "batch");
        g.input("encoder_hidden_states", floatType, "batch", "sequence", (long) FEATURES);
        String sample = g.cast("sample", OnnxGraph.FLOAT);

        String pooled = g.op("ReduceSum", List.of(g.cast("encoder_hidden_states", OnnxGraph.FLOAT), g.longs(1)),
                Attribute.integer("keepdims", 0));
        String foreground = colourOrDefault(g, pooled, FG, FG_PRESENT, DEFAULT_FOREGROUND);
        String background = colourOrDefault(g, pooled, BG, BG_PRESENT, DEFAULT_BACKGROUND);
        String mask = mask(g, pooled, sample);
        String target = g.add(background, g.mul(g.sub(foreground, background), mask));

        // sigma(t) by linear interpolation of log sigma: the exact inverse of how schedulers map sigmas to timesteps.
        String t = g.reshape(g.cast("timestep", OnnxGraph.FLOAT), -1);
        String low = g.op("Clip", List.of(g.op("Floor", t), g.scalar(0), g.scalar(logSigmas.length - 2)));
        String fraction = g.sub(t, low);
        String lowIndex = g.cast(low, OnnxGraph.INT64);
        String table = g.floats("log_sigmas", logSigmas, logSigmas.length);
        String lowLog = g.op("Gather", List.of(table, lowIndex));
        String highLog = g.op("Gather", List.of(table, g.add(lowIndex, g.longs(1))));
        String sigma = g.op("Exp", g.add(lowLog, g.mul(g.sub(highLog, lowLog), fraction)));
        String signal = g.reshape(g.op("Reciprocal", g.op("Sqrt", g.add(g.mul(sigma, sigma), g.scalar(1)))), -1, 1, 1, 1);
        String noiseLevel = g.mul(g.reshape(sigma, -1, 1, 1, 1), signal);
        String epsilon = g.div(g.sub(sample, g.mul(signal, target)), noiseLevel);
        String output = vPrediction ? g.sub(g.mul(signal, epsilon), g.mul(noiseLevel, target)) : epsilon;
        g.output(g.cast(output, floatType), "out_sample", floatType, "batch", 4L, "height", "width");
        g.write(file, "easel-toy", "model.onnx_data", 1024);
    }

    private static String colourOrDefault(OnnxGraph g, String pooled, int offset, int presentIndex, float[] fallback) {
        String colour = g.slice(pooled, 1, offset, offset + 4);
        String present = g.slice(pooled, 1, presentIndex, presentIndex + 1);
        String absent = g.sub(g.scalar(1), present);
        String result = g.add(colour, g.mul(absent, g.floats(latentOf(fallback), 1, 4)));
        return g.reshape(result, -1, 4, 1, 1);
    }

    private static String mask(OnnxGraph g, String pooled, String sample) {
        String shape = g.op("Shape", sample);
        String height = g.op("Gather", List.of(shape, g.longScalar(2)));
        String width = g.op("Gather", List.of(shape, g.longScalar(3)));
        String heightF = g.cast(height, OnnxGraph.FLOAT);
        String widthF = g.cast(width, OnnxGraph.FLOAT);
        String scale = g.op("Min", List.of(heightF, widthF));
        String ys = g.cast(g.op("Range", List.of(g.longScalar(0), height, g.longScalar(1))), OnnxGraph.FLOAT);
        String xs = g.cast(g.op("Range", List.of(g.longScalar(0), width, g.longScalar(1))), OnnxGraph.FLOAT);
        String half = g.scalar(0.5f);
        String v0 = g.div(g.sub(g.add(ys, half), g.mul(heightF, half)), scale);
        String u0 = g.div(g.sub(g.add(xs, half), g.mul(widthF, half)), scale);
        String offsetX = g.reshape(g.slice(pooled, 1, OFFSET_X, OFFSET_X + 1), -1, 1, 1, 1);
        String offsetY = g.reshape(g.slice(pooled, 1, OFFSET_Y, OFFSET_Y + 1), -1, 1, 1, 1);
        String u = g.sub(g.reshape(u0, 1, 1, 1, -1), offsetX);
        String v = g.sub(g.reshape(v0, 1, 1, -1, 1), offsetY);
        String sharp = g.scalar(EDGE_SHARPNESS);
        String radius = g.op("Sqrt", g.add(g.mul(u, u), g.mul(v, v)));
        String circle = g.sigmoid(g.mul(sharp, g.sub(g.scalar(CIRCLE_RADIUS), radius)));
        String extent = g.op("Max", List.of(g.op("Abs", u), g.op("Abs", v)));
        String square = g.sigmoid(g.mul(sharp, g.sub(g.scalar(SQUARE_HALF_SIDE), extent)));
        String wave = g.op("Sin", g.mul(g.scalar((float) (2 * Math.PI * STRIPE_FREQUENCY)), v));
        String stripes = g.sigmoid(g.mul(g.scalar(STRIPE_SHARPNESS), wave));
        String one = g.scalar(1);
        String circleWeight = weight(g, pooled, SHAPES, one);
        String squareWeight = weight(g, pooled, SHAPES + 1, one);
        String stripesWeight = weight(g, pooled, SHAPES + 2, one);
        String shapeSum = g.op("ReduceSum", List.of(g.slice(pooled, 1, SHAPES, SHAPES + 3), g.longs(1)),
                Attribute.integer("keepdims", 1));
        String noShape = g.reshape(g.sub(one, g.op("Min", List.of(shapeSum, one))), -1, 1, 1, 1);
        String sum = g.add(g.add(g.mul(circleWeight, circle), g.mul(squareWeight, square)),
                g.add(g.mul(stripesWeight, stripes), noShape));
        return g.op("Min", List.of(sum, one));
    }

    private static String weight(OnnxGraph g, String pooled, int index, String one) {
        return g.reshape(g.op("Min", List.of(g.slice(pooled, 1, index, index + 1), one)), -1, 1, 1, 1);
    }

    public void writeVaeDecoder(Path file, TimestepInput variant) throws IOException {
        OnnxGraph g = new OnnxGraph("toy_vae_decoder");
        int floatType = variant.halfPrecision() ? OnnxGraph.FLOAT16 : OnnxGraph.FLOAT;
        g.input("latent_sample", floatType, "batch", 4L, "latent_height", "latent_width");
        float[] weights = new float[3 * 4];
        for (int c = 0; c < 3; c++) {
            weights[c * 4 + c] = VAE_SCALING_FACTOR / LATENT_RANGE;
        }
        String rgb = g.op("Conv", List.of(g.cast("latent_sample", OnnxGraph.FLOAT), g.floats(weights, 3, 4, 1, 1)));
        String upscaled = g.op("Resize", List.of(rgb, "", g.floats(new float[] {1, 1, 8, 8}, 4)),
                Attribute.string("mode", "nearest"),
                Attribute.string("coordinate_transformation_mode", "asymmetric"),
                Attribute.string("nearest_mode", "floor"));
        g.output(g.cast(upscaled, floatType), "sample", floatType, "batch", 3L, "height", "width");
        g.write(file, "easel-toy", null, 0);
    }

    public void writeVaeEncoder(Path file, TimestepInput variant) throws IOException {
        OnnxGraph g = new OnnxGraph("toy_vae_encoder");
        int floatType = variant.halfPrecision() ? OnnxGraph.FLOAT16 : OnnxGraph.FLOAT;
        g.input("sample", floatType, "batch", 3L, "height", "width");
        String pooled = g.op("AveragePool", g.cast("sample", OnnxGraph.FLOAT), Attribute.ints("kernel_shape", 8, 8),
                Attribute.ints("strides", 8, 8));
        float gain = LATENT_RANGE / VAE_SCALING_FACTOR;
        float third = gain / 3;
        float[] weights = {gain, 0, 0, 0, gain, 0, 0, 0, gain, third, third, third};
        String latent = g.op("Conv", List.of(pooled, g.floats(weights, 4, 3, 1, 1)));
        g.output(g.cast(latent, floatType), "latent_sample", floatType, "batch", 4L, "latent_height", "latent_width");
        g.write(file, "easel-toy", null, 0);
    }
}
