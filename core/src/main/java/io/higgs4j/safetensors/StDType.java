package io.higgs4j.safetensors;

import io.higgs4j.torch.DType;

import java.util.Set;

/** The safetensors names of the dtypes higgs4j reads and writes. */
final class StDType {

    private StDType() {}

    /** Dtypes the format defines that have no higgs4j {@link DType}: reported as unsupported rather than unknown. */
    private static final Set<String> KNOWN_UNSUPPORTED = Set.of("U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0",
            "F4", "F6_E2M3", "F6_E3M2", "C64");

    static final String SUPPORTED = "F64, F32, BF16, F16, I64, I32, I16, I8, U8, BOOL";

    /** The dtype named by a header's "dtype" field, or null if higgs4j has none for it. */
    static DType parse(String code) {
        return switch (code) {
            case "F32" -> DType.FLOAT32;
            case "F64" -> DType.FLOAT64;
            case "BF16" -> DType.BFLOAT16;
            case "F16" -> DType.FLOAT16;
            case "I64" -> DType.INT64;
            case "I32" -> DType.INT32;
            case "I16" -> DType.INT16;
            case "I8" -> DType.INT8;
            case "U8" -> DType.UINT8;
            case "BOOL" -> DType.BOOL;
            default -> null;
        };
    }

    static String unsupportedMessage(String code) {
        return KNOWN_UNSUPPORTED.contains(code)
                ? "dtype \"" + code + "\" is a safetensors dtype that higgs4j does not support (supported: " + SUPPORTED + ")"
                : "unknown dtype \"" + code + "\" (expected one of " + SUPPORTED + ")";
    }

    static String code(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> "F32";
            case FLOAT64 -> "F64";
            case BFLOAT16 -> "BF16";
            case FLOAT16 -> "F16";
            case INT64 -> "I64";
            case INT32 -> "I32";
            case INT16 -> "I16";
            case INT8 -> "I8";
            case UINT8 -> "U8";
            case BOOL -> "BOOL";
            case COMPLEX64 -> throw new IllegalArgumentException("higgs4j does not write complex64 tensors to safetensors");
        };
    }
}
