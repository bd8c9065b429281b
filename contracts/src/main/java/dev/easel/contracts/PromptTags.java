package dev.easel.contracts;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * AUTOMATIC1111's extra-network tags: every {@code <name:args>} in a prompt is removed from its text (spaces and
 * punctuation around it stay as they were); a {@code <lora:NAME:WEIGHT>} tag asks for that LoRA at that weight (1 when
 * absent). Tags of other networks ({@code <hypernet:...>}) are removed and ignored. The gateway counts and checks
 * the LoRAs a prompt asks for with it; the engine applies them.
 */
public final class PromptTags {
    private static final Pattern TAG = Pattern.compile("<(\\w+):([^>]+)>", Pattern.UNICODE_CHARACTER_CLASS);

    /** A LoRA and its multiplier. */
    public record LoraWeight(String name, double weight) {
    }

    /** The prompt without its tags, and the LoRAs its tags asked for, in prompt order. */
    public record Parsed(String text, List<LoraWeight> loras) {
    }

    private static final Pattern BREAK = Pattern.compile("\\bBREAK\\b");

    /** How many chunks a prompt takes at least: one, and one more after each BREAK (A1111's syntax). */
    public static int minimumChunks(String prompt) {
        int chunks = 1;
        Matcher matcher = BREAK.matcher(prompt);
        while (matcher.find()) {
            chunks++;
        }
        return chunks;
    }

    private PromptTags() {
    }

    public static Parsed parse(String prompt) {
        List<LoraWeight> loras = new ArrayList<>();
        Matcher matcher = TAG.matcher(prompt);
        StringBuilder text = new StringBuilder();
        while (matcher.find()) {
            if (matcher.group(1).equals("lora")) {
                String[] items = matcher.group(2).split(":", -1);
                double weight = 1.0;
                if (items.length > 1) {
                    try {
                        weight = Double.parseDouble(items[1].strip());
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("the tag " + matcher.group() + " has the multiplier '"
                                + items[1] + "'; write a number, e.g. <lora:" + items[0] + ":0.8>");
                    }
                }
                loras.add(new LoraWeight(items[0], weight));
            }
            matcher.appendReplacement(text, "");
        }
        matcher.appendTail(text);
        return new Parsed(text.toString(), List.copyOf(loras));
    }
}
