package dev.intake.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every vector of client/testdata/sampling-vectors.json, the cases every intake client shares. */
class SamplingVectorsTest {
    static final Path VECTORS = Path.of("..", "testdata", "sampling-vectors.json");

    static Map<?, ?> vectors() throws Exception {
        return (Map<?, ?>) Json.parse(Files.readString(VECTORS));
    }

    @Test
    void inSampleCases() throws Exception {
        List<?> cases = (List<?>) vectors().get("cases");
        assertTrue(cases.size() > 100, "the vectors file has its cases");
        int n = 0;
        for (Object c : cases) {
            Map<?, ?> m = (Map<?, ?>) c;
            String id = (String) m.get("id");
            double rate = ((Number) m.get("rate")).doubleValue();
            assertEquals(m.get("in"), Sampling.inSample(id, rate), "inSample(" + id + ", " + rate + ")");
            n++;
        }
        assertEquals(cases.size(), n);
    }

    @Test
    void decisions() throws Exception {
        Map<?, ?> d = (Map<?, ?>) vectors().get("decisions");
        Map<?, ?> u = (Map<?, ?>) d.get("units");
        Units base = new Units((String) u.get("session"), (String) u.get("pageview"), (String) u.get("device"));
        Map<?, ?> configs = (Map<?, ?>) d.get("configs");
        List<?> cases = (List<?>) d.get("cases");
        assertTrue(cases.size() > 40);
        for (Object c : cases) {
            Map<?, ?> m = (Map<?, ?>) c;
            String config = (String) m.get("config");
            String stream = (String) m.get("stream");
            Units units = base;
            if (m.get("units") instanceof Map) {
                Map<?, ?> cu = (Map<?, ?>) m.get("units");
                units = base.with(new Units((String) cu.get("session"), (String) cu.get("pageview"), (String) cu.get("device")));
            }
            for (boolean dev : new boolean[] {false, true}) {
                String want = (String) m.get(dev ? "developer" : "verdict");
                String got;
                switch (config) {
                    case "off": got = "send"; break; // no configuration by choice: every event is sent unsampled
                    case "unloaded": got = "no-config"; break;
                    default:
                        Sampling.StreamConfig sc = Sampling.parse(Json.write(Map.of("streams", configs.get(config))), null);
                        got = name(sc.decide(stream, units, dev));
                }
                assertEquals(want, got, "config " + config + ", stream \"" + stream + "\", developer " + dev);
            }
        }
    }


    private static String name(Sampling.Verdict v) {
        switch (v) {
            case SEND: return "send";
            case OUT: return "out";
            case INVALID: return "invalid";
            case UNCONFIGURED: return "unconfigured";
            default: return "no-config";
        }
    }
}
