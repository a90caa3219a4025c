package dev.intake.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Faults: the edge restarted mid-stream; the producer's process killed with events on disk. */
class FaultTest {

    /**
     * The edge is SIGKILLed and started again on its port while events are being enqueued: every
     * event arrives (duplicates are allowed, and counted: an answer lost with the edge).
     */
    @Test
    void edgeRestartedMidStreamLosesNothing() throws Exception {
        try (Edge edge = new Edge(true)) {
            Set<String> ids = new LinkedHashSet<>();
            AtomicLong failed = new AtomicLong();
            try (IntakeClient c = IntakeClient.builder(edge.url).batch(50, 512 << 10, Duration.ofMillis(20))
                    .backoff(Duration.ofMillis(50), Duration.ofMillis(500)).retry(100, Duration.ofSeconds(60))
                    .onError(r -> failed.incrementAndGet()).build()) {
                for (int i = 0; i < 3000; i++) {
                    if (i == 1000) edge.killEdge();
                    if (i == 2000) {
                        // The outage lasts until the client has met it (a retry), however slow the machine.
                        long until = System.nanoTime() + 30_000_000_000L;
                        while (c.stats().retried() == 0 && System.nanoTime() < until) Thread.sleep(10);
                        edge.startEdge();
                    }
                    String id = Events.newID();
                    ids.add(id);
                    c.enqueue(Edge.clickWithID("example.click", i + 1, id));
                    if (i % 100 == 0) Thread.sleep(20); // a producer's pace: the outage falls mid-stream
                }
                assertTrue(c.flush(Duration.ofSeconds(60)), "flushed");
                IntakeClient.Stats s = c.stats();
                assertEquals(0, failed.get(), s.toString());
                assertEquals(3000, s.accepted(), s.toString());
                assertTrue(s.retried() > 0, "the outage made the client retry: " + s);
            }
            List<String> got = edge.consume("dev.example.click", ids, 30_000);
            Set<String> seen = new HashSet<>(got);
            assertTrue(seen.containsAll(ids), "lost " + ids.stream().filter(id -> !seen.contains(id)).count() + " events");
            System.out.printf("edge restarted mid-stream: %d enqueued, %d found, %d duplicates%n", ids.size(), seen.size(), got.size() - seen.size());
        }
    }

    /**
     * A producer JVM enqueues events into its spool while the edge is down, and is killed with
     * SIGKILL; a new client on the same spool sends them, in order, once the edge is up.
     */
    @Test
    void killedProducersSpoolIsSentByTheNextClient() throws Exception {
        try (Edge edge = new Edge(false)) {
            Path spool = Files.createTempDirectory("intake-java-spool-");
            String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            String cp = Path.of("target", "classes").toAbsolutePath() + java.io.File.pathSeparator + Path.of("target", "test-classes").toAbsolutePath();
            String down = "http://127.0.0.1:" + Edge.freePort(); // nothing listens there
            Process child = new ProcessBuilder(javaBin, "-cp", cp, "dev.intake.client.SpoolChild", spool.toString(), down, "500")
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            List<String> ids = new ArrayList<>();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null && !line.equals("ENQUEUED")) ids.add(line);
                assertEquals("ENQUEUED", line, "the child enqueued its events");
            } finally {
                child.destroyForcibly(); // SIGKILL
                child.waitFor(10, TimeUnit.SECONDS);
            }
            assertEquals(500, ids.size());

            try (IntakeClient c = IntakeClient.builder(edge.url).spool(spool).backoff(Duration.ofMillis(50), Duration.ofMillis(200)).build()) {
                assertEquals(500, c.stats().recovered(), "the spool holds every event the killed producer enqueued");
                assertTrue(c.flush(Duration.ofSeconds(30)));
                assertEquals(500, c.stats().accepted(), c.stats().toString());
            }
            List<String> got = edge.consume("dev.example.click", new HashSet<>(ids), 30_000);
            Map<String, Integer> pos = new HashMap<>();
            for (int i = 0; i < got.size(); i++) pos.putIfAbsent(got.get(i), i);
            for (int i = 0; i < ids.size(); i++) assertTrue(pos.containsKey(ids.get(i)), "event " + i + " arrived");
            for (int i = 1; i < ids.size(); i++) {
                assertTrue(pos.get(ids.get(i - 1)) < pos.get(ids.get(i)), "in order: event " + i);
            }
            // Sent once: the next client finds nothing left.
            try (IntakeClient again = IntakeClient.builder(edge.url).spool(spool).build()) {
                assertEquals(0, again.stats().recovered());
            }
        }
    }
}
