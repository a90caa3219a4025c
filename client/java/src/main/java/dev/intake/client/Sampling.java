package dev.intake.client;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The sampling rule shared by every intake client (client/testdata/sampling-vectors.json), as
 * Wikimedia's Metrics Platform clients sample: a stream the configuration does not list is not
 * sent; one without a sample setting is; an invalid setting sends nothing; else the unit's id
 * decides ({@link #inSample}).
 */
public final class Sampling {
    private Sampling() {}

    /** The decision on one event. */
    public enum Verdict { SEND, OUT, INVALID, UNCONFIGURED, NO_CONFIG }

    /**
     * Whether the unit with this id is in a sample of this rate: a rate of 1 or more is in, 0 or
     * less (or NaN) out; otherwise the first 8 characters of id must be hex digits, and their value
     * divided by 0xFFFFFFFF must be below the rate.
     */
    public static boolean inSample(String id, double rate) {
        if (rate >= 1) return true;
        if (!(rate > 0) || id == null || id.length() < 8) return false;
        long v = 0;
        for (int i = 0; i < 8; i++) {
            int d = Character.digit(id.charAt(i), 16);
            if (d < 0 || id.charAt(i) > 'f') return false; // Character.digit takes non-ASCII digits too
            v = v << 4 | d;
        }
        return (double) v / 0xFFFFFFFFL < rate;
    }

    /** One configured stream's sample setting. */
    static final class StreamSample {
        final String name;
        boolean has;
        double rate;
        String unit;
        String error; // the setting is there and cannot be read: events are not sent

        StreamSample(String name) { this.name = name; }
    }

    /** One fetched GET /v1/streams, immutable but for its lookup cache. */
    static final class StreamConfig {
        final String etag;
        final Map<String, StreamSample> exact = new HashMap<>(); // a null value: settings not an object
        final List<Pattern> patterns = new ArrayList<>();
        final List<StreamSample> patternSamples = new ArrayList<>();
        private final Map<String, Object> resolved = new ConcurrentHashMap<>();
        private static final Object NONE = new Object();

        StreamConfig(String etag) { this.etag = etag; }

        /** The stream's setting, null when it is not configured: exact names first, then /regex/ names in order. */
        StreamSample lookup(String name) {
            if (exact.containsKey(name)) return exact.get(name);
            if (patterns.isEmpty()) return null;
            Object v = resolved.get(name);
            if (v != null) return v == NONE ? null : (StreamSample) v;
            StreamSample found = null;
            for (int i = 0; i < patterns.size(); i++) {
                if (patterns.get(i).matcher(name).find()) {
                    found = patternSamples.get(i);
                    break;
                }
            }
            if (resolved.size() < 10000) resolved.put(name, found == null ? NONE : found);
            return found;
        }

        /** The rule on an event of stream with these unit ids; dev: developer mode (out of sample is sent). */
        Verdict decide(String stream, Units u, boolean dev) {
            StreamSample s = lookup(stream == null ? "" : stream);
            if (s == null) return Verdict.UNCONFIGURED;
            if (!s.has) return Verdict.SEND;
            if (s.error != null) return Verdict.INVALID;
            if (dev || inSample(u.id(s.unit), s.rate)) return Verdict.SEND;
            return Verdict.OUT;
        }

        /** Why an event of stream is not sent, for a verdict other than SEND and OUT. */
        String reason(String stream, Verdict v) {
            if (v == Verdict.UNCONFIGURED) {
                return "stream \"" + stream + "\" is not in the stream configuration (GET /v1/streams); its events are not sent";
            }
            if (v == Verdict.INVALID) {
                StreamSample s = lookup(stream);
                return "stream \"" + stream + "\": its sample setting is invalid, its events are not sent: " + (s == null ? "" : s.error);
            }
            return null;
        }
    }

    /** Reads a GET /v1/streams body: {"streams": {name: {..., "sample": {"rate": r, "unit": u}}}}. */
    static StreamConfig parse(String body, String etag) {
        Object doc = Json.parse(body);
        if (!(doc instanceof Map)) throw new IllegalArgumentException("the stream config is not a JSON object");
        StreamConfig sc = new StreamConfig(etag);
        Object streams = Json.get(doc, "streams");
        if (streams == null) return sc;
        if (!(streams instanceof Map)) throw new IllegalArgumentException("the stream config's \"streams\" is not an object");
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) streams;
        for (Map.Entry<String, Object> e : m.entrySet()) {
            String name = e.getKey();
            StreamSample s = null;
            if (e.getValue() instanceof Map) {
                s = new StreamSample(name);
                @SuppressWarnings("unchecked")
                Map<String, Object> settings = (Map<String, Object>) e.getValue();
                readSample(s, settings.containsKey("sample") ? settings.get("sample") : null);
            }
            if (name.length() >= 2 && name.startsWith("/") && name.endsWith("/")) {
                try {
                    sc.patterns.add(Pattern.compile(name.substring(1, name.length() - 1)));
                    sc.patternSamples.add(s);
                } catch (PatternSyntaxException ex) {
                    // the edge skips a pattern it cannot compile too
                }
                continue;
            }
            sc.exact.put(name, s);
        }
        return sc;
    }

    private static void readSample(StreamSample s, Object raw) {
        if (raw == null) return;
        s.has = true;
        if (!(raw instanceof Map)) {
            s.error = "sample is not an object: " + clip(Json.write(raw));
            return;
        }
        Object rate = Json.get(raw, "rate");
        double r = rate instanceof Json.JsonNumber ? ((Json.JsonNumber) rate).doubleValue() : Double.NaN;
        if (!(r >= 0 && r <= 1)) {
            s.error = "sample.rate " + (rate == null && !((Map<?, ?>) raw).containsKey("rate") ? "(missing)" : clip(Json.write(rate))) + " is not a number in [0, 1]";
            return;
        }
        Object unit = Json.get(raw, "unit");
        if (!"session".equals(unit) && !"pageview".equals(unit) && !"device".equals(unit)) {
            s.error = "sample.unit " + (unit == null ? "(missing)" : clip(Json.write(unit))) + " is not \"session\", \"pageview\" or \"device\"";
            return;
        }
        s.rate = r;
        s.unit = (String) unit;
    }

    private static String clip(String s) { return s.length() <= 64 ? s : s.substring(0, 64) + "..."; }
}
