package dev.easel.models.onnx;

import ai.onnx.proto.OnnxMl;

/** A node attribute. */
public record Attribute(OnnxMl.AttributeProto proto) {

    public static Attribute integer(String name, long value) {
        return new Attribute(OnnxMl.AttributeProto.newBuilder().setName(name)
                .setType(OnnxMl.AttributeProto.AttributeType.INT).setI(value).build());
    }

    public static Attribute ints(String name, long... values) {
        OnnxMl.AttributeProto.Builder builder = OnnxMl.AttributeProto.newBuilder().setName(name)
                .setType(OnnxMl.AttributeProto.AttributeType.INTS);
        for (long value : values) {
            builder.addInts(value);
        }
        return new Attribute(builder.build());
    }

    public static Attribute real(String name, float value) {
        return new Attribute(OnnxMl.AttributeProto.newBuilder().setName(name)
                .setType(OnnxMl.AttributeProto.AttributeType.FLOAT).setF(value).build());
    }

    public static Attribute string(String name, String value) {
        return new Attribute(OnnxMl.AttributeProto.newBuilder().setName(name)
                .setType(OnnxMl.AttributeProto.AttributeType.STRING)
                .setS(com.google.protobuf.ByteString.copyFromUtf8(value)).build());
    }
}
