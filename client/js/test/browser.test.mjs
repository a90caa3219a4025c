// The client in a real headless Chromium against a real edge and its embedded Kafka broker
// (test/harness.mjs starts them). Pages are served from http://localhost:P, the edge is
// http://127.0.0.1:Q: every request to it is cross-origin, as on a real site. What reached Kafka
// is read back by meta.id with bin/intake tail.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { World, until } from "./harness.mjs";

const SCHEMA = "/example/click/1.0.0";
const schemas = { "test.in": SCHEMA, "test.out": SCHEMA, "test.slow": SCHEMA, "example.click": SCHEMA };
let w;

before(async () => {
  w = new World(); // assigned first: after() stops what a failed start() started
  await w.start();
});
after(async () => {
  await w?.stop();
});

/** Options for createClient in the page: the edge, schemas, and (for the request log and the 304 test)
 * the stream config through the page's origin; the last test reads it from the edge itself. */
const opts = (extra = {}) => ({ url: w.edge, schemas, streamConfigUrl: w.origin + "/v1/streams", streams: ["test.in", "test.out"], ...extra });
const posts = (rec) => rec.requests.filter((r) => r.method == "POST" && r.url.includes("/v1/events"));
const click = (n) => ({ page: { id: n }, button: "save" });
/** In the page: the ids of the events the client keeps in IndexedDB for edge (read directly: a
 * client would send them). */
const stored = (edge) =>
  new Promise((res, rej) => {
    const r = indexedDB.open("intake");
    r.onupgradeneeded = () => r.result.createObjectStore("q");
    r.onerror = rej;
    r.onsuccess = () => {
      const g = r.result.transaction("q").objectStore("q").get("intake-queue " + edge);
      g.onsuccess = () => (r.result.close(), res((g.result?.q ?? []).map((x) => x[0])));
      g.onerror = rej;
    };
  });

