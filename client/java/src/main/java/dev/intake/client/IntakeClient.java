package dev.intake.client;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.zip.Deflater;

/**
 * Produces events to an intake edge (or any EventGate-compatible one). Thread-safe. Close it to
 * send what is queued and stop its threads.
 *
 * <ul>
 *   <li>{@link #send} posts events and waits for the edge's verdict on each (a {@link Result} per event).</li>
 *   <li>{@link #enqueue} hands an event to a bounded background queue (or an on-disk spool) and returns
 *       at once; a sender thread (or concurrency(n) of them) posts batches (by count, bytes and time; gzipped above a size),
 *       synchronously, retried with exponential backoff and full jitter, never sooner than Retry-After.</li>
 *   <li>Every event gets a meta.id before its first attempt; events are sampled by the stream
 *       configuration the edge serves (GET /v1/streams), by the rule all intake clients share.</li>
 * </ul>
 */
public final class IntakeClient implements AutoCloseable {
    static final String VERSION = "0.1.0";
    private static final Logger LOG = Logger.getLogger("dev.intake.client");

    final Builder cfg;
    private final String base, eventsURL, debugURL, userAgent;
    private final HttpClient http;
    private final AtomicReference<Units> units = new AtomicReference<>();
    private final AtomicReference<Sampling.StreamConfig> streams = new AtomicReference<>();
    private final Object fetchMu = new Object();
    private final Spool spool;

    // The queue (memory or spool), guarded by lock.
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    private final Condition empty = lock.newCondition();
    private final ArrayDeque<Rec> mem = new ArrayDeque<>();
    private long waiting, waitingBytes, inflight, inflightBytes, oldestNanos;
    private int flushes;
    private boolean closing;
    private volatile boolean stopped; // close gave up: in-flight posts abort

    private final Thread[] senders;
    private final Thread poller;
    private final AtomicLong enqueued = new AtomicLong(), requests = new AtomicLong(), sent = new AtomicLong(), retried = new AtomicLong(),
            accepted = new AtomicLong(), invalid = new AtomicLong(), failed = new AtomicLong(), droppedFull = new AtomicLong(),
            sampledOut = new AtomicLong(), notConfigured = new AtomicLong(), sampleInvalid = new AtomicLong(), spooled = new AtomicLong(),
            recovered = new AtomicLong();
    private final Map<String, Long> throttled = new HashMap<>();

    /** Waits between attempts; tests replace it to see the waits without waiting. */
    interface Sleeper { void sleep(long millis) throws InterruptedException; }

    /** A builder of a client of the edge at url (its base, e.g. "https://intake.example.org", or its ".../v1/events" URL). */
    public static Builder builder(String url) { return new Builder(url); }

    /** Options; every one has a default that works. */
    public static final class Builder {
        private final String url;
        String apiKey;
        Supplier<String> tokenSource;
        final Map<String, String> headers = new LinkedHashMap<>();
        String userAgent;
        Duration requestTimeout = Duration.ofSeconds(30);
        int maxAttempts = 10;
        Duration maxElapsed = Duration.ofMinutes(1);
        Duration backoffBase = Duration.ofMillis(100), backoffMax = Duration.ofSeconds(10);
        int batchEvents = 500;
        long batchBytes = 512 << 10;
        Duration flushInterval = Duration.ofMillis(500);
        long queueEvents = 20000, queueBytes = 32 << 20;
        int maxEventBytes = 4 << 20;
        int gzipAbove = 8 << 10;
        int concurrency = 1;
        Path spoolDir;
        Duration spoolFsync = Duration.ofSeconds(1);
        boolean spoolFsyncNever;
        long spoolMaxBytes = 1L << 30, spoolSegmentBytes = 16 << 20;
        boolean developerMode;
        Duration streamConfigRefresh = Duration.ofMinutes(1);
        List<String> streamConfigStreams = List.of();
        Units units;
        String defaultStream, defaultSchema;
        boolean fillDT = true;
        Consumer<Result> onResult, onError;
        HttpClient httpClient;
        Sleeper sleeper = Thread::sleep;

        private Builder(String url) { this.url = url; }

        /** Authorization: Bearer key. */
        public Builder apiKey(String key) { apiKey = key; return this; }
        /** Called before every request (a JWT, say; caching is yours); wins over the API key; an exception fails that attempt (retried). */
        public Builder tokenSource(Supplier<String> s) { tokenSource = s; return this; }
        /** An extra header on every request. */
        public Builder header(String name, String value) { headers.put(name, value); return this; }
        /** User-Agent: product intake-java-client/version. */
        public Builder userAgent(String product) { userAgent = product; return this; }
        /** One POST, answer included (30s). */
        public Builder requestTimeout(Duration d) { requestTimeout = d; return this; }
        /** Bounds per batch: attempts (10) and time (1 minute; zero: no time bound). With a spool, failed events stay spooled and are tried again. */
        public Builder retry(int attempts, Duration maxElapsed) { maxAttempts = attempts; this.maxElapsed = maxElapsed; return this; }
        /** Exponential backoff with full jitter: base (100ms) doubling up to max (10s). */
        public Builder backoff(Duration base, Duration max) { backoffBase = base; backoffMax = max; return this; }
        /** When the sender posts: this many events (500), bytes (512 KiB), or the oldest waited this long (500ms). send splits by the same counts. */
        public Builder batch(int events, long bytes, Duration interval) { batchEvents = events; batchBytes = bytes; flushInterval = interval; return this; }
        /** The memory queue's bound (20000 events, 32 MiB), batches in flight included. */
        public Builder queue(long events, long bytes) { queueEvents = events; queueBytes = bytes; return this; }
        /** Larger events are refused by send and enqueue (4 MiB). */
        public Builder maxEventBytes(int n) { maxEventBytes = n; return this; }
        /** Gzip bodies of at least this many bytes (8 KiB); negative: never. */
        public Builder gzipAbove(int bytes) { gzipAbove = bytes; return this; }
        /**
         * How many batches the background sender posts at once (1): that many sender threads. Above 1,
         * batches may reach the edge, and Kafka, out of order (events within a batch keep theirs), and
         * onResult/onError are called from several threads at once. A spool always sends one batch
         * at a time, in order.
         */
        public Builder concurrency(int n) { concurrency = n; return this; }
        /** The on-disk queue: events are on disk before enqueue returns and leave once the edge answered for them. */
        public Builder spool(Path dir) { spoolDir = dir; return this; }
        /** Background fsync at most every interval (1s); zero: before each enqueue returns; null: never. */
        public Builder spoolFsync(Duration every) { spoolFsync = every; spoolFsyncNever = every == null; return this; }
        /** The spool's bound (1 GiB: QueueFullException past it) and segment file size (16 MiB). */
        public Builder spoolLimits(long maxBytes, long segmentBytes) { spoolMaxBytes = maxBytes; spoolSegmentBytes = segmentBytes; return this; }
        /** Every event posted at once with ?debug=true (out of sample too); enqueue returns the verdict. */
        public Builder developerMode(boolean on) { developerMode = on; return this; }
        /** How often GET /v1/streams is fetched again (1 minute); null: never, and without a configuration every event is sent unsampled. */
        public Builder streamConfigRefresh(Duration every) { streamConfigRefresh = every; return this; }
        /** The ?streams= filter of that fetch: events of streams it leaves out are not sent. */
        public Builder streamConfigStreams(List<String> names) { streamConfigStreams = List.copyOf(names); return this; }
        /** The sampling unit ids of this process (random 20 hex digits each by default). */
        public Builder units(Units u) { units = u; return this; }
        /** meta.stream and $schema of events that lack them. */
        public Builder defaults(String stream, String schemaURI) { defaultStream = stream; defaultSchema = schemaURI; return this; }
        /** Set dt (RFC 3339 UTC, milliseconds) on events without one (true). */
        public Builder fillDT(boolean on) { fillDT = on; return this; }
        /** Every enqueued event's outcome. */
        public Builder onResult(Consumer<Result> f) { onResult = f; return this; }
        /** Enqueued events that were invalid, failed, or not sent because of the stream configuration. */
        public Builder onError(Consumer<Result> f) { onError = f; return this; }
        /** A custom java.net.http.HttpClient (proxies, TLS). */
        public Builder httpClient(HttpClient c) { httpClient = c; return this; }
        Builder sleeper(Sleeper s) { sleeper = s; return this; }

