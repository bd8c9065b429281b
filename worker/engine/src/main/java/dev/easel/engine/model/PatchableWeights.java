package dev.easel.engine.model;

import ai.onnxruntime.OnnxTensorLike;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A second session of one component whose patchable weights live in Easel's own buffers, so a job's LoRAs and
 * embeddings are applied by rewriting those weights in place, as AUTOMATIC1111 and ComfyUI patch a loaded model: no
 * reload from disk when the adapters change, nothing to do when the next job uses the same ones, and the base
 * session untouched (jobs without adapters run exactly as before). The session is built with prepacking off and
 * without the layout transformations that copy weights (ONNX Runtime then reads the buffers themselves); it is rebuilt
 * only when a job patches a layer no earlier job did, or needs more embedding rows. On CUDA, where the session holds
 * device copies, it is rebuilt after every change. Memory: one float copy of every weight patched so far, and its base
 * values (to restore it), on top of the component's own.
 */
public final class PatchableWeights implements AutoCloseable {
    private final Component component;
    private final OrtRuntime runtime;
    private WeightIndex index;
    private final Map<String, TensorBuffer> buffers = new LinkedHashMap<>();
    private final Map<String, float[]> base = new HashMap<>();
    private float[] baseTokenTable;
    private int tokenRowCapacity;
    private OrtSession session;
    /** What the buffers hold now: the key of the last patch, and the initializers it changed. */
    private String appliedKey;
    private final Set<String> changed = new HashSet<>();

    PatchableWeights(Component component, OrtRuntime runtime) {
        this.component = component;
        this.runtime = runtime;
    }

    /** The component's weight index (read on first use). */
    public synchronized WeightIndex index() {
        if (index == null) {
            try {
                index = WeightIndex.of(component.file());
            } catch (IOException e) {
                throw new ModelException(component.file() + ": cannot read the graph to patch it: " + e.getMessage(), e);
            }
        }
        return index;
    }

    /**
     * Makes the component run with base + {@code deltas} (per initializer, in the initializer's own layout) and the
     * token table extended by {@code extraTokenRows}; weights an earlier patch changed and this one does not are back
     * at their base values. {@code key} names the patch: the same key again costs nothing.
     */
    public synchronized void apply(String key, Map<String, float[]> deltas, float[][] extraTokenRows)
            throws OrtException {
        if (reuse(key)) {
            return;
        }
        WeightIndex weights = index();
        Map<String, WeightIndex.Weight> byInitializer = new HashMap<>();
        weights.weights().values().forEach(w -> byInitializer.put(w.initializer(), w));
        boolean rebuild = session == null || !buffers.keySet().containsAll(deltas.keySet())
                || extraTokenRows.length > tokenRowCapacity;
        if (rebuild) {
            rebuild(deltas.keySet(), byInitializer, Math.max(tokenRowCapacity, extraTokenRows.length));
        }
        for (String initializer : changed) {
            if (!deltas.containsKey(initializer)) {
                buffers.get(initializer).put(base.get(initializer), 0, 1f);
            }
        }
        changed.clear();
        for (Map.Entry<String, float[]> delta : deltas.entrySet()) {
            float[] values = base.get(delta.getKey()).clone();
            float[] add = delta.getValue();
            for (int i = 0; i < values.length; i++) {
                values[i] += add[i];
            }
            buffers.get(delta.getKey()).put(values, 0, 1f);
            changed.add(delta.getKey());
        }
        if (tokenRowCapacity > 0) {
            WeightIndex.Weight table = weights.tokenEmbedding();
            int width = (int) table.dims()[1];
            TensorBuffer buffer = buffers.get(table.initializer());
            for (int row = 0; row < tokenRowCapacity; row++) {
                float[] vector = row < extraTokenRows.length ? extraTokenRows[row] : new float[width];
                buffer.put(vector, baseTokenTable.length + row * width, 1f);
            }
        }
        if (!rebuild && runtime.provider().startsWith("CUDA")) {
            rebuild(buffers.keySet(), byInitializer, tokenRowCapacity);
        }
        appliedKey = key;
        component.use(session);
    }