test("a page's events arrive in Kafka, by count and by interval (ES module and script builds)", async () => {
  for (const path of ["/module", "/"]) {
    const { context, page, rec } = await w.page(path);
    try {
      // Three make a batch at once (the interval is an hour); then, in a client whose batches are
      // never full, one event goes when flushInterval ends. No flush() call.
      const ids = await page.evaluate(
        ([o, events]) => {
          const byCount = IntakeClient.createClient({ ...o, batchSize: 3, flushInterval: 3600000 });
          return events.map((e) => byCount.submit("test.in", e));
        },
        [opts(), [click(1), click(2), click(3)]],
      );
      const events = await w.arrived("dev.test.in", ids);
      const [last] = await page.evaluate(
        ([o, e]) => [IntakeClient.createClient({ ...o, batchSize: 1000, flushInterval: 200 }).submit("test.in", e)],
        [opts(), click(4)],
      );
      events.push(...(await w.arrived("dev.test.in", [last])));
      for (const [i, e] of events.entries()) {
        assert.equal(e.meta.stream, "test.in");
        assert.equal(e.$schema, SCHEMA);
        assert.equal(e.page.id, i + 1);
        assert.match(e.dt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.match(e.meta.dt, /^\d{4}-\d\d-\d\dT/, "meta.dt filled in by the edge");
      }
      assert.deepEqual(w.count("dev.test.in", [...ids, last]), [1, 1, 1, 1], "each once");
      await until("the two requests in the page's log", () => posts(rec).length == 2);
      for (const r of posts(rec)) {
        assert.equal(r.url, w.edge + "/v1/events", "synchronous: the answer says Kafka has them");
        assert.equal(r.type, "fetch", "sent with fetch, whose answer the client reads");
        assert.match(r.headers["content-type"], /^text\/plain/);
      }
      assert.equal(JSON.parse(posts(rec)[0].body).length, 3);
      assert.deepEqual(rec.errors, []);
    } finally {
      await context.close();
    }
  }
});

test("a CORS preflight from the page's origin is answered with the allow headers (direct OPTIONS and the browser's)", async () => {
  // Direct: an allowed origin gets the headers, another gets none (the refusal).
  const preflight = (origin) =>
    fetch(w.edge + "/v1/events", {
      method: "OPTIONS",
      headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type" },
    });
  const ok = await preflight(w.origin);
  assert.equal(ok.status, 204);
  assert.equal(ok.headers.get("access-control-allow-origin"), w.origin);
  assert.match(ok.headers.get("access-control-allow-headers"), /\bAuthorization\b/);
  assert.match(ok.headers.get("access-control-allow-headers"), /\bContent-Type\b/);
  assert.match(ok.headers.get("access-control-allow-methods"), /\bPOST\b/);
  const refused = await preflight("http://elsewhere.test");
  assert.equal(refused.status, 204);
  assert.equal(refused.headers.get("access-control-allow-origin"), null);

  // The browser's own: an apiKey makes the client fetch with Authorization, which needs a preflight.
  const { context, page, rec } = await w.page("/");
  try {
    const cdp = await context.newCDPSession(page);
    const preflights = [];
    cdp.on("Network.responseReceived", (e) => {
      if (e.type == "Preflight" && e.response.url.startsWith(w.edge)) preflights.push(e.response);
    });
    await cdp.send("Network.enable");
    const id = await page.evaluate(async (o) => {
      const c = IntakeClient.createClient(o);
      const id = c.submit("test.in", { page: { id: 7 }, button: "preview" });
      await c.flush();
      return id;
    }, opts({ apiKey: w.apiKey, streamConfig: null }));
    await w.arrived("dev.test.in", [id]);
    await until("the preflight in the browser's network log", () => preflights.length > 0);
    const h = Object.fromEntries(Object.entries(preflights[0].headers).map(([k, v]) => [k.toLowerCase(), v]));
    assert.equal(preflights[0].status, 204);
    assert.equal(h["access-control-allow-origin"], w.origin);
    assert.match(h["access-control-allow-headers"], /\bAuthorization\b/);
    const [post] = posts(rec);
    assert.equal(post.type, "fetch", "with headers of its own the client fetches instead of beaconing");
    assert.equal(post.headers.authorization, "Bearer " + w.apiKey);
  } finally {
    await context.close();
  }
});

test("page hide: a beacon on leaving (its events sent again by the next page, same meta.id); a request when hidden, settled by its answer", async () => {
  const lazy = opts({ batchSize: 1000, flushInterval: 600000 }); // neither count nor interval sends
  const queued = (page) => page.evaluate(stored, w.edge);
  {
    const { context, page } = await w.page("/");
    try {
      // Once the stream config is there: before it, an event cannot be decided, and a page left
      // loses it, as with Metrics Platform (the unit tests show that).
      const k = 'intake_events_total{stream="test.in",outcome="accepted"}';
      const before = await w.metrics();
      const id = await page.evaluate(async (o) => {
        window.c = IntakeClient.createClient(o);
        await c.config();
        const id = c.submit("test.in", { page: { id: 11 }, button: "cancel" });
        await c.stats(); // in storage
        return id;
      }, lazy);
      await page.goto(w.origin + "/test/next.html");
      const [e] = await w.arrived("dev.test.in", [id]);
      assert.equal(e.button, "cancel");
      // A beacon's answer is never known: the event stays in storage, and the next page of the
      // origin sends it again: Kafka has it twice, with one meta.id (deduplicated downstream).
      // (When Chromium fires visibilitychange first, the client's request may be answered before
      // the page is gone: then it left the storage, and it is in Kafka once.)
      await page.goto(w.origin + "/");
      await page.evaluate((o) => IntakeClient.createClient(o), lazy); // it sends what it finds at once
      await until("an empty queue", async () => (await queued(page)).length == 0);
      const sent = ((await w.metrics())[k] ?? 0) - (before[k] ?? 0);
      assert.ok(sent == 1 || sent == 2, `the edge took it ${sent} times`);
      await until(`${sent} copies in Kafka`, () => w.count("dev.test.in", [id])[0] == sent);
      console.log(`# navigation: the event reached Kafka ${sent} times`);
    } finally {
      await context.close();
    }
  }
  {
    const { context, page } = await w.page("/module");
    try {
      // Closed right after submit, once the stream config is there.
      const id = await page.evaluate(async (o) => {
        const c = IntakeClient.createClient(o);
        await c.config();
        return c.submit("test.in", { page: { id: 12 }, button: "save" });
      }, lazy);
      await page.close();
      await w.arrived("dev.test.in", [id]);
    } finally {
      await context.close();
    }
  }
  {
    // A tab switched away from (mobile browsers may then kill it without pagehide). Headless
    // Chromium never hides a tab, so the page is told it is hidden the way a browser tells it.
    // The page lives on: it reads the answer, and the event leaves the storage. Exactly once.
    const { context, page, rec } = await w.page("/");
    try {
      const id = await page.evaluate(async (o) => {
        const c = IntakeClient.createClient(o);
        await c.config();
        const id = c.submit("test.in", { page: { id: 13 }, button: "preview" });
        Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
        document.dispatchEvent(new Event("visibilitychange"));
        return id;
      }, lazy);
      await w.arrived("dev.test.in", [id]);
      assert.equal(posts(rec)[0]?.type, "fetch", "fetch with keepalive: its answer can be read");
      await until("an empty queue", async () => (await queued(page)).length == 0);
      await page.reload();
      await page.evaluate((o) => IntakeClient.createClient(o).flush(), lazy);
      assert.equal(posts(rec).length, 1, "the next page sends nothing again: " + JSON.stringify(posts(rec).map((r) => [r.type, r.body, r.t])));
      assert.deepEqual(w.count("dev.test.in", [id]), [1]);
    } finally {
      await context.close();
    }
  }
});

test("sampling: a stream at rate 0 sends nothing (no request, nothing at the edge or in Kafka), rate 1 sends", async () => {
  const before = await w.metrics();
  const { context, page, rec } = await w.page("/");
  try {
    const { a, b, c } = await page.evaluate(async (o) => {
      const client = IntakeClient.createClient(o);
      // Only a rate-0 event: flush has nothing to send.
      const a = client.submit("test.out", { page: { id: 21 }, button: "save" });
      await client.flush();
      // Then one request with a rate-1 and a rate-0 event queued together.
      const b = client.submit("test.in", { page: { id: 22 }, button: "save" });
      const c = client.submit("test.out", { page: { id: 23 }, button: "save" });
      await client.flush();
      return { a, b, c, config: await client.config() };
    }, opts());
    await w.arrived("dev.test.in", [b]);
    await until("the request in the page's log", () => posts(rec).length >= 1);
    assert.equal(posts(rec).length, 1, "one request: the rate-0 event alone made none");
    const after = await w.metrics();
    const delta = (k) => (after[k] ?? 0) - (before[k] ?? 0);
    assert.equal(delta('intake_http_requests_total{route="events",code="201"}'), 1, "the edge saw one request");
    assert.equal(delta('intake_events_total{stream="test.in",outcome="accepted"}'), 1);
    for (const outcome of ["accepted", "invalid", "refused"]) {
      assert.equal(delta(`intake_events_total{stream="test.out",outcome="${outcome}"}`), 0, `test.out ${outcome}`);
    }
    const out = w.kafka.get("dev.test.out");
    assert.ok(!out.has(a) && !out.has(c), "no rate-0 event in Kafka");
  } finally {
    await context.close();
  }
});

test("a stream missing from the edge's configuration sends nothing (no request, nothing at the edge); developer mode says why", async () => {
  const before = await w.metrics();
  // The edge's whole configuration, straight from it: test.missing is not in it.
  const whole = opts({ streamConfigUrl: undefined, streams: undefined });
  const { context, page, rec } = await w.page("/");
  try {
    const r = await page.evaluate(async (o) => {
      const c = IntakeClient.createClient(o);
      c.submit("test.missing", { page: { id: 61 }, button: "save" }); // before the config arrived
      await c.flush();
      const config = await c.config();
      c.submit("test.missing", { page: { id: 62 }, button: "save" }); // after, with an event that goes
      const kept = c.submit("test.in", { page: { id: 63 }, button: "save" });
      await c.flush();
      return { kept, streams: Object.keys(config) };
    }, whole);
    assert.ok(r.streams.includes("test.in") && !r.streams.includes("test.missing"), "the edge's configuration: " + r.streams);
    await w.arrived("dev.test.in", [r.kept]);
    await until("the request in the page's log", () => posts(rec).length >= 1);
    assert.equal(posts(rec).length, 1, "one request, test.in's");
    const after = await w.metrics();
    const delta = (k) => (after[k] ?? 0) - (before[k] ?? 0);
    assert.equal(delta('intake_http_requests_total{route="events",code="201"}'), 1, "the edge saw one request");
    assert.equal(delta('intake_events_total{stream="test.in",outcome="accepted"}'), 1);
    const events = Object.keys(after).filter((k) => k.startsWith("intake_events_total{"));
    assert.equal(events.reduce((n, k) => n + delta(k), 0), 1, "the edge counted one event in all: test.in's");
    assert.deepEqual(rec.console.filter((m) => m.type == "error"), [], "outside developer mode nothing is said");
  } finally {
    await context.close();
  }

  const dev = await w.page("/", { init: () => localStorage.setItem("intake-debug", "1") });
  try {
    await dev.page.evaluate(async (o) => {
      const c = IntakeClient.createClient(o);
      c.submit("test.missing", { page: { id: 64 }, button: "save" });
      await c.flush();
    }, { ...whole, apiKey: w.apiKey });
    const errors = dev.rec.console.filter((m) => m.type == "error").map((m) => m.text);
    assert.equal(errors.length, 1, errors.join("\n"));
    assert.match(errors[0], /^\[intake\] test\.missing: not sent: stream not in the stream configuration/);
    assert.deepEqual(posts(dev.rec), [], "developer mode sends nothing either");
  } finally {
    await dev.context.close();
  }
});

test("developer mode sends what is out of sample: the event arrives, verdicts are logged, invalid events' errors in console.error", async () => {
  const { context, page, rec } = await w.page("/", { init: () => localStorage.setItem("intake-debug", "1") });
  try {
    const { on, good, bad } = await page.evaluate(async (o) => {
      const c = IntakeClient.createClient(o);
      const good = c.submit("test.out", { page: { id: 31 }, button: "save" });
      const bad = c.submit("test.out", { page: { id: "thirty-two" }, button: "nope" });
      await c.flush();
      return { on: c.developerMode, good, bad };
    }, opts({ apiKey: w.apiKey }));
    assert.equal(on, true, "switched on by localStorage intake-debug=1");
    const [e] = await w.arrived("dev.test.out", [good]);
    assert.equal(e.page.id, 31);
    await until("both requests in the page's log", () => posts(rec).length >= 2);
    const devPosts = posts(rec);
    assert.equal(devPosts.length, 2, "one request per event");
    for (const r of devPosts) assert.equal(r.url, w.edge + "/v1/events?debug=true");
    const info = rec.console.filter((m) => m.type == "info").map((m) => m.text).join("\n");
    assert.match(info, /\[intake\] test\.out: accepted, produced to dev\.test\.out/);
    const errors = rec.console.filter((m) => m.type == "error").map((m) => m.text).join("\n");
    assert.match(errors, /\[intake\] test\.out: invalid \(HTTP 400\)/);
    assert.match(errors, /\/page\/id: .*integer/, "the type error");
    assert.match(errors, /\/button: .*allowed values/, "the enum error");
    assert.ok(!w.kafka.get("dev.test.out").has(bad));
  } finally {
    await context.close();
  }

  // Without an API key the edge refuses developer mode (anonymous callers never get it): said clearly.
  const anon = await w.page("/", { init: () => localStorage.setItem("intake-debug", "1") });
  try {
    const id = await anon.page.evaluate(async (o) => {
      const c = IntakeClient.createClient(o);
      const id = c.submit("test.in", { page: { id: 33 }, button: "save" });
      await c.flush();
      return id;
    }, opts());
    const errors = anon.rec.console.filter((m) => m.type == "error").map((m) => m.text).join("\n");
    assert.match(errors, /test\.in: refused \(HTTP 403\)/);
    assert.match(errors, /developer mode is not allowed for anonymous callers/);
    assert.match(errors, /The edge refuses developer mode: it needs an apiKey flagged debug/);
    assert.ok(!w.kafka.get("dev.test.in").has(id));
  } finally {
    await anon.context.close();
  }
});

test("the stream config is kept in localStorage with its ETag and revalidated with If-None-Match (304)", async () => {
  const { context, page, rec } = await w.page("/");
  try {
    const url = "/v1/streams?streams=test.in,test.out";
    const load = () =>
      page.evaluate(async (o) => {
        const c = IntakeClient.createClient(o);
        return { config: await c.config(), out: c.submit("test.out", { page: { id: 41 }, button: "save" }) };
      }, opts());
    const n0 = w.configRequests.length;
    const first = await load();
    assert.deepEqual(Object.keys(first.config).sort(), ["test.in", "test.out"]);
    assert.equal(first.config["test.out"].sample.rate, 0);
    assert.deepEqual(w.configRequests.slice(n0), [{ url, ifNoneMatch: undefined, status: 200 }]);
    const kept = await page.evaluate((k) => JSON.parse(localStorage.getItem(k)), "intake-streams " + w.origin + url);
    assert.match(kept.e, /^"\w+"$/, "the ETag is kept");
    assert.deepEqual(kept.s, first.config);

    // A new page within the edge's max-age: the kept copy, no request.
    await page.reload();
    await load();
    assert.equal(w.configRequests.length, n0 + 1);

    // Older than that: revalidated with If-None-Match, and the edge answers 304. In a new context
    // with the same localStorage and an empty HTTP cache: the browser's cache would revalidate on its
    // own, this is the client's doing.
    await page.evaluate((k) => {
      const v = JSON.parse(localStorage.getItem(k));
      localStorage.setItem(k, JSON.stringify({ ...v, t: 0 }));
    }, "intake-streams " + w.origin + url);
    const again = await w.page("/", { storageState: await context.storageState() });
    try {
      const third = await again.page.evaluate(async (o) => {
        const c = IntakeClient.createClient(o);
        return { config: await c.config(), out: c.submit("test.out", { page: { id: 42 }, button: "save" }) };
      }, opts());
      assert.deepEqual(third.config, first.config, "the kept copy serves at once");
      await until("the revalidation", () => w.configRequests.length == n0 + 2);
      assert.deepEqual(w.configRequests[n0 + 1], { url, ifNoneMatch: kept.e, status: 304 });
      const renewed = await again.page.evaluate((k) => JSON.parse(localStorage.getItem(k)), "intake-streams " + w.origin + url);
      await until("the renewed copy", async () => (await again.page.evaluate((k) => JSON.parse(localStorage.getItem(k)).t, "intake-streams " + w.origin + url)) > 0);
      assert.equal(renewed.e, kept.e);
      assert.equal(posts(again.rec).length, 0, "rate 0 all along");
    } finally {
      await again.context.close();
    }
    assert.equal(posts(rec).length, 0, "rate 0 all along");
  } finally {
    await context.close();
  }
});

test("the stream config straight from the edge (cross-origin): read, ETag visible, and it samples", async () => {
  const probe = await fetch(w.edge + "/v1/streams?streams=test.out", { headers: { Origin: w.origin } });
  assert.equal(probe.headers.get("access-control-allow-origin"), "*", "the edge lets any page read GET /v1/streams");
  assert.equal(probe.headers.get("access-control-expose-headers"), "ETag");
  const { context, page, rec } = await w.page("/");
  try {
    const r = await page.evaluate(async (o) => {
      const c = IntakeClient.createClient(o);
      const config = await c.config();
      const ids = [c.submit("test.in", { page: { id: 51 }, button: "save" }), c.submit("test.out", { page: { id: 52 }, button: "save" })];
      await c.flush();
      return { config, ids, stored: localStorage.length };
    }, opts({ streamConfigUrl: undefined }));
    assert.equal(r.config["test.out"].sample.rate, 0);
    await w.arrived("dev.test.in", [r.ids[0]]);
    const warns = rec.console.filter((m) => m.type == "warning").map((m) => m.text);
    assert.deepEqual(warns, [], "no warning about an unreadable stream configuration");
    // The rate-0 event was never sent: only the test.in event's request went out.
    const bodies = posts(rec).map((p) => p.body ?? "").join("\n");
    assert.ok(!bodies.includes(r.ids[1]), "the rate-0 event was sent");
    assert.ok(!w.kafka.get("dev.test.out")?.has(r.ids[1]), "the rate-0 event reached Kafka");
  } finally {
    await context.close();
  }
});

test("offline: events submitted, the page reloaded offline, more submitted; online: each arrives once, dt when submitted (IndexedDB, and localStorage without it)", async () => {
  for (const noIDB of [false, true]) {
    const init = noIDB ? () => Object.defineProperty(window, "indexedDB", { value: undefined }) : undefined;
    const { context, page, rec } = await w.page("/", { offline: true, init });
    try {
      const o = opts({ batchSize: 3, flushInterval: 200 });
      await page.evaluate(async (o) => IntakeClient.createClient(o).config(), o); // the stream config, kept in localStorage
      await context.setOffline(true); // the browser's own network emulation: navigator.onLine false
      const first = await page.evaluate((o) => {
        const c = IntakeClient.createClient(o);
        return [1, 2, 3, 4].map((n) => c.submit("test.in", { page: { id: 100 + n }, button: "save" }));
      }, o);
      await page.reload(); // offline: the page comes from playwright, the events from storage
      const { second, before } = await page.evaluate(async ([o, noIDB]) => {
        const c = IntakeClient.createClient(o);
        const second = [5, 6].map((n) => c.submit("test.in", { page: { id: 100 + n }, button: "save" }));
        await c.flush(); // offline: returns at once, nothing sent
        const before = { online: navigator.onLine, stats: await c.stats(), idb: !!window.indexedDB, ls: !!localStorage.getItem("intake-queue " + o.url) };
        return { second, before: { ...before, noIDB } };
      }, [o, noIDB]);
      assert.equal(before.online, false);
      assert.equal(before.stats.queued, 6, "every event kept across the reload");
      assert.equal(before.ls, noIDB, "localStorage holds the queue only without IndexedDB");
      assert.equal(posts(rec).length, 0, "nothing tried while offline");
      const offlineUntil = new Date().toISOString();
      await context.setOffline(false); // "online": the client sends what is kept
      const ids = [...first, ...second];
      const events = await w.arrived("dev.test.in", ids);
      await until("an empty queue", async () => (await page.evaluate(async (o) => (await IntakeClient.createClient({ ...o, streamConfig: null }).stats()).queued, o)) == 0);
      assert.deepEqual(w.count("dev.test.in", ids), [1, 1, 1, 1, 1, 1], "each exactly once");
      assert.deepEqual(events.map((e) => e.page.id), [101, 102, 103, 104, 105, 106]);
      for (const e of events) assert.ok(e.dt < offlineUntil && e.dt < e.meta.dt, `dt ${e.dt} is when it was submitted (offline until ${offlineUntil}, received ${e.meta.dt})`);
      // In order: the requests' bodies carry the ids in submission order.
      assert.deepEqual(posts(rec).flatMap((r) => JSON.parse(r.body).map((e) => e.meta.id)), ids);
    } finally {
      await context.close();
    }
  }
});

test("storage bound: offline, the oldest events beyond maxQueueEvents are dropped and counted; the others arrive once", async () => {
  const { context, page } = await w.page("/", { offline: true });
  try {
    const o = opts({ maxQueueEvents: 5 });
    await page.evaluate(async (o) => IntakeClient.createClient(o).config(), o);
    const before = await w.metrics();
    await context.setOffline(true);
    const { ids, stats } = await page.evaluate(async (o) => {
      const c = IntakeClient.createClient(o);
      const ids = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => c.submit("test.in", { page: { id: 200 + n }, button: "save" }));
      return { ids, stats: await c.stats() };
    }, o);
    assert.equal(stats.queued, 5);
    assert.equal(stats.dropped, 3);
    await context.setOffline(false);
    await w.arrived("dev.test.in", ids.slice(3));
    await until("an empty queue", async () => (await page.evaluate(async (o) => (await IntakeClient.createClient(o).stats()).queued, o)) == 0);
    assert.deepEqual(w.count("dev.test.in", ids), [0, 0, 0, 1, 1, 1, 1, 1], "the three oldest dropped, the rest once");
    const after = await w.metrics();
    const k = 'intake_events_total{stream="test.in",outcome="accepted"}';
    assert.equal((after[k] ?? 0) - (before[k] ?? 0), 5, "the edge took five");
    assert.equal((await page.evaluate(async (o) => (await IntakeClient.createClient(o).stats()).dropped, o)), 3, "the count is kept");
  } finally {
    await context.close();
  }
});

