package dev.easel.engine.model;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import java.nio.file.Path;

/**
 * Creates ONNX Runtime sessions with one set of options for every component of a model, and knows which execution
 * provider they run on. CUDA is asked for when the options allow it; when it cannot be had the sessions run on the
 * CPU and one log line says why.
 */
public final class OrtRuntime {
    private static final System.Logger LOG = System.getLogger(OrtRuntime.class.getName());

    private final OrtEnvironment environment = OrtEnvironment.getEnvironment();
    private final RuntimeOptions options;
    private final String provider;

    public OrtRuntime(RuntimeOptions options) {
        this.options = options;
        String reason = null;
        boolean cuda = false;
        if (!options.device().equals("cpu")) {
            if (!OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
                reason = "this build has the CPU-only ONNX Runtime (build with -Pgpu for CUDA)";
            } else {
                try (OrtSession.SessionOptions probe = new OrtSession.SessionOptions()) {
                    probe.addCUDA(options.cudaDeviceId());
                    cuda = true;
                } catch (OrtException | RuntimeException | UnsatisfiedLinkError e) {
                    reason = "CUDA device " + options.cudaDeviceId() + " is not usable: " + e.getMessage();
                }
            }
        } else {
            reason = "device cpu was requested";
        }
        this.provider = cuda ? "CUDAExecutionProvider" : "CPUExecutionProvider";
        if (!cuda && !options.device().equals("cpu")) {
            LOG.log(System.Logger.Level.INFO, "Running on CPU: " + reason);
        }
    }

    public RuntimeOptions options() {
        return options;
    }

    public OrtEnvironment environment() {
        return environment;
    }

    /** The execution provider the sessions use: CUDAExecutionProvider or CPUExecutionProvider. */
    public String provider() {
        return provider;
    }

    /**
     * Images per UNet call: as configured, else 4 on CUDA (a GPU is underused by one small batch) and 1 on the CPU
     * (measured: no faster at 512 x 512 there, and more memory; see docs/benchmarks.md).
     */
    public int maxBatchImages() {
        if (options.maxBatchImages() != RuntimeOptions.AUTO_BATCH) {
            return options.maxBatchImages();
        }
        return provider.startsWith("CUDA") ? 4 : 1;
    }

    /**
     * A session of {@code modelFile} whose {@code initializers} are the caller's buffers, read in place: prepacking
     * off and no layout transformations (they copy weights), so rewriting a buffer changes what the session computes.
     */
    public OrtSession openPatchable(Path modelFile, java.util.Map<String, ai.onnxruntime.OnnxTensorLike> initializers)
            throws OrtException {
        try (OrtSession.SessionOptions sessionOptions = sessionOptions()) {
            sessionOptions.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.EXTENDED_OPT);
            sessionOptions.addConfigEntry("session.disable_prepacking", "1");
            for (java.util.Map.Entry<String, ai.onnxruntime.OnnxTensorLike> initializer : initializers.entrySet()) {
                sessionOptions.addInitializer(initializer.getKey(), initializer.getValue());
            }
            return environment.createSession(modelFile.toString(), sessionOptions);
        }
    }

    public OrtSession open(Path modelFile) throws OrtException {
        try (OrtSession.SessionOptions sessionOptions = sessionOptions()) {
            return environment.createSession(modelFile.toString(), sessionOptions);
        }
    }

    private OrtSession.SessionOptions sessionOptions() throws OrtException {
        OrtSession.SessionOptions sessionOptions = new OrtSession.SessionOptions();
        try {
            sessionOptions.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (options.intraOpThreads() > 0) {
                sessionOptions.setIntraOpNumThreads(options.intraOpThreads());
            }
            if (options.interOpThreads() > 0) {
                sessionOptions.setInterOpNumThreads(options.interOpThreads());
            }
            // Spinning threads fight the other processes of a worker host for cores between runs.
            sessionOptions.addConfigEntry("session.intra_op.allow_spinning", "0");
            if (provider.equals("CUDAExecutionProvider")) {
                sessionOptions.addCUDA(options.cudaDeviceId());
            }
            return sessionOptions;
        } catch (OrtException | RuntimeException e) {
            sessionOptions.close();
            throw e;
        }
    }
}
