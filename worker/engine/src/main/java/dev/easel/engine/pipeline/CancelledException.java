package dev.easel.engine.pipeline;

/** The job was cancelled; the pipeline stopped between two denoising steps. */
public final class CancelledException extends RuntimeException {
    private final int completedSteps;

    public CancelledException(int completedSteps) {
        super("cancelled after " + completedSteps + " steps");
        this.completedSteps = completedSteps;
    }

    public int completedSteps() {
        return completedSteps;
    }
}
