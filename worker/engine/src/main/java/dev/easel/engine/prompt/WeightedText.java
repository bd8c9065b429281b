package dev.easel.engine.prompt;

/**
 * One run of prompt text with its attention weight, as AUTOMATIC1111's {@code parse_prompt_attention} yields it. The
 * chunk break {@code BREAK} outside brackets is the text "BREAK" with weight -1 (A1111's own marker).
 */
public record WeightedText(String text, double weight) {
    static final String BREAK = "BREAK";

    /** Whether this run closes the current 75-token chunk instead of adding tokens. */
    public boolean isBreak() {
        return weight == -1 && text.equals(BREAK);
    }
}
