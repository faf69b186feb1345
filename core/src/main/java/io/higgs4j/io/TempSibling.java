package io.higgs4j.io;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;

/**
 * A new hidden file or directory beside an output, to be filled and then renamed into place. Created like any new
 * file or directory, so it gets the user's usual permissions (from the umask): Files.createTempFile and
 * createTempDirectory make them owner-only (0600, 0700), and the renamed output would keep that.
 */
public final class TempSibling {
    private static final SecureRandom RANDOM = new SecureRandom();

    private TempSibling() { }

    /** An empty file ".NAME.RANDOM.tmp" in target's directory (which is created when missing). */
    public static Path file(Path target) throws IOException {
        return create(target, false);
    }

    /** An empty directory ".NAME.RANDOM.tmp" in target's parent (which is created when missing). */
    public static Path directory(Path target) throws IOException {
        return create(target, true);
    }

    private static Path create(Path target, boolean directory) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        for (int attempt = 0; ; attempt++) {
            Path tmp = dir.resolve("." + abs.getFileName() + "." + Long.toHexString(RANDOM.nextLong() >>> 1) + ".tmp");
            try {
                return directory ? Files.createDirectory(tmp) : Files.createFile(tmp);
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 100) throw e;
            }
        }
    }
}