test("Retry-After: a stream's rate limit answers 429 for the events over it; they are sent again, alone, not before Retry-After, and arrive once", async () => {
  // test.slow: 1 event/s, burst 1 (the access config). Times are read in the page: when fetch
  // answered, and when the client called it next.
  const { context, page, rec } = await w.page("/", {
    init: () => {
      const f = window.fetch;
      window.fetchLog = [];
      window.fetch = (url, init) => {
        const e = { url: String(url), sent: performance.now(), body: init?.body };
        if (e.url.includes("/v1/events")) window.fetchLog.push(e);
        return f(url, init).then((r) => ((e.at = performance.now()), (e.status = r.status), (e.retryAfter = r.headers.get("Retry-After")), r));
      };
    },
  });
  try {
    const ids = await page.evaluate((o) => {
      const c = IntakeClient.createClient({ ...o, batchSize: 3 });
      return [1, 2, 3].map((n) => c.submit("test.slow", { page: { id: 300 + n }, button: "save" }));
    }, opts({ streams: ["test.slow"] }));
    await w.arrived("dev.test.slow", ids).catch(async (err) => {
      throw new Error(err.message + "\npage: " + JSON.stringify(await page.evaluate(() => window.fetchLog)) + JSON.stringify(rec.console) + "\n" + w.log("tail dev.test.slow"));
    });
    await until("every answer read", () => page.evaluate(() => window.fetchLog.every((e) => e.status)));
    const log = await page.evaluate(() => window.fetchLog);
    assert.deepEqual(w.count("dev.test.slow", ids), [1, 1, 1]);
    assert.ok(log.some((e) => e.status == 429), "a 429: " + JSON.stringify(log.map((e) => e.status)));
    for (let i = 0; i + 1 < log.length; i++) {
      const { status, retryAfter, at } = log[i];
      if (status != 429) continue;
      assert.ok(+retryAfter >= 1, "Retry-After in seconds");
      const waited = log[i + 1].sent - at;
      assert.ok(waited >= retryAfter * 1000 - 5, `retried ${waited.toFixed(0)} ms after a 429 with Retry-After: ${retryAfter}`);
      // Only the events the edge listed go again.
      assert.ok(JSON.parse(log[i + 1].body).length < JSON.parse(log[i].body).length || JSON.parse(log[i].body).length == 1);
    }
    assert.equal(log.at(-1).status, 201);
  } finally {
    await context.close();
  }
});