        /** Starts the client: its sender, its stream config poller, and its spool (sending what an earlier client left there first). */
        public IntakeClient build() throws IOException { return new IntakeClient(this); }
    }

    private IntakeClient(Builder b) throws IOException {
        cfg = b;
        URI u;
        try {
            u = URI.create(b.url);
        } catch (IllegalArgumentException e) {
            u = null;
        }
        if (u == null || !("http".equals(u.getScheme()) || "https".equals(u.getScheme())) || u.getHost() == null) {
            throw new IllegalArgumentException("intake client: \"" + b.url + "\" is not the http(s) URL of an intake edge");
        }
        String path = u.getRawPath() == null ? "" : u.getRawPath();
        while (path.endsWith("/")) path = path.substring(0, path.length() - 1);
        if (path.endsWith("/v1/events")) path = path.substring(0, path.length() - "/v1/events".length());
        base = u.getScheme() + "://" + u.getRawAuthority() + path;
        eventsURL = base + "/v1/events";
        debugURL = base + "/v1/events?debug=true";
        userAgent = (b.userAgent != null ? b.userAgent + " " : "") + "intake-java-client/" + VERSION;
        if (b.batchEvents < 1 || b.batchBytes < 1 || b.maxAttempts < 1 || b.queueEvents < 1) {
            throw new IllegalArgumentException("intake client: batch, queue and retry bounds must be at least 1");
        }
        if (b.concurrency < 1) throw new IllegalArgumentException("intake client: concurrency(" + b.concurrency + "): want at least 1");
        http = b.httpClient != null ? b.httpClient
                : HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(b.requestTimeout).build();
        units.set(Units.random().with(b.units));
        if (b.spoolDir != null) {
            long fsync = b.spoolFsyncNever ? -1 : b.spoolFsync.toMillis();
            spool = new Spool(b.spoolDir, b.spoolMaxBytes, b.spoolSegmentBytes, fsync);
            recovered.set(spool.recovered);
            waiting = spool.recovered;
            waitingBytes = spool.recoveredBytes;
            if (waiting > 0) oldestNanos = System.nanoTime() - b.flushInterval.toNanos(); // a backlog goes out at once
        } else {
            spool = null;
        }
        // A spool is read, and its cursor moved, by one sender: one batch at a time, in order.
        senders = new Thread[spool != null ? 1 : b.concurrency];
        for (int i = 0; i < senders.length; i++) {
            senders[i] = new Thread(this::runSender, senders.length == 1 ? "intake-sender" : "intake-sender-" + (i + 1));
            senders[i].setDaemon(true);
            senders[i].start();
        }
        if (b.streamConfigRefresh != null) {
            poller = new Thread(this::pollStreams, "intake-stream-config");
            poller.setDaemon(true);
            poller.start();
        } else {
            poller = null;
        }
    }

    // ---------------------------------------------------------------- preparing events

