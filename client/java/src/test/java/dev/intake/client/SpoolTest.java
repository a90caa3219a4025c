package dev.intake.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The spool opens a directory as the Go client's does (client/spool.go, recover and check). */
class SpoolTest {
    static Path seg(Path dir, long n) { return dir.resolve(String.format("%020d.seg", n)); }

    /** Writes n records, each about 100 bytes, into segments of segBytes; their ids. */
    static List<String> write(Path dir, int n, long segBytes) throws Exception {
        List<String> ids = new ArrayList<>();
        Spool s = new Spool(dir, 1 << 30, segBytes, -1);
        for (int i = 0; i < n; i++) {
            String id = Events.newID();
            ids.add(id);
            s.append(Spool.frame(new Rec(id, "example.click", ("{\"i\":" + i + ",\"pad\":\"" + "x".repeat(40) + "\"}").getBytes(StandardCharsets.UTF_8), null)));
        }
        s.close();
        return ids;
    }

    static List<String> readAll(Spool s) throws Exception {
        List<String> out = new ArrayList<>();
        for (Spool.Entry e : s.read(Long.MAX_VALUE, Long.MAX_VALUE, s.recovered)) out.add(e.rec().id);
        return out;
    }

    @Test
    void aZeroFilledTailIsCutAsTorn() throws Exception {
        Path dir = Files.createTempDirectory("intake-java-spool-");
        List<String> ids = write(dir, 3, 1 << 20);
        long size = Files.size(seg(dir, 1));
        Files.write(seg(dir, 1), new byte[64], StandardOpenOption.APPEND); // length 0, CRC 0: not a record
        Spool s = new Spool(dir, 1 << 30, 1 << 20, -1);
        assertEquals(3, s.recovered);
        assertEquals(size, Files.size(seg(dir, 1)), "the zeros are cut");
        assertEquals(ids, readAll(s));
        s.close();
    }

    @Test
    void aCursorWhoseSegmentIsGoneMovesToTheOldestLeft() throws Exception {
        Path dir = Files.createTempDirectory("intake-java-spool-");
        List<String> ids = write(dir, 9, 400); // three records a segment
        assertEquals(true, Files.exists(seg(dir, 3)));
        Spool s = new Spool(dir, 1 << 30, 400, -1);
        s.commit(new Spool.Pos(1, 0));
        s.close();
        Files.delete(seg(dir, 1));
        s = new Spool(dir, 1 << 30, 400, -1);
        assertEquals(ids.subList(3, 9), readAll(s));
        s.close();
    }

    @Test
    void aCursorPastTheEndOfItsSegmentStartsThatSegmentAgain() throws Exception {
        Path dir = Files.createTempDirectory("intake-java-spool-");
        List<String> ids = write(dir, 9, 400);
        Spool s = new Spool(dir, 1 << 30, 400, -1);
        s.commit(new Spool.Pos(2, 100_000));
        s.close();
        s = new Spool(dir, 1 << 30, 400, -1);
        assertEquals(ids.subList(3, 9), readAll(s), "duplicates rather than loss");
        s.close();
    }
}
