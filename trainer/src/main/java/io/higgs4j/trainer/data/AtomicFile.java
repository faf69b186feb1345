package io.higgs4j.trainer.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** A file written whole or not at all: into a temporary file beside it, then renamed into place. */
public final class AtomicFile {

    /** Fills the temporary file. */
    public interface Writer {
        void write(Path tmp) throws IOException;
    }

    private AtomicFile() { }

    /** Writes target through writer (creating its folder); the temporary file never stays, on success or on error. */
    public static void write(Path target, Writer writer) throws IOException {
        Path abs = target.toAbsolutePath();
        Files.createDirectories(abs.getParent());
        Path tmp = abs.resolveSibling("." + abs.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        try {
            writer.write(tmp);
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
