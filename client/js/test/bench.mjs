// Throughput of the browser client against a real local edge (test/harness.mjs: bin/intake with
// the embedded broker), beside a bare fetch loop in the same page posting the same bodies: events/s
// from the first submit until the edge acknowledged the last event (synchronous requests: Kafka has
// them), in headless Chromium. npm run bench (BENCH_EVENTS=5000, BENCH_RUNS=3).
import { World } from "./harness.mjs";

const N = +(process.env.BENCH_EVENTS || 5000);
const RUNS = +(process.env.BENCH_RUNS || 3);
const w = new World();
try {
  await w.start();
  const { context, page } = await w.page("/");
  const o = { url: w.edge, schemas: { "test.in": "/example/click/1.0.0" }, streamConfigUrl: w.origin + "/v1/streams", streams: ["test.in"] };
  await page.evaluate((o) => IntakeClient.createClient(o).config(), o);
  const results = { client: [], bare: [] };
  for (let run = 0; run < RUNS; run++) {
    // The client: N events submitted at once, sent as it sends a backlog (requests of up to
    // maxBeaconBytes, one at a time, each event in IndexedDB until its request is answered).
    const c = await page.evaluate(async ([o, n]) => {
      const c = IntakeClient.createClient({ ...o, batchSize: 100, maxQueueEvents: n, maxQueueBytes: 1e8 });
      await c.config();
      const t0 = performance.now();
      for (let i = 0; i < n; i++) c.submit("test.in", { page: { id: i + 1 }, button: "save" });
      await c.flush();
      const t = performance.now() - t0;
      const s = await c.stats();
      if (s.queued) throw new Error("left in the queue: " + s.queued);
      return t;
    }, [o, N]);
    // Bare fetch: the same events (meta.id, dt, $schema filled in beforehand, outside the timing),
    // the same bodies of up to 60000 bytes, posted one at a time, text/plain, keepalive.
    const b = await page.evaluate(async ([o, n]) => {
      const enc = new TextEncoder();
      const bodies = [];
      let batch = [];
      let size = 1;
      for (let i = 0; i < n; i++) {
        const j = JSON.stringify({ $schema: o.schemas["test.in"], page: { id: i + 1 }, button: "save", meta: { stream: "test.in", id: crypto.randomUUID() }, dt: new Date().toISOString() });
        const len = enc.encode(j).length;
        if (size + len + 1 > 60000) bodies.push("[" + batch.join() + "]"), (batch = []), (size = 1);
        batch.push(j);
        size += len + 1;
      }
      bodies.push("[" + batch.join() + "]");
      const t0 = performance.now();
      for (const [i, body] of bodies.entries()) {
        const r = await fetch(o.url + "/v1/events", { method: "POST", body, headers: { "Content-Type": "text/plain" }, keepalive: true }).catch((e) => {
          throw new Error(`request ${i} of ${bodies.length}, ${body.length} chars: ${e}`);
        });
        const text = await r.text(); // a keepalive request counts against the browser's 64 KiB until its answer is read
        if (r.status != 201) throw new Error("HTTP " + r.status + " " + text);
      }
      return performance.now() - t0;
    }, [o, N]);
    results.client.push(N / (c / 1000));
    results.bare.push(N / (b / 1000));
    console.log(`run ${run + 1}: client ${(N / (c / 1000)).toFixed(0)} events/s, bare fetch ${(N / (b / 1000)).toFixed(0)} events/s (${N} events)`);
  }
  const med = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
  const [mc, mb] = [med(results.client), med(results.bare)];
  console.log(`median: client ${mc.toFixed(0)} events/s, bare fetch ${mb.toFixed(0)} events/s: ${((100 * mc) / mb).toFixed(0)}% of the bare loop`);
  await context.close();
} finally {
  await w.stop();
}