test("a browser restart: events kept in IndexedDB by a browser closed offline are sent by the next one", async () => {
  const dir = mkdtempSync(join(tmpdir(), "intake-js-profile-"));
  try {
    let ids;
    {
      const { context, page } = await w.persistentPage(dir);
      const o = opts();
      await page.evaluate(async (o) => IntakeClient.createClient(o).config(), o);
      await context.setOffline(true);
      ids = await page.evaluate(async (o) => {
        const c = IntakeClient.createClient(o);
        const ids = [1, 2].map((n) => c.submit("test.in", { page: { id: 400 + n }, button: "save" }));
        await c.stats(); // written
        return ids;
      }, o);
      await context.close();
    }
    assert.deepEqual(w.count("dev.test.in", ids), [0, 0]);
    const { context, page } = await w.persistentPage(dir);
    try {
      await page.evaluate((o) => IntakeClient.createClient(o), opts());
      await w.arrived("dev.test.in", ids);
      await until("an empty queue", async () => (await page.evaluate(async (o) => (await IntakeClient.createClient(o).stats()).queued, opts())) == 0);
      assert.deepEqual(w.count("dev.test.in", ids), [1, 1]);
    } finally {
      await context.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a request never answered: given up after the timeout, retried with backoff with the same meta.ids, and the queue goes on", async () => {
  // A server in front of the edge that accepts the first two POSTs and never answers them, then
  // passes requests to the edge (Origin included: the edge's CORS answer reaches the page).
  let hung = 0;
  const sockets = new Set();
  const gate = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    if (req.method == "POST" && hung < 2) return void hung++; // no answer, ever
    const r = await fetch(w.edge + req.url, {
      method: req.method,
      headers: { "Content-Type": req.headers["content-type"] ?? "text/plain", Origin: req.headers.origin ?? w.origin },
      body: req.method == "POST" ? Buffer.concat(chunks) : undefined,
    });
    const headers = {};
    for (const [k, v] of r.headers) if (k.startsWith("access-control-") || k == "content-type" || k == "retry-after") headers[k] = v;
    res.writeHead(r.status, headers).end(Buffer.from(await r.arrayBuffer()));
  });
  gate.on("connection", (s) => (sockets.add(s), s.on("close", () => sockets.delete(s))));
  await new Promise((r) => gate.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${gate.address().port}`;
  const { context, page } = await w.page("/", {
    init: () => {
      const f = window.fetch;
      window.fetchLog = [];
      window.fetch = (u, init) => {
        const e = { url: String(u), sent: performance.now(), body: init?.body };
        if (e.url.includes("/v1/events")) window.fetchLog.push(e);
        return f(u, init).then(
          (r) => ((e.at = performance.now()), (e.status = r.status), r),
          (err) => {
            e.at = performance.now();
            e.error = err.name;
            throw err;
          },
        );
      };
    },
  });
  try {
    const ids = await page.evaluate((o) => {
      const c = IntakeClient.createClient({ ...o, batchSize: 2, timeout: 500 });
      return [1, 2].map((n) => c.submit("test.in", { page: { id: 600 + n }, button: "save" }));
    }, opts({ url }));
    await w.arrived("dev.test.in", ids, 30000);
    await until("every answer read", () => page.evaluate(() => window.fetchLog.every((e) => e.at)));
    const log = await page.evaluate(() => window.fetchLog);
    assert.equal(hung, 2, "two requests never answered");
    assert.deepEqual(log.map((e) => e.error ?? e.status), ["TimeoutError", "TimeoutError", 201], JSON.stringify(log));
    for (const e of log) assert.deepEqual(JSON.parse(e.body).map((x) => x.meta.id), ids, "the same events, the same meta.ids");
    for (const e of log.slice(0, 2)) assert.ok(e.at - e.sent >= 490, `given up after ${(e.at - e.sent).toFixed(0)} ms (timeout 500)`);
    assert.deepEqual(w.count("dev.test.in", ids), [1, 1], "each once");
    assert.deepEqual(await page.evaluate(stored, url), [], "the queue is empty");
  } finally {
    await context.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => gate.close(r));
  }
});
