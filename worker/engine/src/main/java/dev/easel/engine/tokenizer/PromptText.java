package dev.easel.engine.tokenizer;

import java.text.Normalizer;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The text clean-up CLIP applies before BPE: ftfy's default fixes that matter for typed prompts (NFC, straight
 * quotes, Latin ligatures, full-width characters, control characters), HTML entities unescaped twice, whitespace
 * collapsed, lower case. ftfy's mojibake repair (text decoded with the wrong charset) is not reproduced.
 */
final class PromptText {
    private static final Pattern WHITESPACE = Pattern.compile("\\s+", Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern ENTITY = Pattern.compile("&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z]{2,8});?");
    private static final Map<String, String> NAMED_ENTITIES = Map.of(
            "amp", "&", "lt", "<", "gt", ">", "quot", "\"", "apos", "'", "nbsp", "\u00a0");
    private static final Map<Character, String> LIGATURES = Map.of(
            '\u0132', "IJ", '\u0133', "ij", '\u01c7', "LJ", '\u01c9', "lj", '\u01cc', "nj",
            '\ufb00', "ff", '\ufb01', "fi", '\ufb02', "fl", '\ufb03', "ffi", '\ufb04', "ffl");

    private PromptText() {
    }

    static String clean(String text) {
        String fixed = fixText(text);
        fixed = unescapeHtml(unescapeHtml(fixed)).strip();
        return WHITESPACE.matcher(fixed).replaceAll(" ").strip().toLowerCase(Locale.ROOT);
    }

    private static String fixText(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            String ligature = LIGATURES.get(c);
            if (ligature != null) {
                out.append(ligature);
            } else if (c == '\ufb05' || c == '\ufb06') {
                out.append("st");
            } else if (c == '\u2018' || c == '\u2019' || c == '\u201a' || c == '\u201b') {
                out.append('\'');
            } else if (c == '\u201c' || c == '\u201d' || c == '\u201e' || c == '\u201f') {
                out.append('"');
            } else if (c >= '\uff01' && c <= '\uff5e') {
                out.append((char) (c - 0xfee0));
            } else if (c == '\u3000') {
                out.append(' ');
            } else if (isRemovedControl(c)) {
                continue;
            } else {
                out.append(c);
            }
        }
        return Normalizer.normalize(out, Normalizer.Form.NFC);
    }

    private static boolean isRemovedControl(char c) {
        return (c <= 0x08) || c == 0x0b || (c >= 0x0e && c <= 0x1f) || c == 0x7f || c == '\ufeff'
                || (c >= '\ufff9' && c <= '\ufffc');
    }

    /** Python's html.unescape for numeric references and the common named ones. */
    private static String unescapeHtml(String text) {
        if (text.indexOf('&') < 0) {
            return text;
        }
        Matcher matcher = ENTITY.matcher(text);
        StringBuilder out = new StringBuilder();
        while (matcher.find()) {
            String entity = matcher.group(1);
            String replacement = null;
            if (entity.startsWith("#")) {
                int codePoint;
                boolean hex = entity.length() > 1 && (entity.charAt(1) == 'x' || entity.charAt(1) == 'X');
                codePoint = Integer.parseInt(entity.substring(hex ? 2 : 1), hex ? 16 : 10);
                replacement = Character.isValidCodePoint(codePoint) && codePoint != 0
                        ? new String(Character.toChars(codePoint)) : "\ufffd";
            } else if (matcher.group().endsWith(";")) {
                replacement = NAMED_ENTITIES.get(entity);
            }
            matcher.appendReplacement(out, Matcher.quoteReplacement(replacement != null ? replacement : matcher.group()));
        }
        matcher.appendTail(out);
        return out.toString();
    }
}
