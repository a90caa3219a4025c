package dev.intake.client;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Events/s through the JVM client to a local edge (bin/intake serve, its broker in a process of
 * its own, 3 partitions) beside a bare java.net.http.HttpClient loop posting the same bodies, as
 * the Go client's BenchmarkSend100 measures it: 100-event batches of small example/click events
 * sent one after the other, each waiting for Kafka's acknowledgements; then enqueue (the
 * background sender, batches of 500) in memory with one and four sender threads, and with a spool. Run by make bench-java.
 * Arguments: --intake BIN, --seconds N (per run).
 */
public final class Bench {
    static final String EVENT = "{\"$schema\":\"/example/click/1.0.0\",\"dt\":\"2026-11-23T12:00:00.000Z\",\"meta\":{\"stream\":\"example.click\"},"
            + "\"page\":{\"id\":42,\"title\":\"Main Page\"},\"button\":\"save\"}";

    public static void main(String[] args) throws Exception {
        String bin = "bin/intake";
        int seconds = 10;
        for (int i = 0; i < args.length - 1; i++) {
            if (args[i].equals("--intake")) bin = args[i + 1];
            if (args[i].equals("--seconds")) seconds = Integer.parseInt(args[i + 1]);
        }
        Path repo = Path.of("..", "..").toAbsolutePath().normalize();
        Path tmp = Files.createTempDirectory("intake-java-bench-");
        int port = Edge.freePort();
        String brokerAddr = "127.0.0.1:" + Edge.freePort();
        String url = "http://127.0.0.1:" + port;
        List<Process> procs = new ArrayList<>();
        try {
            procs.add(new ProcessBuilder(bin, "broker", "--addr", brokerAddr, "--partitions", "3", "--retention-bytes", "16777216")
                    .redirectErrorStream(true).redirectOutput(tmp.resolve("broker.log").toFile()).start());
            procs.add(new ProcessBuilder(bin, "serve", "--listen", "127.0.0.1:" + port, "--kafka-brokers", brokerAddr,
                    "--schema-base-uri", repo.resolve("examples/schemas").toString(),
                    "--stream-config", repo.resolve("examples/stream-config.json").toString(), "--topic-prefix", "dev.",
                    "--log-level", "warn")
                    .redirectErrorStream(true).redirectOutput(tmp.resolve("edge.log").toFile()).start());
            HttpClient hc = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            waitReady(hc, url);

            List<Object> events = new ArrayList<>();
            for (int i = 0; i < 100; i++) events.add(EVENT);
            // The body the client posts: each event with its meta.id, as the client writes it.
            IntakeClient probe = IntakeClient.builder(url).streamConfigRefresh(null).build();
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < 100; i++) {
                if (i > 0) sb.append(',');
                sb.append(new String(probe.prepare(EVENT).raw, StandardCharsets.UTF_8));
            }
            probe.close();
            byte[] body = sb.append(']').toString().getBytes(StandardCharsets.UTF_8);
            System.out.printf("100-event body: %d bytes; %d s of each, in interleaved half-second slices, after a 3 s warm-up of each%n", body.length, seconds);

            IntakeClient send = IntakeClient.builder(url).streamConfigRefresh(null).build();
            IntakeClient sendPlain = IntakeClient.builder(url).streamConfigRefresh(null).gzipAbove(-1).build();
            Runnable bare = () -> {
                try {
                    HttpResponse<String> r = hc.send(HttpRequest.newBuilder(URI.create(url + "/v1/events"))
                            .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
                            HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() != 201) throw new IllegalStateException("HTTP " + r.statusCode());
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            };
            Runnable viaClient = () -> check(send.send(events));
            Runnable viaClientPlain = () -> check(sendPlain.send(events));
            run("warm-up", bare, 3);
            run("warm-up", viaClient, 3);
            run("warm-up", viaClientPlain, 3);
            // Interleaved half-second slices, so that the load of a shared machine falls on each
            // alike; the client process's CPU time per event too (less noisy than events/s).
            String[] names = {"bare HttpClient, same body", "client send(100), gzip (default)", "client send(100), no gzip"};
            Runnable[] fs = {bare, viaClient, viaClientPlain};
            long[] events100 = new long[3], nanos = new long[3], cpu = new long[3], own = new long[3];
            java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
            com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            for (int slice = 0; slice < seconds * 2; slice++) {
                for (int k = 0; k < 3; k++) {
                    long c0 = os.getProcessCpuTime(), o0 = threads.getCurrentThreadCpuTime(), t0 = System.nanoTime(), end = t0 + 500_000_000L;
                    while (System.nanoTime() < end) {
                        fs[k].run();
                        events100[k]++;
                    }
                    nanos[k] += System.nanoTime() - t0;
                    cpu[k] += os.getProcessCpuTime() - c0;
                    own[k] += threads.getCurrentThreadCpuTime() - o0;
                }
            }
            double[] rate = new double[3];
            for (int k = 0; k < 3; k++) {
                rate[k] = events100[k] * 100 / (nanos[k] / 1e9);
                System.out.printf("%-36s %,10.0f events/s  %5.2f us CPU/event in the client's process, %5.2f on the sending thread%n", names[k], rate[k],
                        cpu[k] / 1e3 / (events100[k] * 100), own[k] / 1e3 / (events100[k] * 100));
            }
            System.out.printf("send/bare = %.0f%% (gzip, the default), %.0f%% (no gzip)%n", 100 * rate[1] / rate[0], 100 * rate[2] / rate[0]);
            send.close();
            sendPlain.close();
            enqueue(url, null, 1, seconds);
            enqueue(url, null, 4, seconds);
            enqueue(url, tmp.resolve("spool"), 1, seconds);
        } finally {
            for (Process p : procs) p.destroyForcibly();
        }
    }

