package dev.easel.engine.prompt;

import java.util.Locale;

/** How prompt text is read: AUTOMATIC1111's weights, chunks and BREAK, or plain text as diffusers reads it. */
public enum PromptSyntax {
    /** {@code (x:1.3)}, {@code [x]}, {@code BREAK}; prompts longer than 75 tokens run in several chunks. */
    A1111,
    /** Brackets are text; the prompt is truncated at the tokenizer's length (77 tokens). */
    PLAIN;

    public static PromptSyntax of(String name) {
        if (name == null) {
            return A1111;
        }
        for (PromptSyntax syntax : values()) {
            if (syntax.id().equals(name)) {
                return syntax;
            }
        }
        throw new IllegalArgumentException("unknown prompt syntax '" + name + "'; use a1111 or plain");
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
