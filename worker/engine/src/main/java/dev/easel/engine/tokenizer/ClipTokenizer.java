package dev.easel.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * CLIP's byte-level BPE tokenizer, read from a diffusers {@code tokenizer/} folder ({@code vocab.json},
 * {@code merges.txt}, {@code tokenizer_config.json}, {@code special_tokens_map.json}). It produces exactly the ids
 * Stable Diffusion feeds its text encoder: BOS, the BPE ids (truncated), EOS, then padding to
 * {@code model_max_length} with the configured pad token. No prompt-weighting syntax is applied.
 */
public final class ClipTokenizer {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern WORDS = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);
    private static final String[] BYTE_TO_UNICODE = byteToUnicode();
    private static final String WORD_END = "</w>";

    private final Map<String, Integer> vocabulary;
    private final Map<String, Integer> mergeRanks;
    private final Map<String, String[]> cache = new ConcurrentHashMap<>();
    private final int bosId;
    private final int eosId;
    private final int padId;
    private final int maxLength;

    public ClipTokenizer(Map<String, Integer> vocabulary, List<String> merges, String bosToken, String eosToken,
            String padToken, int maxLength) {
        this.vocabulary = Map.copyOf(vocabulary);
        this.mergeRanks = new HashMap<>();
        for (int i = 0; i < merges.size(); i++) {
            mergeRanks.putIfAbsent(merges.get(i), i);
        }
        this.bosId = idOf(bosToken, "bos_token");
        this.eosId = idOf(eosToken, "eos_token");
        this.padId = idOf(padToken, "pad_token");
        if (maxLength < 2) {
            throw new IllegalArgumentException("tokenizer model_max_length must be at least 2, got " + maxLength);
        }
        this.maxLength = maxLength;
        cache.put(bosToken, new String[] {bosToken});
        cache.put(eosToken, new String[] {eosToken});
    }

    /** Loads a diffusers tokenizer folder; missing or malformed files fail with the file named. */
    public static ClipTokenizer load(Path folder) throws IOException {
        Path vocabFile = require(folder, "vocab.json");
        Path mergesFile = require(folder, "merges.txt");
        Map<String, Integer> vocabulary = new HashMap<>();
        Iterator<Map.Entry<String, JsonNode>> entries = JSON.readTree(vocabFile.toFile()).fields();
        while (entries.hasNext()) {
            Map.Entry<String, JsonNode> entry = entries.next();
            vocabulary.put(entry.getKey(), entry.getValue().asInt());
        }
        List<String> merges = new ArrayList<>();
        for (String line : Files.readAllLines(mergesFile, StandardCharsets.UTF_8)) {
            if (line.startsWith("#version") || line.isBlank()) {
                continue;
            }
            merges.add(line.strip());
        }
        JsonNode config = readOptional(folder.resolve("tokenizer_config.json"));
        JsonNode special = readOptional(folder.resolve("special_tokens_map.json"));
        String bos = token(config, special, "bos_token", "<|startoftext|>");
        String eos = token(config, special, "eos_token", "<|endoftext|>");
        String pad = token(config, special, "pad_token", eos);
        int maxLength = config.path("model_max_length").asInt(77);
        if (maxLength > 4096) {
            maxLength = 77; // transformers writes a huge sentinel when the length is unset
        }
        try {
            return new ClipTokenizer(vocabulary, merges, bos, eos, pad, maxLength);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(folder + ": " + e.getMessage(), e);
        }
    }

    private static Path require(Path folder, String name) {
        Path file = folder.resolve(name);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("missing tokenizer file " + file + " (a CLIP BPE " + name + " is expected)");
        }
        return file;
    }

    private static JsonNode readOptional(Path file) throws IOException {
        return Files.isRegularFile(file) ? JSON.readTree(file.toFile()) : JSON.createObjectNode();
    }

    /** A special token from tokenizer_config.json or special_tokens_map.json, as a string or {"content": ...}. */
    private static String token(JsonNode config, JsonNode special, String key, String fallback) {
        for (JsonNode source : new JsonNode[] {config, special}) {
            JsonNode value = source.path(key);
            if (value.isTextual()) {
                return value.asText();
            }
            if (value.isObject() && value.path("content").isTextual()) {
                return value.path("content").asText();
            }
        }
        return fallback;
    }

    private int idOf(String token, String role) {
        Integer id = vocabulary.get(token);
        if (id == null) {
            throw new IllegalArgumentException(role + " '" + token + "' is not in vocab.json");
        }
        return id;
    }

    public int maxLength() {
        return maxLength;
    }

    public int padId() {
        return padId;
    }

    public int bosId() {
        return bosId;
    }

    public int eosId() {
        return eosId;
    }

    /** The id of a vocabulary entry such as {@code ",</w>"}, or -1 when the vocabulary lacks it. */
    public int vocabularyId(String entry) {
        return vocabulary.getOrDefault(entry, -1);
    }

    /** The {@code model_max_length} ids for the text encoder: BOS, BPE ids (truncated), EOS, padding. */
    public int[] encode(String prompt) {
        int[] ids = new int[maxLength];
        Arrays.fill(ids, padId);
        ids[0] = bosId;
        int position = 1;
        for (int id : bpeIds(prompt)) {
            if (position == maxLength - 1) {
                break;
            }
            ids[position++] = id;
        }
        ids[position] = eosId;
        return ids;
    }

    /** The BPE ids of the cleaned text, without BOS, EOS or padding. */
    public List<Integer> bpeIds(String prompt) {
        List<Integer> ids = new ArrayList<>();
        Matcher matcher = WORDS.matcher(PromptText.clean(prompt));
        while (matcher.find()) {
            String word = encodeBytes(matcher.group());
            for (String piece : cache.computeIfAbsent(word, this::bpe)) {
                Integer id = vocabulary.get(piece);
                if (id == null) {
                    throw new IllegalStateException("BPE produced '" + piece + "', which vocab.json lacks");
                }
                ids.add(id);
            }
        }
        return ids;
    }

    private static String encodeBytes(String word) {
        StringBuilder out = new StringBuilder();
        for (byte b : word.getBytes(StandardCharsets.UTF_8)) {
            out.append(BYTE_TO_UNICODE[b & 0xff]);
        }
        return out.toString();
    }

    /** Merges the symbols of one word by rank until no ranked pair is left; the last symbol carries {@code </w>}. */
    private String[] bpe(String word) {
        List<String> symbols = new ArrayList<>();
        word.codePoints().forEach(cp -> symbols.add(new String(Character.toChars(cp))));
        int last = symbols.size() - 1;
        symbols.set(last, symbols.get(last) + WORD_END);
        while (symbols.size() > 1) {
            int bestRank = Integer.MAX_VALUE;
            String bestFirst = null;
            String bestSecond = null;
            for (int i = 0; i < symbols.size() - 1; i++) {
                Integer rank = mergeRanks.get(symbols.get(i) + " " + symbols.get(i + 1));
                if (rank != null && rank < bestRank) {
                    bestRank = rank;
                    bestFirst = symbols.get(i);
                    bestSecond = symbols.get(i + 1);
                }
            }
            if (bestFirst == null) {
                break;
            }
            List<String> merged = new ArrayList<>(symbols.size());
            for (int i = 0; i < symbols.size(); i++) {
                if (i < symbols.size() - 1 && symbols.get(i).equals(bestFirst) && symbols.get(i + 1).equals(bestSecond)) {
                    merged.add(bestFirst + bestSecond);
                    i++;
                } else {
                    merged.add(symbols.get(i));
                }
            }
            symbols.clear();
            symbols.addAll(merged);
        }
        return symbols.toArray(String[]::new);
    }

    /** The symbol byte-level BPE uses for each byte value (GPT-2's reversible map to printable characters). */
    public static String byteSymbol(int value) {
        return BYTE_TO_UNICODE[value];
    }

    private static String[] byteToUnicode() {
        String[] table = new String[256];
        boolean[] printable = new boolean[256];
        for (int b = '!'; b <= '~'; b++) {
            printable[b] = true;
        }
        for (int b = 0xa1; b <= 0xac; b++) {
            printable[b] = true;
        }
        for (int b = 0xae; b <= 0xff; b++) {
            printable[b] = true;
        }
        int next = 0;
        for (int b = 0; b < 256; b++) {
            table[b] = printable[b] ? String.valueOf((char) b) : String.valueOf((char) (256 + next++));
        }
        return table;
    }
}
