package io.higgs4j.trainer.hub;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A model on the Hugging Face Hub: {@code owner/name}, optionally {@code @revision} (a branch, tag or commit hash;
 * default {@code main}). Shaped as the Hub wants its ids: exactly one slash, each part letters, digits, {@code _ . -}
 * and neither starting nor ending with {@code .} or {@code -}, no {@code --} or {@code ..}, at most 96 characters.
 * A path never starts with {@code .}, {@code /} or {@code ~} here, so {@code ./a/b} and {@code ~/a/b} are paths.
 */
public record HubId(String owner, String name, String revision) {

    public static final String DEFAULT_REVISION = "main";

    private static final Pattern PART = Pattern.compile("[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?");
    private static final Pattern REVISION = Pattern.compile("[A-Za-z0-9_.+-]+(/[A-Za-z0-9_.+-]+)*");
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    public HubId {
        if (!validPart(owner) || !validPart(name) || (owner + "/" + name).length() > 96
                || (owner + "/" + name).contains("--") || (owner + "/" + name).contains("..")) {
            throw new IllegalArgumentException("not a Hugging Face model id: " + owner + "/" + name);
        }
        if (!validRevision(revision)) throw new IllegalArgumentException("not a revision: " + revision);
    }

    /** The id written in text ({@code owner/name} or {@code owner/name@revision}), or empty when text is not one. */
    public static Optional<HubId> parse(String text) {
        if (text == null) return Optional.empty();
        int at = text.indexOf('@');
        String repo = at < 0 ? text : text.substring(0, at);
        String revision = at < 0 ? DEFAULT_REVISION : text.substring(at + 1);
        int slash = repo.indexOf('/');
        if (slash < 0 || repo.indexOf('/', slash + 1) >= 0) return Optional.empty();
        try {
            return Optional.of(new HubId(repo.substring(0, slash), repo.substring(slash + 1), revision));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /**
     * Whether a command-line value means a Hub id: no file or directory of that name exists (an existing local path
     * always wins) and it is shaped like an id.
     */
    public static boolean isHubId(String text) {
        return parse(text).isPresent() && !existsLocally(text);
    }

    static boolean existsLocally(String text) {
        try {
            return Files.exists(Path.of(text));
        } catch (InvalidPathException e) {
            return false;
        }
    }

    private static boolean validPart(String s) {
        return s != null && PART.matcher(s).matches();
    }

    private static boolean validRevision(String r) {
        if (r == null || r.length() > 255 || !REVISION.matcher(r).matches()) return false;
        for (String segment : r.split("/")) {
            if (segment.equals(".") || segment.equals("..") || segment.endsWith(".lock")) return false;
        }
        return !r.contains("..");
    }

    /** {@code owner/name}, as in the Hub's URLs. */
    public String repo() {
        return owner + "/" + name;
    }

    /** Whether the revision is already a commit hash (40 lower-case hex digits). */
    public boolean isCommit() {
        return isCommitHash(revision);
    }

    static boolean isCommitHash(String s) {
        return s != null && COMMIT.matcher(s).matches();
    }

    /** The cache folder's name, as huggingface_hub names it: {@code models--owner--name}. */
    public String cacheFolder() {
        return "models--" + owner + "--" + name;
    }

    /** {@code owner/name}, with {@code @revision} when it is not {@code main}. */
    @Override
    public String toString() {
        return revision.equals(DEFAULT_REVISION) ? repo() : repo() + "@" + revision;
    }
}
