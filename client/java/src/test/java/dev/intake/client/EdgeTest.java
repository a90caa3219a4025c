package dev.intake.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The client against a real edge (bin/intake serve, embedded broker), read back from Kafka by meta.id. */
class EdgeTest {
    static Edge edge;

    @BeforeAll
    static void start() throws Exception { edge = new Edge(false); }

    @AfterAll
    static void stop() { if (edge != null) edge.close(); }

    static IntakeClient.Builder client() {
        return IntakeClient.builder(edge.url).backoff(Duration.ofMillis(20), Duration.ofMillis(200));
    }

    @Test
    void enqueueDeliversEveryEventOnce() throws Exception {
        ConcurrentLinkedQueue<Result> results = new ConcurrentLinkedQueue<>();
        Set<String> ids = new HashSet<>();
        try (IntakeClient c = client().batch(100, 512 << 10, Duration.ofMillis(50)).gzipAbove(4096).onResult(results::add).build()) {
            for (int i = 0; i < 2000; i++) {
                String id = Events.newID();
                ids.add(id);
                c.enqueue(Edge.clickWithID("example.click", i + 1, id));
            }
            assertTrue(c.flush(Duration.ofSeconds(30)));
            IntakeClient.Stats s = c.stats();
            assertEquals(2000, s.accepted(), s.toString());
            assertEquals(0, s.failed());
            assertTrue(s.requests() >= 20, "batched by count: " + s);
        }
        assertEquals(2000, results.size());
        for (Result r : results) assertEquals(Result.Status.ACCEPTED, r.status());
        List<String> got = edge.consume("dev.example.click", ids, 30_000);
        assertTrue(got.containsAll(ids), "every enqueued event is in Kafka");
        assertEquals(new HashSet<>(got).size(), got.size(), "no duplicates");
    }

    /** Several sender threads (concurrency(4)): every event arrives once, whatever the order of the batches. */
    @Test
    void concurrentSendersDeliverEveryEventOnce() throws Exception {
        Set<String> ids = new HashSet<>();
        try (IntakeClient c = client().concurrency(4).batch(25, 512 << 10, Duration.ofMillis(5)).build()) {
            for (int i = 0; i < 3000; i++) {
                String id = Events.newID();
                ids.add(id);
                c.enqueue(Edge.clickWithID("example.click", i + 1, id));
            }
            assertTrue(c.flush(Duration.ofSeconds(60)));
            IntakeClient.Stats s = c.stats();
            assertEquals(3000, s.accepted(), s.toString());
            assertEquals(0, s.failed(), s.toString());
        }
        List<String> got = edge.consume("dev.example.click", ids, 30_000);
        Map<String, Integer> count = new java.util.HashMap<>();
        for (String id : got) if (ids.contains(id)) count.merge(id, 1, Integer::sum);
        assertEquals(3000, count.size(), "every enqueued event is in Kafka");
        for (Map.Entry<String, Integer> e : count.entrySet()) assertEquals(1, e.getValue(), "event " + e.getKey() + " once");
    }

    @Test
    void metaIDIsSetBeforeTheFirstAttemptAndTheCallersEventIsUntouched() throws Exception {
        Map<String, Object> ev = Edge.click("example.click", 7);
        Map<String, Object> copy = new LinkedHashMap<>(ev);
        try (IntakeClient c = client().build()) {
            List<Result> rs = c.send(ev);
            Result r = rs.get(0);
            assertEquals(Result.Status.ACCEPTED, r.status(), r.toString());
            assertEquals(36, r.id().length());
            assertEquals(1, r.attempts());
            assertFalse(((Map<?, ?>) ev.get("meta")).containsKey("id"), "the caller's map is not modified");
            assertEquals(copy, ev);
            assertTrue(edge.consume("dev.example.click", Set.of(r.id()), 20_000).contains(r.id()));
        }
    }

    @Test
    void invalidEventsAreReportedAndNeverRetried() throws Exception {
        String good1 = Events.newID(), bad = Events.newID(), good2 = Events.newID();
        Map<String, Object> invalid = Edge.clickWithID("example.click", 2, bad);
        invalid.put("button", 42); // the schema wants a string
        ConcurrentLinkedQueue<Result> errors = new ConcurrentLinkedQueue<>();
        try (IntakeClient c = client().onError(errors::add).build()) {
            List<Result> rs = c.send(Edge.clickWithID("example.click", 1, good1), invalid, Edge.clickWithID("example.click", 3, good2));
            assertEquals(Result.Status.ACCEPTED, rs.get(0).status());
            assertEquals(Result.Status.INVALID, rs.get(1).status(), rs.get(1).toString());
            assertEquals(Result.Status.ACCEPTED, rs.get(2).status());
            assertEquals(207, rs.get(1).code());
            assertEquals(1, rs.get(1).attempts(), "an invalid event is posted once");
            assertNotNull(rs.get(1).errors());
            assertFalse(rs.get(1).errors().isEmpty());
            assertTrue(rs.get(1).error().contains("button"), rs.get(1).error());
            IntakeClient.Stats s = c.stats();
            assertEquals(1, s.requests());
            assertEquals(0, s.retried());

            // The same through enqueue: reported to onError, never retried.
            c.enqueue(invalid);
            assertTrue(c.flush(Duration.ofSeconds(10)));
            assertEquals(1, errors.size());
            assertEquals(Result.Status.INVALID, errors.peek().status());
            assertEquals(0, c.stats().retried());
        }
        List<String> got = edge.consume("dev.example.click", Set.of(good1, good2), 20_000);
        assertTrue(got.contains(good1) && got.contains(good2));
        assertFalse(got.contains(bad));
    }

