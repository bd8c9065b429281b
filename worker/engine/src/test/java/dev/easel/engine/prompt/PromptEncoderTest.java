package dev.easel.engine.prompt;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** A1111's "Original" emphasis: tokens scaled by their weights, then the chunk rescaled to its original mean. */
class PromptEncoderTest {

    @Test
    void weighsTokensAndRestoresTheMean() {
        float[] z = {1f, 2f, -1f, 0.5f, 3f, 1f}; // 3 tokens of width 2, mean 1.0833
        PromptEncoder.emphasise(z, new float[] {1f, 2f, 1f}, 2);
        double mean = 0;
        for (float v : z) {
            mean += v / 6.0;
        }
        assertEquals(6.5 / 6, mean, 1e-6, "the mean is restored");
        // After weighting, token 1 is (-2, 1): the sum is 6, so the whole chunk is scaled by 6.5 / 6.
        double restore = 6.5 / 6;
        assertEquals(1 * restore, z[0], 1e-6);
        assertEquals(-2 * restore, z[2], 1e-6);
        assertEquals(1 * restore, z[3], 1e-6);
        assertEquals(3 * restore, z[4], 1e-6);
    }
}
