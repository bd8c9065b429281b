package dev.easel.engine.noise;

/**
 * {@code torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed), dtype=float32)}, value for value and bit
 * for bit as torch computes it on x86-64 (its AVX2 kernel), so a diffusers or ComfyUI seed gives the same latents.
 * Successive {@link #fill} calls continue one generator, as diffusers' per-step draws do.
 * <ul>
 *   <li>Generator: the 32-bit Mersenne Twister MT19937, seeded with the low 32 bits of the seed.</li>
 *   <li>16 elements or more (every latent): all n uniforms {@code (next32() & 0xFFFFFF) * 2^-24} first; then each full
 *       block of 16 becomes normals by Box-Muller on its halves ({@code u1 = 1 - d[j]}, {@code u2 = d[j + 8]}), in
 *       float32 with the Cephes {@code log} and {@code sincos} polynomials of ATen's {@code avx_mathfun.h} and the
 *       multiply-adds the compiler fuses there; when n is not a multiple of 16, 16 more uniforms overwrite the last
 *       16 elements and that block is transformed again.</li>
 *   <li>Fewer than 16 elements: float64 Box-Muller per element, the sine half cached for the next element (even in a
 *       later call).</li>
 * </ul>
 */
public final class TorchNoise implements NoiseSource {
    private static final int N = 624;
    private final int[] state = new int[N];
    private int index = N;
    private double cachedNormal;
    private boolean hasCachedNormal;

    public TorchNoise(long seed) {
        state[0] = (int) seed;
        for (int j = 1; j < N; j++) {
            state[j] = 1812433253 * (state[j - 1] ^ (state[j - 1] >>> 30)) + j;
        }
    }

    /** The next 32-bit output (unsigned in an int). */
    int next32() {
        if (index >= N) {
            twist();
        }
        int y = state[index++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9D2C5680;
        y ^= (y << 15) & 0xEFC60000;
        return y ^ (y >>> 18);
    }

    private void twist() {
        for (int k = 0; k < N; k++) {
            int y = (state[k] & 0x80000000) | (state[(k + 1) % N] & 0x7FFFFFFF);
            int next = state[(k + 397) % N] ^ (y >>> 1);
            state[k] = (y & 1) != 0 ? next ^ 0x9908B0DF : next;
        }
        index = 0;
    }

    private float uniformFloat() {
        return (next32() & 0xFFFFFF) * 0x1.0p-24f;
    }

    private double uniformDouble() {
        long high = next32() & 0xFFFFFFFFL;
        long low = next32() & 0xFFFFFFFFL;
        return ((high << 32 | low) & ((1L << 53) - 1)) * 0x1.0p-53;
    }

    @Override
    public void fill(float[] target) {
        int n = target.length;
        if (n < 16) {
            for (int i = 0; i < n; i++) {
                target[i] = nextDoubleNormal();
            }
            return;
        }
        for (int i = 0; i < n; i++) {
            target[i] = uniformFloat();
        }
        for (int block = 0; block + 16 <= n; block += 16) {
            normalBlock(target, block);
        }
        if (n % 16 != 0) {
            for (int i = n - 16; i < n; i++) {
                target[i] = uniformFloat();
            }
            normalBlock(target, n - 16);
        }
    }

    private float nextDoubleNormal() {
        if (hasCachedNormal) {
            hasCachedNormal = false;
            return (float) cachedNormal;
        }
        double u1 = uniformDouble();
        double u2 = uniformDouble();
        double radius = Math.sqrt(-2.0 * Math.log(1.0 - u2));
        double theta = 2.0 * Math.PI * u1;
        cachedNormal = radius * Math.sin(theta);
        hasCachedNormal = true;
        return (float) (radius * Math.cos(theta));
    }

    private static final float TWO_PI = (float) (2.0 * Math.PI);

    /** Box-Muller on d[at .. at + 15] in place, as ATen's normal_fill_16_AVX2. */
    private static void normalBlock(float[] d, int at) {
        for (int j = 0; j < 8; j++) {
            float u1 = 1f - d[at + j];
            float u2 = d[at + j + 8];
            float radius = (float) Math.sqrt(-2f * CephesFloat.log(u1));
            float theta = TWO_PI * u2;
            long sinCos = CephesFloat.sinCos(theta);
            float sin = Float.intBitsToFloat((int) (sinCos >>> 32));
            float cos = Float.intBitsToFloat((int) sinCos);
            // ATen adds the mean 0 with an FMA: -0 comes out as +0.
            d[at + j] = radius * cos + 0f;
            d[at + j + 8] = radius * sin + 0f;
        }
    }
}
