package dev.intake.client;

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
     * A SecureRandom per thread, each seeded by the system's source when first used: the shared
     * default (NativePRNG) takes a lock and reads /dev/urandom on every call, a few times the cost.
     */
    private static final ThreadLocal<SecureRandom> RANDOM = ThreadLocal.withInitial(() -> {
        try {
            return SecureRandom.getInstance("SHA1PRNG");
        } catch (java.security.NoSuchAlgorithmException e) {
            return new SecureRandom();
        }
    });
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

    /** t as intake and EventGate write times: RFC 3339, UTC, milliseconds. */
    public static String formatDT(Instant t) { return DT.format(t); }

    /** A random (version 4) UUID, the form of meta.id. */
    public static String newID() {
        byte[] u = new byte[16];
        RANDOM.get().nextBytes(u);
        u[6] = (byte) (u[6] & 0x0f | 0x40);
        u[8] = (byte) (u[8] & 0x3f | 0x80);
        char[] s = new char[36];
        int j = 0;
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10) s[j++] = '-';
            s[j++] = Character.forDigit(u[i] >> 4 & 0xf, 16);
            s[j++] = Character.forDigit(u[i] & 0xf, 16);
        }
        return new String(s);
    }
}
