package dev.easel.models;

import dev.easel.engine.tokenizer.ClipTokenizer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A small CLIP-format BPE vocabulary for machines without the real one: every byte symbol (alone and word-final),
 * merges that make each given word a single token, and the two special tokens. Any text still tokenizes, byte by
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
        Set<String> seen = new LinkedHashSet<>();
        for (String word : words) {
            // Left to right: ((w o) r) d</w>: each merge joins the prefix built so far with the next symbol.
            String prefix = String.valueOf(word.charAt(0));
            for (int i = 1; i < word.length(); i++) {
                String next = word.charAt(i) + (i == word.length() - 1 ? "</w>" : "");
                String merge = prefix + " " + next;
                prefix = prefix + next;
                if (seen.add(merge)) {
                    merges.add(merge);
                    vocabulary.putIfAbsent(prefix, vocabulary.size());
                }
            }
        }
        vocabulary.put("<|startoftext|>", vocabulary.size());
        vocabulary.put("<|endoftext|>", vocabulary.size());
    }

    public Map<String, Integer> vocabulary() {
        return vocabulary;
    }

    /** The merges.txt content, with the header line transformers writes. */
    public String mergesText() {
        return "#version: 0.2\n" + String.join("\n", merges) + "\n";
    }
}
