package dev.easel.engine.adapter;

import java.io.IOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A LoRA in the kohya / AUTOMATIC1111 layout ({@code lora_unet_*}, {@code lora_te_*}, SDXL's {@code lora_te1_*} and
 * {@code lora_te2_*} with {@code lora_down}, {@code lora_up} and {@code alpha}; 1x1 and 3x3 convolutions included) or
 * the diffusers / PEFT layout ({@code unet.*}, {@code text_encoder.*}, {@code text_encoder_2.*} with {@code lora_A} and
 * {@code lora_B}, scale 1). Each layer's key is kept as the file spells it, with dots turned into underscores, for
 * matching against a model's module paths.
 */
public final class LoraFile {
    /** The network a layer patches. */
    public enum Network { UNET, TEXT_ENCODER, TEXT_ENCODER_2 }

    /**
     * One patched layer: {@code key} (the module path with '_' for '.'), {@code down} [rank, in x kh x kw] and
     * {@code up} [out, rank] as float32, and {@code scale} = alpha / rank (1 without alpha).
     */
    public record Layer(Network network, String key, String fileKey, float[] down, long[] downShape, float[] up,
            long[] upShape, int rank, float scale) {
        /** Rows of the weight delta (the layer's output features). */
        public int outFeatures() {
            return (int) upShape[0];
        }

        /** Columns of the weight delta: in x kh x kw. */
        public int inFeatures() {
            return down.length / rank;
        }
    }

    private static final Map<String, Network> KOHYA_PREFIXES = new LinkedHashMap<>();
    private static final Map<String, Network> PEFT_PREFIXES = new LinkedHashMap<>();

    static {
        KOHYA_PREFIXES.put("lora_unet_", Network.UNET);
        KOHYA_PREFIXES.put("lora_te1_", Network.TEXT_ENCODER);
        KOHYA_PREFIXES.put("lora_te2_", Network.TEXT_ENCODER_2);
        KOHYA_PREFIXES.put("lora_te_", Network.TEXT_ENCODER);
        PEFT_PREFIXES.put("unet.", Network.UNET);
        PEFT_PREFIXES.put("text_encoder_2.", Network.TEXT_ENCODER_2);
        PEFT_PREFIXES.put("text_encoder.", Network.TEXT_ENCODER);
    }

    private final String name;
    private final List<Layer> layers;
    private final String shortHash;

    private LoraFile(String name, List<Layer> layers, String shortHash) {
        this.name = name;
        this.layers = layers;
        this.shortHash = shortHash;
    }

    /** Reads {@code file}; a file with no LoRA layer Easel knows fails naming the first key it could not read. */
    public static LoraFile read(String name, Path file) throws IOException {
        SafeTensors tensors = SafeTensors.read(file);
        List<Layer> layers = new ArrayList<>();
        String firstUnknown = null;
        for (String key : tensors.tensors().keySet()) {
            Layer layer = null;
            if (key.endsWith(".lora_down.weight")) {
                layer = kohya(tensors, key.substring(0, key.length() - ".lora_down.weight".length()));
            } else if (key.endsWith(".lora_A.weight")) {
                layer = peft(tensors, key.substring(0, key.length() - ".lora_A.weight".length()));
            } else if (!key.endsWith(".lora_up.weight") && !key.endsWith(".lora_B.weight") && !key.endsWith(".alpha")
                    && firstUnknown == null) {
                firstUnknown = key;
            }
            if (layer != null) {
                layers.add(layer);
            } else if ((key.endsWith(".lora_down.weight") || key.endsWith(".lora_A.weight")) && firstUnknown == null) {
                firstUnknown = key;
            }
        }
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("LoRA " + name + " (" + file + ") has no layer Easel can read"
                    + (firstUnknown == null ? "" : "; the first key it could not read is " + firstUnknown)
                    + ": expected kohya keys (lora_unet_..., lora_te_... with lora_down, lora_up, alpha) or diffusers"
                    + " keys (unet..., text_encoder... with lora_A, lora_B)");
        }
        return new LoraFile(name, List.copyOf(layers), addnetHash(tensors));
    }

    private static Layer kohya(SafeTensors tensors, String base) {
        for (Map.Entry<String, Network> prefix : KOHYA_PREFIXES.entrySet()) {
            if (base.startsWith(prefix.getKey())) {
                String up = base + ".lora_up.weight";
                if (!tensors.tensors().containsKey(up)) {
                    throw new IllegalArgumentException(tensors.file() + ": " + base + " has lora_down but no lora_up");
                }
                String alpha = base + ".alpha";
                return layer(tensors, prefix.getValue(), base.substring(prefix.getKey().length()), base,
                        base + ".lora_down.weight", up, tensors.tensors().containsKey(alpha)
                                ? tensors.floats(alpha)[0] : Float.NaN);
            }
        }
        return null;
    }

    private static Layer peft(SafeTensors tensors, String base) {
        for (Map.Entry<String, Network> prefix : PEFT_PREFIXES.entrySet()) {
            if (base.startsWith(prefix.getKey())) {
                String up = base + ".lora_B.weight";
                if (!tensors.tensors().containsKey(up)) {
                    throw new IllegalArgumentException(tensors.file() + ": " + base + " has lora_A but no lora_B");
                }
                String module = base.substring(prefix.getKey().length()).replace('.', '_');
                return layer(tensors, prefix.getValue(), module, base, base + ".lora_A.weight", up, Float.NaN);
            }
        }
        return null;
    }

    private static Layer layer(SafeTensors tensors, Network network, String key, String fileKey, String downName,
            String upName, float alpha) {
        SafeTensors.Tensor down = tensors.tensors().get(downName);
        SafeTensors.Tensor up = tensors.tensors().get(upName);
        int rank = (int) down.shape()[0];
        if (up.shape().length < 2 || up.shape()[1] != rank) {
            throw new IllegalArgumentException(tensors.file() + ": " + fileKey + " has rank " + rank + " in its down"
                    + " matrix and " + java.util.Arrays.toString(up.shape()) + " as its up matrix");
        }
        float scale = Float.isNaN(alpha) ? 1f : alpha / rank;
        return new Layer(network, key, fileKey, tensors.floats(downName), down.shape(), tensors.floats(upName),
                up.shape(), rank, scale);
    }

    /** AUTOMATIC1111's "addnet" hash: SHA-256 of the bytes after the header, its first 12 hex digits in infotexts. */
    private static String addnetHash(SafeTensors tensors) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update(tensors.data());
            return HexFormat.of().formatHex(digest.digest()).substring(0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public String name() {
        return name;
    }

    public List<Layer> layers() {
        return layers;
    }

    /** The short hash AUTOMATIC1111 writes in {@code Lora hashes}. */
    public String shortHash() {
        return shortHash;
    }
}
