package dev.intake.client;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Map;

/** Helpers to make events. */
public final class Events {
    private Events() {}

    /**
     * Random bytes for meta.id, per thread: a DRBG (NIST SP 800-90A, seeded by the system's
     * source) read 4 KiB at a time, 256 ids' worth. A call per id costs a few times more, and the
     * shared default (NativePRNG) takes a lock and reads /dev/urandom on every call.
     */
    private static final class IDSource {
        final SecureRandom random;
        final byte[] buf = new byte[4096];
        int at = buf.length;

        IDSource() {
            SecureRandom r;
            try {
                r = SecureRandom.getInstance("DRBG");
            } catch (java.security.NoSuchAlgorithmException e) {
                r = new SecureRandom();
            }
            random = r;
        }
    }

    private static final ThreadLocal<IDSource> IDS = ThreadLocal.withInitial(IDSource::new);
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.ISO_8859_1);
    private static final DateTimeFormatter DT = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    /**
     * A new event of stream with schema schemaURI: a copy of fields (null is fine; fields is not
     * modified, nor is a map in fields.get("meta")) with "$schema" and "meta.stream" set, and "dt"
     * set to now (RFC 3339 UTC, milliseconds) unless fields has one.
     */
    public static Map<String, Object> newEvent(String stream, String schemaURI, Map<String, ?> fields) {
        Map<String, Object> ev = new LinkedHashMap<>();
        ev.put("$schema", schemaURI);
        if (fields != null) ev.putAll(fields);
        ev.put("$schema", schemaURI);
        Map<String, Object> meta = new LinkedHashMap<>();
        if (fields != null && fields.get("meta") instanceof Map) {
            for (Map.Entry<?, ?> e : ((Map<?, ?>) fields.get("meta")).entrySet()) meta.put(String.valueOf(e.getKey()), e.getValue());
        }
        meta.put("stream", stream);
        ev.put("meta", meta);
        ev.putIfAbsent("dt", formatDT(Instant.now()));
        return ev;
    }

    /** The formatted second of the last dt: "yyyy-MM-ddTHH:mm:ss." */
    private record Second(long epochSecond, String prefix) {}

    private static volatile Second lastSecond = new Second(Long.MIN_VALUE, "");

    /** t as intake and EventGate write times: RFC 3339, UTC, milliseconds. */
    public static String formatDT(Instant t) {
        long sec = t.getEpochSecond();
        Second s = lastSecond;
        if (s.epochSecond != sec) {
            String f = DT.format(Instant.ofEpochSecond(sec));
            s = new Second(sec, f.substring(0, f.length() - 4)); // without "000Z"
            lastSecond = s;
        }
        int ms = t.getNano() / 1_000_000;
        char[] tail = {(char) ('0' + ms / 100), (char) ('0' + ms / 10 % 10), (char) ('0' + ms % 10), 'Z'};
        return s.prefix.concat(new String(tail));
    }

    /** A random (version 4) UUID, the form of meta.id. */
    public static String newID() {
        IDSource src = IDS.get();
        if (src.at + 16 > src.buf.length) {
            src.random.nextBytes(src.buf);
            src.at = 0;
        }
        byte[] u = src.buf;
        int o = src.at;
        src.at += 16;
        byte[] s = new byte[36];
        int j = 0;
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10) s[j++] = '-';
            int b = u[o + i];
            if (i == 6) b = b & 0x0f | 0x40;
            if (i == 8) b = b & 0x3f | 0x80;
            s[j++] = HEX[b >> 4 & 0xf];
            s[j++] = HEX[b & 0xf];
        }
        return new String(s, StandardCharsets.ISO_8859_1);
    }
}
