package dev.easel.models;

import dev.easel.engine.tokenizer.ClipTokenizer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small CLIP-format BPE vocabulary for machines without the real one: every byte symbol (alone and word-final),
 * the two special tokens, and merges that make each given word a single token. Any text still tokenizes, byte by
 * byte where no merge applies.
 */
public final class SmallVocabulary {
    private final Map<String, Integer> vocabulary = new LinkedHashMap<>();
    private final List<String> merges = new ArrayList<>();

    public SmallVocabulary(List<String> words) {
        for (int b = 0; b < 256; b++) {
            vocabulary.put(ClipTokenizer.byteSymbol(b), vocabulary.size());
        }
        for (int b = 0; b < 256; b++) {
            vocabulary.put(ClipTokenizer.byteSymbol(b) + "</w>", vocabulary.size());
        }
        vocabulary.put("<|startoftext|>", vocabulary.size());
        vocabulary.put("<|endoftext|>", vocabulary.size());
        // Add merges until BPE turns each word into one token. A new merge ranks last, so it only applies where no
        // earlier merge does: words already whole stay whole.
        for (String word : words) {
            List<String> pieces = pieces(word);
            while (pieces.size() > 1) {
                merges.add(pieces.get(0) + " " + pieces.get(1));
                vocabulary.putIfAbsent(pieces.get(0) + pieces.get(1), vocabulary.size());
                pieces = pieces(word);
            }
        }
    }

    private List<String> pieces(String word) {
        ClipTokenizer tokenizer = new ClipTokenizer(vocabulary, merges, "<|startoftext|>", "<|endoftext|>",
                "<|endoftext|>", 77);
        Map<Integer, String> byId = new java.util.HashMap<>();
        vocabulary.forEach((token, id) -> byId.put(id, token));
        return tokenizer.bpeIds(word).stream().map(byId::get).toList();
    }
    public Map<String, Integer> vocabulary() {
        return vocabulary;
    }

    /** The merges.txt content, with the header line transformers writes. */
    public String mergesText() {
        return "#version: 0.2\n" + String.join("\n", merges) + "\n";
    }
}
