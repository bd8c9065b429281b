package dev.easel.engine.adapter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A textual-inversion embedding as AUTOMATIC1111 saves it: {@code emb_params} [n, width] (SDXL's: {@code clip_l} and
 * {@code clip_g}, one per text encoder); its trigger word is the file's stem.
 */
public final class Embedding {
    private final String word;
    private final float[][][] vectorsPerEncoder;
    private final String shortHash;

    private Embedding(String word, float[][][] vectorsPerEncoder, String shortHash) {
        this.word = word;
        this.vectorsPerEncoder = vectorsPerEncoder;
        this.shortHash = shortHash;
    }

    /** Reads {@code file}; a {@code .pt} file, or one without the expected tensors, fails saying what to do. */
    public static Embedding read(String word, Path file) throws IOException {
        SafeTensors tensors = SafeTensors.read(file);
        float[][][] vectors;
        if (tensors.tensors().containsKey("emb_params")) {
            vectors = new float[][][] {matrix(tensors, "emb_params")};
        } else if (tensors.tensors().containsKey("clip_l") && tensors.tensors().containsKey("clip_g")) {
            vectors = new float[][][] {matrix(tensors, "clip_l"), matrix(tensors, "clip_g")};
        } else {
            throw new IllegalArgumentException("embedding " + word + " (" + file + ") has neither emb_params nor"
                    + " clip_l and clip_g; it has " + tensors.tensors().keySet());
        }
        try {
            String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
            return new Embedding(word, vectors, hash.substring(0, 12));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static float[][] matrix(SafeTensors tensors, String name) {
        long[] shape = tensors.tensors().get(name).shape();
        float[] flat = tensors.floats(name);
        int rows = shape.length == 1 ? 1 : (int) shape[0];
        int width = flat.length / rows;
        float[][] matrix = new float[rows][width];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(flat, r * width, matrix[r], 0, width);
        }
        return matrix;
    }

    /** The trigger word. */
    public String word() {
        return word;
    }

    /** How many token positions the embedding takes. */
    public int vectorCount() {
        return vectorsPerEncoder[0].length;
    }

    /** The vectors for text encoder {@code encoder} (0: the first, 1: SDXL's second). */
    public float[][] vectors(int encoder) {
        if (encoder >= vectorsPerEncoder.length) {
            throw new IllegalArgumentException("embedding " + word + " has vectors for " + vectorsPerEncoder.length
                    + " text encoder(s); this model has more (an SDXL embedding has clip_l and clip_g)");
        }
        return vectorsPerEncoder[encoder];
    }

    /** How many text encoders it has vectors for. */
    public int encoders() {
        return vectorsPerEncoder.length;
    }

    /** The short hash AUTOMATIC1111 writes in {@code TI hashes}. */
    public String shortHash() {
        return shortHash;
    }
}
