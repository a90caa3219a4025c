// Unit tests of dist/intake.mjs in node: the sampling rule (every vector shared with the Go client),
// unit ids and storage failures, and the client's queueing, batching, splitting, transports, stream
// configuration and developer mode against fake browser globals (no network). Timers are node's
// mock timers: nothing here waits on the clock.
import { test, mock, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

const dist = new URL("../dist/intake.mjs", import.meta.url);
// A fresh module instance (unit ids are kept per page, that is per module instance).
let fresh = 0;
const load = () => import(dist.href + "?instance=" + ++fresh);
const { inSample, shouldSend, whyNotSent, streamSettings, createClient, uuid } = await load();

const vectors = JSON.parse(readFileSync(new URL("../../testdata/sampling-vectors.json", import.meta.url), "utf8"));

test("sampling vectors of client/testdata/sampling-vectors.json: unit ids at rates", () => {
  const { cases } = vectors;
  assert.ok(cases.length > 100, "the vector file has its cases");
  for (const c of cases) {
    assert.equal(inSample(c.id, c.rate), c.in, `inSample(${JSON.stringify(c.id)}, ${c.rate})`);
    // The same case through the whole rule, as a stream sampled per session.
    const config = { s: { sample: { rate: c.rate, unit: "session" } } };
    assert.equal(shouldSend(config, "s", () => c.id), c.in, `shouldSend at ${c.rate} for ${c.id}`);
  }
});

test("sampling vectors of client/testdata/sampling-vectors.json: decisions by a stream configuration", () => {
  const { units, configs, cases } = vectors.decisions;
  assert.ok(cases.length >= 40, "the vector file has its decisions");
  const verdict = (why) =>
    why == ""
      ? "send"
      : why == "out of sample"
        ? "out"
        : why == "stream not in the stream configuration"
          ? "unconfigured"
          : why == "no stream configuration"
            ? "no-config"
            : why.startsWith("invalid sample in the stream configuration: ")
              ? "invalid"
              : "unknown reason: " + why;
  const seen = new Set();
  for (const c of cases) {
    const config = c.config == "off" ? null : c.config == "unloaded" ? undefined : configs[c.config];
    if (config === undefined && c.config != "unloaded") assert.fail(`no config ${c.config}`);
    const idOf = (unit) => c.units?.[unit] || units[unit];
    for (const dev of [false, true]) {
      const got = verdict(whyNotSent(config, c.stream, idOf, dev));
      seen.add(got);
      assert.equal(got, dev ? c.developer : c.verdict, `${c.config} ${JSON.stringify(c.stream)} ${JSON.stringify(c.units ?? {})} developer mode ${dev}`);
    }
    assert.equal(shouldSend(config, c.stream, idOf), c.verdict == "send");
  }
  assert.deepEqual([...seen].sort(), ["invalid", "no-config", "out", "send", "unconfigured"]);
});

test("whyNotSent: what the vectors do not show (JavaScript's own values, regex edge cases, the words)", () => {
  const lowId = () => "00000000000000000000"; // in sample at any rate above 0
  const f = (config, stream, want) => assert.equal(whyNotSent(config, stream, lowId), want, `${JSON.stringify(config)} ${stream}`);
  f({ a: { sample: { rate: NaN, unit: "session" } } }, "a", 'invalid sample in the stream configuration: {"rate":null,"unit":"session"}');
  f({ a: { sample: { rate: 0.5, unit: "user" } } }, "a", 'invalid sample in the stream configuration: {"rate":0.5,"unit":"user"}');
  f({ a: undefined }, "a", "stream not in the stream configuration");
  f({ a: 1 }, "a", "stream not in the stream configuration");
  f({ a: {} }, "b", "stream not in the stream configuration");
  f({ a: {} }, "hasOwnProperty", "stream not in the stream configuration");
  f({ a: {} }, "a", "");
  f(null, "a", "");
  f(undefined, "a", "no stream configuration");
  // In sample strictly below the rate: an id exactly at it is out.
  const at = 0x80000000 / 0xffffffff;
  assert.equal(inSample("80000000", at), false);
  assert.equal(inSample("80000000", at + 1e-12), true);
  assert.equal(inSample("7fffffff", at), true);
  // /regex/ keys, as the edge reads them.
  const rx = { "/^web\\..+$/": { sample: { rate: 0, unit: "session" } }, "/[/": {} };
  assert.equal(streamSettings(rx, "web.x"), rx["/^web\\..+$/"]);
  f(rx, "[", "stream not in the stream configuration"); // "/[/" is not a JS regex: it matches nothing
  f({ "//": { sample: { rate: 0, unit: "session" } } }, "any.stream", "out of sample"); // the empty pattern
  f({ "/": {} }, "/", ""); // a name, not a pattern
  f({ "/": {} }, "x", "stream not in the stream configuration");
  // The unit asked for is the stream's.
  const idOf = (u) => (u == "device" ? "ffffffff" : "00000000");
  assert.equal(whyNotSent({ a: { sample: { rate: 0.5, unit: "device" } } }, "a", idOf), "out of sample");
  assert.equal(whyNotSent({ a: { sample: { rate: 0.5, unit: "device" } } }, "a", idOf, true), "");
});

test("uuid: v4 shape, also without crypto.randomUUID", () => {
  const re = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  assert.match(uuid(), re);
  const orig = crypto.randomUUID;
  Object.defineProperty(crypto, "randomUUID", { value: undefined, configurable: true, writable: true });
  try {
    const seen = new Set();
    for (let i = 0; i < 200; i++) {
      const u = uuid();
      assert.match(u, re);
      seen.add(u);
    }
    assert.equal(seen.size, 200);
  } finally {
    Object.defineProperty(crypto, "randomUUID", { value: orig, configurable: true, writable: true });
  }
});

// Fake browser globals ----------------------------------------------------------------------------

class FakeStorage {
  constructor(fail = false) {
    this.m = new Map();
    this.fail = fail;
  }
  getItem(k) {
    if (this.fail) throw new Error("SecurityError");
    return this.m.has(k) ? this.m.get(k) : null;
  }
  setItem(k, v) {
    if (this.fail) throw new Error("QuotaExceededError");
    this.m.set(k, String(v));
  }
}

const setGlobal = (name, value) =>
  Object.defineProperty(globalThis, name, { value, configurable: true, writable: true, enumerable: false });

let beacons, fetches, logs, fetchAnswer;
beforeEach(() => {
  beacons = [];
  fetches = [];
  logs = { warn: [], info: [], error: [] };
  fetchAnswer = () => new Response(null, { status: 201 });
  setGlobal("navigator", {
    sendBeacon(url, blob) {
      beacons.push({ url, blob });
      return true;
    },
  });
  setGlobal("fetch", async (url, init = {}) => {
    fetches.push({ url, init });
    return fetchAnswer(url, init);
  });
  setGlobal("localStorage", new FakeStorage());
  setGlobal("sessionStorage", new FakeStorage());
  for (const k of Object.keys(logs)) mock.method(console, k, (...a) => logs[k].push(a.map(String).join(" ")));
  mock.timers.enable({ apis: ["setTimeout"] });
});
afterEach(() => {
  mock.timers.reset();
  mock.restoreAll();
  for (const n of ["navigator", "fetch", "localStorage", "sessionStorage", "location", "document", "addEventListener"]) delete globalThis[n];
});

const posts = () => fetches.filter((f) => f.url.endsWith("/v1/events"));
const sentEvents = () => posts().flatMap((f) => JSON.parse(f.init.body));
const beaconEvents = async () => {
  const out = [];
  for (const b of beacons) {
    assert.equal(b.blob.type, "text/plain");
    out.push(...JSON.parse(await b.blob.text()));
  }
  return out;
};
const flushMicrotasks = () => new Promise((r) => setImmediate(r));

test("unit ids: session and device kept in storage, pageview per page, memory when storage fails", async () => {
  const m1 = await load();
  const s = m1.unitId("session");
  const d = m1.unitId("device");
  const p = m1.unitId("pageview");
  for (const id of [s, d, p]) assert.match(id, /^[0-9a-f]{20}$/);
  assert.equal(sessionStorage.getItem("intake-session-id"), s);
  assert.equal(localStorage.getItem("intake-device-id"), d);
  assert.equal(m1.unitId("session"), s);
  // A new page (module instance): same session and device, a new pageview.
  const m2 = await load();
  assert.equal(m2.unitId("session"), s);
  assert.equal(m2.unitId("device"), d);
  assert.notEqual(m2.unitId("pageview"), p);
  // A stored value that is not an id is replaced.
  localStorage.setItem("intake-device-id", "not-an-id");
  const m3 = await load();
  assert.notEqual(m3.unitId("device"), "not-an-id");
  assert.match(localStorage.getItem("intake-device-id"), /^[0-9a-f]{20}$/);
  // Storage that throws (private mode): ids in memory, stable for the page.
  setGlobal("localStorage", new FakeStorage(true));
  setGlobal("sessionStorage", new FakeStorage(true));
  const m4 = await load();
  const s4 = m4.unitId("session");
  assert.match(s4, /^[0-9a-f]{20}$/);
  assert.notEqual(s4, s);
  assert.equal(m4.unitId("session"), s4);
  assert.equal(m4.unitId("device"), m4.unitId("device"));
  // No storage at all (not a browser).
  delete globalThis.localStorage;
  delete globalThis.sessionStorage;
  const m5 = await load();
  assert.match(m5.unitId("device"), /^[0-9a-f]{20}$/);
});

test("submit fills meta.stream, meta.id, dt and $schema, and leaves the caller's object alone", async () => {
  const c = createClient({ url: "https://edge.test/", streamConfig: null, schemas: { "example.click": "/example/click/1.0.0" } });
  const ev = { page: { id: 1 }, button: "save", meta: { domain: "x" } };
  const id = c.submit("example.click", ev);
  assert.deepEqual(ev, { page: { id: 1 }, button: "save", meta: { domain: "x" } });
  const own = c.submit("other", { $schema: "/other/1.0.0", dt: "2026-01-01T00:00:00.000Z", meta: { id: "mine", stream: "wrong" } });
  assert.equal(own, "mine");
  await c.flush();
  const [a, b] = sentEvents();
  assert.equal(posts().length, 1);
  assert.equal(posts()[0].url, "https://edge.test/v1/events");
  assert.equal(a.meta.id, id);
  assert.match(id, /^[0-9a-f-]{36}$/);
  assert.equal(a.meta.stream, "example.click");
  assert.equal(a.meta.domain, "x");
  assert.equal(a.$schema, "/example/click/1.0.0");
  assert.match(a.dt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(b, { $schema: "/other/1.0.0", dt: "2026-01-01T00:00:00.000Z", meta: { id: "mine", stream: "other" } });
});

test("batches go out by count and by interval; dt is when submitted, not when sent", async () => {
  const c = createClient({ url: "https://edge.test", streamConfig: null, batchSize: 3, flushInterval: 1000 });
  c.submit("s", { n: 1 });
  c.submit("s", { n: 2 });
  await flushMicrotasks();
  assert.equal(posts().length, 0);
  c.submit("s", { n: 3 });
  await flushMicrotasks();
  assert.equal(posts().length, 1, "the third event sends the batch");
  const submitted = new Date().toISOString();
  c.submit("s", { n: 4 });
  mock.timers.tick(999);
  await flushMicrotasks();
  assert.equal(posts().length, 1);
  await new Promise((r) => setImmediate(r)); // a real millisecond or more passes
  mock.timers.tick(1);
  await flushMicrotasks();
  assert.equal(posts().length, 2, "the interval sends the rest");
  assert.deepEqual(sentEvents().map((e) => e.n), [1, 2, 3, 4]);
  assert.ok(sentEvents()[3].dt >= submitted && sentEvents()[3].dt <= new Date().toISOString());
  mock.timers.tick(10000);
  await flushMicrotasks();
  assert.equal(posts().length, 2, "nothing more to send");
  assert.deepEqual(await c.stats(), { queued: 0, bytes: 0, dropped: 0 });
});

test("batches are split at maxBeaconBytes; an event too large is dropped with a warning", async () => {
  const max = 1000;
  const c = createClient({ url: "https://edge.test", streamConfig: null, batchSize: 1000, maxBeaconBytes: max });
  for (let i = 0; i < 40; i++) c.submit("s", { i, pad: "é".repeat(40) }); // two bytes a character
  c.submit("s", { big: "x".repeat(max) });
  assert.equal(logs.warn.length, 1);
  assert.match(logs.warn[0], /dropped an event of stream s: \d+ bytes, over maxBeaconBytes 1000/);
  await c.flush();
  assert.ok(posts().length > 3, `split into ${posts().length} requests`);
  for (const f of posts()) assert.ok(Buffer.byteLength(f.init.body) <= max, `a request of ${Buffer.byteLength(f.init.body)} bytes`);
  assert.deepEqual(sentEvents().map((e) => e.i), [...Array(40).keys()]);
});

test("requests: fetch, keepalive, text/plain (no preflight), synchronous; a network failure keeps the events for later", async () => {
  const c = createClient({ url: "https://edge.test", streamConfig: null });
  fetchAnswer = () => Promise.reject(new TypeError("Failed to fetch"));
  c.submit("s", { n: 1 });
  await c.flush();
  assert.equal(posts().length, 1);
  assert.equal((await c.stats()).queued, 1, "kept");
  fetchAnswer = () => new Response(null, { status: 201 });
  mock.timers.tick(1000); // the first retry waits at most the backoff's base (full jitter)
  await c.flush();
  assert.equal(posts().length, 2);
  assert.equal((await c.stats()).queued, 0);
  for (const f of posts()) {
    assert.equal(f.url, "https://edge.test/v1/events");
    assert.equal(f.init.method, "POST");
    assert.equal(f.init.keepalive, true);
    assert.equal(f.init.mode, undefined, "CORS: the answer is read");
    assert.deepEqual(f.init.headers, { "Content-Type": "text/plain" });
    assert.equal(JSON.parse(f.init.body)[0].n, 1, "the same event, the same meta.id");
  }
  assert.equal(JSON.parse(posts()[0].init.body)[0].meta.id, JSON.parse(posts()[1].init.body)[0].meta.id);
  assert.equal(beacons.length, 0);
});

test("a request never answered is given up after timeout and retried with backoff, the same meta.id", async () => {
  // A fetch that hangs until its signal aborts it (AbortSignal.timeout runs on real time here).
  let hang = true;
  fetchAnswer = (url, init) =>
    hang ? new Promise((_, reject) => init.signal.addEventListener("abort", () => reject(init.signal.reason))) : new Response(null, { status: 201 });
  const c = createClient({ url: "https://edge.test", streamConfig: null, timeout: 30 });
  const id = c.submit("s", { n: 1 });
  const alive = setInterval(() => {}, 5); // node's AbortSignal.timeout does not keep the process up
  await c.flush(); // resolves once the request was given up: the retry waits
  clearInterval(alive);
  assert.equal(posts().length, 1);
  assert.equal(posts()[0].init.signal.aborted, true, "given up");
  assert.equal((await c.stats()).queued, 1, "kept");
  hang = false;
  mock.timers.tick(1000); // the first retry's backoff: at most 1 s
  await c.flush();
  assert.equal(posts().length, 2);
  assert.deepEqual(posts().map((f) => JSON.parse(f.init.body)[0].meta.id), [id, id]);
  assert.equal((await c.stats()).queued, 0);
});

test("answers: invalid events dropped, the error list retried alone, not before Retry-After; 5xx retried whole; an event the edge never takes is found and dropped", async () => {
  const c = createClient({ url: "https://edge.test", streamConfig: null, batchSize: 1000 });
  const answers = [
    // 1: the second invalid, the third Kafka-unavailable (EventGate's lists; a browser's entries carry the index)
    () => new Response(JSON.stringify({ invalid: [{ status: "invalid", index: 1, context: { errorsText: "/page/id: should be integer" } }], error: [{ status: "error", index: 2 }] }), { status: 503, headers: { "Retry-After": "3" } }),
    // 2: the third alone: a 500 without lists, retried whole
    () => new Response("oops", { status: 500 }),
    // 3: accepted
    () => new Response(null, { status: 201 }),
  ];
  fetchAnswer = () => answers.shift()();
  for (const n of [1, 2, 3]) c.submit("s", { n });
  await c.flush();
  assert.equal(posts().length, 1);
  assert.match(logs.warn.join("\n"), /the edge refused an event: \/page\/id: should be integer/);
  assert.equal((await c.stats()).queued, 1, "the accepted and the invalid left the queue");
  mock.timers.tick(2999);
  await flushMicrotasks();
  assert.equal(posts().length, 1, "not before Retry-After (3 s)");
  mock.timers.tick(1);
  await c.flush();
  assert.equal(posts().length, 2);
  assert.deepEqual(JSON.parse(posts()[1].init.body).map((e) => e.n), [3]);
  mock.timers.tick(2000); // backoff of the second attempt: at most 2 s
  await c.flush();
  assert.equal(posts().length, 3);
  assert.deepEqual(JSON.parse(posts()[2].init.body).map((e) => e.n), [3]);
  assert.equal((await c.stats()).queued, 0);

  // A 413 (or 401, 404, a request-level 400) without lists: the batch is sent one event a
  // request; the one still refused alone is dropped, the others go.
  fetchAnswer = (url, init) => new Response(null, { status: init.body.includes("huge") ? 413 : 201 });
  logs.warn = [];
  for (const n of [4, 5, 6]) c.submit("s", n == 5 ? { n, huge: 1 } : { n });
  await c.flush();
  assert.deepEqual(posts().slice(3).map((f) => JSON.parse(f.init.body).map((e) => e.n)), [[4, 5, 6], [4], [5], [6]]);
  assert.match(logs.warn.join("\n"), /HTTP 413 from https:\/\/edge.test\/v1\/events: the edge will not take this event, dropped/);
  assert.equal((await c.stats()).queued, 0);
});

test("storage: bounded by count and bytes, the oldest dropped and counted; kept across pages (localStorage when there is no IndexedDB)", async () => {
  setGlobal("navigator", { onLine: false });
  const c = createClient({ url: "https://edge.test", streamConfig: null, maxQueueEvents: 5, batchSize: 2 });
  for (let n = 1; n <= 8; n++) c.submit("s", { n });
  assert.deepEqual(await c.stats(), { queued: 5, bytes: (await c.stats()).bytes, dropped: 3 });
  assert.equal(logs.warn.length, 1);
  assert.match(logs.warn[0], /storage full: the oldest events are dropped/);
  assert.equal(posts().length, 0, "offline: nothing tried");
  const kept = JSON.parse(localStorage.getItem("intake-queue https://edge.test"));
  assert.deepEqual(kept.q.map((r) => JSON.parse(r[1]).n), [4, 5, 6, 7, 8]);
  assert.equal(kept.d, 3);
  // A new page, online: it sends what the last one kept, in order.
  setGlobal("navigator", { onLine: true });
  const next = createClient({ url: "https://edge.test", streamConfig: null });
  await next.flush();
  assert.deepEqual(sentEvents().map((e) => e.n), [4, 5, 6, 7, 8]);
  assert.deepEqual(await next.stats(), { queued: 0, bytes: 0, dropped: 3 });
  // Bytes: three events of about 200 bytes in 500.
  setGlobal("navigator", { onLine: false });
  const small = createClient({ url: "https://edge.test/b", streamConfig: null, maxQueueBytes: 500 });
  for (let n = 1; n <= 3; n++) small.submit("s", { n, pad: "x".repeat(100) });
  const st = await small.stats();
  assert.equal(st.queued, 2);
  assert.equal(st.dropped, 1);
  assert.ok(st.bytes <= 500 && st.bytes > 300, String(st.bytes));
});

test("page hide: left, a beacon (the events stay stored); hidden, a request whose answer settles them; offline, nothing", async () => {
  const on = {};
  setGlobal("addEventListener", (type, f) => (on[type] = f));
  setGlobal("document", { visibilityState: "visible", addEventListener: (type, f) => (on[type] = f) });
  const c = createClient({ url: "https://edge.test", streamConfig: null, batchSize: 1000, flushInterval: 600000 });
  const id = c.submit("s", { n: 1 });
  await flushMicrotasks();
  on.pagehide();
  assert.equal(beacons.length, 1);
  assert.equal(beacons[0].url, "https://edge.test/v1/events");
  assert.deepEqual(JSON.parse(await beacons[0].blob.text()).map((e) => e.meta.id), [id]);
  assert.equal((await c.stats()).queued, 1, "a beacon's answer is never known: kept for the next page");
  on.pagehide();
  assert.equal(beacons.length, 1, "beaconed once");
  const id2 = c.submit("s", { n: 2 });
  document.visibilityState = "hidden";
  on.visibilitychange();
  await flushMicrotasks();
  assert.deepEqual(posts().map((f) => JSON.parse(f.init.body).map((e) => e.meta.id)), [[id2]]);
  assert.deepEqual(JSON.parse(localStorage.getItem("intake-queue https://edge.test")).q.map((r) => r[0]), [id], "answered: gone");
  navigator.onLine = false;
  c.submit("s", { n: 3 });
  on.visibilitychange();
  on.pagehide();
  await flushMicrotasks();
  assert.equal(posts().length + beacons.length, 2, "offline: nothing sent, all kept");
  assert.equal((await c.stats()).queued, 2);
  // Back online: the "online" event sends what is kept, the beaconed one too (same meta.id).
  navigator.onLine = true;
  on.online();
  await c.flush();
  assert.equal((await c.stats()).queued, 0);
  assert.deepEqual(sentEvents().map((e) => e.n), [2, 1, 3]);
});

test("a page left before its events are confirmed in storage: they go to localStorage at once, and the next page queues them once", async () => {
  const on = {};
  setGlobal("addEventListener", (type, f) => (on[type] = f));
  setGlobal("document", { visibilityState: "visible", addEventListener: (type, f) => (on[type] = f) });
  navigator.onLine = false;
  const c = createClient({ url: "https://edge.test", streamConfig: null });
  const id = c.submit("s", { n: 1 });
  on.pagehide(); // in the same task: the storage write has not finished
  const spilled = JSON.parse(localStorage.getItem("intake-unsaved https://edge.test"));
  assert.deepEqual(spilled.map((r) => r[0]), [id]);
  await c.stats(); // here the write does finish: the event is stored and spilled
  navigator.onLine = true;
  const next = createClient({ url: "https://edge.test", streamConfig: null });
  assert.equal(localStorage.getItem("intake-unsaved https://edge.test"), "[]", "taken");
  await next.flush();
  assert.deepEqual(sentEvents().map((e) => e.meta.id), [id], "once");
  assert.equal((await next.stats()).queued, 0);
});

test("apiKey and headers: fetch with the headers (CORS), never a beacon", async () => {
  const on = {};
  setGlobal("addEventListener", (type, f) => (on[type] = f));
  setGlobal("document", { visibilityState: "visible", addEventListener: (type, f) => (on[type] = f) });
  fetchAnswer = () => new Response('{"status":401}', { status: 401 });
  const c = createClient({ url: "https://edge.test", streamConfig: null, apiKey: "k1", headers: { "X-Request-Id": "r" } });
  c.submit("s", {});
  await c.flush();
  c.submit("s", {});
  on.pagehide();
  await flushMicrotasks();
  assert.equal(beacons.length, 0);
  assert.equal(fetches.length, 2);
  for (const f of fetches) {
    const h = f.init.headers;
    assert.equal(h.Authorization, "Bearer k1");
    assert.equal(h["X-Request-Id"], "r");
    assert.equal(h["Content-Type"], "text/plain");
  }
  assert.match(logs.warn.join("\n"), /HTTP 401/);
});

test("stream config: events wait for it, then are decided by it (a stream it does not list is not sent)", async () => {
  let answer;
  fetchAnswer = (url) => {
    if (url.includes("/v1/streams")) return new Promise((r) => (answer = r));
    return new Response(null, { status: 202 });
  };
  const on = {}; // a page's hide events
  setGlobal("addEventListener", (type, f) => (on[type] = f));
  setGlobal("document", { visibilityState: "visible", addEventListener: (type, f) => (on[type] = f) });
  const c = createClient({ url: "https://edge.test", streams: ["in", "out", "/^rx\\./"] });
  assert.equal(fetches[0].url, "https://edge.test/v1/streams?streams=in,out,%2F%5Erx%5C.%2F");
  c.submit("in", { n: 1 });
  c.submit("out", { n: 2 });
  c.submit("rx.a", { n: 3 });
  c.submit("unknown", { n: 4 });
  c.submit("rx.b", { n: 5 });
  document.visibilityState = "hidden";
  on.visibilitychange(); // hidden, then left: what waits cannot be decided, and waits on
  on.pagehide();
  await flushMicrotasks();
  assert.equal(beacons.length + posts().length, 0, "nothing sent before the config");
  const streams = {
    in: { sample: { rate: 1, unit: "session" } },
    out: { sample: { rate: 0, unit: "session" } },
    "/^rx\\.a$/": {},
  };
  answer(new Response(JSON.stringify({ streams }), { headers: { ETag: '"v1"' } }));
  const flushed = c.flush();
  assert.deepEqual(await c.config(), streams);
  await flushed;
  assert.deepEqual(sentEvents().map((e) => e.n), [1, 3]);
  assert.deepEqual(logs.error, [], "outside developer mode, nothing is said of the events not sent");
  // Kept with its ETag for the next page.
  const kept = JSON.parse(localStorage.getItem("intake-streams https://edge.test/v1/streams?streams=in,out,%2F%5Erx%5C.%2F"));
  assert.equal(kept.e, '"v1"');
  assert.deepEqual(kept.s, streams);
});

test("stream config: a failed fetch sends nothing, with a warning; developer mode says why for each event", async () => {
  for (const [answer, why] of [
    [() => new Response("no", { status: 404 }), "HTTP 404"],
    [() => Promise.reject(new TypeError("Failed to fetch")), "Failed to fetch"],
    [() => new Response("{}"), "no streams"],
  ]) {
    fetchAnswer = (url) => (url.includes("/v1/streams") ? answer() : new Response(null, { status: 200 }));
    for (const developerMode of [false, true]) {
      beacons = [];
      fetches = [];
      logs.warn = [];
      logs.error = [];
      const c = createClient({ url: "https://edge.test", developerMode });
      c.submit("s", { n: 1 });
      await c.flush();
      c.submit("s", { n: 2 });
      await c.flush();
      assert.equal(await c.config(), undefined);
      assert.equal(beacons.length, 0);
      assert.deepEqual(fetches.map((f) => f.url), ["https://edge.test/v1/streams"], "no event sent: " + why);
      assert.match(logs.warn.join("\n"), new RegExp(`cannot read the stream configuration https://edge.test/v1/streams \\(.*${why}\\): events are not sent \\(streamConfig: null sends them unsampled\\)`));
      assert.equal(logs.error.length, developerMode ? 2 : 0);
      for (const e of logs.error) assert.match(e, /^\[intake\] s: not sent: no stream configuration/);
    }
  }
});

test("stream config: events wait as long as the fetch (no timeout), at most 128: the oldest are dropped", async () => {
  let answer;
  fetchAnswer = (url) => (url.includes("/v1/streams") ? new Promise((r) => (answer = r)) : new Response(null, { status: 202 }));
  const c = createClient({ url: "https://edge.test", developerMode: true });
  for (let n = 1; n <= 130; n++) c.submit("s", { n });
  mock.timers.tick(3600 * 1000);
  await flushMicrotasks();
  assert.equal(fetches.length, 1, "an hour later, still waiting");
  assert.equal(logs.error.length, 2, logs.error.join("\n"));
  for (const e of logs.error) assert.match(e, /^\[intake\] s: not sent: more than 128 events waited for the stream configuration/);
  answer(new Response(JSON.stringify({ streams: { s: {} } })));
  await c.flush();
  const sent = fetches.slice(1).map((f) => JSON.parse(f.init.body).n);
  assert.equal(sent.length, 128);
  assert.equal(sent[0], 3, "the two oldest dropped");
});

test("stream config: a fresh localStorage copy serves at once; a stale one is revalidated with If-None-Match", async () => {
  const key = "intake-streams https://edge.test/v1/streams";
  const streams = { out: { sample: { rate: 0, unit: "session" } }, in: {} };
  setGlobal("location", new URL("https://edge.test/page"));
  localStorage.setItem(key, JSON.stringify({ e: '"v1"', s: streams, t: Date.now() }));
  const c1 = createClient({ url: "https://edge.test" });
  assert.equal(fetches.length, 0, "fresh: no request");
  c1.submit("out", {});
  c1.submit("in", {});
  c1.submit("unknown", {});
  await c1.flush();
  assert.deepEqual(sentEvents().map((e) => e.meta.stream), ["in"]);
  fetches = [];
  // Stale: used at once, revalidated; a 304 keeps it.
  localStorage.setItem(key, JSON.stringify({ e: '"v1"', s: streams, t: 0 }));
  fetchAnswer = (url) => (url.includes("/v1/streams") ? new Response(null, { status: 304 }) : new Response(null, { status: 202 }));
  const c2 = createClient({ url: "https://edge.test" });
  assert.equal(fetches.length, 1);
  assert.equal(fetches[0].init.headers["If-None-Match"], '"v1"');
  assert.deepEqual(await c2.config(), streams);
  await flushMicrotasks();
  assert.ok(JSON.parse(localStorage.getItem(key)).t > 0, "a 304 renews the copy");
  // Cross-origin: no If-None-Match of ours (it would need a preflight).
  localStorage.setItem(key, JSON.stringify({ e: '"v1"', s: streams, t: 0 }));
  setGlobal("location", new URL("https://www.test/page"));
  createClient({ url: "https://edge.test" });
  assert.equal(fetches[1].init.headers["If-None-Match"], undefined);
  assert.equal(fetches[1].init.cache, "no-cache");
});

test("developer mode: each event at once to ?debug=true, out of sample too, verdicts logged; why the others are not sent", async () => {
  const answers = {
    ok: { events: [{ index: 0, status: "accepted", topic: "dev.s", event: {} }] },
    bad: {
      events: [
        {
          index: 0,
          status: "invalid",
          event: {},
          errors: [
            { instancePath: "/page/id", message: "should be integer" },
            { instancePath: "/button", message: "should be equal to one of the allowed values" },
          ],
        },
      ],
    },
    refused: {
      events: [{ index: 0, status: "refused", errors: [{ instancePath: "/meta/stream", message: 'developer mode is not allowed for anonymous callers on stream "s"' }] }],
    },
  };
  fetchAnswer = (url, init) => {
    const kind = JSON.parse(init.body).kind;
    if (kind == "401") return new Response('{"status":401,"message":"unknown API key"}', { status: 401 });
    return new Response(JSON.stringify(answers[kind]), { status: kind == "ok" ? 200 : 400 });
  };
  localStorage.setItem("intake-debug", "1");
  const c = createClient({
    url: "https://edge.test",
    apiKey: "k",
    streamConfig: { s: { sample: { rate: 0, unit: "session" } }, bad: { sample: { rate: 2, unit: "session" } } },
  });
  assert.equal(c.developerMode, true);
  for (const kind of ["ok", "bad", "refused", "401"]) c.submit("s", { kind });
  c.submit("missing", { kind: "ok" });
  c.submit("bad", { kind: "ok" });
  assert.equal(fetches.length, 4, "sent at once, one request each, out of sample too; the other streams' events not at all");
  for (const f of fetches) {
    assert.equal(f.url, "https://edge.test/v1/events?debug=true");
    assert.equal(f.init.headers.Authorization, "Bearer k");
    assert.equal(f.init.headers["Content-Type"], "text/plain");
    assert.equal(JSON.parse(f.init.body).meta.stream, "s");
  }
  await c.flush();
  assert.equal(beacons.length, 0);
  assert.match(logs.info.join("\n"), /s: accepted, produced to dev\.s/);
  const errors = logs.error.join("\n");
  assert.match(errors, /s: invalid \(HTTP 400\)\n {2}\/page\/id: should be integer\n {2}\/button: should be equal to one of the allowed values/);
  assert.match(errors, /s: refused .*\n.*developer mode is not allowed for anonymous callers[^]*The edge refuses developer mode/);
  assert.match(errors, /HTTP 401 from the edge, not a developer-mode answer: .*unknown API key/);
  assert.match(errors, /^\[intake\] missing: not sent: stream not in the stream configuration /m);
  assert.match(errors, /^\[intake\] bad: not sent: invalid sample in the stream configuration: \{"rate":2,"unit":"session"\} /m);
  // The option wins over the switch.
  assert.equal(createClient({ url: "https://edge.test", developerMode: false, streamConfig: null }).developerMode, false);
});
