package dev.intake.client;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * The on-disk queue: enqueued events stay here until the edge has answered for them. The layout
 * is the Go client's (client/spool.go), and either client sends a spool the other wrote
 * (SpoolHandoverTest):
 *
 * <pre>
 *   00000000000000000001.seg   segment files, appended in order, numbered from 1
 *   cursor                     where the unacknowledged records start: segment u64 LE, offset u64 LE, CRC-32C of those 16 bytes
 *   lock                       held by the client using the spool: a POSIX record lock (fcntl) here,
 *                              flock(2) in the Go client; on Linux neither sees the other, so a JVM
 *                              and a Go client must not be given the same directory at once
 * </pre>
 *
 * A record is length (u32 LE, of the payload), CRC-32C of the payload (u32 LE), then the payload:
 * uvarint len(id), id, uvarint len(stream), stream, [0x00 and the three unit ids, each uvarint
 * length and bytes: only for an event enqueued before the stream configuration was loaded], the
 * event's JSON. Each record is written with one write before enqueue returns, so killing the
 * process loses nothing; at open, a record that is short or fails its CRC (a writer killed
 * mid-write) and what follows it in its segment are cut; so is a record of length 0 or one whose
 * payload cannot be decoded, as the Go client does. A cursor whose segment is gone moves to the
 * oldest segment left; one past the end of its segment, to that segment's start.
 */
final class Spool {
    private static final Logger LOG = Logger.getLogger("dev.intake.client");
    static final int HEADER = 8;
    private static final int MAX_RECORD = 64 << 20;

    /** A position: segment number and byte offset in it. */
    record Pos(long seg, long off) {}

    /** A record read back. */
    record Entry(Rec rec, long frameBytes) {}

    final Path dir;
    final long maxBytes;
    private final long segBytes;
    private final long fsyncMillis; // > 0: background fsync interval; 0: before enqueue returns; < 0: never
    private final FileChannel lockChannel;
    private final FileLock lock;

    long recovered, recoveredBytes;

    // The writer (appends serialized by the queue's lock).
    private final Object wmu = new Object();
    private long wseg;
    private long woff;
    private FileChannel wfile;
    private boolean dirty;

    // The reader (the sender thread only).
    private Pos rpos;
    private FileChannel rfile;
    private long rseg = -1;

    private Thread syncer;
    private volatile boolean closed;