    /**
     * Turns an event (a Map, a JSON object as a String or UTF-8 bytes, or a UnitEvent wrapping
     * one) into its JSON with meta.id (and the defaults and dt), never touching the caller's value.
     */
    @SuppressWarnings("unchecked")
    Rec prepare(Object ev) {
        Units evUnits = null;
        if (ev instanceof UnitEvent) {
            evUnits = ((UnitEvent) ev).units();
            ev = ((UnitEvent) ev).event();
        }
        String text = null;
        Map<String, Object> m = null;
        Json.EventInfo info;
        if (ev instanceof Map) {
            m = (Map<String, Object>) ev;
            info = new Json.EventInfo();
            info.topEmpty = m.isEmpty();
            info.hasSchema = m.containsKey("$schema");
            info.hasDT = m.containsKey("dt");
            info.hasMeta = m.containsKey("meta");
            Object meta = m.get("meta");
            if (meta instanceof Map) {
                Map<String, Object> mm = (Map<String, Object>) meta;
                info.metaIsObject = true;
                info.metaEmpty = mm.isEmpty();
                info.metaHasID = mm.containsKey("id");
                info.metaHasStream = mm.containsKey("stream");
                info.metaID = mm.get("id") instanceof String ? (String) mm.get("id") : null;
                info.metaStream = mm.get("stream") instanceof String ? (String) mm.get("stream") : null;
            }
        } else if (ev instanceof String || ev instanceof byte[]) {
            text = ev instanceof String ? (String) ev : new String((byte[]) ev, StandardCharsets.UTF_8);
            info = Json.scanEvent(text); // checks it is a JSON object; the event is then patched as text, its bytes kept
        } else {
            throw new IllegalArgumentException("intake client: an event must be a Map, a JSON object as a String or byte[], or a UnitEvent; not " + (ev == null ? "null" : ev.getClass().getName()));
        }
        // What the event lacks: meta.id (always), meta.stream and $schema (defaults), dt (fillDT).
        boolean hasMeta = info.hasMeta;
        String id = null, stream = null, addID = null, addStream = null;
        if (!hasMeta || info.metaIsObject) {
            if (info.metaID != null) {
                id = info.metaID;
            } else if (!info.metaHasID) {
                id = addID = Events.newID();
            }
            if (info.metaStream != null) {
                stream = info.metaStream;
            } else if (!info.metaHasStream && cfg.defaultStream != null) {
                stream = addStream = cfg.defaultStream;
            }
        } // else: meta is not an object; the edge will say so, and there is no id to give it
        String addSchema = !info.hasSchema ? cfg.defaultSchema : null;
        String addDT = !info.hasDT && cfg.fillDT ? Events.formatDT(Instant.now()) : null;

        // The members to add, as JSON: inMeta inside meta (or in a new meta), atEnd at the end.
        StringBuilder inMeta = null, atEnd = null;
        if (addStream != null) {
            inMeta = new StringBuilder(64);
            if (addID != null) inMeta.append("\"id\":\"").append(addID).append("\",");
            inMeta.append("\"stream\":");
            Json.quote(inMeta, addStream);
        }
        String inMetaText = inMeta != null ? inMeta.toString() : addID != null ? "\"id\":\"" + addID + '"' : null;
        if (!hasMeta && inMetaText != null || addSchema != null || addDT != null) {
            atEnd = new StringBuilder(128);
            if (!hasMeta && inMetaText != null) atEnd.append("\"meta\":{").append(inMetaText).append('}');
            if (addSchema != null) {
                if (atEnd.length() > 0) atEnd.append(',');
                atEnd.append("\"$schema\":");
                Json.quote(atEnd, addSchema);
            }
            if (addDT != null) {
                if (atEnd.length() > 0) atEnd.append(',');
                atEnd.append("\"dt\":\"").append(addDT).append('"');
            }
        }
        byte[] raw;
        if (text != null) {
            // The producer's bytes with the members inserted, nothing else rewritten, copied once.
            byte[] src = text.getBytes(StandardCharsets.UTF_8);
            boolean oneByteChars = src.length == text.length(); // offsets in text are offsets in src
            int metaOpen = hasMeta && inMetaText != null ? info.metaStart + 1 : -1; // just after meta's '{'
            byte[] ins = inMetaText != null && metaOpen >= 0 ? inMetaText.getBytes(StandardCharsets.UTF_8) : null;
            byte[] end = atEnd != null ? atEnd.toString().getBytes(StandardCharsets.UTF_8) : null;
            int closing = utf8Offset(text, info.end, oneByteChars);
            int n = src.length;
            if (ins != null) n += ins.length + (info.metaEmpty ? 0 : 1);
            if (end != null) n += end.length + (info.topEmpty ? 0 : 1);
            raw = new byte[n];
            int at = 0, from = 0;
            if (ins != null) {
                int mo = utf8Offset(text, metaOpen, oneByteChars);
                System.arraycopy(src, 0, raw, 0, mo);
                at = mo;
                System.arraycopy(ins, 0, raw, at, ins.length);
                at += ins.length;
                if (!info.metaEmpty) raw[at++] = ',';
                from = mo;
            }
            System.arraycopy(src, from, raw, at, closing - from);
            at += closing - from;
            if (end != null) {
                if (!info.topEmpty) raw[at++] = ',';
                System.arraycopy(end, 0, raw, at, end.length);
                at += end.length;
            }
            System.arraycopy(src, closing, raw, at, src.length - closing);
        } else {
            // A map: written with the members added, the caller's map untouched.
            StringBuilder out = new StringBuilder(256);
            out.append('{');
            boolean first = true;
            for (Map.Entry<String, Object> e : m.entrySet()) {
                if (!first) out.append(',');
                first = false;
                Json.quote(out, String.valueOf(e.getKey()));
                out.append(':');
                if ("meta".equals(e.getKey()) && inMetaText != null) {
                    out.append('{').append(inMetaText);
                    for (Map.Entry<String, Object> me : ((Map<String, Object>) e.getValue()).entrySet()) {
                        out.append(',');
                        Json.quote(out, String.valueOf(me.getKey()));
                        out.append(':');
                        Json.write(out, me.getValue());
                    }
                    out.append('}');
                } else {
                    Json.write(out, e.getValue());
                }
            }
            if (atEnd != null) {
                if (!first) out.append(',');
                out.append(atEnd);
            }
            out.append('}');
            raw = out.toString().getBytes(StandardCharsets.UTF_8);
        }
        if (raw.length > cfg.maxEventBytes) {
            throw new IllegalArgumentException("intake client: the event is too large: " + raw.length + " bytes, more than " + cfg.maxEventBytes + " (maxEventBytes)");
        }
        return new Rec(id == null ? "" : id, stream == null ? "" : stream, raw, evUnits);
    }

    /** The UTF-8 offset of text's char offset i (the same when every char took one byte). */
    private static int utf8Offset(String text, int i, boolean oneByteChars) {
        return oneByteChars ? i : text.substring(0, i).getBytes(StandardCharsets.UTF_8).length;
    }

    private Units unitsOf(Units ev) {
        Units u = units.get();
        return ev == null || ev.isEmpty() ? u : u.with(ev);
    }

    /** The sampling verdict now; NO_CONFIG when the configuration is not loaded yet. */
    private Sampling.Verdict sample(Rec r) {
        Sampling.StreamConfig sc = streams.get();
        if (sc == null) return cfg.streamConfigRefresh == null ? Sampling.Verdict.SEND : Sampling.Verdict.NO_CONFIG;
        return sc.decide(r.stream, unitsOf(r.units), cfg.developerMode);
    }

    // ---------------------------------------------------------------- send

