package dev.intake.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The tests' world: a real intake edge (bin/intake serve) on a free loopback port, producing to its
 * embedded broker, or to a broker of its own process (bin/intake broker) so that the edge can be
 * killed and started again while Kafka keeps its events. Events are read back from Kafka with
 * bin/intake tail, one JSON line each. Every process it starts is ended by {@link #close}.
 */
final class Edge implements AutoCloseable {
    static final Path REPO = Path.of("..", "..").toAbsolutePath().normalize();
    static final String API_KEY = "java-test-key-0123456789abcdef";
    static final String HMAC_SECRET = "java-test-hmac-secret-0123456789abcdef0123456789";

    final Path tmp;
    final int port;
    final String url, broker;
    private final boolean separateBroker;
    private Process edge, brokerProc;
    private final List<Process> others = Collections.synchronizedList(new ArrayList<>());

    static Path bin() {
        String p = System.getProperty("intake.bin");
        Path bin = p != null ? Path.of(p) : REPO.resolve("bin/intake");
        if (!Files.isExecutable(bin)) {
            throw new IllegalStateException(bin + " is missing: run make build (make test-java builds it first)");
        }
        return bin;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Starts an edge; separateBroker: the broker in a process of its own (for restarts of the edge). */
    Edge(boolean separateBroker) throws Exception {
        this.separateBroker = separateBroker;
        tmp = Files.createTempDirectory("intake-java-");
        port = freePort();
        url = "http://127.0.0.1:" + port;
        broker = "127.0.0.1:" + freePort();
        writeConfigs();
        if (separateBroker) {
            brokerProc = spawn("broker", List.of(bin().toString(), "broker", "--addr", broker));
        }
        startEdge();
    }

    private void writeConfigs() throws Exception {
        @SuppressWarnings("unchecked")
        Map<String, Object> doc = (Map<String, Object>) Json.parse(Files.readString(REPO.resolve("client/testdata/stream-config.json")));
        @SuppressWarnings("unchecked")
        Map<String, Object> streams = (Map<String, Object>) doc.get("streams");
        for (Object s : streams.values()) {
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) s;
            m.put("producers", Map.of("intake", Map.of("auth", "none", "allow_debug", true)));
        }
        Map<String, Object> authOnly = new LinkedHashMap<>();
        authOnly.put("schema_title", "example/click");
        authOnly.put("destination_event_service", "intake");
        authOnly.put("topic_prefixes", List.of("dev."));
        authOnly.put("producers", Map.of("intake", Map.of("auth", "required", "allow_debug", true)));
        streams.put("example.click.auth", authOnly);
        Files.writeString(tmp.resolve("streams.json"), Json.write(doc));
        Files.writeString(tmp.resolve("hmac.secret"), HMAC_SECRET);
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(API_KEY.getBytes(StandardCharsets.UTF_8)));
        Files.writeString(tmp.resolve("access.yaml"), String.join("\n",
                "auth:",
                "  api_keys:",
                "    - name: java-test",
                "      sha256: " + sha,
                "      streams: [example.*]",
                "      debug: true",
                "  jwt:",
                "    hmac_secret_file: " + tmp.resolve("hmac.secret"),
                "    issuer: java-test",
                "    audience: intake",
                "    algorithms: [HS256]",
                "    streams_claim: streams",
                "  default_auth: none",
                ""));
    }

    void startEdge() throws Exception {
        List<String> args = new ArrayList<>(List.of(bin().toString(), "serve",
                "--listen", "127.0.0.1:" + port,
                "--schema-base-uri", REPO.resolve("examples/schemas").toString(),
                "--stream-config", tmp.resolve("streams.json").toString(),
                "--access-config", tmp.resolve("access.yaml").toString(),
                "--service-name", "intake",
                "--topic-prefix", "dev.",
                "--error-stream", "intake.error",
                "--config-refresh", "0"));
        if (separateBroker) {
            args.addAll(List.of("--kafka-brokers", broker));
        } else {
            args.addAll(List.of("--embedded-broker-addr", broker));
        }
        edge = spawn("edge", args);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < end) {
            if (!edge.isAlive()) throw new IllegalStateException("the edge exited: " + edge.exitValue() + "; see " + tmp.resolve("edge.log"));
            try {
                HttpURLConnection c = (HttpURLConnection) URI.create(url + "/readyz").toURL().openConnection();
                c.setConnectTimeout(500);
                c.setReadTimeout(1000);
                if (c.getResponseCode() == 200) return;
            } catch (IOException e) {
                // not yet
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("the edge was not ready in 30s; see " + tmp.resolve("edge.log"));
    }

    /** Kills the edge (SIGKILL) and waits for it to end. */
    void killEdge() throws InterruptedException {
        edge.destroyForcibly();
        edge.waitFor(10, TimeUnit.SECONDS);
    }

    private Process spawn(String name, List<String> args) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(args).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(tmp.resolve(name + ".log").toFile()));
        Process p = pb.start();
        others.add(p);
        return p;
    }

    /**
     * Reads topic from its start until every id of want has arrived (or the timeout), then half a
     * second more to catch duplicates; returns the meta.ids in topic order.
     */
    List<String> consume(String topic, Set<String> want, long timeoutMillis) throws Exception {
        Process p = new ProcessBuilder(bin().toString(), "tail", "--kafka-brokers", broker, "--from-beginning", topic)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        others.add(p);
        List<String> ids = Collections.synchronizedList(new ArrayList<>());
        Set<String> missing = Collections.synchronizedSet(new java.util.HashSet<>(want));
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    Object ev;
                    try {
                        ev = Json.parse(line);
                    } catch (IllegalArgumentException e) {
                        continue;
                    }
                    String id = Json.str(Json.get(Json.get(ev, "meta"), "id"));
                    ids.add(id);
                    missing.remove(id);
                }
            } catch (IOException e) {
                // the process was ended
            }
        });
        reader.setDaemon(true);
        reader.start();
        long end = System.currentTimeMillis() + timeoutMillis;
        while (!missing.isEmpty() && System.currentTimeMillis() < end) Thread.sleep(50);
        Thread.sleep(500);
        p.destroy();
        p.waitFor(5, TimeUnit.SECONDS);
        reader.join(2000);
        synchronized (ids) {
            return new ArrayList<>(ids);
        }
    }

    /** An HS256 JWT the edge's jwt config accepts, for streams. */
    static String jwt(List<String> streams) throws Exception {
        java.util.Base64.Encoder b64 = java.util.Base64.getUrlEncoder().withoutPadding();
        String header = b64.encodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8));
        long now = System.currentTimeMillis() / 1000;
        Map<String, Object> claims = new LinkedHashMap<>();
        claims.put("sub", "java-test-token");
        claims.put("iss", "java-test");
        claims.put("aud", "intake");
        claims.put("iat", now);
        claims.put("exp", now + 600);
        claims.put("streams", streams);
        String payload = b64.encodeToString(Json.write(claims).getBytes(StandardCharsets.UTF_8));
        javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
        mac.init(new javax.crypto.spec.SecretKeySpec(HMAC_SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        String sig = b64.encodeToString(mac.doFinal((header + "." + payload).getBytes(StandardCharsets.UTF_8)));
        return header + "." + payload + "." + sig;
    }

    /** A valid example/click event of stream. */
    static Map<String, Object> click(String stream, int page) {
        return Events.newEvent(stream, "/example/click/1.0.0", Map.of("page", Map.of("id", page, "title", "Main Page"), "button", "save"));
    }

    /** click with its meta.id set, so that the test knows what to look for in Kafka. */
    static Map<String, Object> clickWithID(String stream, int page, String id) {
        Map<String, Object> ev = click(stream, page);
        @SuppressWarnings("unchecked")
        Map<String, Object> meta = (Map<String, Object>) ev.get("meta");
        meta.put("id", id);
        return ev;
    }

    String log(String name) {
        try {
            return Files.readString(tmp.resolve(name + ".log"));
        } catch (IOException e) {
            return "";
        }
    }

    @Override
    public void close() {
        synchronized (others) {
            for (Process p : others) p.destroyForcibly();
        }
    }
}