    Spool(Path dir, long maxBytes, long segBytes, long fsyncMillis) throws IOException {
        this.dir = dir;
        this.maxBytes = maxBytes;
        this.segBytes = segBytes;
        this.fsyncMillis = fsyncMillis;
        Files.createDirectories(dir);
        lockChannel = FileChannel.open(dir.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock l;
        try {
            l = lockChannel.tryLock();
        } catch (OverlappingFileLockException e) {
            l = null;
        }
        if (l == null) {
            lockChannel.close();
            throw new IOException("intake client: the spool " + dir + " is in use by another client (spool)");
        }
        lock = l;
        try {
            recover();
        } catch (IOException | RuntimeException e) {
            closeFiles();
            throw e;
        }
        if (fsyncMillis > 0) {
            syncer = new Thread(this::syncLoop, "intake-spool-fsync");
            syncer.setDaemon(true);
            syncer.start();
        }
    }

    private Path segPath(long seg) { return dir.resolve(String.format("%020d.seg", seg)); }

    private List<Long> segments() throws IOException {
        List<Long> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String n = p.getFileName().toString();
                if (!n.endsWith(".seg")) continue;
                try {
                    long v = Long.parseLong(n.substring(0, n.length() - 4));
                    if (v > 0) out.add(v);
                } catch (NumberFormatException e) {
                    // not ours
                }
            }
        }
        out.sort(null);
        return out;
    }

    private Pos readCursor() {
        try {
            byte[] b = Files.readAllBytes(dir.resolve("cursor"));
            if (b.length != 20) return null;
            ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
            CRC32C c = new CRC32C();
            c.update(b, 0, 16);
            if ((int) c.getValue() != bb.getInt(16)) return null;
            return new Pos(bb.getLong(0), bb.getLong(8));
        } catch (IOException e) {
            return null;
        }
    }

    private void recover() throws IOException {
        List<Long> segs = segments();
        Pos cur = readCursor();
        if (cur == null) cur = new Pos(segs.isEmpty() ? 1 : segs.get(0), 0);
        List<Long> keep = new ArrayList<>();
        for (long seg : segs) {
            if (seg < cur.seg) {
                Files.deleteIfExists(segPath(seg)); // wholly acknowledged
            } else {
                keep.add(seg);
            }
        }
        if (!keep.isEmpty() && keep.get(0) > cur.seg) cur = new Pos(keep.get(0), 0); // the cursor's segment is gone
        long lastSeg = cur.seg;
        for (long seg : keep) {
            lastSeg = seg;
            long from = seg == cur.seg ? cur.off : 0;
            try (FileChannel ch = FileChannel.open(segPath(seg), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                long size = ch.size();
                if (from > size) {
                    LOG.severe("intake client: the spool cursor is past the end of its segment " + segPath(seg) + " (" + from + " > " + size + "); sending the segment again from its start");
                    from = 0;
                    cur = new Pos(seg, 0);
                }
                long off = from;
                while (off < size) {
                    long n = frameAt(ch, off, size);
                    if (n < 0) {
                        LOG.warning("intake client: the spool's segment " + segPath(seg) + " has a torn record at " + off + "; cut " + (size - off) + " bytes");
                        ch.truncate(off);
                        break;
                    }
                    recovered++;
                    recoveredBytes += n;
                    off += n;
                }
            }
        }
        if (recovered > 0) LOG.info("intake client: the spool " + dir + " holds " + recovered + " events from an earlier client; they are sent first");
        rpos = cur;
        wseg = Math.max(lastSeg, cur.seg);
        wfile = FileChannel.open(segPath(wseg), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        woff = wfile.size();
        wfile.position(woff);
    }

    /** The size of the whole record at off, or -1 when it is short or fails its CRC. */
    private static long frameAt(FileChannel ch, long off, long size) throws IOException {
        if (size - off < HEADER) return -1;
        ByteBuffer h = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, h, off);
        long len = Integer.toUnsignedLong(h.getInt(0));
        if (len == 0 || len > MAX_RECORD || size - off - HEADER < len) return -1;
        ByteBuffer p = ByteBuffer.allocate((int) len);
        readFully(ch, p, off + HEADER);
        CRC32C c = new CRC32C();
        c.update(p.array(), 0, (int) len);
        if ((int) c.getValue() != h.getInt(4) || !decodable(p.array())) return -1;
        return HEADER + len;
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long off) throws IOException {
        while (b.hasRemaining()) {
            int n = ch.read(b, off + b.position());
            if (n < 0) throw new IOException("unexpected end of a spool segment");
        }
    }

    /** The record's frame: header and payload. */
    static byte[] frame(Rec rec) {
        byte[] id = rec.id.getBytes(StandardCharsets.UTF_8);
        byte[] stream = rec.stream.getBytes(StandardCharsets.UTF_8);
        byte[][] units = null;
        int n = uvarintLen(id.length) + id.length + uvarintLen(stream.length) + stream.length + rec.raw.length;
        if (rec.units != null) {
            units = new byte[3][];
            String[] ids = {rec.units.session(), rec.units.pageview(), rec.units.device()};
            n++;
            for (int i = 0; i < 3; i++) {
                units[i] = (ids[i] == null ? "" : ids[i]).getBytes(StandardCharsets.UTF_8);
                n += uvarintLen(units[i].length) + units[i].length;
            }
        }
        ByteBuffer b = ByteBuffer.allocate(HEADER + n).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(n).putInt(0);
        putBytes(b, id);
        putBytes(b, stream);
        if (units != null) {
            b.put((byte) 0);
            for (byte[] u : units) putBytes(b, u);
        }
        b.put(rec.raw);
        CRC32C c = new CRC32C();
        c.update(b.array(), HEADER, n);
        b.putInt(4, (int) c.getValue());
        return b.array();
    }

    static long frameSize(Rec rec) { return frame(rec).length; }

    private static void putBytes(ByteBuffer b, byte[] v) {
        long x = v.length;
        while (x >= 0x80) {
            b.put((byte) (x | 0x80));
            x >>>= 7;
        }
        b.put((byte) x);
        b.put(v);
    }

    private static int uvarintLen(long v) {
        int n = 1;
        while (v >= 0x80) {
            v >>>= 7;
            n++;
        }
        return n;
    }

    /** Appends a frame (from {@link #frame}); the bytes are in the kernel when it returns. */
    void append(byte[] f) throws IOException {
        synchronized (wmu) {
            if (woff > 0 && woff + f.length > segBytes) {
                if (dirty && fsyncMillis >= 0) wfile.force(false);
                wfile.close();
                wseg++;
                wfile = FileChannel.open(segPath(wseg), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                woff = 0;
            }
            ByteBuffer b = ByteBuffer.wrap(f);
            while (b.hasRemaining()) wfile.write(b);
            woff += f.length;
            dirty = true;
            if (fsyncMillis == 0) {
                wfile.force(false);
                dirty = false;
            }
        }
    }

    private void syncLoop() {
        while (!closed) {
            try {
                Thread.sleep(fsyncMillis);
            } catch (InterruptedException e) {
                return;
            }
            synchronized (wmu) {
                if (dirty && !closed) {
                    try {
                        wfile.force(false);
                        dirty = false;
                    } catch (IOException e) {
                        LOG.warning("intake client: cannot fsync the spool: " + e);
                    }
                }
            }
        }
    }

    private static final int READ_CHUNK = 256 << 10;

    /**
     * Reads up to maxEvents records (and maxBytes, at least one) from the read position; avail are
     * whole on disk. The segment is read in chunks (one read per batch, not two per record).
     */
    List<Entry> read(long maxEvents, long maxBytes, long avail) throws IOException {
        List<Entry> out = new ArrayList<>();
        long bytes = 0;
        long want = Math.min(maxEvents, avail);
        while (out.size() < want) {
            if (rseg != rpos.seg) {
                if (rfile != null) rfile.close();
                rfile = FileChannel.open(segPath(rpos.seg), StandardOpenOption.READ);
                rseg = rpos.seg;
            }
            long size = rfile.size();
            if (rpos.off + HEADER > size) {
                // This segment is done: the writer has moved to the next one.
                rpos = new Pos(rpos.seg + 1, 0);
                continue;
            }
            int chunk = (int) Math.min(size - rpos.off, Math.max(READ_CHUNK, Math.min(maxBytes, MAX_RECORD) + HEADER));
            ByteBuffer buf = ByteBuffer.allocate(chunk).order(ByteOrder.LITTLE_ENDIAN);
            readFully(rfile, buf, rpos.off);
            int at = 0;
            boolean full = false;
            while (out.size() < want && at + HEADER <= chunk) {
                int len = buf.getInt(at);
                if (len < 0 || len > MAX_RECORD) throw new IOException("intake client: a spool record has a bad length at " + segPath(rpos.seg) + ":" + (rpos.off + at));
                if (at + HEADER + len > chunk) break; // the rest of it is in the next chunk
                if (!out.isEmpty() && bytes + HEADER + len > maxBytes) {
                    full = true;
                    break;
                }
                CRC32C c = new CRC32C();
                c.update(buf.array(), at + HEADER, len);
                if ((int) c.getValue() != buf.getInt(at + 4)) throw new IOException("intake client: a spool record fails its CRC at " + segPath(rpos.seg) + ":" + (rpos.off + at));
                byte[] p = new byte[len];
                System.arraycopy(buf.array(), at + HEADER, p, 0, len);
                out.add(new Entry(decode(p), HEADER + len));
                bytes += HEADER + len;
                at += HEADER + len;
            }
            rpos = new Pos(rpos.seg, rpos.off + at);
            if (full) break;
        }
        return out;
    }

    Pos readPos() { return rpos; }

    /** Whether decode can read p: its fields within it and an event after them (the Go client's payloadOK). */
    static boolean decodable(byte[] p) {
        int at = 0;
        for (int field = 0; field < 5; field++) {
            if (field == 2) {
                if (at < p.length && p[at] == 0) {
                    at++;
                } else {
                    break;
                }
            }
            long v = 0;
            int shift = 0;
            for (;;) {
                if (at >= p.length || shift > 63) return false;
                byte b = p[at++];
                v |= (long) (b & 0x7f) << shift;
                if ((b & 0x80) == 0) break;
                shift += 7;
            }
            if (v < 0 || v > p.length - at) return false;
            at += (int) v;
        }
        return at < p.length;
    }

    private static Rec decode(byte[] p) {
        int[] at = {0};
        String id = new String(bytes(p, at), StandardCharsets.UTF_8);
        String stream = new String(bytes(p, at), StandardCharsets.UTF_8);
        Units units = null;
        if (at[0] < p.length && p[at[0]] == 0) {
            at[0]++;
            units = new Units(new String(bytes(p, at), StandardCharsets.UTF_8), new String(bytes(p, at), StandardCharsets.UTF_8),
                    new String(bytes(p, at), StandardCharsets.UTF_8));
        }
        byte[] raw = new byte[p.length - at[0]];
        System.arraycopy(p, at[0], raw, 0, raw.length);
        return new Rec(id, stream, raw, units);
    }

    private static byte[] bytes(byte[] p, int[] at) {
        long v = 0;
        int shift = 0;
        for (;;) {
            byte b = p[at[0]++];
            v |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) break;
            shift += 7;
        }
        byte[] out = new byte[(int) v];
        System.arraycopy(p, at[0], out, 0, out.length);
        at[0] += out.length;
        return out;
    }

    /** Records before end are done: the cursor moves there (write, rename) and older segments go. */
    void commit(Pos end) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(end.seg).putLong(end.off);
        CRC32C c = new CRC32C();
        c.update(b.array(), 0, 16);
        b.putInt((int) c.getValue());
        Path tmp = dir.resolve("cursor.tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            b.flip();
            while (b.hasRemaining()) ch.write(b);
            if (fsyncMillis == 0) ch.force(true);
        }
        Files.move(tmp, dir.resolve("cursor"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        for (long seg : segments()) {
            if (seg >= end.seg) break;
            Files.deleteIfExists(segPath(seg));
        }
    }

    void close() {
        closed = true;
        if (syncer != null) syncer.interrupt();
        synchronized (wmu) {
            try {
                if (dirty && fsyncMillis >= 0) wfile.force(false);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } finally {
                closeFiles();
            }
        }
    }

    private void closeFiles() {
        try {
            if (wfile != null) wfile.close();
            if (rfile != null) rfile.close();
            if (lock != null) lock.release();
            lockChannel.close();
        } catch (IOException e) {
            // closing: nothing more to do
        }
    }
}
