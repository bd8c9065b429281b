package dev.easel.engine.prompt;

import java.util.Locale;

/** How prompt text is read: AUTOMATIC1111's weights, chunks and BREAK, or plain text as diffusers reads it. */
public enum PromptSyntax {
    /** {@code (x:1.3)}, {@code [x]}, {@code BREAK}; prompts longer than 75 tokens run in several chunks. */
    A1111,
    /** Brackets are text; the prompt is truncated at the tokenizer's length (77 tokens). */
    PLAIN;

    public static PromptSyntax of(String name) {
        return name == null ? A1111 : valueOf(name.toUpperCase(Locale.ROOT));
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
