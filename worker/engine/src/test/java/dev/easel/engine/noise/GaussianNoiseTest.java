package dev.easel.engine.noise;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class GaussianNoiseTest {

    /** Values computed from the documented recipe by an independent Python implementation. */
    @Test
    void followsTheDocumentedRecipe() {
        GaussianNoise noise = new GaussianNoise(42);
        float[] values = new float[6];
        noise.fill(values);
        assertArrayEquals(new float[] {0.41471976041793823f, 0.6526812314987183f, -0.8918862342834473f,
            1.3268336057662964f, 1.72959303855896f, -1.883416771888733f}, values);
        GaussianNoise negative = new GaussianNoise(-1);
        assertEquals(0.4038981795310974f, negative.nextGaussian());
        assertEquals(-0.24716992676258087f, negative.nextGaussian());
    }

    @Test
    void isStandardNormal() {
        GaussianNoise noise = new GaussianNoise(7);
        int count = 200_000;
        double sum = 0;
        double squares = 0;
        for (int i = 0; i < count; i++) {
            double value = noise.nextGaussian();
            sum += value;
            squares += value * value;
        }
        double mean = sum / count;
        assertEquals(0, mean, 0.01);
        assertEquals(1, squares / count - mean * mean, 0.01);
    }
}
