package dev.easel.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

/** diffusers' get_guidance_scale_embedding: sines, then cosines, of (guidance - 1) x 1000 at 10000^(-k/(half-1)). */
class GuidanceEmbeddingTest {

    @Test
    void sinesThenCosinesOfTheScaledGuidance() {
        // guidance 1.00075: w x 1000 = 0.75; width 4: frequencies 1 and 1e-4.
        assertArrayEquals(new float[] {0.6816388f, 0.000075f, 0.7316889f, 1f},
                GuidanceEmbedding.of(1.00075, 4), 1e-5f);
    }

    @Test
    void guidanceOneIsTheEmbeddingOfZero() {
        assertArrayEquals(new float[] {0, 0, 0, 1, 1, 1}, GuidanceEmbedding.of(1.0, 6), 0f);
    }
}
