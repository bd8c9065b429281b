package dev.easel.engine.prompt;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import dev.easel.engine.model.ModelFolder;
import dev.easel.engine.model.TextEncoder;
import java.util.ArrayList;
import java.util.List;

/**
 * A prompt's conditioning: each chunk through the text encoder, weighted as A1111's default emphasis ("Original")
 * does, the chunks concatenated along the token axis ([77 x chunks, width]). A model with two encoders (SDXL) runs
 * each chunk through both, each with its own tokenizer and weighting, and concatenates their widths per token; the
 * pooled embedding is the first chunk's, as A1111 takes it.
 */
public final class PromptEncoder {
    /** One text encoder and the tokenizer that feeds it. */
    public record Stage(PromptChunker chunker, TextEncoder encoder) {
    }

    private final List<Stage> stages;

    public PromptEncoder(List<Stage> stages) {
        this.stages = List.copyOf(stages);
    }

    /** How text encoder {@code stage}'s tokenizer splits {@code prompt} into chunks. */
    public PromptChunker.Chunks chunks(int stage, String prompt, PromptSyntax syntax, TriggerWords words) {
        PromptChunker chunker = stages.get(stage).chunker();
        return syntax == PromptSyntax.PLAIN ? chunker.plain(prompt, words) : chunker.weighted(prompt, words);
    }

    /** The encoder of a model's text encoders, each fed by its own tokenizer. */
    public static PromptEncoder of(ModelFolder model) {
        return new PromptEncoder(model.textEncoders().stream()
                .map(part -> new Stage(new PromptChunker(part.tokenizer()), part.encoder())).toList());
    }

    public TextEncoder.HiddenStates encode(OrtEnvironment environment, String prompt, PromptSyntax syntax)
            throws OrtException {
        return encode(environment, prompt, syntax, java.util.Collections.nCopies(stages.size(), TriggerWords.none()));
    }

    /** The prompt's conditioning with textual-inversion embeddings: {@code words} per text encoder, in order. */
    public TextEncoder.HiddenStates encode(OrtEnvironment environment, String prompt, PromptSyntax syntax,
            List<TriggerWords> words) throws OrtException {
        List<List<TokenChunk>> chunksPerStage = new ArrayList<>();
        for (int s = 0; s < stages.size(); s++) {
            chunksPerStage.add(chunks(s, prompt, syntax, words.get(s)).chunks());
        }
        int chunkCount = chunksPerStage.get(0).size();
        float[] values = null;
        float[] pooled = null;
        int tokens = 0;
        int width = 0;
        for (int c = 0; c < chunkCount; c++) {
            List<TextEncoder.HiddenStates> parts = new ArrayList<>();
            for (int s = 0; s < stages.size(); s++) {
                TokenChunk chunk = chunksPerStage.get(s).get(c);
                TextEncoder.HiddenStates states = stages.get(s).encoder().encode(environment, chunk.ids());
                if (!chunk.unweighted()) {
                    emphasise(states.values(), chunk.multipliers(), states.width());
                }
                if (c == 0 && states.pooled() != null) {
                    pooled = states.pooled();
                }
                parts.add(states);
            }
            int sequence = parts.get(0).sequence();
            if (values == null) {
                width = parts.stream().mapToInt(TextEncoder.HiddenStates::width).sum();
                values = new float[chunkCount * sequence * width];
            }
            for (int t = 0; t < sequence; t++) {
                int at = (tokens + t) * width;
                for (TextEncoder.HiddenStates part : parts) {
                    System.arraycopy(part.values(), t * part.width(), values, at, part.width());
                    at += part.width();
                }
            }
            tokens += sequence;
        }
        return new TextEncoder.HiddenStates(values, tokens, width, pooled);
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
