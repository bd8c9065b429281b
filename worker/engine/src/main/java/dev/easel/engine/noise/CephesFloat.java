package dev.easel.engine.noise;

/**
 * The float32 {@code log} and {@code sincos} of ATen's {@code avx_mathfun.h} (Cephes polynomials), one lane at a time,
 * with a fused multiply-add exactly where torch's x86-64 build has one, so results match torch's bit for bit. Only for
 * the arguments Box-Muller gives them: {@code log} of (0, 1], {@code sincos} of [0, 2 pi).
 */
final class CephesFloat {
    // C double literals rounded to float, as the header's _mm256_set1_ps((float) ...) does.
    private static final float SQRTHF = (float) 0.707106781186547524;
    private static final float[] LOG_P = {(float) 7.0376836292E-2, (float) -1.1514610310E-1, (float) 1.1676998740E-1,
        (float) -1.2420140846E-1, (float) 1.4249322787E-1, (float) -1.6668057665E-1, (float) 2.0000714765E-1,
        (float) -2.4999993993E-1, (float) 3.3333331174E-1};
    private static final float LOG_Q1 = (float) -2.12194440e-4;
    private static final float LOG_Q2 = (float) 0.693359375;
    private static final float DP1 = (float) -0.78515625;
    private static final float DP2 = (float) -2.4187564849853515625e-4;
    private static final float DP3 = (float) -3.77489497744594108e-8;
    private static final float SIN_P0 = (float) -1.9515295891E-4;
    private static final float SIN_P1 = (float) 8.3321608736E-3;
    private static final float SIN_P2 = (float) -1.6666654611E-1;
    private static final float COS_P0 = (float) 2.443315711809948E-005;
    private static final float COS_P1 = (float) -1.388731625493765E-003;
    private static final float COS_P2 = (float) 4.166664568298827E-002;
    private static final float FOUR_OVER_PI = (float) 1.27323954473516;

    private CephesFloat() {
    }

    static float log(float value) {
        float x = Math.max(value, Float.MIN_NORMAL);
        int bits = Float.floatToRawIntBits(x);
        int exponent = bits >>> 23;
        x = Float.intBitsToFloat((bits & ~0x7F800000) | Float.floatToRawIntBits(0.5f));
        float e = (float) (exponent - 0x7F) + 1f;
        boolean below = x < SQRTHF;
        float tmp = below ? x : 0f;
        x = x - 1f;
        e = e - (below ? 1f : 0f);
        x = x + tmp;
        float z = x * x;
        float y = LOG_P[0];
        for (int k = 1; k < LOG_P.length; k++) {
            y = Math.fma(y, x, LOG_P[k]);
        }
        y = y * x;
        y = Math.fma(y, z, e * LOG_Q1);
        y = Math.fma(-z, 0.5f, y);
        return Math.fma(e, LOG_Q2, x + y);
    }

    /** sin in the high 32 bits, cos in the low, as float bits. */
    static long sinCos(float value) {
        int signSin = Float.floatToRawIntBits(value) & 0x80000000;
        float x = Math.abs(value);
        int j = (int) (x * FOUR_OVER_PI);
        j = (j + 1) & ~1;
        float y = j;
        int swapSin = (j & 4) << 29;
        boolean sinPolynomial = (j & 2) == 0;
        x = Math.fma(y, DP1, x);
        x = Math.fma(y, DP2, x);
        x = Math.fma(y, DP3, x);
        int signCos = (~(j - 2) & 4) << 29;
        signSin ^= swapSin;
        float z = x * x;
        float yc = Math.fma(COS_P0, z, COS_P1);
        yc = Math.fma(yc, z, COS_P2);
        yc = yc * z;
        yc = Math.fma(yc, z, -(z * 0.5f));
        yc = yc + 1f;
        float ys = Math.fma(SIN_P0, z, SIN_P1);
        ys = Math.fma(ys, z, SIN_P2);
        ys = ys * z;
        ys = Math.fma(ys, x, x);
        float sinPart = sinPolynomial ? ys : 0f;
        float cosPart = sinPolynomial ? 0f : yc;
        float sin = cosPart + sinPart;
        float cos = (yc - cosPart) + (ys - sinPart);
        sin = Float.intBitsToFloat(Float.floatToRawIntBits(sin) ^ signSin);
        cos = Float.intBitsToFloat(Float.floatToRawIntBits(cos) ^ signCos);
        return ((long) Float.floatToRawIntBits(sin) << 32) | (Float.floatToRawIntBits(cos) & 0xFFFFFFFFL);
    }
}
