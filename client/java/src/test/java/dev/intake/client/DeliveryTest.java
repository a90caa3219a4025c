package dev.intake.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The client's answers to each kind of edge answer, against a scripted in-process HTTP server (the JDK's). */
class DeliveryTest {
    /** What the scripted server answers: status, headers, body; given the request's events. */
    interface Script { Object[] answer(List<Map<String, Object>> events, HttpExchange ex) throws IOException; }

    HttpServer server;
    final List<List<Map<String, Object>>> posts = Collections.synchronizedList(new ArrayList<>());
    final List<String> encodings = Collections.synchronizedList(new ArrayList<>());
    final List<Long> waits = Collections.synchronizedList(new ArrayList<>());
    volatile String streamsBody = null; // null: GET /v1/streams answers 503
    boolean concurrentHandlers; // answer several requests at once (else one after the other)

    String start(Script s) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/v1/streams", ex -> {
            String b = streamsBody;
            reply(ex, b == null ? 503 : 200, Map.of(), b == null ? "" : b);
        });
        server.createContext("/v1/events", ex -> {
            InputStream in = ex.getRequestBody();
            String enc = ex.getRequestHeaders().getFirst("Content-Encoding");
            encodings.add(enc == null ? "" : enc);
            byte[] raw = in.readAllBytes();
            if ("gzip".equals(enc)) raw = new GZIPInputStream(new ByteArrayInputStream(raw)).readAllBytes();
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> evs = (List<Map<String, Object>>) Json.parse(new String(raw, StandardCharsets.UTF_8));
            posts.add(evs);
            Object[] a = s.answer(evs, ex);
            @SuppressWarnings("unchecked")
            Map<String, String> h = (Map<String, String>) a[1];
            reply(ex, (Integer) a[0], h, (String) a[2]);
        });
        if (concurrentHandlers) server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        server.start();
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    static void reply(HttpExchange ex, int code, Map<String, String> headers, String body) throws IOException {
        headers.forEach((k, v) -> ex.getResponseHeaders().add(k, v));
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(code, b.length == 0 ? -1 : b.length);
        if (b.length > 0) ex.getResponseBody().write(b);
        ex.close();
    }

    @AfterEach
    void stop() { if (server != null) server.stop(0); }

    IntakeClient.Builder client(String url) {
        return IntakeClient.builder(url).streamConfigRefresh(null).backoff(Duration.ofMillis(100), Duration.ofSeconds(10))
                .sleeper(waits::add);
    }

    static String id(Map<String, Object> ev) { return Json.str(Json.get(ev.get("meta"), "id")); }

    @Test
    void retryAfterIsHonouredAndTheSameMetaIDIsSentAgain() throws Exception {
        String url = start((evs, ex) -> posts.size() < 3
                ? new Object[] {503, Map.of("Retry-After", "2"), "{\"status\":503,\"message\":\"queue full\"}"}
                : new Object[] {201, Map.of(), ""});
        try (IntakeClient c = client(url).build()) {
            Result r = c.send(Edge.click("example.click", 1)).get(0);
            assertEquals(Result.Status.ACCEPTED, r.status());
            assertEquals(3, r.attempts());
        }
        assertEquals(List.of(2000L, 2000L), waits, "never sooner than Retry-After");
        assertEquals(id(posts.get(0).get(0)), id(posts.get(2).get(0)), "the same meta.id on every attempt");
    }

    @Test
    void backoffIsFullJitterUnderTheExponentialBound() throws Exception {
        try (IntakeClient c = client("http://127.0.0.1:9").build()) {
            for (int attempt = 1; attempt <= 10; attempt++) {
                long bound = Math.min(10_000, 100L << (attempt - 1));
                for (int i = 0; i < 200; i++) {
                    long w = c.backoff(attempt);
                    assertTrue(w >= 0 && w < bound, "attempt " + attempt + ": " + w);
                }
            }
        }
        assertEquals(2000, IntakeClient.parseRetryAfter("2", Instant.now()));
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        assertEquals(30_000, IntakeClient.parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now));
        assertEquals(0, IntakeClient.parseRetryAfter("soon", now));
    }

    @Test
    void onlyTheEventsUnderErrorAreRetriedInvalidOnesNever() throws Exception {
        String url = start((evs, ex) -> {
            if (posts.size() > 1) return new Object[] {201, Map.of(), ""};
            String body = "{\"invalid\":[{\"status\":\"invalid\",\"event\":" + Json.write(evs.get(0))
                    + ",\"context\":{\"errors\":[{\"keyword\":\"type\",\"message\":\"should be string\"}],\"errorsText\":\"'.button' should be string\"}}],"
                    + "\"error\":[{\"status\":\"error\",\"event\":" + Json.write(evs.get(1)) + ",\"context\":{\"message\":\"kafka timeout\"}}]}";
            return new Object[] {207, Map.of(), body};
        });
        try (IntakeClient c = client(url).build()) {
            List<Result> rs = c.send(Edge.click("example.click", 1), Edge.click("example.click", 2), Edge.click("example.click", 3));
            assertEquals(Result.Status.INVALID, rs.get(0).status());
            assertEquals(1, rs.get(0).attempts());
            assertEquals("type", rs.get(0).errors().get(0).get("keyword"));
            assertEquals(Result.Status.ACCEPTED, rs.get(1).status());
            assertEquals(2, rs.get(1).attempts());
            assertEquals(Result.Status.ACCEPTED, rs.get(2).status());
            assertEquals(1, rs.get(2).attempts());
            assertEquals(2, posts.size());
            assertEquals(1, posts.get(1).size(), "only the event under error is sent again");
            assertEquals(rs.get(1).id(), id(posts.get(1).get(0)));
        }
    }

    @Test
    void a413SplitsTheBatchUntilTheCulpritIsAlone() throws Exception {
        String url = start((evs, ex) -> {
            for (Map<String, Object> e : evs) {
                if ("big".equals(Json.get(e.get("page"), "title"))) return new Object[] {413, Map.of(), "{\"status\":413,\"message\":\"too large\"}"};
            }
            return new Object[] {201, Map.of(), ""};
        });
        List<Object> evs = new ArrayList<>();
        for (int i = 0; i < 8; i++) evs.add(Edge.click("example.click", i + 1));
        Map<String, Object> big = Edge.click("example.click", 99);
        big.put("page", Map.of("id", 99, "title", "big"));
        evs.set(5, big);
        try (IntakeClient c = client(url).build()) {
            List<Result> rs = c.send(evs);
            for (int i = 0; i < 8; i++) assertEquals(i == 5 ? Result.Status.INVALID : Result.Status.ACCEPTED, rs.get(i).status(), "event " + i);
            assertEquals(413, rs.get(5).code());
        }
    }

    @Test
    void batchesAreGzippedAboveTheThresholdAndTheQueueIsBounded() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        String url = start((evs, ex) -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            return new Object[] {201, Map.of(), ""};
        });
        try (IntakeClient c = client(url).batch(10, 1 << 20, Duration.ofMillis(1)).queue(20, 1 << 20).gzipAbove(1000).build()) {
            int taken = 0;
            QueueFullException full = null;
            for (int i = 0; i < 100 && full == null; i++) {
                try {
                    c.enqueue(Edge.click("example.click", i + 1));
                    taken++;
                } catch (QueueFullException e) {
                    full = e;
                }
            }
            assertTrue(full != null, "the queue refuses past its bound");
            assertEquals(20, taken);
            assertEquals(1, c.stats().droppedFull());
            release.countDown();
            assertTrue(c.flush(Duration.ofSeconds(10)));
            assertEquals(20, c.stats().accepted());
        }
        assertTrue(encodings.contains("gzip"), "a batch of 10 events is over 1000 bytes: " + encodings);
    }

    /** The "unloaded" rows of the vectors through the client: events wait for the configuration, then are decided by it. */
    @Test
    void eventsWaitForTheStreamConfigurationThenAreDecidedByIt() throws Exception {
        String url = start((evs, ex) -> new Object[] {201, Map.of(), ""});
        try (IntakeClient c = IntakeClient.builder(url).sleeper(ms -> {
            waits.add(ms);
            if (waits.size() == 2) streamsBody = "{\"streams\":{\"example.click\":{},\"never\":{\"sample\":{\"rate\":0,\"unit\":\"session\"}}}}";
        }).build()) {
            List<Result> rs = c.send(Edge.click("example.click", 1), Edge.click("never", 1), Edge.click("nowhere", 1));
            assertEquals(Result.Status.ACCEPTED, rs.get(0).status());
            assertEquals(Result.Status.SAMPLED_OUT, rs.get(1).status());
            assertEquals(Result.Status.SAMPLED_OUT, rs.get(2).status());
            assertTrue(waits.size() >= 2, "the client waited for the configuration");
        }
        // The "off" rows: no configuration by choice sends every event unsampled.
        try (IntakeClient off = client(url).build()) {
            assertEquals(Result.Status.ACCEPTED, off.send(Edge.click("nowhere", 1)).get(0).status());
        }
    }

    /**
     * concurrency(4) posts four batches at once, never more; every event is acknowledged exactly
     * once, and a refused batch is retried with the same meta.ids after the answer's Retry-After.
     */
    @Test
    void concurrencyPostsSeveralBatchesAtOnceAndEachEventOnce() throws Exception {
        concurrentHandlers = true;
        CountDownLatch gate = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger inflight = new java.util.concurrent.atomic.AtomicInteger(), most = new java.util.concurrent.atomic.AtomicInteger();
        Map<String, Integer> accepted = new java.util.HashMap<>();
        java.util.Set<String> answered = new java.util.HashSet<>(); // batches answered, by their first meta.id
        int[] refused = {0, 0}; // requests, events
        String url = start((evs, ex) -> {
            most.accumulateAndGet(inflight.incrementAndGet(), Math::max);
            try {
                gate.await(30, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                throw new IOException(e);
            } finally {
                inflight.decrementAndGet();
            }
            synchronized (accepted) {
                // Every third batch is refused once, its first time.
                if (answered.add(id(evs.get(0))) && answered.size() % 3 == 1) {
                    refused[0]++;
                    refused[1] += evs.size();
                    return new Object[] {503, Map.of("Retry-After", "1"), "{\"status\":503,\"message\":\"busy\"}"};
                }
                for (Map<String, Object> ev : evs) accepted.merge(id(ev), 1, Integer::sum);
            }
            return new Object[] {201, Map.of(), ""};
        });
        List<String> ids = new ArrayList<>();
        IntakeClient c = client(url).concurrency(4).batch(10, 1 << 20, Duration.ofMillis(1)).build();
        for (int i = 0; i < 500; i++) {
            String id = Events.newID();
            ids.add(id);
            c.enqueue(Edge.clickWithID("s", i + 1, id));
        }
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (inflight.get() < 4 && System.nanoTime() < deadline) Thread.sleep(1);
        assertEquals(4, inflight.get(), "requests in flight at once with concurrency(4)");
        gate.countDown();
        assertEquals(0, c.close(Duration.ofSeconds(30)));
        assertEquals(4, most.get(), "never more than 4 requests at once");
        synchronized (accepted) {
            for (String id : ids) assertEquals(1, accepted.getOrDefault(id, 0), "event " + id + " acknowledged once");
        }
        IntakeClient.Stats s = c.stats();
        assertTrue(refused[1] > 0);
        assertEquals(500, s.accepted(), s.toString());
        assertEquals(0, s.failed(), s.toString());
        assertEquals(refused[1], s.retried(), "each refused event retried once: " + s);
        assertEquals(refused[0], waits.size(), "a wait per refused request");
        for (long w : waits) assertTrue(w >= 1000, "waits at least Retry-After: " + w);
        assertThrows(IllegalArgumentException.class, () -> client(url).concurrency(0).build());
    }

    /** With a spool, concurrency changes nothing: one batch at a time, in order. */
    @Test
    void spoolSendsOneBatchAtATimeWhateverTheConcurrency() throws Exception {
        concurrentHandlers = true;
        java.util.concurrent.atomic.AtomicInteger inflight = new java.util.concurrent.atomic.AtomicInteger(), most = new java.util.concurrent.atomic.AtomicInteger();
        String url = start((evs, ex) -> {
            most.accumulateAndGet(inflight.incrementAndGet(), Math::max);
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                throw new IOException(e);
            } finally {
                inflight.decrementAndGet();
            }
            return new Object[] {201, Map.of(), ""};
        });
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("intake-java-spool-");
        List<String> ids = new ArrayList<>();
        try (IntakeClient c = client(url).spool(dir).concurrency(4).batch(10, 1 << 20, Duration.ofMillis(1)).build()) {
            for (int i = 0; i < 200; i++) {
                String id = Events.newID();
                ids.add(id);
                c.enqueue(Edge.clickWithID("s", i + 1, id));
            }
            assertTrue(c.flush(Duration.ofSeconds(30)));
            assertEquals(200, c.stats().accepted());
        }
        assertEquals(1, most.get(), "one request at a time");
        List<String> got = new ArrayList<>();
        synchronized (posts) {
            for (List<Map<String, Object>> p : posts) for (Map<String, Object> ev : p) got.add(id(ev));
        }
        assertEquals(ids, got, "in order, each once");
    }

    /** The spool across segments: in order, segments deleted once acknowledged; a torn tail is cut at open. */
    @Test
    void spoolRotatesSegmentsAndCutsATornTail() throws Exception {
        java.util.concurrent.atomic.AtomicBoolean up = new java.util.concurrent.atomic.AtomicBoolean(false);
        String url = start((evs, ex) -> up.get() ? new Object[] {201, Map.of(), ""} : new Object[] {503, Map.of(), ""});
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("intake-java-spool-");
        List<String> ids = new ArrayList<>();
        try (IntakeClient c = client(url).spool(dir).spoolLimits(1 << 20, 4096).retry(1, Duration.ZERO).build()) {
            for (int i = 0; i < 300; i++) {
                Map<String, Object> ev = Edge.click("example.click", i + 1);
                String id = Events.newID();
                @SuppressWarnings("unchecked")
                Map<String, Object> meta = (Map<String, Object>) ev.get("meta");
                meta.put("id", id);
                ids.add(id);
                c.enqueue(ev);
            }
            assertTrue(c.close(Duration.ofMillis(200)) > 0, "the edge is down: the events stay spooled");
        }
        long segs;
        try (var files = java.nio.file.Files.list(dir)) {
            segs = files.filter(p -> p.toString().endsWith(".seg")).count();
        }
        assertTrue(segs > 5, "300 events of ~200 bytes in 4 KiB segments: " + segs);
        // A writer killed mid-write: half a record at the tail of the last segment.
        java.nio.file.Path last;
        try (var files = java.nio.file.Files.list(dir)) {
            last = files.filter(p -> p.toString().endsWith(".seg")).sorted().reduce((a, b) -> b).get();
        }
        java.nio.file.Files.write(last, new byte[] {100, 0, 0, 0, 1, 2, 3}, java.nio.file.StandardOpenOption.APPEND);

        up.set(true);
        posts.clear();
        try (IntakeClient c = client(url).spool(dir).spoolLimits(1 << 20, 4096).build()) {
            assertEquals(300, c.stats().recovered());
            assertTrue(c.flush(Duration.ofSeconds(10)));
            assertEquals(300, c.stats().accepted());
        }
        List<String> got = new ArrayList<>();
        for (List<Map<String, Object>> p : posts) for (Map<String, Object> e : p) got.add(id(e));
        assertEquals(ids, got, "every event, once, in order");
        try (var files = java.nio.file.Files.list(dir)) {
            assertTrue(files.filter(p -> p.toString().endsWith(".seg")).count() <= 1, "acknowledged segments are deleted");
        }
    }

    @Test
    void closedClientRefusesEvents() throws Exception {
        IntakeClient c = client("http://127.0.0.1:9").build();
        c.close(Duration.ofSeconds(1));
        assertThrows(IllegalStateException.class, () -> c.enqueue(Edge.click("example.click", 1)));
    }
}
