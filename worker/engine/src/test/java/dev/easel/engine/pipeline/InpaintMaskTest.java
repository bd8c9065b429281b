package dev.easel.engine.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** How a mask becomes diffusers' binary mask, its latent-size mask and the masked picture. */
class InpaintMaskTest {

    @Test
    void binarisesAtHalfAndTakesEachCellsTopLeftPixel() throws IOException {
        // Grey = 4x: 124 at x = 31 (kept), 128 at x = 32 (repainted).
        InpaintMask mask = InpaintMask.decode(greyPng(64, 16, (x, y) -> 4 * x), 64, 16);
        float[] latent = mask.latent();
        assertEquals(8 * 2, latent.length);
        for (int j = 0; j < 8; j++) {
            assertEquals(j >= 4 ? 1f : 0f, latent[j], "latent column " + j);
            assertEquals(latent[j], latent[8 + j], "both latent rows agree");
        }
    }

    @Test
    void aMaskOfAnotherSizeIsResizedFirst() throws IOException {
        InpaintMask mask = InpaintMask.decode(greyPng(16, 16, (x, y) -> x >= 8 ? 255 : 0), 64, 64);
        float[] latent = mask.latent();
        assertEquals(64, latent.length);
        for (int j = 0; j < 8; j++) {
            assertEquals(j >= 4 ? 1f : 0f, latent[j], "latent column " + j);
        }
    }

    @Test
    void theMaskedPictureIsZeroWhereRepainted() throws IOException {
        InpaintMask mask = InpaintMask.decode(greyPng(2, 1, (x, y) -> x == 1 ? 200 : 10), 2, 1);
        float[] picture = {0.5f, -0.5f, 0.25f, 0.75f, -1f, 1f};
        assertArrayEquals(new float[] {0.5f, 0f, 0.25f, 0f, -1f, 0f}, mask.maskedPicture(picture));
    }

    private interface Grey {
        int at(int x, int y);
    }

    private static byte[] greyPng(int width, int height, Grey grey) throws IOException {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                image.getRaster().setSample(x, y, 0, grey.at(x, y));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(image, "png", out);
        return out.toByteArray();
    }
}
