package dev.easel.engine.prompt;

import dev.easel.engine.tokenizer.ClipTokenizer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * Textual-inversion trigger words as one tokenizer sees them: each word's tokens, and the ids of the rows its vectors
 * take in the text encoder's extended token table. Wherever a prompt's tokens hold a word's tokens, the word's ids
 * replace them (longest word first when several match), as AUTOMATIC1111 and diffusers' textual inversion do.
 */
public final class TriggerWords {
    /** A trigger word: the file's stem, and the first of its {@code count} row ids. */
    public record Word(String word, int firstId, int count) {
    }

    private record Trigger(String word, List<Integer> tokens, int[] ids) {
    }

    /** A piece of a prompt's tokens: one plain token, or a trigger word's row ids. */
    record Piece(int[] ids, boolean embedding) {
    }

    private static final TriggerWords NONE = new TriggerWords(List.of());

    private final List<Trigger> triggers;

    private TriggerWords(List<Trigger> triggers) {
        this.triggers = triggers;
    }

    public static TriggerWords none() {
        return NONE;
    }

    /** The words as {@code tokenizer} splits them. */
    public static TriggerWords of(ClipTokenizer tokenizer, List<Word> words) {
        List<Trigger> triggers = new ArrayList<>();
        for (Word word : words) {
            int[] ids = new int[word.count()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = word.firstId() + i;
            }
            List<Integer> tokens = tokenizer.bpeIds(word.word());
            if (!tokens.isEmpty()) {
                triggers.add(new Trigger(word.word(), tokens, ids));
            }
        }
        triggers.sort(Comparator.comparingInt((Trigger t) -> t.tokens().size()).reversed());
        return new TriggerWords(List.copyOf(triggers));
    }

    public boolean isEmpty() {
        return triggers.isEmpty();
    }

    /** {@code tokens} split into plain tokens and trigger words' row ids; the words found are added to {@code used}. */
    List<Piece> pieces(List<Integer> tokens, Set<String> used) {
        List<Piece> pieces = new ArrayList<>();
        int position = 0;
        while (position < tokens.size()) {
            Trigger found = null;
            for (Trigger trigger : triggers) {
                if (startsAt(tokens, position, trigger.tokens())) {
                    found = trigger;
                    break;
                }
            }
            if (found == null) {
                pieces.add(new Piece(new int[] {tokens.get(position)}, false));
                position++;
            } else {
                pieces.add(new Piece(found.ids(), true));
                used.add(found.word());
                position += found.tokens().size();
            }
        }
        return pieces;
    }

    private static boolean startsAt(List<Integer> tokens, int position, List<Integer> word) {
        if (position + word.size() > tokens.size()) {
            return false;
        }
        for (int i = 0; i < word.size(); i++) {
            if (!tokens.get(position + i).equals(word.get(i))) {
                return false;
            }
        }
        return true;
    }
}