    @Test
    void developerModeShowsTheVerdictAndWhyAnEventIsNotSent() throws Exception {
        try (IntakeClient c = client().apiKey(Edge.API_KEY).developerMode(true).build()) {
            List<Result> rs = c.send(Edge.click("example.click", 5));
            Result r = rs.get(0);
            assertEquals(Result.Status.ACCEPTED, r.status(), r.toString());
            assertEquals("dev.example.click", r.topic());
            assertTrue(r.event().contains("\"dt\""), r.event());
            // Out of sample (rate 0) is sent in developer mode.
            Result never = c.send(Edge.click("example.click.never", 5)).get(0);
            assertEquals(Result.Status.ACCEPTED, never.status(), never.toString());
            // A stream not in the configuration is not sent, and enqueue says why.
            SendException e = assertThrows(SendException.class, () -> c.enqueue(Edge.click("nowhere.click", 1)));
            assertTrue(e.getMessage().contains("is not in the stream configuration"), e.getMessage());
            // An invalid event: enqueue throws with the edge's errors.
            Map<String, Object> invalid = Edge.click("example.click", 1);
            invalid.put("button", 42);
            SendException inv = assertThrows(SendException.class, () -> c.enqueue(invalid));
            assertEquals(Result.Status.INVALID, inv.results().get(0).status());
            assertFalse(inv.results().get(0).errors().isEmpty());
        }
    }

    @Test
    void samplingByTheEdgesStreamConfig() throws Exception {
        try (IntakeClient c = client().build()) {
            List<Result> rs = c.send(Edge.click("example.click", 1), Edge.click("example.click.never", 1),
                    Edge.click("example.click.badsample", 1), Edge.click("nowhere.click", 1));
            assertEquals(Result.Status.ACCEPTED, rs.get(0).status());
            assertEquals(Result.Status.SAMPLED_OUT, rs.get(1).status());
            assertNull(rs.get(1).error(), "out of sample is not an error");
            assertEquals(Result.Status.SAMPLED_OUT, rs.get(2).status());
            assertTrue(rs.get(2).error().contains("sample setting is invalid"), rs.get(2).error());
            assertEquals(Result.Status.SAMPLED_OUT, rs.get(3).status());
            assertTrue(rs.get(3).error().contains("not in the stream configuration"), rs.get(3).error());
            IntakeClient.Stats s = c.stats();
            assertEquals(1, s.requests(), "only the sampled-in event is posted");
            assertEquals(1, s.notConfigured());
            assertEquals(1, s.sampleInvalid());
        }
    }

    @Test
    void apiKeyAndTokenAuth() throws Exception {
        try (IntakeClient anon = client().build()) {
            Result r = anon.send(Edge.click("example.click.auth", 1)).get(0);
            assertEquals(Result.Status.INVALID, r.status(), "refused: the stream requires a credential: " + r);
            assertEquals(403, r.code());
        }
        try (IntakeClient key = client().apiKey(Edge.API_KEY).build()) {
            Result r = key.send(Edge.click("example.click.auth", 1)).get(0);
            assertEquals(Result.Status.ACCEPTED, r.status(), r.toString());
        }
        String token = Edge.jwt(List.of("example.*"));
        try (IntakeClient tok = client().tokenSource(() -> token).build()) {
            Result r = tok.send(Edge.click("example.click.auth", 1)).get(0);
            assertEquals(Result.Status.ACCEPTED, r.status(), r.toString());
        }
        try (IntakeClient wrong = client().apiKey("not-a-key").streamConfigRefresh(null).build()) {
            Result r = wrong.send(Edge.click("example.click", 1)).get(0);
            assertEquals(Result.Status.FAILED, r.status());
            assertEquals(401, r.code());
            assertEquals(1, r.attempts(), "401 is not retried");
        }
    }

    @Test
    void eventsFromJSONStrings() throws Exception {
        List<Object> evs = new ArrayList<>();
        evs.add("{\"$schema\":\"/example/click/1.0.0\",\"meta\":{\"stream\":\"example.click\"},\"page\":{\"id\":9007199254740993,\"title\":\"Big\"},\"button\":\"save\"}");
        try (IntakeClient c = client().apiKey(Edge.API_KEY).developerMode(true).build()) {
            Result r = c.send(evs).get(0);
            assertEquals(Result.Status.ACCEPTED, r.status(), r.toString());
            assertTrue(r.event().contains("9007199254740993"), "numbers reach the edge as written: " + r.event());
        }
    }
}
