package dev.easel.engine.adapter;

import ai.onnxruntime.OrtException;
import dev.easel.engine.model.Component;
import dev.easel.engine.model.ModelFolder;
import dev.easel.engine.model.WeightIndex;
import dev.easel.engine.prompt.TriggerWords;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A model's LoRAs and embeddings for one job at a time: the LoRA layers matched to the model's weights by module path
 * (the UNet's as the graph names them; a text encoder's by layer index and projection, since exports differ in the
 * levels between), their deltas {@code W x alpha / rank x up @ down} added as diffusers' {@code fuse_lora} does, and
 * the embeddings' vectors as rows after the text encoder's vocabulary. The components run on patched weights until
 * {@link #release}.
 */
public final class ModelAdapters {
    private static final System.Logger LOG = System.getLogger(ModelAdapters.class.getName());
    /** A text encoder layer as transformers names it and as exports flatten it: layers.N and the projection. */
    private static final Pattern TEXT_LAYER = Pattern.compile(
            "layers_(\\d+)_(?:self_attn_|mlp_)?(q_proj|k_proj|v_proj|out_proj|fc1|fc2)$");

    /** A LoRA at a multiplier. */
    public record WeightedLora(LoraFile lora, double weight) {
    }

    private final ModelFolder model;
    private final AdapterLibrary library;
    /** Each network's weights by the key a LoRA layer names them with (built on first use). */
    private final Map<LoraFile.Network, Map<String, WeightIndex.Weight>> keys =
            new java.util.EnumMap<>(LoraFile.Network.class);
    /** The last job's patch, and the networks it patched (one job at a time: the pipeline runs jobs in turn). */
    private String lastKey;
    private final java.util.Set<LoraFile.Network> lastPatched = java.util.EnumSet.noneOf(LoraFile.Network.class);

    public ModelAdapters(ModelFolder model, AdapterLibrary library) {
        this.model = model;
        this.library = library;
    }

    public AdapterLibrary library() {
        return library;
    }

    /**
     * The library's embeddings as each text encoder's tokenizer sees them, with the rows they take after the
     * encoder's vocabulary; none when the library has no embeddings.
     */
    public List<TriggerWords> triggerWords() {
        List<Embedding> embeddings = library.embeddings();
        List<ModelFolder.TokenizedEncoder> encoders = model.textEncoders();
        List<TriggerWords> words = new ArrayList<>();
        for (int e = 0; e < encoders.size(); e++) {
            if (embeddings.isEmpty()) {
                words.add(TriggerWords.none());
                continue;
            }
            int next = vocabularyRows(encoders.get(e).encoder().component());
            List<TriggerWords.Word> list = new ArrayList<>();
            for (Embedding embedding : embeddings) {
                list.add(new TriggerWords.Word(embedding.word(), next, embedding.vectorCount()));
                next += embedding.vectorCount();
            }
            words.add(TriggerWords.of(encoders.get(e).tokenizer(), list));
        }
        return words;
    }

    /**
     * Patches the model for a job: {@code loras} into the UNet and the text encoders, and, when {@code embeddings} is
     * not empty, the library's embedding rows into the text encoders' token tables. A LoRA that matches no layer of
     * this model, or whose shapes do not fit, is refused naming the first offending key.
     */
    public void apply(List<WeightedLora> loras, List<Embedding> embeddings) throws OrtException {
        Map<LoraFile.Network, Component> networks = new HashMap<>();
        networks.put(LoraFile.Network.UNET, model.unet().component());
        List<ModelFolder.TokenizedEncoder> encoders = model.textEncoders();
        networks.put(LoraFile.Network.TEXT_ENCODER, encoders.get(0).encoder().component());
        if (encoders.size() > 1) {
            networks.put(LoraFile.Network.TEXT_ENCODER_2, encoders.get(1).encoder().component());
        }
        String loraKey = key(loras);
        String embeddingKey = embeddings.isEmpty() ? "" : "embeddings:" + String.join(",", library.embeddings()
                .stream().map(e -> e.word() + "@" + e.shortHash()).toList());
        // The next job often asks for what the last one did: then the patched components reuse their buffers.
        String jobKey = loraKey + "|" + embeddingKey;
        if (jobKey.equals(lastKey) && lastPatched.stream().allMatch(network -> networks.get(network).patchable()
                .reuse(loraKey + "|" + (network == LoraFile.Network.UNET ? "" : embeddingKey)))) {
            return;
        }
        lastKey = null;
        lastPatched.clear();
        Map<LoraFile.Network, Map<String, float[]>> deltas = new HashMap<>();
        for (WeightedLora weighted : loras) {
            int matched = 0;
            int total = weighted.lora().layers().size();
            String firstUnmatched = null;
            for (LoraFile.Layer layer : weighted.lora().layers()) {
                Component component = networks.get(layer.network());
                WeightIndex.Weight weight = component == null ? null
                        : lookUp(component, layer.network(), layer.key());
                if (weight == null) {
                    firstUnmatched = firstUnmatched == null ? layer.fileKey() : firstUnmatched;
                    continue;
                }
                addDelta(deltas.computeIfAbsent(layer.network(), n -> new HashMap<>()), weight, layer,
                        weighted.weight(), weighted.lora().name());
                matched++;
            }
            if (matched == 0) {
                throw new IllegalArgumentException("LoRA " + weighted.lora().name() + " matches no layer of model "
                        + model.name() + " (the first key is " + firstUnmatched + "): it was made for another"
                        + " architecture");
            }
            if (matched < total) {
                LOG.log(System.Logger.Level.WARNING, "LoRA " + weighted.lora().name() + ": patched " + matched + " of "
                        + total + " layers of model " + model.name() + "; the first unmatched key is " + firstUnmatched);
            }
        }

        for (Map.Entry<LoraFile.Network, Component> network : networks.entrySet()) {
            boolean text = network.getKey() != LoraFile.Network.UNET;
            Map<String, float[]> patch = deltas.getOrDefault(network.getKey(), Map.of());
            float[][] rows = text && !embeddings.isEmpty()
                    ? embeddingRows(network.getKey() == LoraFile.Network.TEXT_ENCODER_2 ? 1 : 0,
                            network.getValue()) : new float[0][];
            if (patch.isEmpty() && rows.length == 0) {
                network.getValue().patchable().release();
            } else {
                network.getValue().patchable().apply(loraKey + "|" + (text ? embeddingKey : ""), patch, rows);
                lastPatched.add(network.getKey());
            }
        }
        lastKey = jobKey;
    }

    /** Every component back on its base weights. */
    public void release() {
        model.unet().component().patchable().release();
        for (ModelFolder.TokenizedEncoder encoder : model.textEncoders()) {
            encoder.encoder().component().patchable().release();
        }
    }

    private WeightIndex.Weight lookUp(Component component, LoraFile.Network network, String key) {
        Map<String, WeightIndex.Weight> byKey = keys.computeIfAbsent(network, n -> {
            Map<String, WeightIndex.Weight> map = new HashMap<>();
            for (WeightIndex.Weight weight : component.patchable().index().weights().values()) {
                String underscored = weight.modulePath().replace('.', '_');
                map.put(n == LoraFile.Network.UNET ? underscored : textLayer(underscored), weight);
            }
            return map;
        });
        return byKey.get(network == LoraFile.Network.UNET ? key : textLayer(key));
    }

    private static String textLayer(String key) {
        Matcher matcher = TEXT_LAYER.matcher(key);
        return matcher.find() ? matcher.group(1) + "." + matcher.group(2) : "?" + key;
    }

    /** Adds {@code weight x scale x up @ down} to the initializer's delta, in the initializer's layout. */
    private static void addDelta(Map<String, float[]> deltas, WeightIndex.Weight target, LoraFile.Layer layer,
            double multiplier, String lora) {
        int out = layer.outFeatures();
        int in = layer.inFeatures();
        int rank = layer.rank();
        long[] dims = target.dims();
        boolean fits = target.transposed() ? dims.length == 2 && dims[0] == in && dims[1] == out
                : dims.length >= 2 && dims[0] == out && target.elements() == (long) out * in;
        if (!fits) {
            throw new IllegalArgumentException("LoRA " + lora + ": " + layer.fileKey() + " is [" + out + " x " + in
                    + "] and does not fit " + target.modulePath() + " " + java.util.Arrays.toString(dims));
        }
        float[] delta = deltas.computeIfAbsent(target.initializer(), k -> new float[(int) target.elements()]);
        double coefficient = multiplier * layer.scale();
        float[] up = layer.up();
        float[] down = layer.down();
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double sum = 0;
                for (int r = 0; r < rank; r++) {
                    sum += (double) up[o * rank + r] * down[r * in + i];
                }
                int at = target.transposed() ? i * out + o : o * in + i;
                delta[at] = (float) (delta[at] + coefficient * sum);
            }
        }
    }

    private float[][] embeddingRows(int encoder, Component component) {
        int width = (int) component.patchable().index().tokenEmbedding().dims()[1];
        List<float[]> rows = new ArrayList<>();
        for (Embedding embedding : library.embeddings()) {
            for (float[] vector : embedding.vectors(encoder)) {
                if (vector.length != width) {
                    throw new IllegalArgumentException("embedding " + embedding.word() + " has vectors of width "
                            + vector.length + "; model " + model.name() + "'s text encoder takes " + width);
                }
                rows.add(vector);
            }
        }
        return rows.toArray(new float[0][]);
    }

    private static int vocabularyRows(Component component) {
        WeightIndex.Weight table = component.patchable().index().tokenEmbedding();
        if (table == null) {
            throw new IllegalArgumentException(component.file() + " has no token_embedding Gather node, so"
                    + " textual-inversion embeddings cannot be used with it");
        }
        return (int) table.dims()[0];
    }

    private static String key(List<WeightedLora> loras) {
        StringBuilder key = new StringBuilder();
        for (WeightedLora lora : loras) {
            key.append(lora.lora().name()).append('@').append(lora.lora().shortHash()).append(':')
                    .append(lora.weight()).append(';');
        }
        return key.toString();
    }
}
