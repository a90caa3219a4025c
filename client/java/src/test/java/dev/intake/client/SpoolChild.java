package dev.intake.client;

import java.nio.file.Path;
import java.time.Duration;

/**
 * A producer the kill test starts in a JVM of its own: it enqueues n events into a spool, for an
 * edge that is down, prints each meta.id once enqueue returned, then "ENQUEUED" and waits to be
 * killed. Arguments: spool directory, edge URL, n.
 */
public final class SpoolChild {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int n = Integer.parseInt(args[2]);
        IntakeClient c = IntakeClient.builder(args[1]).spool(dir).spoolFsync(null)
                .backoff(Duration.ofMillis(50), Duration.ofMillis(200)).build();
        for (int i = 0; i < n; i++) {
            String id = Events.newID();
            c.enqueue(Edge.clickWithID("example.click", i + 1, id));
            System.out.println(id);
        }
        System.out.println("ENQUEUED");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
