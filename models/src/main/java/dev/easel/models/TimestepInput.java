package dev.easel.models;

/** How a generated UNet takes its timestep, matching the two common ONNX exports of Stable Diffusion. */
public enum TimestepInput {
    /** The legacy diffusers export: float32 timestep of shape [batch], int32 input_ids. */
    FLOAT32,
    /** The optimum export: int64 timestep of shape [batch], int64 input_ids. */
    INT64
}
