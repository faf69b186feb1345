package io.higgs4j.trainer.hub;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The Hugging Face cache as huggingface_hub lays it out, so a model downloaded by either is found by the other:
 * <pre>
 * ROOT/models--OWNER--NAME/refs/REVISION            the commit hash the revision (branch, tag) points at
 * ROOT/models--OWNER--NAME/blobs/ETAG               file contents, named by sha256 (LFS) or git blob hash
 * ROOT/models--OWNER--NAME/blobs/ETAG.incomplete    a download under way (resumed from its size)
 * ROOT/models--OWNER--NAME/snapshots/COMMIT/FILE    relative symlinks to ../../blobs/ETAG (copies where links fail)
 * ROOT/.locks/models--OWNER--NAME/ETAG.lock         held while a process downloads that blob
 * </pre>
 */
public final class HubCache {

    /** A blob's name comes from the Hub (an etag); only these characters may become a file name. */
    private static final Pattern BLOB_NAME = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}");

    private final Path root;

    public HubCache(Path root) {
        this.root = root;
    }

    public Path root() {
        return root;
    }

    public Path repoDir(HubId id) {
        return root.resolve(id.cacheFolder());
    }

    public Path refFile(HubId id) {
        return repoDir(id).resolve("refs").resolve(id.revision());
    }

    public Path snapshotDir(HubId id, String commit) {
        if (!HubId.isCommitHash(commit)) throw new IllegalArgumentException("not a commit hash: " + commit);
        return repoDir(id).resolve("snapshots").resolve(commit);
    }

    public Path blob(HubId id, String blobName) throws HubException {
        if (!BLOB_NAME.matcher(blobName).matches()) throw new HubException(id + ": the Hub named a file's contents '" + blobName + "', not a usable name");
        return repoDir(id).resolve("blobs").resolve(blobName);
    }

    static Path incomplete(Path blob) {
        return blob.resolveSibling(blob.getFileName() + ".incomplete");
    }

    /** The commit the id's revision points at in this cache: the revision itself when it is a hash, else refs/REVISION. */
    public Optional<String> commit(HubId id) {
        if (id.isCommit()) return Optional.of(id.revision());
        Path ref = refFile(id);
        try {
            if (!Files.isRegularFile(ref)) return Optional.empty();
            String commit = Files.readString(ref, StandardCharsets.UTF_8).strip();
            return HubId.isCommitHash(commit) ? Optional.of(commit) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Records that the id's revision is at commit (nothing for a revision that is a commit hash, as huggingface_hub). */
    public void writeRef(HubId id, String commit) throws IOException {
        if (id.isCommit()) return;
        Path ref = refFile(id);
        Files.createDirectories(ref.getParent());
        Path tmp = Files.createTempFile(ref.getParent(), ".ref-", ".tmp");
        try {
            Files.writeString(tmp, commit, StandardCharsets.UTF_8);
            move(tmp, ref);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Makes snapshot entry {@code entry} show {@code blob}: a relative symlink, or a copy where the file system refuses
     * links. An entry already there (a stale link, an older copy) is replaced.
     */
    public void link(Path entry, Path blob) throws IOException {
        Files.createDirectories(entry.getParent());
        Path target = entry.getParent().relativize(blob);
        Path tmp = entry.resolveSibling("." + entry.getFileName() + ".link-" + ProcessHandle.current().pid());
        Files.deleteIfExists(tmp);
        try {
            Files.createSymbolicLink(tmp, target);
        } catch (UnsupportedOperationException | FileSystemException e) {
            Files.copy(blob, tmp, StandardCopyOption.REPLACE_EXISTING);
        }
        try {
            move(tmp, entry);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Locks a blob against other processes downloading it (ranks of one training run share the cache). */
    public Closeable lock(HubId id, String blobName, Runnable whileWaiting) throws IOException {
        Path lock = root.resolve(".locks").resolve(id.cacheFolder()).resolve(blobName + ".lock");
        Files.createDirectories(lock.getParent());
        FileChannel ch = FileChannel.open(lock, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        try {
            if (ch.tryLock() == null) {
                whileWaiting.run(); // another process is downloading it: wait, then find the blob done
                ch.lock();
            }
            return ch; // closing the channel releases the lock
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** The Hub id a directory is the snapshot of ({@code .../models--OWNER--NAME/snapshots/COMMIT}), if it is one. */
    public static Optional<String> repoOf(Path dir) {
        if (dir == null) return Optional.empty();
        Path d = dir.toAbsolutePath().normalize();
        Path snapshots = d.getParent(), repo = snapshots == null ? null : snapshots.getParent();
        if (repo == null || repo.getFileName() == null || !snapshots.getFileName().toString().equals("snapshots")
                || !HubId.isCommitHash(d.getFileName().toString())) {
            return Optional.empty();
        }
        String folder = repo.getFileName().toString();
        if (!folder.startsWith("models--")) return Optional.empty();
        String[] parts = folder.substring("models--".length()).split("--", -1);
        if (parts.length != 2) return Optional.empty();
        return HubId.parse(parts[0] + "/" + parts[1]).map(HubId::repo);
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
