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

    /**
     * The offset of the value of the top-level member key of the JSON object s (valid JSON, as
     * {@link #parse} checked), or -1 when it has none.
     */
    static int memberValueStart(String s, String key) {
        int i = skipWs(s, 0);
        if (i >= s.length() || s.charAt(i) != '{') return -1;
        i = skipWs(s, i + 1);
        while (i < s.length() && s.charAt(i) == '"') {
            int end = skipString(s, i);
            String raw = s.substring(i + 1, end - 1);
            String name = raw.indexOf('\\') < 0 ? raw : (String) parse(s.substring(i, end));
            i = skipWs(s, end);
            i = skipWs(s, i + 1); // the ':'
            if (name.equals(key)) return i;
            i = skipWs(s, skipValue(s, i));
            if (i < s.length() && s.charAt(i) == ',') i = skipWs(s, i + 1);
            else break;
        }
        return -1;
    }

    private static int skipWs(String s, int i) {
        while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t' || s.charAt(i) == '\n' || s.charAt(i) == '\r')) i++;
        return i;
    }

    /** Just past the string starting at i (its opening quote). */
    private static int skipString(String s, int i) {
        for (i++; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\') i++;
            else if (c == '"') return i + 1;
        }
        return i;
    }

    /** Just past the value starting at i. */
    private static int skipValue(String s, int i) {
        char c = s.charAt(i);
        if (c == '"') return skipString(s, i);
        if (c == '{' || c == '[') {
            int depth = 0;
            for (; i < s.length(); i++) {
                c = s.charAt(i);
                if (c == '"') {
                    i = skipString(s, i) - 1;
                } else if (c == '{' || c == '[') {
                    depth++;
                } else if (c == '}' || c == ']') {
                    if (--depth == 0) return i + 1;
                }
            }
            return i;
        }
        while (i < s.length() && ",}] \t\n\r".indexOf(s.charAt(i)) < 0) i++;
        return i;
    }

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
            if (s.charAt(i) == '-') i++;
            if (i < s.length() && s.charAt(i) == '0') {
                i++;
            } else if (i < s.length() && s.charAt(i) >= '1' && s.charAt(i) <= '9') {
                while (i < s.length() && Character.isDigit(s.charAt(i))) i++;
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
            return new JsonNumber(s.substring(start, i));
        }
    }

    /** Is v a JSON number whose text is an integer (no fraction, no exponent)? */
    static boolean isInteger(Object v) {
        if (!(v instanceof JsonNumber)) return v instanceof Integer || v instanceof Long || v instanceof BigInteger;
        String t = ((JsonNumber) v).text;
        return t.indexOf('.') < 0 && t.indexOf('e') < 0 && t.indexOf('E') < 0;
    }
}
