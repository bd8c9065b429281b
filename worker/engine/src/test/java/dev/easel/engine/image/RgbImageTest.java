package dev.easel.engine.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** Resizing as Pillow's Lanczos does (the reference PNGs are Pillow's own output, see the resource folder). */
class RgbImageTest {

    @ParameterizedTest(name = "{0}x{1}")
    @CsvSource({"64,48", "16,10", "64,23", "37,8"})
    void resizesExactlyAsPillowLanczos(int width, int height) throws IOException {
        RgbImage source = RgbImage.decode(resource("source.png"));
        RgbImage expected = RgbImage.decode(resource("lanczos-" + width + "x" + height + ".png"));
        RgbImage ours = source.resized(width, height);
        assertEquals(expected.width(), ours.width());
        assertEquals(expected.height(), ours.height());
        assertArrayEquals(expected.rgb(), ours.rgb());
    }

    @Test
    void greyPngSamplesAreReadAsWritten() throws IOException {
        BufferedImage grey = new BufferedImage(3, 1, BufferedImage.TYPE_BYTE_GRAY);
        grey.getRaster().setSample(0, 0, 0, 127);
        grey.getRaster().setSample(1, 0, 0, 128);
        grey.getRaster().setSample(2, 0, 0, 255);
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(grey, "png", png);
        RgbImage image = RgbImage.decode(png.toByteArray());
        assertArrayEquals(new int[] {127, 128, 255}, image.luma());
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = RgbImageTest.class.getResourceAsStream("/pillow-lanczos/" + name)) {
            return in.readAllBytes();
        }
    }
}
