package dev.easel.engine.image;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import javax.imageio.ImageIO;

/** An 8-bit RGB image, row-major, 3 bytes a pixel. */
public record RgbImage(int width, int height, byte[] rgb) {

    public RgbImage {
        if (rgb.length != width * height * 3) {
            throw new IllegalArgumentException("expected " + width * height * 3 + " bytes for " + width + "x" + height);
        }
    }

    /**
     * A network's planar float picture ([3, height, width]) to 8-bit RGB: each value {@code v} becomes
     * {@code round(255 * clamp(v * scale + offset, 0, 1))} (scale and offset 0.5 for [-1, 1] outputs, 1 and 0 for
     * [0, 1]), the rounding diffusers' pipelines do.
     */
    public static RgbImage fromPlanar(int width, int height, float[] values, float scale, float offset) {
        int plane = width * height;
        byte[] rgb = new byte[plane * 3];
        for (int p = 0; p < plane; p++) {
            for (int c = 0; c < 3; c++) {
                float unit = Math.max(0f, Math.min(1f, values[c * plane + p] * scale + offset));
                rgb[p * 3 + c] = (byte) Math.rint(unit * 255);
            }
        }
        return new RgbImage(width, height, rgb);
    }

    /** Decodes a PNG or JPEG; anything else fails with a message saying so. */
    public static RgbImage decode(byte[] encoded) {
        BufferedImage image;
        try {
            image = ImageIO.read(new ByteArrayInputStream(encoded));
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("cannot be decoded (" + e.getMessage() + "); send a PNG or JPEG");
        }
        if (image == null) {
            throw new IllegalArgumentException("is not a PNG or JPEG this build can read");
        }
        int width = image.getWidth();
        int height = image.getHeight();
        byte[] rgb = new byte[width * height * 3];
        if (image.getColorModel().getColorSpace().getType() == java.awt.color.ColorSpace.TYPE_GRAY
                && image.getRaster().getSampleModel().getSampleSize(0) == 8) {
            // Java's getRGB would gamma-convert grey samples; a mask's 127 vs 128 must stay what the file says.
            java.awt.image.Raster raster = image.getRaster();
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    int offset = (y * width + x) * 3;
                    rgb[offset] = rgb[offset + 1] = rgb[offset + 2] = (byte) raster.getSample(x, y, 0);
                }
            }
            return new RgbImage(width, height, rgb);
        }
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int pixel = image.getRGB(x, y);
                int offset = (y * width + x) * 3;
                rgb[offset] = (byte) (pixel >> 16);
                rgb[offset + 1] = (byte) (pixel >> 8);
                rgb[offset + 2] = (byte) pixel;
            }
        }
        return new RgbImage(width, height, rgb);
    }

    /**
     * Resampled with Pillow's Lanczos filter (support 3, widened when shrinking; horizontal pass then vertical, each
     * rounded to 8 bits with Pillow's 22-bit fixed-point coefficients), as diffusers resizes init images and masks.
     */
    public RgbImage resized(int newWidth, int newHeight) {
        if (newWidth == width && newHeight == height) {
            return this;
        }
        byte[] horizontal = rgb;
        if (newWidth != width) {
            horizontal = new byte[newWidth * height * 3];
            Lanczos.Filter filter = Lanczos.filter(width, newWidth);
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < newWidth; x++) {
                    for (int c = 0; c < 3; c++) {
                        horizontal[(y * newWidth + x) * 3 + c] = filter.apply(x, rgb, (y * width) * 3 + c, 3);
                    }
                }
            }
        }
        if (newHeight == height) {
            return new RgbImage(newWidth, newHeight, horizontal);
        }
        byte[] out = new byte[newWidth * newHeight * 3];
        Lanczos.Filter filter = Lanczos.filter(height, newHeight);
        for (int y = 0; y < newHeight; y++) {
            for (int x = 0; x < newWidth; x++) {
                for (int c = 0; c < 3; c++) {
                    out[(y * newWidth + x) * 3 + c] = filter.apply(y, horizontal, x * 3 + c, newWidth * 3);
                }
            }
        }
        return new RgbImage(newWidth, newHeight, out);
    }

    /** The picture as the VAE encoder takes it: [3, height, width], each value v / 255 * 2 - 1. */
    public float[] normalised() {
        int plane = width * height;
        float[] pixels = new float[plane * 3];
        for (int p = 0; p < plane; p++) {
            for (int c = 0; c < 3; c++) {
                pixels[c * plane + p] = (rgb[p * 3 + c] & 0xff) / 255f * 2f - 1f;
            }
        }
        return pixels;
    }

    /** The picture planar, [3, height, width], each value {@code v * scale + offset}. */
    public float[] planar(float scale, float offset) {
        int plane = width * height;
        float[] pixels = new float[plane * 3];
        for (int p = 0; p < plane; p++) {
            for (int c = 0; c < 3; c++) {
                pixels[c * plane + p] = (rgb[p * 3 + c] & 0xff) * scale + offset;
            }
        }
        return pixels;
    }

    /** Pillow's greyscale ("L"): ITU-R 601-2 luma in 16-bit fixed point, rounded. */
    public int[] luma() {
        int[] values = new int[width * height];
        for (int p = 0; p < values.length; p++) {
            int r = rgb[p * 3] & 0xff;
            int g = rgb[p * 3 + 1] & 0xff;
            int b = rgb[p * 3 + 2] & 0xff;
            values[p] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
        }
        return values;
    }

    /** A grey picture (R = G = B) of {@code values} in 0..255. */
    public static RgbImage grey(int width, int height, int[] values) {
        byte[] rgb = new byte[width * height * 3];
        for (int p = 0; p < values.length; p++) {
            rgb[p * 3] = rgb[p * 3 + 1] = rgb[p * 3 + 2] = (byte) values[p];
        }
        return new RgbImage(width, height, rgb);
    }

    public byte[] toPng(String textKey, String text) {
        return PngWriter.write(rgb, width, height, textKey, text);
    }
}
