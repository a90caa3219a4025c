package dev.intake.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The spool is the Go client's: a directory the Go client (client/, WithSpool) wrote is sent by
 * this client, and one this client wrote is sent by the Go client, through the program in
 * src/test/go/spoolhandover (make test-java builds it to bin/spoolhandover). Each side also takes
 * over a spool whose cursor the other side moved. Every event arrives in Kafka once, in order.
 */
class SpoolHandoverTest {
    static final int SEGMENT = 16 << 10; // several segments per hand-over
    static Edge edge;

    @BeforeAll
    static void start() throws Exception { edge = new Edge(false); }

    @AfterAll
    static void stop() { if (edge != null) edge.close(); }

    static Path goBin() {
        String p = System.getProperty("spoolhandover.bin");
        Path bin = p != null ? Path.of(p) : Edge.REPO.resolve("bin/spoolhandover");
        if (!Files.isExecutable(bin)) {
            throw new IllegalStateException(bin + " is missing: make test-java builds it (go build in client/java/src/test/go/spoolhandover)");
        }
        return bin;
    }

    static String down() throws IOException { return "http://127.0.0.1:" + Edge.freePort(); } // nothing listens there

    /** The Go client enqueues n events into dir while the edge is down and exits; their meta.ids. */
    static List<String> goWrites(Path dir, int n) throws Exception {
        Process p = new ProcessBuilder(goBin().toString(), "write", dir.toString(), down(), String.valueOf(n), String.valueOf(SEGMENT))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<String> ids = new ArrayList<>();
        String line;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            while ((line = r.readLine()) != null && !line.equals("ENQUEUED")) ids.add(line);
        }
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the Go writer exits");
        assertEquals(0, p.exitValue(), "the Go writer's exit status");
        assertEquals("ENQUEUED", line);
        assertEquals(n, ids.size());
        return ids;
    }

    /** The Go client sends what dir holds to the edge; its "recovered R accepted A failed F left L". */
    static String goSends(Path dir) throws Exception {
        Process p = new ProcessBuilder(goBin().toString(), "send", dir.toString(), edge.url)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(90, TimeUnit.SECONDS), "the Go sender exits");
        assertEquals(0, p.exitValue(), "the Go sender's exit status: " + out);
        return out;
    }

    /** This client enqueues n events into dir while the edge is down and closes, leaving them there. */
    static List<String> jvmWrites(Path dir, int n) throws Exception {
        List<String> ids = new ArrayList<>();
        IntakeClient c = IntakeClient.builder(down()).spool(dir).spoolLimits(1L << 30, SEGMENT)
                .backoff(Duration.ofMillis(50), Duration.ofMillis(200)).build();
        for (int i = 0; i < n; i++) {
            String id = Events.newID();
            ids.add(id);
            c.enqueue(Edge.clickWithID("example.click", i + 1, id));
        }
        assertEquals(n, c.close(Duration.ofMillis(100)), "every event stays in the spool");
        return ids;
    }

    /** This client sends what dir holds; asserts it recovered n events and all were accepted. */
    static void jvmSends(Path dir, int n) throws Exception {
        try (IntakeClient c = IntakeClient.builder(edge.url).spool(dir).backoff(Duration.ofMillis(50), Duration.ofMillis(200)).build()) {
            assertEquals(n, c.stats().recovered(), "events found in the spool");
            assertTrue(c.flush(Duration.ofSeconds(60)), "flushed");
            assertEquals(n, c.stats().accepted(), c.stats().toString());
            assertEquals(0, c.stats().failed(), c.stats().toString());
        }
    }

    /** Every id in Kafka once, in the order given. */
    static void arrivedOnceInOrder(List<String> ids) throws Exception {
        List<String> got = edge.consume("dev.example.click", new HashSet<>(ids), 30_000);
        Map<String, Integer> pos = new HashMap<>();
        Map<String, Integer> count = new HashMap<>();
        for (int i = 0; i < got.size(); i++) {
            pos.putIfAbsent(got.get(i), i);
            count.merge(got.get(i), 1, Integer::sum);
        }
        for (int i = 0; i < ids.size(); i++) {
            assertTrue(pos.containsKey(ids.get(i)), "event " + i + " arrived");
            assertEquals(1, count.get(ids.get(i)), "event " + i + " arrived once");
            if (i > 0) assertTrue(pos.get(ids.get(i - 1)) < pos.get(ids.get(i)), "in order: event " + i);
        }
    }

    static long segments(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".seg")).count();
        }
    }

    @Test
    void goSpoolIsSentByTheJvmClient() throws Exception {
        Path dir = Files.createTempDirectory("intake-java-handover-go-");
        List<String> first = goWrites(dir, 300);
        assertTrue(segments(dir) > 1, "the Go client wrote several segments");
        jvmSends(dir, 300);
        arrivedOnceInOrder(first);
        // The Go client appends after the cursor this client moved; this client sends only those.
        List<String> second = goWrites(dir, 200);
        jvmSends(dir, 200);
        List<String> all = new ArrayList<>(first);
        all.addAll(second);
        arrivedOnceInOrder(all);
        assertEquals("recovered 0 accepted 0 failed 0 left 0", goSends(dir), "the Go client finds nothing left");
    }

    @Test
    void jvmSpoolIsSentByTheGoClient() throws Exception {
        Path dir = Files.createTempDirectory("intake-java-handover-jvm-");
        List<String> first = jvmWrites(dir, 300);
        assertTrue(segments(dir) > 1, "this client wrote several segments");
        assertEquals("recovered 300 accepted 300 failed 0 left 0", goSends(dir));
        arrivedOnceInOrder(first);
        // This client appends after the cursor the Go client moved; the Go client sends only those.
        List<String> second = jvmWrites(dir, 200);
        assertEquals("recovered 200 accepted 200 failed 0 left 0", goSends(dir));
        List<String> all = new ArrayList<>(first);
        all.addAll(second);
        arrivedOnceInOrder(all);
        try (IntakeClient again = IntakeClient.builder(edge.url).spool(dir).build()) {
            assertEquals(0, again.stats().recovered(), "this client finds nothing left");
        }
    }
}
