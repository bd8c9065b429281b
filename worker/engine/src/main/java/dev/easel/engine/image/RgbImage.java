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

    /** Decodes a PNG or JPEG; anything else fails with a message saying so. */
    public static RgbImage decode(byte[] encoded) {
        BufferedImage image;
        try {
            image = ImageIO.read(new ByteArrayInputStream(encoded));
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("the init image cannot be decoded (" + e.getMessage() + "); use a PNG or JPEG");
        }
        if (image == null) {
            throw new IllegalArgumentException("the init image is not a PNG or JPEG this build can read");
        }
        int width = image.getWidth();
        int height = image.getHeight();
        byte[] rgb = new byte[width * height * 3];
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

    /** Bilinear resampling (pixel centres aligned), deterministic in plain float arithmetic. */
    public RgbImage resized(int newWidth, int newHeight) {
        if (newWidth == width && newHeight == height) {
            return this;
        }
        byte[] out = new byte[newWidth * newHeight * 3];
        float scaleX = (float) width / newWidth;
        float scaleY = (float) height / newHeight;
        for (int y = 0; y < newHeight; y++) {
            float sy = Math.max(0, (y + 0.5f) * scaleY - 0.5f);
            int y0 = Math.min((int) sy, height - 1);
            int y1 = Math.min(y0 + 1, height - 1);
            float fy = sy - y0;
            for (int x = 0; x < newWidth; x++) {
                float sx = Math.max(0, (x + 0.5f) * scaleX - 0.5f);
                int x0 = Math.min((int) sx, width - 1);
                int x1 = Math.min(x0 + 1, width - 1);
                float fx = sx - x0;
                for (int c = 0; c < 3; c++) {
                    float top = sample(x0, y0, c) * (1 - fx) + sample(x1, y0, c) * fx;
                    float bottom = sample(x0, y1, c) * (1 - fx) + sample(x1, y1, c) * fx;
                    out[(y * newWidth + x) * 3 + c] = (byte) Math.round(top * (1 - fy) + bottom * fy);
                }
            }
        }
        return new RgbImage(newWidth, newHeight, out);
    }

    private int sample(int x, int y, int channel) {
        return rgb[(y * width + x) * 3 + channel] & 0xff;
    }

    public byte[] toPng(String textKey, String text) {
        return PngWriter.write(rgb, width, height, textKey, text);
    }
}
