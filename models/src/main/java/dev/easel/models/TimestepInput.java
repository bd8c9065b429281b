package dev.easel.models;

/** The input signature of a generated model, matching the common ONNX exports of Stable Diffusion. */
public enum TimestepInput {
    /** The legacy diffusers export: float32 timestep of shape [batch], int32 input_ids. */
    FLOAT32,
    /** The optimum export: int64 timestep of shape [batch], int64 input_ids. */
    INT64,
    /** A float16 export: float16 timestep, sample, hidden states and latents; int32 input_ids. */
    FLOAT16;

    /** Whether every float tensor the model exchanges is float16. */
    public boolean halfPrecision() {
        return this == FLOAT16;
    }
}
