package dev.easel.engine.prompt;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import dev.easel.engine.model.TextEncoder;
import java.util.List;

/**
 * A prompt's conditioning: each chunk through the text encoder, weighted as A1111's default emphasis ("Original")
 * does, the chunks concatenated along the token axis ([77 x chunks, width]).
 */
public final class PromptEncoder {
    private final PromptChunker chunker;
    private final TextEncoder encoder;

    public PromptEncoder(PromptChunker chunker, TextEncoder encoder) {
        this.chunker = chunker;
        this.encoder = encoder;
    }

    public TextEncoder.HiddenStates encode(OrtEnvironment environment, String prompt, PromptSyntax syntax)
            throws OrtException {
        List<TokenChunk> chunks = (syntax == PromptSyntax.PLAIN ? chunker.plain(prompt) : chunker.weighted(prompt))
                .chunks();
        float[] values = null;
        int sequence = 0;
        int width = 0;
        for (TokenChunk chunk : chunks) {
            TextEncoder.HiddenStates states = encoder.encode(environment, chunk.ids());
            float[] z = states.values();
            if (!chunk.unweighted()) {
                emphasise(z, chunk.multipliers(), states.width());
            }
            if (values == null) {
                width = states.width();
                values = new float[chunks.size() * z.length];
            }
            System.arraycopy(z, 0, values, sequence * width, z.length);
            sequence += states.sequence();
        }
        return new TextEncoder.HiddenStates(values, sequence, width);
    }

    /** Scales every token's vector by its weight, then the whole chunk so that its mean is what it was. */
    static void emphasise(float[] z, float[] multipliers, int width) {
        float originalMean = mean(z);
        for (int token = 0; token < multipliers.length; token++) {
            for (int i = token * width; i < (token + 1) * width; i++) {
                z[i] *= multipliers[token];
            }
        }
        float restore = originalMean / mean(z);
        for (int i = 0; i < z.length; i++) {
            z[i] *= restore;
        }
    }

    private static float mean(float[] values) {
        double sum = 0;
        for (float v : values) {
            sum += v;
        }
        return (float) (sum / values.length);
    }
}
