package dev.easel.engine.pipeline;

/**
 * The guidance-scale embedding an LCM-distilled UNet takes as {@code timestep_cond}: diffusers'
 * {@code get_guidance_scale_embedding(w = guidance - 1)} in float32, sines then cosines of w x 1000 at geometric
 * frequencies, zero-padded to an odd width.
 */
final class GuidanceEmbedding {
    private GuidanceEmbedding() {
    }

    static float[] of(double guidanceScale, int width) {
        float w = (float) (guidanceScale - 1) * 1000f;
        int half = width / 2;
        float step = (float) Math.log(10000f) / (half - 1);
        float[] embedding = new float[width];
        for (int k = 0; k < half; k++) {
            float frequency = (float) Math.exp(k * -step);
            float angle = w * frequency;
            embedding[k] = (float) Math.sin(angle);
            embedding[half + k] = (float) Math.cos(angle);
        }
        return embedding;
    }
}
