package io.higgs4j.bindings;

import java.nio.file.Path;

/** Run in a child JVM by LibTorchLoaderTest: "extract NAME" or "load"; prints the outcome. */
public final class LoaderProbe {
    public static void main(String[] args) {
        try {
            if (args[0].equals("extract")) {
                Path p = LibTorchLoader.extractCarried(args[1], LoaderProbe.class.getClassLoader());
                System.out.println("extracted " + p);
            } else {
                System.out.println("loaded " + LibTorchLoader.load().version());
            }
        } catch (LibTorchLoader.LibTorchNotFoundException e) {
            System.out.println("refused: " + e.getMessage());
            System.exit(3);
        }
    }
}
