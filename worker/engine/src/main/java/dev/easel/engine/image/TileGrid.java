package dev.easel.engine.image;

import java.util.ArrayList;
import java.util.List;

/**
 * Overlapping windows of one size covering a {@code height x width} plane, so that a network too large for the whole
 * plane runs on each window and the results are blended. Windows step by {@code tile - overlap}; the last in each
 * direction sits flush with the edge. A plane that fits one tile is one window with weight 1 everywhere, so untiled
 * runs stay exact.
 */
public record TileGrid(int height, int width, int tileHeight, int tileWidth, int overlap, List<Tile> tiles) {

    /** A window's top-left corner. */
    public record Tile(int y, int x) {
    }

    /** Windows of at most {@code tileSide} (smaller for a plane that is smaller) overlapping by {@code overlap}. */
    public static TileGrid of(int height, int width, int tileSide, int overlap) {
        if (tileSide <= overlap || overlap < 0) {
            throw new IllegalArgumentException("a tile of " + tileSide + " cannot overlap its neighbour by " + overlap);
        }
        int tileHeight = Math.min(tileSide, height);
        int tileWidth = Math.min(tileSide, width);
        List<Tile> tiles = new ArrayList<>();
        for (int y : starts(height, tileHeight, overlap)) {
            for (int x : starts(width, tileWidth, overlap)) {
                tiles.add(new Tile(y, x));
            }
        }
        return new TileGrid(height, width, tileHeight, tileWidth, overlap, List.copyOf(tiles));
    }

    private static List<Integer> starts(int side, int tile, int overlap) {
        List<Integer> starts = new ArrayList<>();
        int stride = tile - overlap;
        for (int start = 0; ; start += stride) {
            if (start + tile >= side) {
                starts.add(side - tile);
                return starts;
            }
            starts.add(start);
        }
    }

    public boolean isSingle() {
        return tiles.size() == 1;
    }

    /** The same windows on a plane {@code factor} times larger: where each tile's enlarged output belongs. */
    public TileGrid scaled(int factor) {
        return new TileGrid(height * factor, width * factor, tileHeight * factor, tileWidth * factor, overlap * factor,
                tiles.stream().map(t -> new Tile(t.y() * factor, t.x() * factor)).toList());
    }

    public int tilePlane() {
        return tileHeight * tileWidth;
    }

    /** Tile {@code tile}'s window of {@code channels} planes of {@code values} (planar, [channels, height, width]). */
    public float[] crop(float[] values, int offset, int channels, Tile tile, float[] into, int intoOffset) {
        for (int c = 0; c < channels; c++) {
            for (int row = 0; row < tileHeight; row++) {
                System.arraycopy(values, offset + (c * height + tile.y() + row) * width + tile.x(), into,
                        intoOffset + (c * tileHeight + row) * tileWidth, tileWidth);
            }
        }
        return into;
    }

    /**
     * Weighted sums of tiles' values over the whole plane. Inside a tile the weight is 1; next to an edge that another
     * tile covers it is 0 for the first {@code margin} cells (values computed without their full context: a network's
     * zero padding reaches that far), then rises linearly over the rest of the overlap, so a seam is a cross-fade
     * rather than a cut.
     */
    public final class Blend {
        private final int channels;
        private final int margin;
        private final float[] sum;
        private final float[] weight;

        /** A cross-fade over the whole overlap. */
        public Blend(int channels) {
            this(channels, 0);
        }

        /** Discards {@code margin} cells at each inner edge; the overlap must exceed twice the margin. */
        public Blend(int channels, int margin) {
            if (overlap > 0 && overlap <= 2 * margin) {
                throw new IllegalArgumentException("an overlap of " + overlap + " leaves nothing to blend after"
                        + " discarding " + margin + " cells on each side");
            }
            this.channels = channels;
            this.margin = margin;
            this.sum = new float[channels * height * width];
            this.weight = new float[height * width];
        }

        /** Adds tile {@code tile}'s values ({@code channels} planes of the tile's size, from {@code offset}). */
        public void add(Tile tile, float[] values, int offset) {
            for (int row = 0; row < tileHeight; row++) {
                float rowWeight = ramp(row, tileHeight, tile.y() > 0, tile.y() + tileHeight < height);
                for (int column = 0; column < tileWidth; column++) {
                    float w = rowWeight * ramp(column, tileWidth, tile.x() > 0, tile.x() + tileWidth < width);
                    int cell = (tile.y() + row) * width + tile.x() + column;
                    weight[cell] += w;
                    for (int c = 0; c < channels; c++) {
                        sum[c * height * width + cell] += w * values[offset + (c * tileHeight + row) * tileWidth
                                + column];
                    }
                }
            }
        }

        /** The blended plane, [channels, height, width]. */
        public float[] result() {
            float[] out = new float[sum.length];
            int plane = height * width;
            for (int i = 0; i < out.length; i++) {
                out[i] = sum[i] / weight[i % plane];
            }
            return out;
        }

        private float ramp(int position, int size, boolean neighbourBefore, boolean neighbourAfter) {
            float w = 1f;
            float span = overlap - 2 * margin + 1f;
            if (neighbourBefore && position < overlap) {
                w = Math.min(w, Math.max(0f, position - margin + 1f) / span);
            }
            if (neighbourAfter && size - 1 - position < overlap) {
                w = Math.min(w, Math.max(0f, size - position - margin) / span);
            }
            return Math.min(w, 1f);
        }
    }
}
