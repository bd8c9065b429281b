package dev.easel.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.CodedInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * T5's SentencePiece unigram tokenizer, as SD3's third text encoder takes it: the text normalised (NFKC, whitespace
 * collapsed and trimmed), spaces replaced by "▁" with one in front, then the segmentation into vocabulary pieces whose
 * scores sum highest (Viterbi); a character no piece covers is {@code <unk>}. Then {@code </s>}, truncated to keep it,
 * and {@code <pad>} to the sequence length. Reads {@code tokenizer.json} (the fast tokenizer real exports ship) or
 * {@code spiece.model} (SentencePiece's protobuf), so no native tokenizer library is needed.
 */
public final class T5Tokenizer {
    private static final String SPACE = "\u2581";
    /** SentencePiece's penalty below the lowest piece score for an unknown character. */
    private static final float UNKNOWN_PENALTY = 10f;

    private final Map<String, Integer> ids;
    private final float[] scores;
    private final int maxPieceLength;
    private final int unkId;
    private final int eosId;
    private final int padId;
    private final float unknownScore;

    T5Tokenizer(List<String> pieces, float[] scores, List<Boolean> matchable, int unkId, int eosId, int padId) {
        this.ids = new HashMap<>();
        int longest = 1;
        for (int id = 0; id < pieces.size(); id++) {
            if (matchable.get(id)) {
                ids.putIfAbsent(pieces.get(id), id);
                longest = Math.max(longest, pieces.get(id).length());
            }
        }
        this.scores = scores;
        this.maxPieceLength = longest;
        this.unkId = unkId;
        this.eosId = eosId;
        this.padId = padId;
        float lowest = 0;
        for (float score : scores) {
            lowest = Math.min(lowest, score);
        }
        this.unknownScore = lowest - UNKNOWN_PENALTY;
    }

    /** The tokenizer of a {@code tokenizer_3/} folder: {@code tokenizer.json} when there, else {@code spiece.model}. */
    public static T5Tokenizer load(Path folder) throws IOException {
        Path json = folder.resolve("tokenizer.json");
        if (Files.isRegularFile(json)) {
            return fromTokenizerJson(new ObjectMapper().readTree(json.toFile()), json);
        }
        Path model = folder.resolve("spiece.model");
        if (Files.isRegularFile(model)) {
            return fromSentencePiece(Files.readAllBytes(model), model);
        }
        throw new IllegalArgumentException(folder + " has neither tokenizer.json nor spiece.model (T5's tokenizer)");
    }

    private static T5Tokenizer fromTokenizerJson(JsonNode root, Path file) {
        JsonNode model = root.path("model");
        if (!model.path("type").asText().equals("Unigram")) {
            throw new IllegalArgumentException(file + ": model type is '" + model.path("type").asText()
                    + "'; T5's tokenizer is a Unigram model");
        }
        List<String> pieces = new ArrayList<>();
        List<Boolean> matchable = new ArrayList<>();
        JsonNode vocab = model.path("vocab");
        float[] scores = new float[vocab.size()];
        for (int id = 0; id < vocab.size(); id++) {
            pieces.add(vocab.get(id).get(0).asText());
            scores[id] = (float) vocab.get(id).get(1).asDouble();
            matchable.add(true);
        }
        java.util.Set<String> special = new java.util.HashSet<>();
        root.path("added_tokens").forEach(t -> special.add(t.path("content").asText()));
        for (int id = 0; id < pieces.size(); id++) {
            if (special.contains(pieces.get(id))) {
                matchable.set(id, false);
            }
        }
        int unk = model.path("unk_id").asInt(2);
        return new T5Tokenizer(pieces, scores, matchable, unk, idOf(pieces, "</s>", file), idOf(pieces, "<pad>", file));
    }

    /** SentencePiece's ModelProto: field 1 the pieces ({piece = 1, score = 2, type = 3}: 1 normal, 4 user-defined). */
    private static T5Tokenizer fromSentencePiece(byte[] bytes, Path file) throws IOException {
        List<String> pieces = new ArrayList<>();
        List<Float> scoreList = new ArrayList<>();
        List<Boolean> matchable = new ArrayList<>();
        int unk = -1;
        CodedInputStream in = CodedInputStream.newInstance(bytes);
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            if (tag >>> 3 != 1) {
                in.skipField(tag);
                continue;
            }
            CodedInputStream piece = CodedInputStream.newInstance(in.readByteArray());
            String text = "";
            float score = 0;
            int type = 1;
            for (int field = piece.readTag(); field != 0; field = piece.readTag()) {
                switch (field >>> 3) {
                    case 1 -> text = piece.readString();
                    case 2 -> score = piece.readFloat();
                    case 3 -> type = piece.readEnum();
                    default -> piece.skipField(field);
                }
            }
            if (type == 2) {
                unk = pieces.size();
            }
            pieces.add(text);
            scoreList.add(score);
            matchable.add(type == 1 || type == 4);
        }
        if (pieces.isEmpty() || unk < 0) {
            throw new IllegalArgumentException(file + " is not a SentencePiece model (no pieces, or no <unk>)");
        }
        float[] scores = new float[scoreList.size()];
        for (int i = 0; i < scores.length; i++) {
            scores[i] = scoreList.get(i);
        }
        return new T5Tokenizer(pieces, scores, matchable, unk, idOf(pieces, "</s>", file), idOf(pieces, "<pad>", file));
    }

    private static int idOf(List<String> pieces, String piece, Path file) {
        int id = pieces.indexOf(piece);
        if (id < 0) {
            throw new IllegalArgumentException(file + " has no " + piece + " piece, which T5 needs");
        }
        return id;
    }

    /** The piece ids of {@code text}, without {@code </s>} or padding. */
    public List<Integer> pieceIds(String text) {
        String normalised = Normalizer.normalize(text, Normalizer.Form.NFKC).replaceAll("\\s+", " ").strip();
        if (normalised.isEmpty()) {
            return List.of();
        }
        String spaced = SPACE + normalised.replace(" ", SPACE);
        int length = spaced.length();
        float[] best = new float[length + 1];
        int[] from = new int[length + 1];
        int[] piece = new int[length + 1];
        Arrays.fill(best, Float.NEGATIVE_INFINITY);
        best[0] = 0;
        for (int start = 0; start < length; start++) {
            if (best[start] == Float.NEGATIVE_INFINITY) {
                continue;
            }
            boolean matched = false;
            for (int end = start + 1; end <= Math.min(length, start + maxPieceLength); end++) {
                Integer id = ids.get(spaced.substring(start, end));
                if (id != null) {
                    matched |= end == start + Character.charCount(spaced.codePointAt(start));
                    relax(best, from, piece, start, end, best[start] + scores[id], id);
                }
            }
            if (!matched) {
                // A character no single piece covers: <unk> for that character, as SentencePiece scores it.
                int end = start + Character.charCount(spaced.codePointAt(start));
                relax(best, from, piece, start, end, best[start] + unknownScore, unkId);
            }
        }
        List<Integer> result = new ArrayList<>();
        for (int end = length; end > 0; end = from[end]) {
            result.add(piece[end]);
        }
        java.util.Collections.reverse(result);
        return result;
    }

    private static void relax(float[] best, int[] from, int[] piece, int start, int end, float score, int id) {
        if (score > best[end]) {
            best[end] = score;
            from[end] = start;
            piece[end] = id;
        }
    }

    /** {@code length} ids for the encoder: the pieces (at most length - 1), {@code </s>}, then {@code <pad>}. */
    public int[] encode(String text, int length) {
        int[] out = new int[length];
        Arrays.fill(out, padId);
        List<Integer> pieces = pieceIds(text);
        int count = Math.min(pieces.size(), length - 1);
        for (int i = 0; i < count; i++) {
            out[i] = pieces.get(i);
        }
        out[count] = eosId;
        return out;
    }
}
