package io.higgs4j.trainer.hub;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A Hugging Face Hub for one repository, on 127.0.0.1 at an ephemeral port: the revision API and resolve (LFS files
 * through a redirect to /cdn/SHA256, as the Hub sends them to its storage), Range requests, and faults on demand. It
 * answers at most {@link #MAX_REQUESTS} requests (then 503), so a client looping on it ends.
 */
final class StubHub implements AutoCloseable {

    static final int MAX_REQUESTS = 100;

    record Request(String method, String rawPath, String query, String range, String authorization) {}

    static final class File {
        final String name;
        final byte[] data;
        final boolean lfs;
        final String sha256, blobId;
        String listedSha256;
        long listedSize;
        int cutAfter = -1, stallAfter = -1, failStatus;
        boolean dropOnce;
        long stallMillis;

        File(String name, byte[] data, boolean lfs) {
            this.name = name;
            this.data = data;
            this.lfs = lfs;
            this.sha256 = hex("SHA-256", data, null);
            this.blobId = hex("SHA-1", data, ("blob " + data.length + "\0").getBytes(StandardCharsets.UTF_8));
            this.listedSha256 = sha256;
            this.listedSize = data.length;
        }
    }

    final String repo;
    final String commit;
    final Map<String, String> revisions = new HashMap<>();
    final Map<String, File> files = new LinkedHashMap<>();
    private final List<Request> requests = new ArrayList<>();
    private final AtomicInteger count = new AtomicInteger();
    private final HttpServer server;
    private final ExecutorService executor = Executors.newFixedThreadPool(4);
    int metadataStatus = 200;
    String metadataErrorCode;
    boolean listBlobIds = true;

    StubHub(String repo, String commit) throws IOException {
        this.repo = repo;
        this.commit = commit;
        revisions.put("main", commit);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(executor);
        server.start();
    }

    String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    File add(String name, byte[] data, boolean lfs) {
        File f = new File(name, data, lfs);
        files.put(name, f);
        return f;
    }

    synchronized List<Request> requests() {
        return List.copyOf(requests);
    }

    synchronized List<Request> requestsFor(String pathPart) {
        return requests.stream().filter(r -> r.rawPath().contains(pathPart)).toList();
    }

    boolean overflowed() {
        return count.get() > MAX_REQUESTS;
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String raw = ex.getRequestURI().getRawPath();
            synchronized (this) {
                requests.add(new Request(ex.getRequestMethod(), raw, ex.getRequestURI().getRawQuery(),
                        ex.getRequestHeaders().getFirst("Range"), ex.getRequestHeaders().getFirst("Authorization")));
            }
            if (count.incrementAndGet() > MAX_REQUESTS) {
                send(ex, 503, "too many requests for a test");
                return;
            }
            String api = "/api/models/" + repo + "/revision/", resolve = "/" + repo + "/resolve/";
            if (raw.startsWith(api)) {
                metadata(ex, URLDecoder.decode(raw.substring(api.length()), StandardCharsets.UTF_8));
            } else if (raw.startsWith(resolve)) {
                String rest = raw.substring(resolve.length());
                String rev = rest.substring(0, rest.indexOf('/'));
                File f = files.get(URLDecoder.decode(rest.substring(rest.indexOf('/') + 1), StandardCharsets.UTF_8));
                if (!rev.equals(commit) || f == null) {
                    ex.getResponseHeaders().set("X-Error-Code", "EntryNotFound");
                    send(ex, 404, "Entry not found");
                } else if (f.failStatus != 0) {
                    send(ex, f.failStatus, "refused");
                } else if (f.lfs) {
                    ex.getResponseHeaders().set("Location", "/cdn/" + f.sha256);
                    ex.getResponseHeaders().set("X-Linked-Etag", "\"" + f.sha256 + "\"");
                    ex.sendResponseHeaders(302, -1);
                } else {
                    ex.getResponseHeaders().set("ETag", "\"" + f.blobId + "\"");
                    body(ex, f);
                }
            } else if (raw.startsWith("/cdn/")) {
                String sha = raw.substring("/cdn/".length());
                File f = files.values().stream().filter(x -> x.sha256.equals(sha)).findFirst().orElse(null);
                if (f == null) send(ex, 404, "no such blob");
                else body(ex, f);
            } else {
                send(ex, 404, "not found");
            }
        } catch (IOException e) {
            // the client went away, or a fault cut the connection on purpose
        }
    }

    private void metadata(HttpExchange ex, String revision) throws IOException {
        if (metadataStatus != 200) {
            if (metadataErrorCode != null) ex.getResponseHeaders().set("X-Error-Code", metadataErrorCode);
            send(ex, metadataStatus, "refused");
            return;
        }
        String sha = revision.equals(commit) ? commit : revisions.get(revision);
        if (sha == null) {
            ex.getResponseHeaders().set("X-Error-Code", "RevisionNotFound");
            send(ex, 404, "Invalid rev id: " + revision);
            return;
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("id", repo);
        root.put("sha", sha);
        ArrayNode siblings = root.putArray("siblings");
        for (File f : files.values()) {
            ObjectNode s = siblings.addObject();
            s.put("rfilename", f.name);
            s.put("size", f.listedSize);
            if (listBlobIds) s.put("blobId", f.blobId);
            if (f.lfs) {
                ObjectNode lfs = s.putObject("lfs");
                lfs.put("sha256", f.listedSha256);
                lfs.put("size", f.listedSize);
                lfs.put("pointerSize", 134);
            }
        }
        byte[] body = json.writeValueAsBytes(root);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(200, body.length);
        ex.getResponseBody().write(body);
    }

    /** The file, from the Range start when asked; the faults of a first request (cut, stall) happen once. */
    private void body(HttpExchange ex, File f) throws IOException {
        if (f.dropOnce) {
            f.dropOnce = false;
            throw new IOException("dropped before any answer on purpose");
        }
        int from = 0;
        String range = ex.getRequestHeaders().getFirst("Range");
        if (range != null && range.startsWith("bytes=") && range.endsWith("-")) {
            from = Integer.parseInt(range.substring("bytes=".length(), range.length() - 1));
            if (from >= f.data.length) {
                send(ex, 416, "range not satisfiable");
                return;
            }
            ex.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + (f.data.length - 1) + "/" + f.data.length);
        }
        int length = f.data.length - from;
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.sendResponseHeaders(200, -1);
            return;
        }
        ex.sendResponseHeaders(range != null ? 206 : 200, length);
        OutputStream out = ex.getResponseBody();
        if (f.cutAfter >= 0) {
            int n = f.cutAfter;
            f.cutAfter = -1;
            out.write(f.data, from, n);
            out.flush();
            throw new IOException("cut on purpose"); // closes the exchange with bytes missing: the connection is dropped
        }
        if (f.stallAfter >= 0) {
            int n = f.stallAfter;
            f.stallAfter = -1;
            out.write(f.data, from, n);
            out.flush();
            try {
                Thread.sleep(f.stallMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw new IOException("stalled on purpose");
        }
        out.write(f.data, from, length);
    }

    private static void send(HttpExchange ex, int status, String text) throws IOException {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
    }

    static String hex(String algorithm, byte[] data, byte[] prefix) {
        try {
            MessageDigest md = MessageDigest.getInstance(algorithm);
            if (prefix != null) md.update(prefix);
            return HexFormat.of().formatHex(md.digest(data));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
