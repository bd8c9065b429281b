package dev.easel.engine.noise;

/**
 * Easel's noise generator, specified so that other implementations can reproduce it (StrictMath is fdlibm; a C or
 * Python libm gives the same float32 values in practice):
 * <ol>
 *   <li>SplitMix64 on a 64-bit state initialised to the seed: {@code state += 0x9E3779B97F4A7C15}, then
 *       {@code z = state; z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >>> 27)) * 0x94D049BB133111EB;
 *       z ^= z >>> 31}.</li>
 *   <li>A uniform double in (0, 1]: {@code ((z >>> 11) + 1) * 2^-53}.</li>
 *   <li>Box-Muller on two uniforms u1, u2 with {@code StrictMath}: {@code r = sqrt(-2 ln u1)}, values
 *       {@code r cos(2 pi u2)} then {@code r sin(2 pi u2)}, each rounded to float32.</li>
 * </ol>
 * Image {@code i} of a request uses seed {@code seed + i}. Latent noise is drawn in NCHW order, then each stochastic
 * scheduler step draws its fresh noise from the same stream.
 */
public final class GaussianNoise implements NoiseSource {
    private long state;
    private float spare;
    private boolean hasSpare;

    public GaussianNoise(long seed) {
        this.state = seed;
    }

    private long nextLong() {
        state += 0x9E3779B97F4A7C15L;
        long z = state;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private double nextUniform() {
        return ((nextLong() >>> 11) + 1) * 0x1.0p-53;
    }

    public float nextGaussian() {
        if (hasSpare) {
            hasSpare = false;
            return spare;
        }
        double radius = StrictMath.sqrt(-2.0 * StrictMath.log(nextUniform()));
        double angle = 2.0 * StrictMath.PI * nextUniform();
        spare = (float) (radius * StrictMath.sin(angle));
        hasSpare = true;
        return (float) (radius * StrictMath.cos(angle));
    }

    @Override
    public void fill(float[] target) {
        for (int i = 0; i < target.length; i++) {
            target[i] = nextGaussian();
        }
    }
}
