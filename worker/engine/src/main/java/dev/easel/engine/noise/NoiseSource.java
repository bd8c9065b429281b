package dev.easel.engine.noise;

/**
 * Where an image's noise comes from: its initial latents first, then whatever a stochastic scheduler draws per step,
 * each draw a whole tensor in NCHW order. One source per image, seeded with {@code seed + image index}.
 */
public interface NoiseSource {
    /** Fills {@code target} with standard normal values: one draw of a tensor of that many elements. */
    void fill(float[] target);

    /**
     * The noise of images denoised together: a tensor of n images takes image i's part from {@code sources[i]}, so a
     * batched image gets exactly the values it would get alone.
     */
    static NoiseSource perImage(java.util.List<NoiseSource> sources) {
        if (sources.size() == 1) {
            return sources.get(0);
        }
        return target -> {
            int part = target.length / sources.size();
            float[] slice = new float[part];
            for (int i = 0; i < sources.size(); i++) {
                sources.get(i).fill(slice);
                System.arraycopy(slice, 0, target, i * part, part);
            }
        };
    }

    /** The sources a request may choose, by the names requests use. */
    enum Kind {
        /** {@link GaussianNoise}: Easel's own generator. */
        EASEL,
        /** {@link TorchNoise}: {@code torch.randn} on a CPU generator, as diffusers and ComfyUI draw it. */
        TORCH;

        public String id() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        public static Kind of(String id) {
            for (Kind kind : values()) {
                if (kind.id().equals(id)) {
                    return kind;
                }
            }
            throw new IllegalArgumentException("unknown noise '" + id + "'; use easel or torch");
        }

        public NoiseSource create(long seed) {
            return this == TORCH ? new TorchNoise(seed) : new GaussianNoise(seed);
        }
    }
}
