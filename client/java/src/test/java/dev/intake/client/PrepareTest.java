package dev.intake.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** prepare: meta.id (and the defaults) added to events given as text or maps, nothing else changed. */
class PrepareTest {
    static IntakeClient client() throws Exception {
        return IntakeClient.builder("http://127.0.0.1:9").streamConfigRefresh(null).defaults("d.s", "/d/1.0.0").build();
    }

    @Test
    void textEventsArePatchedInPlace() throws Exception {
        try (IntakeClient c = client()) {
            // in: the event; want: the output with ID for the new meta.id and DT for the filled dt.
            java.util.function.BiConsumer<String, String> f = (in, want) -> {
                Rec r = c.prepare(in);
                String got = new String(r.raw, StandardCharsets.UTF_8);
                Object meta = Json.get(Json.parse(got), "meta");
                String id = Json.str(Json.get(meta, "id"));
                String dt = Json.str(Json.get(Json.parse(got), "dt"));
                assertEquals(id, r.id);
                assertEquals(want.replace("ID", id).replace("DT", dt == null ? "" : dt), got, in);
            };
            f.accept("{}", "{\"meta\":{\"id\":\"ID\",\"stream\":\"d.s\"},\"$schema\":\"/d/1.0.0\",\"dt\":\"DT\"}");
            f.accept("{\"meta\":{\"id\":\"x\",\"stream\":\"s\"},\"$schema\":\"/a\",\"dt\":\"t\"}", "{\"meta\":{\"id\":\"x\",\"stream\":\"s\"},\"$schema\":\"/a\",\"dt\":\"t\"}");
            f.accept("{\"$schema\":\"/a\",\"dt\":\"t\",\"meta\":{}}", "{\"$schema\":\"/a\",\"dt\":\"t\",\"meta\":{\"id\":\"ID\",\"stream\":\"d.s\"}}");
            f.accept("{\"$schema\":\"/a\",\"dt\":\"t\",\"meta\" : {\"stream\":\"s\"}, \"n\":9007199254740993}",
                    "{\"$schema\":\"/a\",\"dt\":\"t\",\"meta\" : {\"id\":\"ID\",\"stream\":\"s\"}, \"n\":9007199254740993}");
            // A "meta" inside a string or a nested object is not the event's.
            f.accept("{\"$schema\":\"/a\",\"dt\":\"t\",\"x\":\"\\\"meta\\\":{\",\"y\":{\"meta\":{}},\"meta\":{\"stream\":\"s\"}}",
                    "{\"$schema\":\"/a\",\"dt\":\"t\",\"x\":\"\\\"meta\\\":{\",\"y\":{\"meta\":{}},\"meta\":{\"id\":\"ID\",\"stream\":\"s\"}}");
            f.accept(" {\"$schema\":\"/a\",\"dt\":\"t\",\"m\\u0065ta\":{\"stream\":\"s\"}} \n", " {\"$schema\":\"/a\",\"dt\":\"t\",\"m\\u0065ta\":{\"id\":\"ID\",\"stream\":\"s\"}} \n");
            // Characters of more than one UTF-8 byte (and a surrogate pair) before and inside meta,
            // as a String and as bytes; a default stream that needs escaping.
            f.accept("{\"é\":\"ü😀\",\"$schema\":\"/a\",\"dt\":\"t\",\"meta\":{\"x\":\"ñ\"},\"z\":\"€\"}",
                    "{\"é\":\"ü😀\",\"$schema\":\"/a\",\"dt\":\"t\",\"meta\":{\"id\":\"ID\",\"stream\":\"d.s\",\"x\":\"ñ\"},\"z\":\"€\"}");
            String utf8 = "{\"é\":1,\"meta\":{\"stream\":\"s\"},\"$schema\":\"/a\",\"dt\":\"t\",\"z\":\"€\"}";
            Rec fromBytes = c.prepare(utf8.getBytes(StandardCharsets.UTF_8));
            assertEquals("{\"é\":1,\"meta\":{\"id\":\"" + fromBytes.id + "\",\"stream\":\"s\"},\"$schema\":\"/a\",\"dt\":\"t\",\"z\":\"€\"}",
                    new String(fromBytes.raw, StandardCharsets.UTF_8));
            try (IntakeClient q = IntakeClient.builder("http://127.0.0.1:9").streamConfigRefresh(null).defaults("s\"é", null).fillDT(false).build()) {
                Rec r = q.prepare("{\"a\":1}");
                assertEquals("{\"a\":1,\"meta\":{\"id\":\"" + r.id + "\",\"stream\":\"s\\\"é\"}}", new String(r.raw, StandardCharsets.UTF_8));
            }
            // meta that is not an object: left for the edge to refuse; no id to give it.
            Rec r = c.prepare("{\"$schema\":\"/a\",\"dt\":\"t\",\"meta\":7}");
            assertEquals("", r.id);
            assertThrows(IllegalArgumentException.class, () -> c.prepare("[1]"));
            assertThrows(IllegalArgumentException.class, () -> c.prepare("{\"a\":01}"));
            assertThrows(IllegalArgumentException.class, () -> c.prepare("{\"a\":1"));
            assertThrows(IllegalArgumentException.class, () -> c.prepare("{\"a\":\"\u0001\"}"));
            for (String bad : new String[] {"{\"a\":\"\\x\"}", "{\"a\":1}x", "{\"a\":[1,]}", "{\"a\":\u0661}", "{\"meta\":{\"id\":}}", "{\"a\":tru}", "{\"a\":\"\\u12g4\"}", "", "{\"a\" 1}"}) {
                assertThrows(IllegalArgumentException.class, () -> c.prepare(bad), bad);
            }
        }
    }

