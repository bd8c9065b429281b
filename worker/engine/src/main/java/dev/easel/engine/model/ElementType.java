package dev.easel.engine.model;

import ai.onnxruntime.OnnxJavaType;

/** The tensor element types a Stable Diffusion export uses. */
public enum ElementType {
    FLOAT, FLOAT16, INT32, INT64;

    static ElementType of(OnnxJavaType type) {
        return switch (type) {
            case FLOAT -> FLOAT;
            case FLOAT16 -> FLOAT16;
            case INT32 -> INT32;
            case INT64 -> INT64;
            default -> null;
        };
    }
}