    /** Runs the component on the patch named {@code key} if the buffers hold it already; false if they do not. */
    public synchronized boolean reuse(String key) {
        if (key.equals(appliedKey) && session != null) {
            component.use(session);
            return true;
        }
        return false;
    }

    /** The component back on its base session (the buffers keep the last patch for a job that wants it again). */
    public synchronized void release() {
        component.useBase();
    }

    private void rebuild(Set<String> needed, Map<String, WeightIndex.Weight> byInitializer, int tokenRows)
            throws OrtException {
        List<WeightIndex.Weight> added = new ArrayList<>();
        for (String initializer : needed) {
            if (!base.containsKey(initializer)) {
                WeightIndex.Weight weight = byInitializer.get(initializer);
                if (weight == null) {
                    throw new ModelException(component.file() + ": no patchable weight " + initializer);
                }
                added.add(weight);
            }
        }
        WeightIndex.Weight table = tokenRows > 0 ? index().tokenEmbedding() : null;
        if (tokenRows > 0 && table == null) {
            throw new ModelException(component.file() + ": this text encoder has no token_embedding Gather node, so"
                    + " textual-inversion embeddings cannot be added to it");
        }
        List<WeightIndex.Weight> toRead = new ArrayList<>(added);
        if (table != null && baseTokenTable == null) {
            toRead.add(table);
        }
        try {
            Map<String, float[]> read = index().read(toRead);
            for (WeightIndex.Weight weight : added) {
                base.put(weight.initializer(), read.get(weight.initializer()));
            }
            if (table != null && baseTokenTable == null) {
                baseTokenTable = read.get(table.initializer());
            }
        } catch (IOException e) {
            throw new ModelException(component.file() + ": cannot read its weights to patch them: " + e.getMessage(), e);
        }
        component.useBase();
        if (session != null) {
            session.close();
            session = null;
        }
        Map<String, TensorBuffer> old = new LinkedHashMap<>(buffers);
        buffers.clear();
        Map<String, OnnxTensorLike> initializers = new LinkedHashMap<>();
        Set<String> all = new HashSet<>(old.keySet());
        all.addAll(needed);
        if (table != null) {
            all.remove(table.initializer());
        }
        for (String initializer : all) {
            WeightIndex.Weight weight = byInitializer.get(initializer);
            TensorBuffer buffer = new TensorBuffer(runtime.environment(), type(weight), weight.dims());
            TensorBuffer previous = old.get(initializer);
            float[] values = base.get(initializer);
            if (previous != null) {
                values = new float[values.length];
                previous.get(values, 0);
            }
            buffer.put(values, 0, 1f);
            buffers.put(initializer, buffer);
            initializers.put(initializer, buffer.tensor());
        }
        if (table != null) {
            int width = (int) table.dims()[1];
            long rows = table.dims()[0] + tokenRows;
            TensorBuffer buffer = new TensorBuffer(runtime.environment(), type(table), rows, width);
            buffer.put(baseTokenTable, 0, 1f);
            buffers.put(table.initializer(), buffer);
            initializers.put(table.initializer(), buffer.tensor());
            tokenRowCapacity = tokenRows;
        }
        old.values().forEach(TensorBuffer::close);
        session = runtime.openPatchable(component.file(), initializers);
    }

    private static ElementType type(WeightIndex.Weight weight) {
        return weight.dataType() == WeightIndex.FLOAT16 ? ElementType.FLOAT16 : ElementType.FLOAT;
    }

    /** Bytes of the patched weights held here (the buffers and their base values): what the adapters cost. */
    public synchronized long heldBytes() {
        long bytes = 0;
        for (Map.Entry<String, TensorBuffer> buffer : buffers.entrySet()) {
            bytes += buffer.getValue().byteSize();
        }
        for (float[] values : base.values()) {
            bytes += 4L * values.length;
        }
        return bytes + (baseTokenTable == null ? 0 : 4L * baseTokenTable.length);
    }

    @Override
    public synchronized void close() throws OrtException {
        component.useBase();
        if (session != null) {
            session.close();
        }
        buffers.values().forEach(TensorBuffer::close);
    }
}
