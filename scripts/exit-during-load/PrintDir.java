/** Prints the directory LibTorchLoader loads libtorch from (extracting the carried one if needed). */
public class PrintDir {
    public static void main(String[] a) {
        System.out.println(io.higgs4j.bindings.LibTorchLoader.load().directory());
    }
}
