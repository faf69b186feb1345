package io.higgs4j.trainer.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The Hub's HTTP API, as much of it as a download needs: a revision's commit and file list
 * ({@code GET /api/models/ID/revision/REV?blobs=true}) and a file's contents ({@code GET /ID/resolve/COMMIT/FILE},
 * redirects followed), resumed with {@code Range} and checked against the listed size and (LFS) sha256. The token
 * goes only to the endpoint's own host, not to the storage a download is redirected to.
 */
final class HubClient {

    /** How downloads retry: attempts per file, the pause before each retry, and how long a stalled transfer is waited for. */
    record Tuning(int attempts, Duration retryDelay, Duration stallTimeout) {
        static final Tuning DEFAULT = new Tuning(5, Duration.ofSeconds(2), Duration.ofSeconds(60));
    }

    /** A revision: its commit and its files. */
    record RepoInfo(String commit, List<RepoFile> files) {
        Optional<RepoFile> file(String name) {
            return files.stream().filter(f -> f.name().equals(name)).findFirst();
        }
    }

    /**
     * One file of a revision: size when listed (-1 otherwise), sha256 for LFS files, git blob hash when listed. Its
     * cache blob is named, as huggingface_hub names it, by the sha256 (LFS) or the git blob hash (the file's etag).
     */
    record RepoFile(String name, long size, String sha256, String blobId) {
        String blobName() {
            return sha256 != null ? sha256 : blobId;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String USER_AGENT = "higgs4j/0.1 (java.net.http)";
    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "hub-download-watchdog");
        t.setDaemon(true);
        return t;
    });

    private final HubSettings settings;
    private final HttpClient http;
    private final Tuning tuning;
    private final DownloadProgress progress;

    HubClient(HubSettings settings, Tuning tuning, DownloadProgress progress) {
        this.settings = settings;
        this.tuning = tuning;
        this.progress = progress;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(20)).followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /** The revision's commit and files; HubException with the reason when the Hub cannot be asked or says no. */
    RepoInfo repoInfo(HubId id) throws HubException {
        URI uri = URI.create(settings.endpoint() + "/api/models/" + id.repo() + "/revision/" + encode(id.revision()) + "?blobs=true");
        HttpResponse<InputStream> r = send(id, uri, "GET", Map.of(), Duration.ofSeconds(60));
        JsonNode root;
        try (InputStream in = r.body()) {
            if (r.statusCode() != 200) throw statusError(id, r, "its file list");
            root = JSON.readTree(in);
        } catch (HubException e) {
            throw e;
        } catch (IOException e) {
            throw new HubException(id + ": the Hub's file list could not be read (" + describe(e) + ")", e);
        }
        String commit = root == null ? null : root.path("sha").asText(null);
        if (!HubId.isCommitHash(commit)) throw new HubException(id + ": the Hub's answer for " + uri + " names no commit (sha)");
        List<RepoFile> files = new ArrayList<>();
        for (JsonNode s : root.path("siblings")) {
            String name = s.path("rfilename").asText(null);
            if (name == null) continue;
            JsonNode lfs = s.path("lfs");
            long size = lfs.has("size") ? lfs.path("size").asLong(-1) : s.has("size") ? s.path("size").asLong(-1) : -1;
            String sha256 = lfs.path("sha256").asText(null);
            files.add(new RepoFile(name, size, sha256, s.path("blobId").asText(null)));
        }
        return new RepoInfo(commit, List.copyOf(files));
    }

    /** The etag the Hub gives a file (its cache blob's name), for a file list without blob hashes. */
    String etag(HubId id, String commit, String file) throws HubException {
        HttpResponse<InputStream> r = sendOnce(id, fileUri(id, commit, file), "HEAD", Map.of(), Duration.ofSeconds(60));
        try {
            r.body().close();
        } catch (IOException ignored) {
            // nothing to read from a HEAD
        }
        if (r.statusCode() >= 400) throw statusError(id, r, file);
        String etag = r.headers().firstValue("x-linked-etag").or(() -> r.headers().firstValue("etag"))
                .orElseThrow(() -> new HubException(id + ": the Hub gave no etag for " + file));
        if (etag.startsWith("W/")) etag = etag.substring(2);
        return etag.replace("\"", "");
    }

    /**
     * Downloads {@code file} into {@code incomplete}, resuming from what that file already holds, and checks it: size
     * (when listed) and sha256 (LFS files). A transfer cut short is resumed with {@code Range} up to
     * {@link Tuning#attempts()} times; a file that does not match is deleted and refused.
     */
    void download(HubId id, String commit, RepoFile file, Path incomplete) throws IOException {
        URI uri = fileUri(id, commit, file.name());
        IOException last = null;
        for (int attempt = 1; attempt <= tuning.attempts(); attempt++) {
            if (attempt > 1) {
                progress.interrupt("  " + file.name() + ": transfer interrupted (" + describe(last) + "); retrying (" + attempt + " of "
                        + tuning.attempts() + ")");
                pause(tuning.retryDelay());
            }
            MessageDigest sha = file.sha256() != null ? sha256() : null;
            try {
                transfer(id, uri, file, incomplete, sha);
            } catch (Unreachable e) {
                last = e; // the network went away for a moment, perhaps: retried as a transfer cut short
                continue;
            } catch (HubException | InterruptedIOException e) {
                throw e;
            } catch (IOException e) {
                last = e;
                continue;
            }
            verify(id, file, incomplete, sha);
            return;
        }
        if (last instanceof Unreachable u && size(incomplete) == 0) throw u;
        throw new HubException(id + ": downloading " + file.name() + " failed " + tuning.attempts() + " times (last: " + describe(last)
                + "); run again to resume from the " + mb(size(incomplete)) + " MB kept in " + incomplete);
    }

    /** One attempt, to the end of the file; IOException when it was cut short. sha (if any) sees the whole file. */
    private void transfer(HubId id, URI uri, RepoFile file, Path incomplete, MessageDigest sha) throws IOException {
        long have = size(incomplete);
        if (file.size() >= 0 && have > file.size()) {
            Files.delete(incomplete);
            have = 0;
        }
        if (file.size() >= 0 && have == file.size() && have > 0) { // complete already: only the check is left
            if (sha != null) digest(incomplete, sha);
            return;
        }
        Map<String, String> headers = have > 0 ? Map.of("Range", "bytes=" + have + "-") : Map.of();
        HttpResponse<InputStream> r = send(id, uri, "GET", headers, Duration.ofSeconds(60));
        try (InputStream in = r.body()) {
            int status = r.statusCode();
            boolean append;
            if (status == 206 && have > 0 && contentRangeStart(r) == have) {
                append = true;
            } else if (status == 200 || status == 206 && contentRangeStart(r) == 0) {
                append = false; // the server sent it all: start over
                have = 0;
            } else if (status == 416) {
                Files.deleteIfExists(incomplete); // the partial file does not fit the file: start over on the next attempt
                throw new IOException("the server refused to resume (416)");
            } else if (status == 429 || status >= 500 || status == 206) {
                throw new IOException("the Hub answered " + status + " for " + file.name());
            } else {
                throw statusError(id, r, file.name());
            }
            if (append && sha != null) digest(incomplete, sha);
            progress.start(file.name(), have, file.size());
            copy(in, incomplete, append, have, sha);
        }
    }

    private void copy(InputStream in, Path incomplete, boolean append, long have, MessageDigest sha) throws IOException {
        AtomicLong lastProgress = new AtomicLong(System.nanoTime());
        AtomicBoolean stalled = new AtomicBoolean();
        long stallNanos = tuning.stallTimeout().toNanos();
        long period = Math.max(50, tuning.stallTimeout().toMillis() / 4);
        ScheduledFuture<?> watchdog = WATCHDOG.scheduleAtFixedRate(() -> {
            if (System.nanoTime() - lastProgress.get() > stallNanos && stalled.compareAndSet(false, true)) {
                try {
                    in.close(); // unblocks the read below
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
        }, period, period, TimeUnit.MILLISECONDS);
        long done = have;
        try (OutputStream out = Files.newOutputStream(incomplete, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
                if (sha != null) sha.update(buf, 0, n);
                done += n;
                lastProgress.set(System.nanoTime());
                progress.update(done);
            }
        } catch (IOException e) {
            if (stalled.get()) throw new IOException(stallMessage(), e);
            throw e;
        } finally {
            watchdog.cancel(false);
        }
        if (stalled.get()) throw new IOException(stallMessage());
        progress.finish(done);
    }

    private String stallMessage() {
        return String.format(java.util.Locale.ROOT, "no data for %.1f s", tuning.stallTimeout().toMillis() / 1e3);
    }

    /** Size and (LFS) sha256 of the whole file; a mismatch deletes it. */
    private static void verify(HubId id, RepoFile file, Path incomplete, MessageDigest sha) throws IOException {
        long size = size(incomplete);
        String problem = null;
        if (file.size() >= 0 && size != file.size()) {
            problem = "has " + size + " bytes where the Hub lists " + file.size();
        } else if (sha != null) {
            String got = HexFormat.of().formatHex(sha.digest());
            if (!got.equalsIgnoreCase(file.sha256())) problem = "has sha256 " + got + " where the Hub lists " + file.sha256();
        }
        if (problem != null) {
            Files.deleteIfExists(incomplete);
            throw new HubException(id + ": the download of " + file.name() + " " + problem + "; it was deleted, nothing was kept; run again to "
                    + "download it anew (a proxy or a full disk can cut files short)");
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void digest(Path file, MessageDigest md) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 20];
            int n;
            while ((n = in.read(buf)) >= 0) md.update(buf, 0, n);
        }
    }

    /** A request, its redirects followed (Range kept, the token only where the endpoint is). */
    private HttpResponse<InputStream> send(HubId id, URI uri, String method, Map<String, String> headers, Duration timeout) throws HubException {
        for (int hop = 0; hop <= 10; hop++) {
            HttpResponse<InputStream> r = sendOnce(id, uri, method, headers, timeout);
            int status = r.statusCode();
            if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308) return r;
            String location = r.headers().firstValue("location").orElse(null);
            try {
                r.body().close();
            } catch (IOException ignored) {
                // only draining
            }
            if (location == null) throw new HubException(id + ": the Hub redirected " + uri + " nowhere (" + status + " without Location)");
            uri = uri.resolve(location);
        }
        throw new HubException(id + ": too many redirects from " + uri);
    }

    private HttpResponse<InputStream> sendOnce(HubId id, URI uri, String method, Map<String, String> headers, Duration timeout) throws HubException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).method(method, HttpRequest.BodyPublishers.noBody())
                .timeout(timeout).header("User-Agent", USER_AGENT);
        if (settings.token() != null && sameOrigin(uri, settings.endpoint())) b.header("Authorization", "Bearer " + settings.token());
        headers.forEach(b::header);
        try {
            return http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HubException(id + ": interrupted while talking to the Hub", e);
        } catch (IOException | IllegalArgumentException e) {
            throw unreachable(id, uri, e);
        }
    }

    /** The Hub could not be asked at all (no connection, no name resolution, no answer in time). */
    static final class Unreachable extends HubException {
        Unreachable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private HubException unreachable(HubId id, URI uri, Exception e) {
        return new Unreachable(id + " is not in the Hugging Face cache (" + settings.cacheDir() + ") and the Hub at " + settings.endpoint()
                + " cannot be reached (" + describe(e) + (sameOrigin(uri, settings.endpoint()) ? "" : " at " + uri.getHost()) + "): on a machine with network run `huggingface-cli download "
                + id.repo() + (id.revision().equals(HubId.DEFAULT_REVISION) ? "" : " --revision " + id.revision())
                + "` and copy its cache here (or point HF_HUB_CACHE at it), or give a local directory instead", e);
    }

    /** The message for a refusal: 401, 403 and 404 get their own. */
    private HubException statusError(HubId id, HttpResponse<?> r, String what) {
        int status = r.statusCode();
        String code = r.headers().firstValue("x-error-code").orElse("");
        String page = settings.endpoint() + "/" + id.repo();
        return new HubException(switch (status) {
            case 401 -> settings.token() == null
                    ? id + ": the Hub refused access without a token (401): the model is gated or private, or there is no such model. If it "
                            + "is gated, accept its license on " + page + " and set HF_TOKEN to an access token of that account "
                            + "(huggingface.co/settings/tokens); otherwise check the id (owner/name[@revision]) or give a local directory"
                    : id + ": the Hub refused the token from " + settings.tokenSource() + " (401): the token is invalid or expired, or the "
                            + "model is private to another account or does not exist; check HF_TOKEN and the id";
            case 403 -> id + ": access denied (403): the model is gated and the account of the token from "
                    + (settings.token() == null ? "HF_TOKEN (none set)" : settings.tokenSource()) + " has not been granted it; accept its "
                    + "license on " + page + " (and give a fine-grained token read access to gated repositories)";
            case 404 -> code.equals("RevisionNotFound")
                    ? id + ": the Hub has no revision '" + id.revision() + "' of " + id.repo() + " (404): give an existing branch, tag or commit"
                    : code.equals("EntryNotFound")
                    ? id + ": the Hub has no file " + what + " in " + id.repo() + " (404)"
                    : id + ": no such model on the Hub (404) and no such local directory: check the id (owner/name, optionally @revision) "
                            + "or the path";
            default -> id + ": the Hub answered " + status + " when asked for " + what;
        });
    }

    private URI fileUri(HubId id, String commit, String file) {
        StringBuilder path = new StringBuilder();
        for (String segment : file.split("/")) {
            if (!path.isEmpty()) path.append('/');
            path.append(encode(segment));
        }
        return URI.create(settings.endpoint() + "/" + id.repo() + "/resolve/" + commit + "/" + path);
    }

    private static long contentRangeStart(HttpResponse<?> r) {
        // Content-Range: bytes START-END/TOTAL
        String cr = r.headers().firstValue("content-range").orElse("");
        try {
            String range = cr.strip().substring("bytes ".length());
            return Long.parseLong(range.substring(0, range.indexOf('-')).strip());
        } catch (RuntimeException e) {
            return -1;
        }
    }

    private static boolean sameOrigin(URI a, URI b) {
        return a.getScheme() != null && a.getScheme().equalsIgnoreCase(b.getScheme()) && a.getHost() != null
                && a.getHost().equalsIgnoreCase(b.getHost()) && port(a) == port(b);
    }

    private static int port(URI u) {
        return u.getPort() >= 0 ? u.getPort() : "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    static long size(Path p) throws IOException {
        return Files.exists(p) ? Files.size(p) : 0;
    }

    private static String mb(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f", bytes / 1e6);
    }

    private static void pause(Duration d) throws InterruptedIOException {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        }
    }

    static String describe(Throwable e) {
        if (e == null) return "unknown error";
        if (e instanceof Unreachable && e.getCause() != null) return describe(e.getCause());
        if (e instanceof HttpConnectTimeoutException) return "connection timed out";
        if (e instanceof HttpTimeoutException) return "no answer in time";
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof UnresolvedAddressException || t instanceof java.net.UnknownHostException) return "unknown host";
        }
        if (e instanceof ConnectException) return "connection refused or no route";
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }
}
