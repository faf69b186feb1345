// libtorch's intra-op threads vs OpenBLAS's own thread count and build config, in a higgs4j JVM.
// Run: java --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar benchmarks/probes/BlasThreads.java
import java.lang.foreign.*;
public class BlasThreads {
    public static void main(String[] args) throws Throwable {
        io.higgs4j.torch.Torch.info();
        var f = Linker.nativeLinker().downcallHandle(SymbolLookup.libraryLookup(io.higgs4j.torch.Torch.info().directory().resolve("libopenblas.so.0"), Arena.global()).findOrThrow("openblas_get_num_threads"), FunctionDescriptor.of(ValueLayout.JAVA_INT));
        var cfg = Linker.nativeLinker().downcallHandle(SymbolLookup.libraryLookup(io.higgs4j.torch.Torch.info().directory().resolve("libopenblas.so.0"), Arena.global()).findOrThrow("openblas_get_config"), FunctionDescriptor.of(ValueLayout.ADDRESS));
        System.out.println("at::get_num_threads=" + io.higgs4j.torch.Torch.numThreads() + " openblas_get_num_threads=" + (int) f.invokeExact()
            + " config=" + ((MemorySegment) cfg.invokeExact()).reinterpret(200).getString(0));
    }
}
