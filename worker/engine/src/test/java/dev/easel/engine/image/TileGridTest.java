package dev.easel.engine.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TileGridTest {
    @Test
    void windowsOfOneSizeCoverThePlaneTheLastFlushWithTheEdge() {
        TileGrid grid = TileGrid.of(48, 64, 32, 8);
        assertEquals(32, grid.tileHeight());
        assertEquals(32, grid.tileWidth());
        List<Integer> ys = grid.tiles().stream().map(TileGrid.Tile::y).distinct().toList();
        List<Integer> xs = grid.tiles().stream().map(TileGrid.Tile::x).distinct().toList();
        assertEquals(List.of(0, 16), ys);
        assertEquals(List.of(0, 24, 32), xs);
        assertEquals(6, grid.tiles().size());
    }

    @Test
    void aPlaneWithinOneTileIsOneWindowAndBlendsToItselfExactly() {
        TileGrid grid = TileGrid.of(20, 12, 32, 8);
        assertTrue(grid.isSingle());
        assertEquals(20, grid.tileHeight());
        assertEquals(12, grid.tileWidth());
        float[] values = random(2 * 20 * 12);
        TileGrid.Blend blend = grid.new Blend(2);
        blend.add(grid.tiles().get(0), grid.crop(values, 0, 2, grid.tiles().get(0), new float[values.length], 0), 0);
        assertArrayEquals(values, blend.result());
    }

    @Test
    void tilesCutFromOnePlaneBlendBackToIt() {
        TileGrid grid = TileGrid.of(40, 56, 16, 4);
        float[] values = random(3 * 40 * 56);
        TileGrid.Blend blend = grid.new Blend(3);
        float[] window = new float[3 * grid.tilePlane()];
        for (TileGrid.Tile tile : grid.tiles()) {
            blend.add(tile, grid.crop(values, 0, 3, tile, window, 0), 0);
        }
        assertArrayEquals(values, blend.result(), 1e-5f);
    }

    @Test
    void theBlendFadesAcrossAnOverlapInsteadOfCutting() {
        // Two tiles side by side, the left all 0, the right all 1: across the overlap the blend rises step by step.
        TileGrid grid = TileGrid.of(1, 12, 8, 4);
        TileGrid.Blend blend = grid.new Blend(1);
        blend.add(grid.tiles().get(0), new float[8], 0);
        float[] ones = new float[8];
        java.util.Arrays.fill(ones, 1f);
        blend.add(grid.tiles().get(1), ones, 0);
        float[] row = blend.result();
        assertEquals(0f, row[3]);
        assertEquals(1f, row[8]);
        for (int x = 4; x < 8; x++) {
            assertTrue(row[x] > row[x - 1] && row[x] < 1f, "rises at " + x + ": " + java.util.Arrays.toString(row));
        }
    }

    @Test
    void aMarginDiscardsTheCellsNextToAnInnerEdge() {
        // Left tile 0, right tile 1, overlap 4 (cells 4..7), margin 1: cell 7 is the left tile's, cell 4 the right's.
        TileGrid grid = TileGrid.of(1, 12, 8, 4);
        TileGrid.Blend blend = grid.new Blend(1, 1);
        float[] left = new float[8];
        float[] right = new float[8];
        java.util.Arrays.fill(left, 5f);
        java.util.Arrays.fill(right, 9f);
        left[7] = 1000f; // computed against the padding: must not show
        right[0] = -1000f;
        blend.add(grid.tiles().get(0), left, 0);
        blend.add(grid.tiles().get(1), right, 0);
        float[] row = blend.result();
        assertEquals(5f, row[4]);
        assertEquals(9f, row[7]);
        assertTrue(row[5] > 5f && row[6] > row[5] && row[6] < 9f, java.util.Arrays.toString(row));
        assertThrows(IllegalArgumentException.class, () -> grid.new Blend(1, 2));
    }

    @Test
    void scaledGridsPlaceEnlargedTilesWhereTheirSourcesWere() {
        TileGrid scaled = TileGrid.of(48, 64, 32, 8).scaled(4);
        assertEquals(192, scaled.height());
        assertEquals(128, scaled.tileWidth());
        assertEquals(32, scaled.overlap());
        assertEquals(new TileGrid.Tile(64, 96), scaled.tiles().get(4));
    }

    @Test
    void anOverlapAsLargeAsTheTileIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> TileGrid.of(64, 64, 8, 8));
    }

    private static float[] random(int size) {
        Random random = new Random(3);
        float[] values = new float[size];
        for (int i = 0; i < size; i++) {
            values[i] = random.nextFloat() * 2 - 1;
        }
        return values;
    }
}