    /** The events' results, one per event in order; sampled-out events are not sent. Does not use the queue nor the spool. */
    public List<Result> send(List<?> events) {
        if (isClosed()) throw new IllegalStateException("intake client: closed");
        Item[] items = new Item[events.size()];
        List<Item> toSend = new ArrayList<>();
        Sampling.StreamConfig sc = null;
        String scErr = null;
        for (int i = 0; i < items.length; i++) {
            Rec r;
            try {
                r = prepare(events.get(i));
            } catch (IllegalArgumentException e) {
                items[i] = new Item(new Rec("", "", new byte[0], null), i);
                items[i].status = Result.Status.INVALID;
                items[i].err = e.getMessage();
                continue;
            }
            Item it = new Item(r, i);
            items[i] = it;
            Sampling.Verdict v = sample(r);
            if (v == Sampling.Verdict.NO_CONFIG) {
                if (sc == null && scErr == null) {
                    try {
                        sc = awaitStreams(false);
                    } catch (IOException e) {
                        scErr = e.getMessage();
                    }
                }
                if (scErr != null) {
                    it.status = Result.Status.FAILED;
                    it.err = scErr;
                    continue;
                }
                v = sc.decide(r.stream, unitsOf(r.units), cfg.developerMode);
            }
            if (v == Sampling.Verdict.SEND) {
                toSend.add(it);
            } else {
                it.status = Result.Status.SAMPLED_OUT;
                Sampling.StreamConfig cur = streams.get();
                it.err = cur == null ? null : cur.reason(r.stream, v);
            }
        }
        int at = 0;
        while (at < toSend.size()) {
            int n = 0;
            long bytes = 0;
            while (at + n < toSend.size() && n < cfg.batchEvents) {
                long size = toSend.get(at + n).rec.raw.length;
                if (n > 0 && bytes + size > cfg.batchBytes) break;
                bytes += size;
                n++;
            }
            deliver(toSend.subList(at, at + n), cfg.developerMode);
            at += n;
        }
        List<Result> out = new ArrayList<>(items.length);
        for (Item it : items) {
            Result r = it.result();
            count(r);
            out.add(r);
        }
        return out;
    }

    /** send of these events. */
    public List<Result> send(Object... events) { return send(List.of(events)); }

    // ---------------------------------------------------------------- enqueue and the sender

    /**
     * Queues an event for the background sender and returns at once. Throws {@link QueueFullException}
     * when the queue (or spool) is full, IllegalStateException after close, IllegalArgumentException
     * when the event is not a JSON object. An event the stream configuration keeps out is dropped here
     * (counted, reported to onResult/onError). With a spool, the event is on disk when enqueue returns.
     * In developer mode enqueue is send: it throws {@link SendException} when the event was not
     * accepted, saying why.
     */
    public void enqueue(Object event) throws IOException {
        if (isClosed()) throw new IllegalStateException("intake client: closed");
        if (cfg.developerMode) {
            List<Result> rs = send(List.of(event));
            enqueued.incrementAndGet();
            Result r = rs.get(0);
            callbacks(r);
            if (r.status() != Result.Status.ACCEPTED && !(r.status() == Result.Status.SAMPLED_OUT && r.error() == null)) {
                throw new SendException("intake client: event " + r.id() + " " + r.status() + ": " + r.error(), rs);
            }
            return;
        }
        Rec r = prepare(event);
        Sampling.Verdict v = sample(r);
        if (v == Sampling.Verdict.OUT || v == Sampling.Verdict.INVALID || v == Sampling.Verdict.UNCONFIGURED) {
            Result res = new Result(0, r.id, r.stream, Result.Status.SAMPLED_OUT, 0, 0, streams.get().reason(r.stream, v), null, null, null);
            count(res);
            callbacks(res);
            return;
        }
        if (v == Sampling.Verdict.NO_CONFIG) {
            r = r.withUnits(unitsOf(r.units)); // the sender decides once the configuration is loaded
        } else {
            r = r.withUnits(null);
        }
        byte[] frame = spool != null ? Spool.frame(r) : null;
        long size = frame != null ? frame.length : r.raw.length;
        lock.lock();
        try {
            if (closing) throw new IllegalStateException("intake client: closed");
            long maxEvents = spool != null ? Long.MAX_VALUE : cfg.queueEvents;
            long maxBytes = spool != null ? spool.maxBytes : cfg.queueBytes;
            if (waiting + inflight + 1 > maxEvents || waitingBytes + inflightBytes + size > maxBytes) {
                droppedFull.incrementAndGet();
                throw new QueueFullException("intake client: the queue is full (" + (waiting + inflight) + " events); the event was not taken");
            }
            if (spool != null) {
                spool.append(frame);
                spooled.incrementAndGet();
            } else {
                mem.add(r);
            }
            waiting++;
            waitingBytes += size;
            if (waiting == 1) oldestNanos = System.nanoTime();
            if (waiting == 1 || waiting >= cfg.batchEvents || waitingBytes >= cfg.batchBytes) wake.signalAll();
        } finally {
            lock.unlock();
        }
        enqueued.incrementAndGet();
    }

    /** A batch taken by the sender. */
    private static final class Batch {
        final List<Rec> recs = new ArrayList<>();
        long bytes;
        Spool.Pos end;
    }

    /** Waits for a batch; null once the queue is closed and empty, or close gave up. */
    private Batch take() throws IOException, InterruptedException {
        lock.lock();
        try {
            for (;;) {
                if (stopped) return null;
                if (waiting > 0) {
                    long age = System.nanoTime() - oldestNanos;
                    if (closing || flushes > 0 || waiting >= cfg.batchEvents || waitingBytes >= cfg.batchBytes || age >= cfg.flushInterval.toNanos()) {
                        Batch b = new Batch();
                        if (spool == null) {
                            while (!mem.isEmpty() && b.recs.size() < cfg.batchEvents) {
                                Rec r = mem.peek();
                                if (!b.recs.isEmpty() && b.bytes + r.raw.length > cfg.batchBytes) break;
                                mem.poll();
                                b.recs.add(r);
                                b.bytes += r.raw.length;
                            }
                        } else {
                            // Only this thread reads the spool, and the records counted as waiting
                            // are whole on disk: read without the lock, so enqueue never waits on it.
                            long avail = waiting;
                            List<Spool.Entry> es;
                            lock.unlock();
                            try {
                                es = spool.read(cfg.batchEvents, cfg.batchBytes, avail);
                            } finally {
                                lock.lock();
                            }
                            for (Spool.Entry e : es) {
                                b.recs.add(e.rec());
                                b.bytes += e.frameBytes();
                            }
                            b.end = spool.readPos();
                        }
                        waiting -= b.recs.size();
                        waitingBytes -= b.bytes;
                        inflight += b.recs.size();
                        inflightBytes += b.bytes;
                        if (senders.length > 1 && waiting > 0) wake.signal(); // another sender may take the next batch
                        return b;
                    }
                    wake.awaitNanos(cfg.flushInterval.toNanos() - age);
                    continue;
                }
                if (closing) return null;
                wake.await();
            }
        } finally {
            lock.unlock();
        }
    }

