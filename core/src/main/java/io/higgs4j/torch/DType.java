package io.higgs4j.torch;

/** Element types. The numeric codes are libtorch's, asked from the runtime rather than assumed. */
public enum DType {
    FLOAT32("float32", 4, true),
    FLOAT64("float64", 8, true),
    BFLOAT16("bfloat16", 2, true),
    FLOAT16("float16", 2, true),
    INT64("int64", 8, false),
    INT32("int32", 4, false),
    INT16("int16", 2, false),
    INT8("int8", 1, false),
    UINT8("uint8", 1, false),
    BOOL("bool", 1, false),
    /**
     * Two float32s (real, imaginary), as stft returns them. Not {@linkplain #isFloatingPoint floating point} here:
     * that flag marks the real dtypes that parameters, gradients and casts use, and complex tensors are only
     * intermediates of the audio front end. Read them through {@code aten::view_as_real} or {@code aten::abs}.
     */
    COMPLEX64("complex64", 8, false);

    private final String displayName;
    private final int elementSize;
    private final boolean floatingPoint;

    DType(String displayName, int elementSize, boolean floatingPoint) {
        this.displayName = displayName;
        this.elementSize = elementSize;
        this.floatingPoint = floatingPoint;
    }

    public int elementSize() { return elementSize; }

    /** A real floating-point dtype (complex dtypes answer false). */
    public boolean isFloatingPoint() { return floatingPoint; }

    public boolean isComplex() { return this == COMPLEX64; }

    /** libtorch's code for this dtype. */
    public int code() {
        return Native.dtypeCode(this);
    }

    static DType fromCode(int code) {
        return Native.dtypeOf(code);
    }

    /** Parses names like "float32", "bf16", "bfloat16", "fp16", "int64". */
    public static DType parse(String name) {
        String n = name.trim().toLowerCase(java.util.Locale.ROOT);
        return switch (n) {
            case "float32", "float", "fp32", "f32" -> FLOAT32;
            case "float64", "double", "fp64", "f64" -> FLOAT64;
            case "bfloat16", "bf16" -> BFLOAT16;
            case "float16", "half", "fp16", "f16" -> FLOAT16;
            case "int64", "long", "i64" -> INT64;
            case "int32", "int", "i32" -> INT32;
            case "int16", "i16" -> INT16;
            case "int8", "i8" -> INT8;
            case "uint8", "u8" -> UINT8;
            case "bool" -> BOOL;
            case "complex64", "cfloat", "c64" -> COMPLEX64;
            default -> throw new IllegalArgumentException("unknown dtype '" + name + "'; expected one of float32, float64,"
                    + " bfloat16, float16, int64, int32, int16, int8, uint8, bool, complex64");
        };
    }

    @Override
    public String toString() { return displayName; }
}
