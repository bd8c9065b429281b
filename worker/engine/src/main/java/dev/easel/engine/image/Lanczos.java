package dev.easel.engine.image;

/** Pillow's Lanczos resampling weights for one axis ({@code ImagingResample} with {@code LANCZOS}, 8-bit images). */
final class Lanczos {
    private static final double SUPPORT = 3;
    private static final int PRECISION_BITS = 32 - 8 - 2;

    private Lanczos() {
    }

    /** For each output position, the first input index and the fixed-point weights of its window. */
    record Filter(int[] starts, int[][] weights) {
        /** Output {@code position} from the samples at {@code base + i * stride}. */
        byte apply(int position, byte[] samples, int base, int stride) {
            int start = starts[position];
            int[] k = weights[position];
            long sum = 1L << (PRECISION_BITS - 1);
            for (int i = 0; i < k.length; i++) {
                sum += (long) (samples[base + (start + i) * stride] & 0xff) * k[i];
            }
            long value = sum >> PRECISION_BITS;
            return (byte) Math.max(0, Math.min(255, value));
        }
    }

    static Filter filter(int inSize, int outSize) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = SUPPORT * filterScale;
        int[] starts = new int[outSize];
        int[][] weights = new int[outSize][];
        for (int out = 0; out < outSize; out++) {
            double center = (out + 0.5) * scale;
            int min = Math.max((int) (center - support + 0.5), 0);
            int max = Math.min((int) (center + support + 0.5), inSize) - min;
            double[] k = new double[max];
            double total = 0;
            for (int i = 0; i < max; i++) {
                k[i] = lanczos((i + min - center + 0.5) / filterScale);
                total += k[i];
            }
            int[] fixed = new int[max];
            for (int i = 0; i < max; i++) {
                double w = total == 0 ? k[i] : k[i] / total;
                fixed[i] = (int) (w < 0 ? w * (1 << PRECISION_BITS) - 0.5 : w * (1 << PRECISION_BITS) + 0.5);
            }
            starts[out] = min;
            weights[out] = fixed;
        }
        return new Filter(starts, weights);
    }

    private static double lanczos(double x) {
        if (x <= -SUPPORT || x >= SUPPORT) {
            return 0;
        }
        return sinc(x) * sinc(x / SUPPORT);
    }

    private static double sinc(double x) {
        if (x == 0) {
            return 1;
        }
        double px = Math.PI * x;
        return Math.sin(px) / px;
    }
}