    private void runSender() {
        for (;;) {
            Batch b;
            try {
                b = take();
            } catch (InterruptedException e) {
                return;
            } catch (IOException e) {
                LOG.log(Level.SEVERE, "intake client: cannot read the spool; the sender stops (the events stay spooled)", e);
                return;
            }
            if (b == null || !sendBatch(b)) return;
        }
    }

    /** Delivers a batch and reports its results; false when close gave up meanwhile (a spooled batch stays spooled). */
    private boolean sendBatch(Batch b) {
        List<Item> items = new ArrayList<>();
        List<Item> all = new ArrayList<>();
        Sampling.StreamConfig sc = null;
        String scErr = null;
        for (Rec r : b.recs) {
            Item it = new Item(r, 0);
            all.add(it);
            if (r.units != null) {
                if (sc == null && scErr == null) {
                    try {
                        sc = awaitStreams(spool != null);
                    } catch (IOException e) {
                        if (spool != null) return false; // closing: the batch waits in the spool for the next client
                        scErr = e.getMessage();
                    }
                }
                if (scErr != null) {
                    it.status = Result.Status.FAILED;
                    it.err = scErr;
                    continue;
                }
                Sampling.Verdict v = sc.decide(r.stream, r.units, false);
                if (v != Sampling.Verdict.SEND) {
                    it.status = Result.Status.SAMPLED_OUT;
                    it.err = sc.reason(r.stream, v);
                    continue;
                }
            }
            items.add(it);
        }
        List<Item> pending = items;
        while (!pending.isEmpty()) {
            deliver(pending, false);
            if (spool == null) break;
            List<Item> left = new ArrayList<>();
            for (Item it : pending) if (it.status == Result.Status.FAILED) left.add(it);
            if (left.isEmpty()) break;
            if (!stopped) {
                logThrottled("spool-retry", "intake client: " + left.size() + " events not acknowledged; they stay in the spool and are tried again: " + left.get(0).err);
                try {
                    cfg.sleeper.sleep(cfg.backoffMax.toMillis());
                } catch (InterruptedException e) {
                    return false;
                }
            }
            if (stopped) return false; // close gave up: the whole batch is sent again by the next client
            for (Item it : left) {
                it.status = null;
                it.err = null;
            }
            pending = left;
        }
        if (spool != null) {
            try {
                spool.commit(b.end);
            } catch (IOException e) {
                LOG.log(Level.SEVERE, "intake client: cannot move the spool cursor; acknowledged events may be sent again", e);
            }
        }
        for (Item it : all) {
            Result r = it.result();
            count(r);
            callbacks(r);
        }
        lock.lock();
        try {
            inflight -= b.recs.size();
            inflightBytes -= b.bytes;
            if (waiting + inflight == 0) empty.signalAll();
        } finally {
            lock.unlock();
        }
        return true;
    }

