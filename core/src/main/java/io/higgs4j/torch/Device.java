package io.higgs4j.torch;

/** Where a tensor lives: cpu, cuda:N, or meta (shapes only, no storage). */
public record Device(Type type, int index) {

    public enum Type { CPU, CUDA, META }

    public static final Device CPU = new Device(Type.CPU, -1);
    public static final Device META = new Device(Type.META, -1);

    public Device {
        if (type == Type.CUDA && index < 0) throw new IllegalArgumentException("a cuda device needs an index >= 0, got " + index);
        if (type != Type.CUDA) index = -1;
    }

    public static Device cuda(int index) {
        return new Device(Type.CUDA, index);
    }

    /** Parses "cpu", "meta", "cuda" (device 0) and "cuda:N". */
    public static Device parse(String s) {
        String t = s.trim().toLowerCase(java.util.Locale.ROOT);
        if (t.equals("cpu")) return CPU;
        if (t.equals("meta")) return META;
        if (t.equals("cuda")) return cuda(0);
        if (t.startsWith("cuda:")) {
            try {
                return cuda(Integer.parseInt(t.substring(5)));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad device '" + s + "': expected cuda:N with N a number");
            }
        }
        throw new IllegalArgumentException("unknown device '" + s + "'; expected cpu, cuda, cuda:N or meta");
    }

    /**
     * Returns this device if this machine has it, else throws a one-line {@link TorchException} saying why (asked on a
     * CPU-only machine, libtorch does not refuse a CUDA device until an op runs, and then prints pages). cpu and meta
     * are always there.
     */
    public Device checkAvailable() {
        if (type != Type.CUDA) return this;
        int count = CudaDevices.COUNT;
        if (count == 0) {
            throw new TorchException(this + " was asked for, but there is no CUDA device here: "
                    + (Native.LOADED.cudaLibrariesLoaded() ? "libtorch's CUDA libraries are loaded but see no GPU"
                    : "the libtorch in " + Native.LOADED.directory() + " is a CPU build (set LIBTORCH to a CUDA libtorch)")
                    + "; use cpu");
        }
        if (index >= count) {
            throw new TorchException(this + " was asked for, but this machine has " + count + " CUDA device"
                    + (count == 1 ? " (cuda:0)" : "s (cuda:0 to cuda:" + (count - 1) + ")"));
        }
        return this;
    }

    /** CUDA devices cannot come or go while the process runs: asked once. */
    private static final class CudaDevices {
        static final int COUNT = Torch.cudaAvailable() ? Torch.cudaDeviceCount() : 0;
    }

    int typeCode() {
        return switch (type) {
            case CPU -> Native.DEVICE_CPU;
            case CUDA -> Native.DEVICE_CUDA;
            case META -> Native.DEVICE_META;
        };
    }

    /** The index libtorch expects: 0 for cpu and meta (which have only one). */
    int indexCode() {
        return type == Type.CUDA ? index : 0;
    }

    static Device fromCodes(int typeCode, int index) {
        if (typeCode == Native.DEVICE_CPU) return CPU;
        if (typeCode == Native.DEVICE_CUDA) return cuda(Math.max(index, 0));
        if (typeCode == Native.DEVICE_META) return META;
        throw new TorchException("libtorch device type " + typeCode + " is not supported by higgs4j");
    }

    /** The dispatcher's encoding of a Device argument: (type << 32) | (uint32) index, index -1 when it has none. */
    long stableIValue() {
        return ((long) typeCode() << 32) | (index & 0xffffffffL);
    }

    @Override
    public String toString() {
        return switch (type) {
            case CPU -> "cpu";
            case META -> "meta";
            case CUDA -> "cuda:" + index;
        };
    }
}
