package dev.easel.engine.model;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensorLike;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One ONNX file of a model folder with its session, created once and reused for every job. It reads input and output
 * names, element types and ranks from the session and counts the time spent inside {@code OrtSession.run}.
 */
public final class Component implements AutoCloseable {
    private final String name;
    private final Path file;
    private final OrtSession session;
    private final Map<String, NodeInfo> inputs;
    private final List<String> outputNames;
    private final PatchableWeights patchable;
    /** The session runs go to: the base one, or the patched one while a job with LoRAs or embeddings runs. */
    private volatile OrtSession active;
    private long runNanos;

    Component(String name, Path file, OrtRuntime runtime) throws OrtException {
        this.name = name;
        this.file = file;
        this.session = runtime.open(file);
        this.active = session;
        this.inputs = session.getInputInfo();
        this.outputNames = List.copyOf(session.getOutputInfo().keySet());
        this.patchable = new PatchableWeights(this, runtime);
    }

    /** This component's weights as LoRAs and embeddings patch them. */
    public PatchableWeights patchable() {
        return patchable;
    }

    /** Runs go to {@code patched} (a session of the same graph with patched weights). */
    void use(OrtSession patched) {
        active = patched;
    }

    /** Runs go to the base session again. */
    void useBase() {
        active = session;
    }

    public String name() {
        return name;
    }

    /** The input called {@code wanted}; fails naming the file and the inputs it has when there is none. */
    public Port input(String wanted) {
        NodeInfo info = inputs.get(wanted);
        if (info == null) {
            throw new ModelException(file + ": expected an input named '" + wanted + "', the model has " + inputs.keySet());
        }
        return port(info);
    }

    private Port port(NodeInfo info) {
        if (!(info.getInfo() instanceof TensorInfo tensor)) {
            throw new ModelException(file + ": input '" + info.getName() + "' is not a tensor");
        }
        ElementType type = ElementType.of(tensor.type);
        if (type == null) {
            throw new ModelException(file + ": input '" + info.getName() + "' has element type " + tensor.type
                    + ", which Easel cannot feed");
        }
        return new Port(info.getName(), type, tensor.getShape());
    }

    /** Fails when the model has inputs beyond {@code known}, which Easel would not know how to feed. */
    public void requireOnlyInputs(String... known) {
        List<String> allowed = List.of(known);
        for (String input : inputs.keySet()) {
            if (!allowed.contains(input)) {
                throw new ModelException(file + ": unexpected input '" + input + "'; Easel drives Stable Diffusion"
                        + " 1.x/2.x and SDXL exports whose inputs are " + allowed);
            }
        }
    }

    /** The session's input names. */
    public java.util.Set<String> inputNames() {
        return inputs.keySet();
    }

    /** Whether the session has an input called {@code name}. */
    public boolean hasInput(String name) {
        return inputs.containsKey(name);
    }

    /** The outputs in the session's order, with their element types and declared shapes. */
    public List<Port> outputs() throws OrtException {
        List<Port> ports = new java.util.ArrayList<>();
        for (NodeInfo info : session.getOutputInfo().values()) {
            if (info.getInfo() instanceof TensorInfo tensor) {
                ports.add(new Port(info.getName(), ElementType.of(tensor.type), tensor.getShape()));
            }
        }
        return ports;
    }

    /** Runs the session computing only the outputs named; the caller closes the result. */
    public OrtSession.Result run(Map<String, ? extends OnnxTensorLike> feeds, java.util.Set<String> outputs)
            throws OrtException {
        long start = System.nanoTime();
        try {
            return active.run(feeds, outputs);
        } finally {
            runNanos += System.nanoTime() - start;
        }
    }

    /** The element type of the first output. */
    public ElementType firstOutputType() throws OrtException {
        NodeInfo info = session.getOutputInfo().get(outputNames.get(0));
        return ElementType.of(((TensorInfo) info.getInfo()).type);
    }

    public Path file() {
        return file;
    }

    /** Runs the session; the caller closes the result. */
    public OrtSession.Result run(Map<String, ? extends OnnxTensorLike> feeds) throws OrtException {
        long start = System.nanoTime();
        try {
            return active.run(feeds);
        } finally {
            runNanos += System.nanoTime() - start;
        }
    }

    /** Runs the session writing the first output into {@code output} (preallocated, same shape every step). */
    public void runInto(Map<String, ? extends OnnxTensorLike> feeds, OnnxValue output) throws OrtException {
        long start = System.nanoTime();
        try (OrtSession.Result ignored = active.run(feeds, Map.of(outputNames.get(0), output))) {
            // pinned output: the values are already in the caller's buffer
        } finally {
            runNanos += System.nanoTime() - start;
        }
    }

    /** Nanoseconds spent in OrtSession.run since the last reset. */
    public long runNanos() {
        return runNanos;
    }

    public void resetRunNanos() {
        runNanos = 0;
    }

    @Override
    public void close() throws OrtException {
        patchable.close();
        session.close();
    }

    /** An input: its name, element type and declared shape (-1 for symbolic dimensions). */
    public record Port(String name, ElementType type, long[] shape) {
    }
}