    /**
     * Makes the sender post everything queued now and waits until the queue is empty (events
     * enqueued meanwhile included) or the timeout passes (false then). When it returns true, every
     * flushed event has its result counted and its callbacks called.
     */
    public boolean flush(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            flushes++;
            wake.signalAll();
            try {
                while (waiting + inflight > 0) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) return false;
                    empty.awaitNanos(left);
                }
                return true;
            } finally {
                flushes--;
            }
        } finally {
            lock.unlock();
        }
    }

    private boolean isClosed() {
        lock.lock();
        try {
            return closing;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stops taking events, sends everything queued (with its retries) and stops the client's
     * threads. When the timeout passes first, the posts in flight are abandoned: without a spool
     * the events not acknowledged fail (reported to the callbacks); with a spool they stay in it for
     * the next client. Returns the number of events not delivered (0: all were).
     */
    public long close(Duration timeout) {
        lock.lock();
        try {
            if (closing && stopped) return 0;
            closing = true;
            wake.signalAll();
        } finally {
            lock.unlock();
        }
        boolean gaveUp = false;
        long budget = Math.max(1, timeout.toMillis()), start = System.nanoTime();
        try {
            for (Thread t : senders) t.join(Math.max(1, budget - (System.nanoTime() - start) / 1_000_000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        boolean alive = false;
        for (Thread t : senders) alive |= t.isAlive();
        if (alive) {
            gaveUp = true;
            stopped = true;
            for (Thread t : senders) t.interrupt();
            try {
                for (Thread t : senders) t.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        stopped = true;
        if (poller != null) poller.interrupt();
        lock.lock();
        long left;
        List<Rec> dropped = new ArrayList<>();
        try {
            wake.signalAll();
            left = waiting + inflight;
            if (spool == null) {
                dropped.addAll(mem);
                mem.clear();
            }
        } finally {
            lock.unlock();
        }
        if (spool != null) {
            spool.close();
            if (left > 0) LOG.info("intake client: close: " + left + " events stay in the spool " + spool.dir + " for the next client");
            return left;
        }
        for (Rec r : dropped) {
            Result res = new Result(0, r.id, r.stream, Result.Status.FAILED, 0, 0, "intake client: event " + r.id + " not sent before close gave up", null, null, null);
            count(res);
            callbacks(res);
        }
        return gaveUp ? left : 0;
    }

    /** close with a 30 second bound. */
    @Override
    public void close() { close(Duration.ofSeconds(30)); }

    // ---------------------------------------------------------------- delivery

    /** One event on its way: its record and its result so far. */
    private static final class Item {
        final Rec rec;
        final int index;
        Result.Status status; // null: not settled
        int code, attempts;
        String err, lastErr, event, topic;
        List<Map<String, Object>> errors;
        boolean retry;

        Item(Rec rec, int index) {
            this.rec = rec;
            this.index = index;
        }

        void accept(int c) { status = Result.Status.ACCEPTED; code = c; err = null; retry = false; }

        void invalid(int c, String text, List<Map<String, Object>> errs, Object ev) {
            status = Result.Status.INVALID;
            code = c;
            retry = false;
            errors = errs;
            if (ev != null) event = Json.write(ev);
            err = "intake client: event " + rec.id + " of stream \"" + rec.stream + "\" is invalid (HTTP " + c + "): " + (text == null || text.isEmpty() ? "rejected by the edge" : text);
        }

        void again(int c, String why) { code = c; retry = true; lastErr = why; }

        void fail(int c, String why) { status = Result.Status.FAILED; code = c; err = why; retry = false; }

        Result result() {
            return new Result(index, rec.id, rec.stream, status == null ? Result.Status.FAILED : status, code, attempts, err,
                    errors == null ? null : Collections.unmodifiableList(errors), event, topic);
        }
    }

    /**
     * Posts items until each is accepted, invalid or failed: retryable failures again with backoff
     * within the attempts and time of retry(), only the events the edge did not take.
     */
    private void deliver(List<Item> items, boolean debug) {
        long start = System.nanoTime();
        List<Item> pending = items;
        for (int attempt = 1; ; attempt++) {
            if (attempt > 1) retried.addAndGet(pending.size());
            long retryAfter = post(pending, debug);
            List<Item> next = new ArrayList<>();
            for (Item it : pending) if (it.retry) next.add(it);
            if (next.isEmpty()) return;
            long wait = Math.max(backoff(attempt), retryAfter);
            String why = null;
            long elapsed = (System.nanoTime() - start) / 1_000_000;
            if (stopped) {
                why = "the client was closed";
            } else if (attempt >= cfg.maxAttempts) {
                why = attempt + " attempts (retry)";
            } else if (!cfg.maxElapsed.isZero() && elapsed + wait > cfg.maxElapsed.toMillis()) {
                why = "no attempt left within " + cfg.maxElapsed + " (retry)";
            }
            if (why == null) {
                try {
                    cfg.sleeper.sleep(wait);
                } catch (InterruptedException e) {
                    why = "interrupted";
                }
            }
            if (why != null) {
                for (Item it : next) {
                    it.fail(it.code, "intake client: event " + it.rec.id + " not acknowledged after " + it.attempts + " attempts in "
                            + (System.nanoTime() - start) / 1_000_000 + " ms: " + why + " (last error: " + it.lastErr + ")");
                }
                return;
            }
            pending = next;
        }
    }

    /** The wait before attempt n+1 in milliseconds: full jitter over the exponential bound. */
    long backoff(int attempt) {
        long max = cfg.backoffMax.toMillis();
        long bound = max;
        int shift = attempt - 1;
        long base = cfg.backoffBase.toMillis();
        if (shift < 62 && base <= (max >> shift)) bound = base << shift;
        if (bound <= 0) return 0;
        return ThreadLocalRandom.current().nextLong(bound);
    }

    /** Sends items once and settles each; returns the answer's Retry-After in milliseconds (0: none). */
    private long post(List<Item> items, boolean debug) {
        int size = 2;
        for (Item it : items) size += it.rec.raw.length + 1;
        byte[] body = new byte[size - (items.isEmpty() ? 0 : 1)];
        int at = 0;
        body[at++] = '[';
        for (int i = 0; i < items.size(); i++) {
            Item it = items.get(i);
            if (i > 0) body[at++] = ',';
            System.arraycopy(it.rec.raw, 0, body, at, it.rec.raw.length);
            at += it.rec.raw.length;
            it.attempts++;
            it.retry = false;
        }
        body[at] = ']';
        requests.incrementAndGet();
        sent.addAndGet(items.size());

        HttpResponse<String> resp;
        try {
            resp = doPost(body, debug);
        } catch (IOException | RuntimeException e) {
            for (Item it : items) it.again(0, e.toString());
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            for (Item it : items) it.again(0, "interrupted");
            return 0;
        }
        int code = resp.statusCode();
        long retryAfter = parseRetryAfter(resp.headers().firstValue("Retry-After").orElse(null), Instant.now());
        Object a = null;
        try {
            a = resp.body().isEmpty() ? null : Json.parse(resp.body());
        } catch (IllegalArgumentException e) {
            // not JSON: read by its status
        }
        Object events = Json.get(a, "events"), inv = Json.get(a, "invalid"), err = Json.get(a, "error");
        if (debug && events instanceof List) {
            settleDebug(items, code, (List<?>) events);
        } else if (inv instanceof List || err instanceof List) {
            settleLists(items, code, inv instanceof List ? (List<?>) inv : List.of(), err instanceof List ? (List<?>) err : List.of());
        } else if (code >= 200 && code < 300) {
            for (Item it : items) it.accept(code);
        } else if (code == 413 || code == 400) {
            // The request as a whole: too large, or something in it over a JSON limit. Halves find the culprit.
            if (items.size() > 1) {
                int h = items.size() / 2;
                return Math.max(post(items.subList(0, h), debug), post(items.subList(h, items.size()), debug));
            }
            items.get(0).invalid(code, message(code, resp.body(), a), null, null);
        } else if (code == 408 || code == 429 || code >= 500) {
            String m = message(code, resp.body(), a);
            for (Item it : items) it.again(code, m);
        } else {
            // 401, 403 without lists, 404, 415, ...: another attempt would get the same answer.
            String m = message(code, resp.body(), a);
            for (Item it : items) it.fail(code, m);
        }
        return retryAfter;
    }

    private static String message(int code, String body, Object parsed) {
        String m = Json.str(Json.get(parsed, "message"));
        if (m == null) m = body.length() > 200 ? body.substring(0, 200) + "..." : body.strip();
        return "HTTP " + code + ": " + m;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> errorsOf(Object ctx) {
        Object e = Json.get(ctx, "errors");
        if (!(e instanceof List)) return null;
        List<Map<String, Object>> out = new ArrayList<>();
        for (Object o : (List<?>) e) if (o instanceof Map) out.add((Map<String, Object>) o);
        return out;
    }

    /** EventGate's lists: under "invalid": invalid; under "error": retried; not listed: accepted. Matched by meta.id (or index). */
    private void settleLists(List<Item> items, int code, List<?> inv, List<?> err) {
        boolean[] matched = new boolean[items.size()];
        Map<String, ArrayDeque<Integer>> byID = new HashMap<>();
        for (int i = 0; i < items.size(); i++) byID.computeIfAbsent(items.get(i).rec.id, k -> new ArrayDeque<>()).add(i);
        int unmatched = 0;
        for (int pass = 0; pass < 2; pass++) {
            for (Object e : pass == 0 ? inv : err) {
                int idx = -1;
                Object index = Json.get(e, "index");
                if (index instanceof Number && Json.isInteger(index)) {
                    int i = ((Number) index).intValue();
                    if (i >= 0 && i < items.size() && !matched[i]) idx = i;
                }
                if (idx < 0) {
                    String id = Json.str(Json.get(Json.get(Json.get(e, "event"), "meta"), "id"));
                    ArrayDeque<Integer> q = id == null ? null : byID.get(id);
                    while (q != null && !q.isEmpty() && idx < 0) {
                        int i = q.poll();
                        if (!matched[i]) idx = i;
                    }
                }
                if (idx < 0) {
                    unmatched++;
                    continue;
                }
                matched[idx] = true;
                Item it = items.get(idx);
                Object ctx = Json.get(e, "context");
                if (pass == 0) {
                    String text = Json.str(Json.get(ctx, "errorsText"));
                    if (text == null || text.isEmpty()) text = Json.str(Json.get(ctx, "message"));
                    it.invalid(code, text, errorsOf(ctx), Json.get(e, "event"));
                } else {
                    String msg = Json.str(Json.get(ctx, "message"));
                    it.again(code, "HTTP " + code + ": " + (msg == null || msg.isEmpty() ? "the edge could not produce the event" : msg));
                }
            }
        }
        for (int i = 0; i < items.size(); i++) {
            if (matched[i]) continue;
            if (unmatched > 0) {
                // An entry names no event of ours: sending again risks a duplicate (meta.id tells), not sending a loss.
                items.get(i).again(code, "HTTP " + code + ": the answer lists events the client cannot match to its own");
            } else {
                items.get(i).accept(code);
            }
        }
    }

    /** Developer mode's per-event verdicts. */
    private void settleDebug(List<Item> items, int code, List<?> events) {
        boolean[] seen = new boolean[items.size()];
        for (Object e : events) {
            Object index = Json.get(e, "index");
            if (!(index instanceof Number)) continue;
            int i = ((Number) index).intValue();
            if (i < 0 || i >= items.size() || seen[i]) continue;
            seen[i] = true;
            Item it = items.get(i);
            String status = String.valueOf(Json.get(e, "status"));
            String text = Json.str(Json.get(e, "errorsText"));
            if (text == null || text.isEmpty()) text = Json.str(Json.get(e, "message"));
            switch (status) {
                case "accepted":
                    it.accept(code);
                    it.event = Json.write(Json.get(e, "event"));
                    it.topic = Json.str(Json.get(e, "topic"));
                    break;
                case "invalid":
                case "refused":
                    it.invalid(code, "refused".equals(status) ? "refused: " + text : text, errorsOf(e), Json.get(e, "event"));
                    break;
                default: // rate_limited, unavailable, error
                    it.again(code, "HTTP " + code + ": " + (text == null ? status : text));
            }
        }
        for (int i = 0; i < items.size(); i++) {
            if (!seen[i]) items.get(i).again(code, "HTTP " + code + ": the developer mode answer has no verdict for the event");
        }
    }

    /** Retry-After: seconds, or an HTTP date; 0 when absent or unreadable. At most a day. */
    static long parseRetryAfter(String v, Instant now) {
        if (v == null || v.isBlank()) return 0;
        try {
            long s = Long.parseLong(v.strip());
            return s <= 0 ? 0 : Math.min(s, 24 * 3600) * 1000;
        } catch (NumberFormatException e) {
            // a date
        }
        try {
            Instant t = ZonedDateTime.parse(v.strip(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
            long ms = Duration.between(now, t).toMillis();
            return ms <= 0 ? 0 : Math.min(ms, 24 * 3600 * 1000L);
        } catch (RuntimeException e) {
            return 0;
        }
    }

    private HttpResponse<String> doPost(byte[] body, boolean debug) throws IOException, InterruptedException {
        boolean gz = cfg.gzipAbove >= 0 && body.length >= cfg.gzipAbove;
        if (gz) body = gzip(body);
        HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(debug ? debugURL : eventsURL))
                .timeout(cfg.requestTimeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (gz) rb.header("Content-Encoding", "gzip");
        setHeaders(rb);
        return http.send(rb.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A Deflater per thread (BEST_SPEED, raw): a new one per request costs more than compressing a small body. */
    private static final ThreadLocal<Deflater> DEFLATERS = ThreadLocal.withInitial(() -> new Deflater(Deflater.BEST_SPEED, true));

    /** body as a gzip member (RFC 1952): header, raw deflate, CRC-32 and size; deflated straight into the result. */
    static byte[] gzip(byte[] body) {
        Deflater d = DEFLATERS.get();
        d.reset();
        d.setInput(body);
        d.finish();
        byte[] out = new byte[10 + body.length / 3 + 256];
        out[0] = 0x1f;
        out[1] = (byte) 0x8b;
        out[2] = 8;
        out[9] = (byte) 0xff;
        int at = 10;
        for (;;) {
            at += d.deflate(out, at, out.length - 8 - at);
            if (d.finished()) break;
            if (out.length - 8 - at < 256) out = Arrays.copyOf(out, out.length * 2);
        }
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(body);
        long c = crc.getValue();
        int size = body.length;
        for (int k = 0; k < 4; k++) {
            out[at + k] = (byte) (c >> 8 * k);
            out[at + 4 + k] = (byte) (size >> 8 * k);
        }
        at += 8;
        return at == out.length ? out : Arrays.copyOf(out, at);
    }

    private void setHeaders(HttpRequest.Builder rb) {
        for (Map.Entry<String, String> h : cfg.headers.entrySet()) rb.header(h.getKey(), h.getValue());
        rb.header("User-Agent", userAgent);
        if (cfg.tokenSource != null) {
            String tok;
            try {
                tok = cfg.tokenSource.get();
            } catch (RuntimeException e) {
                throw new IllegalStateException("intake client: the token source failed (tokenSource): " + e, e);
            }
            rb.header("Authorization", "Bearer " + tok);
        } else if (cfg.apiKey != null) {
            rb.header("Authorization", "Bearer " + cfg.apiKey);
        }
    }

    // ---------------------------------------------------------------- stream configuration

    /**
     * Fetches the stream configuration now (with the ETag of the last one) and uses it for
     * sampling. The client does this by itself in the background; call it to know at start-up that
     * it can be fetched.
     */
    public void refreshStreamConfig() throws IOException {
        fetchStreams(false);
    }

    private void fetchStreams(boolean ifMissing) throws IOException {
        synchronized (fetchMu) {
            if (ifMissing && streams.get() != null) return;
            String u = base + "/v1/streams";
            if (!cfg.streamConfigStreams.isEmpty()) {
                u += "?streams=" + java.net.URLEncoder.encode(String.join(",", cfg.streamConfigStreams), StandardCharsets.UTF_8);
            }
            HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(u)).timeout(cfg.requestTimeout).GET();
            setHeaders(rb);
            Sampling.StreamConfig old = streams.get();
            if (old != null && old.etag != null) rb.header("If-None-Match", old.etag);
            HttpResponse<String> resp;
            try {
                resp = http.send(rb.build(), HttpResponse.BodyHandlers.ofString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("intake client: interrupted while fetching the stream config", e);
            } catch (IllegalStateException e) {
                throw new IOException(e.getMessage(), e);
            }
            if (resp.statusCode() == 304 && old != null) return;
            if (resp.statusCode() != 200) throw new HttpStatusException(resp.statusCode(), "intake client: cannot fetch the stream config from " + u + ": HTTP " + resp.statusCode());
            Sampling.StreamConfig sc;
            try {
                sc = Sampling.parse(resp.body(), resp.headers().firstValue("ETag").orElse(null));
            } catch (IllegalArgumentException e) {
                throw new IOException("intake client: " + u + ": " + e.getMessage(), e);
            }
            streams.set(sc);
        }
    }

    /** An answer no attempt would change. */
    static final class HttpStatusException extends IOException {
        private static final long serialVersionUID = 1L;
        final int code;

        HttpStatusException(int code, String msg) {
            super(msg);
            this.code = code;
        }
    }

    /**
     * The stream configuration, fetched when none is loaded: attempts with backoff within retry()'s
     * bounds; a 4xx but 408 and 429 ends them at once. forever: rounds of those until it comes or
     * the client is closed (a spool's events wait on disk for it).
     */
    private Sampling.StreamConfig awaitStreams(boolean forever) throws IOException {
        for (;;) {
            long start = System.nanoTime();
            IOException last = null;
            for (int attempt = 1; ; attempt++) {
                Sampling.StreamConfig sc = streams.get();
                if (sc != null) return sc;
                try {
                    fetchStreams(true);
                    continue;
                } catch (IOException e) {
                    last = e;
                }
                long wait = backoff(attempt);
                boolean fin = last instanceof HttpStatusException && ((HttpStatusException) last).code < 500
                        && ((HttpStatusException) last).code != 408 && ((HttpStatusException) last).code != 429;
                if (fin || stopped || attempt >= cfg.maxAttempts
                        || !cfg.maxElapsed.isZero() && (System.nanoTime() - start) / 1_000_000 + wait > cfg.maxElapsed.toMillis()) {
                    break;
                }
                try {
                    cfg.sleeper.sleep(wait);
                } catch (InterruptedException e) {
                    break;
                }
            }
            if (!forever || stopped) throw new IOException("intake client: no stream configuration (GET /v1/streams): " + last.getMessage(), last);
            logThrottled("spool-streams", "intake client: no stream configuration yet; the spooled events wait for it: " + last.getMessage());
            try {
                cfg.sleeper.sleep(cfg.backoffMax.toMillis());
            } catch (InterruptedException e) {
                throw new IOException("intake client: interrupted", e);
            }
        }
    }

    private void pollStreams() {
        boolean failing = false;
        while (!stopped) {
            IOException err = null;
            try {
                fetchStreams(false);
            } catch (IOException e) {
                err = e;
            }
            if (stopped) return;
            if (err != null && !failing) {
                failing = true;
                LOG.warning("intake client: cannot refresh the stream config; sampling keeps the last one (or, with none yet, events wait for it): " + err.getMessage());
            } else if (err == null && failing) {
                failing = false;
                LOG.info("intake client: stream config refreshed again");
            }
            long wait = cfg.streamConfigRefresh.toMillis();
            if (err != null && streams.get() == null && !(err instanceof HttpStatusException && ((HttpStatusException) err).code < 500)) {
                wait = Math.min(wait, 5000); // not fetched yet, for a reason that may pass soon
            }
            try {
                Thread.sleep(Math.max(wait, 10));
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Replaces the client's sampling unit ids (a new pageview, a new session); null or empty ids keep the current one. */
    public void setUnits(Units u) { units.updateAndGet(old -> old.with(u)); }

    /** The client's sampling unit ids. */
    public Units units() { return units.get(); }

    // ---------------------------------------------------------------- outcomes

    private void count(Result r) {
        switch (r.status()) {
            case ACCEPTED: accepted.incrementAndGet(); break;
            case INVALID:
                invalid.incrementAndGet();
                logResult("invalid", "intake client: event rejected as invalid", r);
                break;
            case FAILED:
                failed.incrementAndGet();
                logResult("failed", "intake client: event not delivered", r);
                break;
            case SAMPLED_OUT:
                sampledOut.incrementAndGet();
                if (r.error() != null && r.error().contains("is not in the stream configuration")) {
                    notConfigured.incrementAndGet();
                    logResult("unconfigured", "intake client: event not sent: its stream is not in the stream configuration", r);
                } else if (r.error() != null) {
                    sampleInvalid.incrementAndGet();
                    logResult("sample", "intake client: event not sent: its stream's sample setting is invalid", r);
                }
                break;
        }
    }

    private void callbacks(Result r) {
        if (cfg.onResult != null) cfg.onResult.accept(r);
        boolean problem = r.status() == Result.Status.INVALID || r.status() == Result.Status.FAILED || r.status() == Result.Status.SAMPLED_OUT && r.error() != null;
        if (cfg.onError != null && problem) cfg.onError.accept(r);
    }

    private void logResult(String key, String msg, Result r) {
        String line = msg + ": stream=" + r.stream() + " id=" + r.id() + " code=" + r.code() + " err=" + r.error();
        if (cfg.developerMode) {
            LOG.warning(r.errors() == null ? line : line + " errors=" + Json.write(r.errors()));
            return;
        }
        logThrottled(key, line);
    }

    /** Logs at most one line per key every 10 seconds. */
    private void logThrottled(String key, String line) {
        long now = System.nanoTime();
        synchronized (throttled) {
            Long last = throttled.get(key);
            if (last != null && now - last < TimeUnit.SECONDS.toNanos(10)) return;
            throttled.put(key, now);
        }
        LOG.warning(line);
    }

    /** The client's counters. */
    public record Stats(long enqueued, long requests, long sent, long retried, long accepted, long invalid, long failed, long droppedFull,
                        long sampledOut, long sampleInvalid, long notConfigured, long spooled, long recovered, long queued) {}

    public Stats stats() {
        long q;
        lock.lock();
        try {
            q = waiting + inflight;
        } finally {
            lock.unlock();
        }
        return new Stats(enqueued.get(), requests.get(), sent.get(), retried.get(), accepted.get(), invalid.get(), failed.get(), droppedFull.get(),
                sampledOut.get(), sampleInvalid.get(), notConfigured.get(), spooled.get(), recovered.get(), q);
    }
}
