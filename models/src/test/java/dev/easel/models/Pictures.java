package dev.easel.models;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.ImageIO;

/** Test helpers for decoded pictures. */
final class Pictures {
    private Pictures() {
    }

    /** The RGB bytes of a PNG, decoded independently of Easel's writer (ImageIO). */
    static byte[] rgbOf(byte[] png) {
        try {
            BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
            byte[] rgb = new byte[image.getWidth() * image.getHeight() * 3];
            for (int y = 0; y < image.getHeight(); y++) {
                for (int x = 0; x < image.getWidth(); x++) {
                    int pixel = image.getRGB(x, y);
                    int offset = (y * image.getWidth() + x) * 3;
                    rgb[offset] = (byte) (pixel >> 16);
                    rgb[offset + 1] = (byte) (pixel >> 8);
                    rgb[offset + 2] = (byte) pixel;
                }
            }
            return rgb;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The largest difference of one channel of one pixel between two pictures of the same size. */
    static int maxDifference(byte[] a, byte[] b) {
        if (a.length != b.length) {
            throw new AssertionError("sizes differ: " + a.length + " vs " + b.length);
        }
        int worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs((a[i] & 0xff) - (b[i] & 0xff)));
        }
        return worst;
    }

    static double psnr(byte[] expected, byte[] actual) {
        if (expected.length != actual.length) {
            throw new AssertionError("sizes differ: " + expected.length + " vs " + actual.length);
        }
        double squared = 0;
        for (int i = 0; i < expected.length; i++) {
            double difference = (expected[i] & 0xff) - (actual[i] & 0xff);
            squared += difference * difference;
        }
        double mse = squared / expected.length;
        return mse == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(255.0 * 255.0 / mse);
    }
}
