package dev.intake.client;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The small JSON reader and writer the client needs, so that it depends on nothing beyond the
 * JDK. Objects read as {@link LinkedHashMap} (member order kept), arrays as {@link List}, numbers
 * as {@link JsonNumber} (the text as written, so that an event's numbers reach the edge exactly
 * as the producer wrote them), strings, booleans and null. Strict: what RFC 8259 refuses, it
 * refuses.
 */
public final class Json {
    private Json() {}

    /** A JSON number kept as its text, so that writing it back changes nothing. */
    public static final class JsonNumber extends Number {
        private static final long serialVersionUID = 1L;
        private final String text;

        JsonNumber(String text) { this.text = text; }

        public String text() { return text; }
        @Override public int intValue() { return new BigDecimal(text).intValue(); }
        @Override public long longValue() { return new BigDecimal(text).longValue(); }
        @Override public float floatValue() { return Float.parseFloat(text); }
        @Override public double doubleValue() { return Double.parseDouble(text); }
        @Override public String toString() { return text; }
        @Override public boolean equals(Object o) { return o instanceof JsonNumber && ((JsonNumber) o).text.equals(text); }
        @Override public int hashCode() { return text.hashCode(); }
    }

    /** Reads one JSON value; throws {@link IllegalArgumentException} with the offset when it is not JSON. */
    public static Object parse(String s) {
        Reader r = new Reader(s);
        r.ws();
        Object v = r.value(0);
        r.ws();
        if (r.i != s.length()) throw r.err("unexpected data after the value");
        return v;
    }

    /** Writes a value: maps (string keys), iterables and arrays of values, strings, numbers, booleans, null. */
    public static String write(Object v) {
        StringBuilder sb = new StringBuilder(128);
        write(sb, v);
        return sb.toString();
    }

