package dev.easel.engine.prompt;

import dev.easel.engine.tokenizer.ClipTokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Splits a prompt into text-encoder inputs as AUTOMATIC1111's {@code tokenize_line} does with its default settings:
 * every weighted run tokenized on its own (so run edges are word edges), 75 tokens per chunk, the tokens after the
 * chunk's last comma moved to the next chunk when that comma is at most 20 tokens back, {@code BREAK} closing a
 * chunk; each chunk padded to 75 and wrapped in BOS and EOS. Positions after the first EOS take the tokenizer's pad
 * id, as A1111 does for tokenizers whose pad is not EOS.
 */
public final class PromptChunker {
    /** A1111's {@code comma_padding_backtrack} default. */
    static final int COMMA_BACKTRACK = 20;

    private final ClipTokenizer tokenizer;
    private final int chunkLength;
    private final int commaId;

    public PromptChunker(ClipTokenizer tokenizer) {
        this.tokenizer = tokenizer;
        this.chunkLength = tokenizer.maxLength() - 2;
        this.commaId = tokenizer.vocabularyId(",</w>");
    }

    /**
     * The chunks of a prompt, how many prompt tokens they hold (A1111's token count; an embedding counts its vectors)
     * and the trigger words of embeddings found in it.
     */
    public record Chunks(List<TokenChunk> chunks, int tokenCount, Set<String> embeddings) {
    }

    /** The weighted chunks of {@code prompt}, read with A1111's attention syntax. */
    public Chunks weighted(String prompt) {
        return weighted(prompt, TriggerWords.none());
    }

    /** The weighted chunks of {@code prompt}, with the embeddings of {@code words} in place of their trigger words. */
    public Chunks weighted(String prompt, TriggerWords words) {
        Builder builder = new Builder();
        for (WeightedText run : AttentionParser.parse(prompt)) {
            if (run.isBreak()) {
                builder.close(false);
                continue;
            }
            float weight = (float) run.weight();
            for (TriggerWords.Piece piece : words.pieces(tokenizer.bpeIds(run.text()), builder.embeddings)) {
                if (piece.embedding()) {
                    builder.addEmbedding(piece.ids(), weight);
                } else {
                    builder.add(piece.ids()[0], weight);
                }
            }
        }
        return builder.finish();
    }

    /** The prompt as plain text, the way diffusers reads it: one chunk, truncated, every weight 1. */
    public Chunks plain(String prompt) {
        return plain(prompt, TriggerWords.none());
    }

    /** The plain prompt with the embeddings of {@code words} in place of their trigger words. */
    public Chunks plain(String prompt, TriggerWords words) {
        Set<String> used = new java.util.TreeSet<>();
        List<Integer> tokens = new ArrayList<>();
        for (TriggerWords.Piece piece : words.pieces(tokenizer.bpeIds(prompt), used)) {
            for (int id : piece.ids()) {
                tokens.add(id);
            }
        }
        int count = Math.min(tokens.size(), chunkLength);
        int[] ids = new int[chunkLength + 2];
        ids[0] = tokenizer.bosId();
        for (int i = 0; i < count; i++) {
            ids[i + 1] = tokens.get(i);
        }
        ids[count + 1] = tokenizer.eosId();
        for (int i = count + 2; i < ids.length; i++) {
            ids[i] = tokenizer.padId();
        }
        float[] multipliers = new float[ids.length];
        Arrays.fill(multipliers, 1f);
        return new Chunks(List.of(new TokenChunk(ids, multipliers)), count, Set.copyOf(used));
    }

    private final class Builder {
        private final List<TokenChunk> chunks = new ArrayList<>();
        private final List<Integer> tokens = new ArrayList<>();
        private final List<Float> weights = new ArrayList<>();
        private int tokenCount;
        private int lastComma = -1;
        private final Set<String> embeddings = new java.util.TreeSet<>();

        /** An embedding's row ids: moved whole to the next chunk when they do not fit in this one, as A1111 does. */
        void addEmbedding(int[] ids, float weight) {
            if (tokens.size() + ids.length > chunkLength) {
                close(false);
            }
            for (int id : ids) {
                tokens.add(id);
                weights.add(weight);
            }
        }

        void add(int token, float weight) {
            if (token == commaId) {
                lastComma = tokens.size();
            } else if (tokens.size() == chunkLength && lastComma != -1
                    && tokens.size() - lastComma <= COMMA_BACKTRACK) {
                int breakAt = lastComma + 1;
                List<Integer> movedTokens = new ArrayList<>(tokens.subList(breakAt, tokens.size()));
                List<Float> movedWeights = new ArrayList<>(weights.subList(breakAt, weights.size()));
                tokens.subList(breakAt, tokens.size()).clear();
                weights.subList(breakAt, weights.size()).clear();
                close(false);
                tokens.addAll(movedTokens);
                weights.addAll(movedWeights);
            }
            if (tokens.size() == chunkLength) {
                close(false);
            }
            tokens.add(token);
            weights.add(weight);
        }

        /** Pads and wraps the current chunk; a closing BREAK or full chunk counts 75 tokens, the last its own. */
        void close(boolean last) {
            tokenCount += last ? tokens.size() : chunkLength;
            int[] ids = new int[chunkLength + 2];
            float[] multipliers = new float[chunkLength + 2];
            Arrays.fill(multipliers, 1f);
            ids[0] = tokenizer.bosId();
            for (int i = 0; i < chunkLength; i++) {
                ids[i + 1] = i < tokens.size() ? tokens.get(i) : tokenizer.eosId();
                if (i < weights.size()) {
                    multipliers[i + 1] = weights.get(i);
                }
            }
            ids[chunkLength + 1] = tokenizer.eosId();
            int firstEos = -1;
            for (int i = 1; i < ids.length && firstEos < 0; i++) {
                if (ids[i] == tokenizer.eosId()) {
                    firstEos = i;
                }
            }
            for (int i = firstEos + 1; i < ids.length; i++) {
                ids[i] = tokenizer.padId();
            }
            chunks.add(new TokenChunk(ids, multipliers));
            tokens.clear();
            weights.clear();
            lastComma = -1;
        }

        Chunks finish() {
            if (!tokens.isEmpty() || chunks.isEmpty()) {
                close(true);
            }
            return new Chunks(List.copyOf(chunks), tokenCount, Set.copyOf(embeddings));
        }
    }
}
