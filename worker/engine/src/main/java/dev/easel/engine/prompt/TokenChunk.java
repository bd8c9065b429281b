package dev.easel.engine.prompt;

/** One text-encoder input of a prompt: {@code ids} (BOS, 75 tokens or padding, EOS) and each token's weight. */
public record TokenChunk(int[] ids, float[] multipliers) {
    /** Whether every weight is 1, so that weighting would leave the encoding as it is. */
    public boolean unweighted() {
        for (float m : multipliers) {
            if (m != 1f) {
                return false;
            }
        }
        return true;
    }
}