    @SuppressWarnings("unchecked")
    public static void write(StringBuilder sb, Object v) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof CharSequence) {
            quote(sb, v.toString());
        } else if (v instanceof JsonNumber) {
            sb.append(((JsonNumber) v).text);
        } else if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) throw new IllegalArgumentException("JSON has no " + d);
            if (d == Math.rint(d) && Math.abs(d) < 1e15) sb.append((long) d);
            else sb.append(v);
        } else if (v instanceof Number) {
            if (v instanceof BigDecimal) sb.append(((BigDecimal) v).toString());
            else sb.append(v);
        } else if (v instanceof Boolean) {
            sb.append(v);
        } else if (v instanceof Map) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<Object, Object> e : ((Map<Object, Object>) v).entrySet()) {
                if (!first) sb.append(',');
                first = false;
                quote(sb, String.valueOf(e.getKey()));
                sb.append(':');
                write(sb, e.getValue());
            }
            sb.append('}');
        } else if (v instanceof Iterable) {
            sb.append('[');
            boolean first = true;
            for (Object o : (Iterable<Object>) v) {
                if (!first) sb.append(',');
                first = false;
                write(sb, o);
            }
            sb.append(']');
        } else if (v instanceof Object[]) {
            write(sb, List.of((Object[]) v));
        } else if (v instanceof RawJson) {
            sb.append(((RawJson) v).json());
        } else {
            throw new IllegalArgumentException("cannot write a " + v.getClass().getName() + " as JSON");
        }
    }

    /** JSON text written as it is (already valid JSON). */
    public record RawJson(String json) {}

    static void quote(StringBuilder sb, String s) {
        sb.append('"');
        int plain = 0;
        while (plain < s.length()) {
            char c = s.charAt(plain);
            if (c < 0x20 || c == '"' || c == '\\') break;
            plain++;
        }
        // Fast path: nothing to escape (ids, stream names, most strings), appended at once.
        sb.append(s, 0, plain);
        for (int i = plain; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                case '\b': sb.append("\\b"); break;
                case '\f': sb.append("\\f"); break;
                default:
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
            }
        }
        sb.append('"');
    }

    /** Member of an object read as a map, or null (also when m is not a map). */
    @SuppressWarnings("unchecked")
    static Object get(Object m, String key) {
        return m instanceof Map ? ((Map<String, Object>) m).get(key) : null;
    }

    static String str(Object v) { return v instanceof String ? (String) v : null; }

    private static final int MAX_DEPTH = 512;

    private static final class Reader {
        final String s;
        int i;

        Reader(String s) { this.s = s; }

        IllegalArgumentException err(String msg) {
            return new IllegalArgumentException("not JSON at offset " + i + ": " + msg);
        }

        void ws() {
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
                i++;
            }
        }

        Object value(int depth) {
            if (depth > MAX_DEPTH) throw err("nested too deep");
            if (i >= s.length()) throw err("unexpected end");
            char c = s.charAt(i);
            switch (c) {
                case '{': return object(depth);
                case '[': return array(depth);
                case '"': return string();
                case 't': return lit("true", Boolean.TRUE);
                case 'f': return lit("false", Boolean.FALSE);
                case 'n': return lit("null", null);
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) return number();
                    throw err("unexpected '" + c + "'");
            }
        }

        Object lit(String word, Object v) {
            if (!s.startsWith(word, i)) throw err("expected " + word);
            i += word.length();
            return v;
        }

        Map<String, Object> object(int depth) {
            Map<String, Object> m = new LinkedHashMap<>();
            i++;
            ws();
            if (i < s.length() && s.charAt(i) == '}') { i++; return m; }
            for (;;) {
                ws();
                if (i >= s.length() || s.charAt(i) != '"') throw err("expected a member name");
                String k = string();
                ws();
                if (i >= s.length() || s.charAt(i) != ':') throw err("expected ':'");
                i++;
                ws();
                m.put(k, value(depth + 1));
                ws();
                if (i >= s.length()) throw err("unexpected end");
                char c = s.charAt(i++);
                if (c == '}') return m;
                if (c != ',') throw err("expected ',' or '}'");
            }
        }

        List<Object> array(int depth) {
            List<Object> l = new ArrayList<>();
            i++;
            ws();
            if (i < s.length() && s.charAt(i) == ']') { i++; return l; }
            for (;;) {
                ws();
                l.add(value(depth + 1));
                ws();
                if (i >= s.length()) throw err("unexpected end");
                char c = s.charAt(i++);
                if (c == ']') return l;
                if (c != ',') throw err("expected ',' or ']'");
            }
        }

        String string() {
            i++; // the opening quote
            StringBuilder sb = null;
            int start = i;
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c == '"') {
                    String out = sb == null ? s.substring(start, i) : sb.append(s, start, i).toString();
                    i++;
                    return out;
                }
                if (c < 0x20) throw err("raw control character in a string");
                if (c == '\\') {
                    if (sb == null) sb = new StringBuilder();
                    sb.append(s, start, i);
                    if (++i >= s.length()) break;
                    char e = s.charAt(i++);
                    switch (e) {
                        case '"': sb.append('"'); break;
                        case '\\': sb.append('\\'); break;
                        case '/': sb.append('/'); break;
                        case 'b': sb.append('\b'); break;
                        case 'f': sb.append('\f'); break;
                        case 'n': sb.append('\n'); break;
                        case 'r': sb.append('\r'); break;
                        case 't': sb.append('\t'); break;
                        case 'u':
                            if (i + 4 > s.length()) throw err("short \\u escape");
                            try {
                                sb.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                            } catch (NumberFormatException ex) {
                                throw err("bad \\u escape");
                            }
                            i += 4;
                            break;
                        default: throw err("bad escape");
                    }
                    start = i;
                    continue;
                }
                i++;
            }
            throw err("unterminated string");
        }

        JsonNumber number() {
            int start = i;
            skipNumber();
            return new JsonNumber(s.substring(start, i));
        }

        void skipNumber() {
            if (s.charAt(i) == '-') i++;
            if (i < s.length() && s.charAt(i) == '0') {
                i++;
            } else if (i < s.length() && s.charAt(i) >= '1' && s.charAt(i) <= '9') {
                while (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9') i++;
            } else {
                throw err("bad number");
            }
            if (i < s.length() && s.charAt(i) == '.') {
                i++;
                int d = i;
                while (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9') i++;
                if (d == i) throw err("bad number");
            }
            if (i < s.length() && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
                i++;
                if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) i++;
                int d = i;
                while (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9') i++;
                if (d == i) throw err("bad number");
            }
        }

        /** Checks and skips a value without building it. */
        void skip(int depth) {
            if (depth > MAX_DEPTH) throw err("nested too deep");
            if (i >= s.length()) throw err("unexpected end");
            char c = s.charAt(i);
            switch (c) {
                case '{':
                    i++;
                    ws();
                    if (i < s.length() && s.charAt(i) == '}') { i++; return; }
                    for (;;) {
                        ws();
                        if (i >= s.length() || s.charAt(i) != '"') throw err("expected a member name");
                        skipString();
                        colon();
                        skip(depth + 1);
                        if (endOf('}')) return;
                    }
                case '[':
                    i++;
                    ws();
                    if (i < s.length() && s.charAt(i) == ']') { i++; return; }
                    for (;;) {
                        ws();
                        skip(depth + 1);
                        if (endOf(']')) return;
                    }
                case '"': skipString(); return;
                case 't': lit("true", null); return;
                case 'f': lit("false", null); return;
                case 'n': lit("null", null); return;
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) { skipNumber(); return; }
                    throw err("unexpected '" + c + "'");
            }
        }

        void colon() {
            ws();
            if (i >= s.length() || s.charAt(i) != ':') throw err("expected ':'");
            i++;
            ws();
        }

        /** After a member or element: true at the closing bracket (consumed), false at a ','. */
        boolean endOf(char close) {
            ws();
            if (i >= s.length()) throw err("unexpected end");
            char c = s.charAt(i++);
            if (c == close) return true;
            if (c != ',') throw err("expected ',' or '" + close + "'");
            return false;
        }

        /**
         * A member name (at its opening quote) that is one of names, as that constant, or null for
         * any other: checked as {@link #string} would, without copying it.
         */
        String name(String[] names) {
            int start = i + 1;
            skipString();
            int end = i - 1;
            for (String n : names) if (n.length() == end - start && s.startsWith(n, start)) return n;
            for (int k = start; k < end; k++) {
                if (s.charAt(k) == '\\') { // escaped: decoded, then compared
                    int after = i;
                    i = start - 1;
                    String decoded = string();
                    i = after;
                    for (String n : names) if (n.equals(decoded)) return n;
                    return null;
                }
            }
            return null;
        }

        void skipString() {
            i++;
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c == '"') { i++; return; }
                if (c < 0x20) throw err("raw control character in a string");
                if (c == '\\') {
                    if (++i >= s.length()) break;
                    char e = s.charAt(i++);
                    if (e == 'u') {
                        if (i + 4 > s.length()) throw err("short \\u escape");
                        for (int k = 0; k < 4; k++) if (Character.digit(s.charAt(i + k), 16) < 0 || s.charAt(i + k) > 'f') throw err("bad \\u escape");
                        i += 4;
                    } else if ("\"\\/bfnrt".indexOf(e) < 0) {
                        throw err("bad escape");
                    }
                    continue;
                }
                i++;
            }
            throw err("unterminated string");
        }
    }

    /** What the client needs to know of an event given as JSON text: its top-level members and meta's. */
    static final class EventInfo {
        boolean topEmpty = true, hasSchema, hasDT, hasMeta, metaIsObject, metaEmpty = true, metaHasID, metaHasStream;
        int metaStart = -1; // offset of meta's value
        int end = -1; // offset of the object's closing brace
        String metaID, metaStream; // when they are strings
    }

    /**
     * Checks that s is JSON (as {@link #parse} would) and an object, and reads what the client
     * needs of it without building it. The first of two equal names counts (the edge refuses an
     * event with two).
     */
    private static final String[] TOP_NAMES = {"meta", "$schema", "dt"}, META_NAMES = {"id", "stream"};

    // name() returns these constants themselves: the scan compares them with ==.
    static EventInfo scanEvent(String s) {
        Reader r = new Reader(s);
        EventInfo e = new EventInfo();
        r.ws();
        if (r.i >= s.length() || s.charAt(r.i) != '{') {
            r.skip(0); // not JSON at all: say where
            throw new IllegalArgumentException("intake client: an event must be a JSON object");
        }
        r.i++;
        r.ws();
        if (r.i < s.length() && s.charAt(r.i) == '}') {
            r.i++;
        } else {
            for (;;) {
                r.ws();
                if (r.i >= s.length() || s.charAt(r.i) != '"') throw r.err("expected a member name");
                String key = r.name(TOP_NAMES);
                r.colon();
                e.topEmpty = false;
                if (key == "meta" && !e.hasMeta) {
                    e.hasMeta = true;
                    e.metaStart = r.i;
                    if (r.i < s.length() && s.charAt(r.i) == '{') {
                        e.metaIsObject = true;
                        r.i++;
                        r.ws();
                        if (r.i < s.length() && s.charAt(r.i) == '}') {
                            r.i++;
                        } else {
                            for (;;) {
                                r.ws();
                                if (r.i >= s.length() || s.charAt(r.i) != '"') throw r.err("expected a member name");
                                String mk = r.name(META_NAMES);
                                r.colon();
                                e.metaEmpty = false;
                                boolean str = r.i < s.length() && s.charAt(r.i) == '"';
                                if (mk == "id" && !e.metaHasID) {
                                    e.metaHasID = true;
                                    if (str) e.metaID = r.string(); else r.skip(2);
                                } else if (mk == "stream" && !e.metaHasStream) {
                                    e.metaHasStream = true;
                                    if (str) e.metaStream = r.string(); else r.skip(2);
                                } else {
                                    r.skip(2);
                                }
                                if (r.endOf('}')) break;
                            }
                        }
                    } else {
                        r.skip(1);
                    }
                } else {
                    if (key == "$schema") e.hasSchema = true;
                    if (key == "dt") e.hasDT = true;
                    r.skip(1);
                }
                if (r.endOf('}')) break;
            }
        }
        e.end = r.i - 1;
        r.ws();
        if (r.i != s.length()) throw r.err("unexpected data after the value");
        return e;
    }

    /** Is v a JSON number whose text is an integer (no fraction, no exponent)? */
    static boolean isInteger(Object v) {
        if (!(v instanceof JsonNumber)) return v instanceof Integer || v instanceof Long || v instanceof BigInteger;
        String t = ((JsonNumber) v).text;
        return t.indexOf('.') < 0 && t.indexOf('e') < 0 && t.indexOf('E') < 0;
    }
}