    @Test
    void idsDatesAndGzip() throws Exception {
        java.util.Set<String> ids = new java.util.HashSet<>();
        for (int i = 0; i < 1000; i++) {
            String id = Events.newID();
            assertTrue(id.matches("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"), id);
            ids.add(id);
        }
        assertEquals(1000, ids.size());
        java.time.format.DateTimeFormatter iso = java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(java.time.ZoneOffset.UTC);
        for (long ms : new long[] {0, 999, 1000, 1_764_000_000_007L, 1_764_000_000_070L, 1_764_000_000_700L, 1_764_000_001_000L, 4_102_444_799_999L}) {
            java.time.Instant t = java.time.Instant.ofEpochMilli(ms);
            assertEquals(iso.format(t), Events.formatDT(t));
        }
        for (int n : new int[] {0, 1, 100, 70_000, 300_000}) {
            byte[] body = new byte[n];
            new java.util.Random(n).nextBytes(body); // incompressible: the output outgrows its first guess
            for (int i = 0; i < n / 2; i++) body[i] = 'a';
            byte[] z = IntakeClient.gzip(body);
            try (java.util.zip.GZIPInputStream in = new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(z))) {
                assertTrue(java.util.Arrays.equals(body, in.readAllBytes()), "gzip of " + n + " bytes");
            }
        }
    }

    @Test
    void mapEventsAreWrittenWithoutTouchingTheCallersMap() throws Exception {
        try (IntakeClient c = client()) {
            Map<String, Object> meta = new LinkedHashMap<>();
            meta.put("stream", "s");
            Map<String, Object> ev = new LinkedHashMap<>();
            ev.put("$schema", "/a");
            ev.put("meta", meta);
            ev.put("dt", "t");
            ev.put("x", java.util.List.of(1, 2.5, "é\n", true));
            Rec r = c.prepare(ev);
            assertEquals("{\"$schema\":\"/a\",\"meta\":{\"id\":\"" + r.id + "\",\"stream\":\"s\"},\"dt\":\"t\",\"x\":[1,2.5,\"é\\n\",true]}",
                    new String(r.raw, StandardCharsets.UTF_8));
            assertEquals(Map.of("stream", "s"), meta);
            assertEquals(36, r.id.length());
            assertTrue(r.id.charAt(14) == '4', "a version 4 UUID");
        }
    }
}
