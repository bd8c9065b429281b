package dev.easel.engine.prompt;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * AUTOMATIC1111's prompt attention syntax: {@code (x)} weighs x by 1.1, {@code [x]} by 1/1.1, {@code (x:w)} by w;
 * nested brackets multiply; {@code \(}, {@code \)}, {@code \[}, {@code \]} and {@code \\} are literal; a closer
 * without an opener is text; an opener never closed applies to the end; {@code BREAK} starts a new chunk. The result
 * merges neighbouring runs of equal weight, exactly as A1111's {@code parse_prompt_attention} does (weights in
 * float64, multiplied as each bracket closes).
 */
public final class AttentionParser {
    private static final Pattern TOKENS = Pattern.compile(
            "\\\\\\(|\\\\\\)|\\\\\\[|\\\\]|\\\\\\\\|\\\\|\\(|\\[|:\\s*([+-]?[.\\d]+)\\s*\\)|\\)|]|[^\\\\()\\[\\]:]+|:",
            Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern BREAK = Pattern.compile("\\s*\\bBREAK\\b\\s*", Pattern.UNICODE_CHARACTER_CLASS);
    private static final double ROUND = 1.1;
    private static final double SQUARE = 1 / 1.1;

    private AttentionParser() {
    }

    public static List<WeightedText> parse(String prompt) {
        List<MutableRun> runs = new ArrayList<>();
        Deque<Integer> round = new ArrayDeque<>();
        Deque<Integer> square = new ArrayDeque<>();
        Matcher matcher = TOKENS.matcher(prompt);
        while (matcher.find()) {
            String token = matcher.group();
            Double weight = number(matcher.group(1));
            if (token.startsWith("\\")) {
                runs.add(new MutableRun(token.substring(1), 1.0));
            } else if (token.equals("(")) {
                round.push(runs.size());
            } else if (token.equals("[")) {
                square.push(runs.size());
            } else if (weight != null && !round.isEmpty()) {
                multiply(runs, round.pop(), weight);
            } else if (token.equals(")") && !round.isEmpty()) {
                multiply(runs, round.pop(), ROUND);
            } else if (token.equals("]") && !square.isEmpty()) {
                multiply(runs, square.pop(), SQUARE);
            } else {
                String[] parts = BREAK.split(token, -1);
                for (int i = 0; i < parts.length; i++) {
                    if (i > 0) {
                        runs.add(new MutableRun(WeightedText.BREAK, -1));
                    }
                    runs.add(new MutableRun(parts[i], 1.0));
                }
            }
        }
        // Unclosed openers weigh everything after them, in the order A1111 applies them (oldest first).
        for (var it = round.descendingIterator(); it.hasNext(); ) {
            multiply(runs, it.next(), ROUND);
        }
        for (var it = square.descendingIterator(); it.hasNext(); ) {
            multiply(runs, it.next(), SQUARE);
        }
        if (runs.isEmpty()) {
            runs.add(new MutableRun("", 1.0));
        }
        List<WeightedText> merged = new ArrayList<>();
        StringBuilder text = new StringBuilder(runs.get(0).text);
        double weight = runs.get(0).weight;
        for (int i = 1; i < runs.size(); i++) {
            MutableRun run = runs.get(i);
            if (run.weight == weight) {
                text.append(run.text);
            } else {
                merged.add(new WeightedText(text.toString(), weight));
                text.setLength(0);
                text.append(run.text);
                weight = run.weight;
            }
        }
        merged.add(new WeightedText(text.toString(), weight));
        return merged;
    }

    /**
     * The weight of {@code (x:w)}. Text the pattern takes for a number but is none ({@code 1.2.3}, {@code .}) makes
     * A1111 fail; here the bracket then closes with no weight change, so a typo cannot fail a job.
     */
    private static Double number(String text) {
        if (text == null) {
            return null;
        }
        try {
            return Double.parseDouble(text);
        } catch (NumberFormatException e) {
            return 1.0;
        }
    }

    private static void multiply(List<MutableRun> runs, int from, double factor) {
        for (int i = from; i < runs.size(); i++) {
            runs.get(i).weight *= factor;
        }
    }

    private static final class MutableRun {
        final String text;
        double weight;

        MutableRun(String text, double weight) {
            this.text = text;
            this.weight = weight;
        }
    }
}