    static void check(List<Result> rs) {
        for (Result r : rs) if (r.status() != Result.Status.ACCEPTED) throw new IllegalStateException(r.toString());
    }

    static void waitReady(HttpClient hc, String url) throws Exception {
        for (int i = 0; i < 300; i++) {
            try {
                if (hc.send(HttpRequest.newBuilder(URI.create(url + "/readyz")).build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200) return;
            } catch (java.io.IOException e) {
                // not yet
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("the edge was not ready");
    }

    /** Runs f (100 events a call) for seconds; prints and returns events/s. */
    static double run(String name, Runnable f, int seconds) {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        long start = System.nanoTime(), n = 0;
        while (System.nanoTime() < end) {
            f.run();
            n += 100;
        }
        double rate = n / ((System.nanoTime() - start) / 1e9);
        if (!name.equals("warm-up")) System.out.printf("%-36s %,10.0f events/s%n", name, rate);
        return rate;
    }

    /** enqueue as fast as the bounded queue takes events, for seconds, then close: accepted events/s. */
    static void enqueue(String url, Path spool, int concurrency, int seconds) throws Exception {
        IntakeClient.Builder b = IntakeClient.builder(url).streamConfigRefresh(null).concurrency(concurrency);
        if (spool != null) b.spool(spool);
        IntakeClient c = b.build();
        long start = System.nanoTime(), end = start + seconds * 1_000_000_000L;
        while (System.nanoTime() < end) {
            try {
                c.enqueue(EVENT);
            } catch (QueueFullException e) {
                Thread.onSpinWait();
            }
        }
        c.close(Duration.ofSeconds(60));
        double secs = (System.nanoTime() - start) / 1e9;
        IntakeClient.Stats s = c.stats();
        System.out.printf("%-36s %,10.0f events/s (accepted %d, failed %d)%n", "client enqueue" + (spool != null ? ", spool" : "") + (concurrency > 1 ? ", concurrency(" + concurrency + ")" : ""),
                s.accepted() / secs, s.accepted(), s.failed());
    }
}
