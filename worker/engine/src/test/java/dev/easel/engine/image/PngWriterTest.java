package dev.easel.engine.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.stream.ImageInputStream;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Node;

class PngWriterTest {

    private static byte[] gradient(int width, int height) {
        byte[] rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int i = (y * width + x) * 3;
                rgb[i] = (byte) (x * 7);
                rgb[i + 1] = (byte) (y * 13);
                rgb[i + 2] = (byte) (x * y);
            }
        }
        return rgb;
    }

    @Test
    void decodesToThePixelsWrittenWithTheText() throws Exception {
        byte[] rgb = gradient(37, 21);
        byte[] png = PngWriter.write(rgb, 37, 21, "parameters", "a cat\nSteps: 20");
        assertArrayEquals(rgb, RgbImage.decode(png).rgb());
        assertEquals("a cat\nSteps: 20", textEntry(png, "parameters"));
    }

    @Test
    void textOutsideLatin1GoesToAnInternationalChunk() throws Exception {
        byte[] png = PngWriter.write(gradient(8, 8), 8, 8, "parameters", "\u732b \ud83d\ude00");
        assertTrue(new String(png, StandardCharsets.ISO_8859_1).contains("iTXtparameters"));
        assertEquals("\u732b \ud83d\ude00", textEntry(png, "parameters"));
    }

    @Test
    void sameInputSameBytes() {
        assertArrayEquals(PngWriter.write(gradient(64, 64), 64, 64, "k", "v"),
                PngWriter.write(gradient(64, 64), 64, 64, "k", "v"));
    }

    /** Reads a text entry back through ImageIO's PNG metadata (tEXt or iTXt). */
    private static String textEntry(byte[] png, String key) throws Exception {
        try (ImageInputStream input = ImageIO.createImageInputStream(new ByteArrayInputStream(png))) {
            ImageReader reader = ImageIO.getImageReaders(input).next();
            reader.setInput(input);
            IIOMetadata metadata = reader.getImageMetadata(0);
            Node root = metadata.getAsTree("javax_imageio_png_1.0");
            for (Node chunk = root.getFirstChild(); chunk != null; chunk = chunk.getNextSibling()) {
                for (Node entry = chunk.getFirstChild(); entry != null; entry = entry.getNextSibling()) {
                    Node keyword = entry.getAttributes().getNamedItem("keyword");
                    if (keyword != null && keyword.getNodeValue().equals(key)) {
                        Node value = entry.getAttributes().getNamedItem("value");
                        if (value == null) {
                            value = entry.getAttributes().getNamedItem("text");
                        }
                        return value.getNodeValue();
                    }
                }
            }
            return null;
        }
    }
}
