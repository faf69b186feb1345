package io.higgs4j.trainer.train;

import io.higgs4j.io.TempSibling;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The checkpoint-&lt;step&gt; directories of an output directory. A checkpoint is written into a temporary directory
 * and renamed into place in one step, so a crash never leaves a half checkpoint under the final name; the oldest are
 * deleted beyond saveTotalLimit.
 */
public final class CheckpointStore {

    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d+)");

    private final Path outputDir;
    private final int saveTotalLimit;

    public CheckpointStore(Path outputDir, int saveTotalLimit) {
        this.outputDir = outputDir;
        this.saveTotalLimit = saveTotalLimit;
    }

    /** Something that fills a checkpoint directory. */
    public interface Writer {
        void write(Path dir) throws IOException;
    }

    /** Writes checkpoint-&lt;step&gt; through writer, atomically, then prunes. Returns its path. */
    public Path save(long step, Writer writer) throws IOException {
        Files.createDirectories(outputDir);
        Path target = outputDir.resolve("checkpoint-" + step);
        Path tmp = TempSibling.directory(target);
        try {
            writer.write(tmp);
            if (Files.exists(target)) deleteTree(target); // the same step saved again (after a resume)
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target);
            }
        } finally {
            if (Files.exists(tmp)) deleteTree(tmp);
        }
        prune();
        return target;
    }

    /** The best checkpoint's directory name, beside checkpoint-N; never pruned. */
    public static final String BEST = "best";

    /**
     * Replaces best/ through writer: the new one is written into a temporary directory first, so a crash leaves
     * either the old best or the new one (or, between two renames, the old one under a temporary name).
     */
    public Path saveBest(Writer writer) throws IOException {
        Files.createDirectories(outputDir);
        Path target = outputDir.resolve(BEST);
        Path tmp = TempSibling.directory(target), old = null;
        try {
            writer.write(tmp);
            if (Files.exists(target)) {
                old = outputDir.resolve(".best.old-" + ProcessHandle.current().pid());
                if (Files.exists(old)) deleteTree(old);
                Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            if (Files.exists(tmp)) deleteTree(tmp);
            if (old != null && Files.exists(old)) deleteTree(old);
        }
        return target;
    }

    /** Removes every checkpoint and best/: for a run that starts over in a folder it alone writes (the demo's). */
    public void clear() throws IOException {
        for (Path p : list()) deleteTree(p);
        Path best = outputDir.resolve(BEST);
        if (Files.exists(best)) deleteTree(best);
    }

    /** Every complete checkpoint, oldest first. */
    public List<Path> list() throws IOException {
        if (!Files.isDirectory(outputDir)) return List.of();
        try (Stream<Path> s = Files.list(outputDir)) {
            return s.filter(p -> Files.isDirectory(p) && NAME.matcher(p.getFileName().toString()).matches())
                    .sorted(Comparator.comparingLong(CheckpointStore::stepOf)).toList();
        }
    }

    public Optional<Path> latest() throws IOException {
        List<Path> all = list();
        return all.isEmpty() ? Optional.empty() : Optional.of(all.getLast());
    }

    public static long stepOf(Path checkpoint) {
        Matcher m = NAME.matcher(checkpoint.getFileName().toString());
        if (!m.matches()) throw new IllegalArgumentException(checkpoint + " is not a checkpoint-<step> directory");
        return Long.parseLong(m.group(1));
    }

    private void prune() throws IOException {
        if (saveTotalLimit <= 0) return;
        List<Path> all = list();
        for (int i = 0; i < all.size() - saveTotalLimit; i++) deleteTree(all.get(i));
    }

    static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
