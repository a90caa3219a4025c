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
const { inSample, shouldSend, streamSettings, createClient, uuid } = await load();

test("sampling vectors of client/testdata/sampling-vectors.json", () => {
  const { cases } = JSON.parse(readFileSync(new URL("../../testdata/sampling-vectors.json", import.meta.url), "utf8"));
  assert.ok(cases.length > 100, "the vector file has its cases");
  let n = 0;
  for (const c of cases) {
    assert.equal(inSample(c.id, c.rate), c.in, `inSample(${JSON.stringify(c.id)}, ${c.rate})`);
    // The same case through the whole rule, as a stream sampled per session.
    const config = { s: { sample: { rate: c.rate, unit: "session" } } };
    assert.equal(shouldSend(config, "s", () => c.id), c.in, `shouldSend at ${c.rate} for ${c.id}`);
    n++;
  }
  assert.equal(n, cases.length);
});

test("shouldSend: config, regex streams, invalid samples", () => {
  const lowId = () => "00000000000000000000"; // in sample at any rate above 0
  const f = (config, stream, want, idOf = lowId) => {
    assert.equal(shouldSend(config, stream, idOf), want, `${JSON.stringify(config)} ${stream}`);
  };
  // Config unavailable, stream not configured, no sample: sent.
  f(null, "a", true);
  f(undefined, "a", true);
  f({}, "a", true);
  f({ b: { sample: { rate: 0, unit: "session" } } }, "a", true);
  f({ a: {} }, "a", true);
  f({ a: null }, "a", true);
  f({ a: { sample: null } }, "a", true);
  f({ a: { schema_title: "x" } }, "a", true);
  // Rates 1 and 0 decide without the id.
  f({ a: { sample: { rate: 1, unit: "device" } } }, "a", true, () => "zz");
  f({ a: { sample: { rate: 0, unit: "pageview" } } }, "a", false);
  // Invalid samples: not sent.
  f({ a: { sample: { rate: "0.5", unit: "session" } } }, "a", false);
  f({ a: { sample: { rate: 1.5, unit: "session" } } }, "a", false);
  f({ a: { sample: { rate: -0.1, unit: "session" } } }, "a", false);
  f({ a: { sample: { rate: NaN, unit: "session" } } }, "a", false);
  f({ a: { sample: { unit: "session" } } }, "a", false);
  f({ a: { sample: { rate: 0.5, unit: "user" } } }, "a", false);
  f({ a: { sample: { rate: 0.5 } } }, "a", false);
  f({ a: { sample: { rate: 1, unit: "sessionx" } } }, "a", false);
  f({ a: { sample: "all" } }, "a", false);
  // The unit's id decides in between, and the unit asked for is the stream's.
  f({ a: { sample: { rate: 0.5, unit: "device" } } }, "a", false, (u) => (u == "device" ? "ffffffff" : "00000000"));
  f({ a: { sample: { rate: 0.5, unit: "device" } } }, "a", true, (u) => (u == "device" ? "00000000" : "ffffffff"));
  // In sample strictly below the rate: an id exactly at it is out.
  const at = 0x80000000 / 0xffffffff;
  assert.equal(inSample("80000000", at), false);
  assert.equal(inSample("80000000", at + 1e-12), true);
  assert.equal(inSample("7fffffff", at), true);
  // /regex/ keys: the first match, after the exact name.
  const rx = {
    "/^web\\..+$/": { sample: { rate: 0, unit: "session" } },
    "web.kept": { sample: { rate: 1, unit: "session" } },
    "/[/": { sample: { rate: 0, unit: "session" } }, // not a JS regex: matches nothing
  };
  f(rx, "web.click", false);
  f(rx, "web.kept", true);
  f(rx, "app.click", true);
  f(rx, "[", true);
  assert.equal(streamSettings(rx, "web.x"), rx["/^web\\..+$/"]);
  f({ "//": { sample: { rate: 0, unit: "session" } } }, "any.stream", false); // the empty pattern
  f({ "/": { sample: { rate: 0, unit: "session" } } }, "/", false); // a name, not a pattern
  f({ "/": { sample: { rate: 0, unit: "session" } } }, "x", true);
  // Names from Object.prototype are not streams.
  f({ a: {} }, "constructor", true);
  f({ a: {} }, "__proto__", true);
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
  fetchAnswer = () => new Response(null, { status: 202 });
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
  for (const n of ["navigator", "fetch", "localStorage", "sessionStorage", "location"]) delete globalThis[n];
});

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
  const [a, b] = await beaconEvents();
  assert.equal(beacons.length, 1);
  assert.equal(beacons[0].url, "https://edge.test/v1/events?hasty=true");
  assert.equal(a.meta.id, id);
  assert.match(id, /^[0-9a-f-]{36}$/);
  assert.equal(a.meta.stream, "example.click");
  assert.equal(a.meta.domain, "x");
  assert.equal(a.$schema, "/example/click/1.0.0");
  assert.match(a.dt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(b, { $schema: "/other/1.0.0", dt: "2026-01-01T00:00:00.000Z", meta: { id: "mine", stream: "other" } });
});

test("batches go out by count and by interval", async () => {
  const c = createClient({ url: "https://edge.test", streamConfig: null, batchSize: 3, flushInterval: 1000 });
  c.submit("s", { n: 1 });
  c.submit("s", { n: 2 });
  assert.equal(beacons.length, 0);
  c.submit("s", { n: 3 });
  assert.equal(beacons.length, 1, "the third event sends the batch");
  c.submit("s", { n: 4 });
  mock.timers.tick(999);
  assert.equal(beacons.length, 1);
  mock.timers.tick(1);
  assert.equal(beacons.length, 2, "the interval sends the rest");
  assert.deepEqual((await beaconEvents()).map((e) => e.n), [1, 2, 3, 4]);
  mock.timers.tick(10000);
  assert.equal(beacons.length, 2, "nothing more to send");
});

test("batches are split at maxBeaconBytes; an event too large is dropped with a warning", async () => {
  const max = 1000;
  const c = createClient({ url: "https://edge.test", streamConfig: null, batchSize: 1000, maxBeaconBytes: max });
  for (let i = 0; i < 40; i++) c.submit("s", { i, pad: "é".repeat(40) }); // two bytes a character
  c.submit("s", { big: "x".repeat(max) });
  assert.equal(logs.warn.length, 1);
  assert.match(logs.warn[0], /dropped an event of stream s: \d+ bytes, over maxBeaconBytes 1000/);
  await c.flush();
  assert.ok(beacons.length > 3, `split into ${beacons.length} requests`);
  for (const b of beacons) assert.ok(b.blob.size <= max, `a request of ${b.blob.size} bytes`);
  assert.deepEqual((await beaconEvents()).map((e) => e.i), [...Array(40).keys()]);
});

test("when sendBeacon is missing or refuses, fetch with keepalive and text/plain", async () => {
  navigator.sendBeacon = () => false;
  const c = createClient({ url: "https://edge.test", streamConfig: null });
  c.submit("s", { n: 1 });
  await c.flush();
  delete navigator.sendBeacon;
  c.submit("s", { n: 2 });
  await c.flush();
  assert.equal(fetches.length, 2);
  for (const [i, f] of fetches.entries()) {
    assert.equal(f.url, "https://edge.test/v1/events?hasty=true");
    assert.equal(f.init.method, "POST");
    assert.equal(f.init.keepalive, true);
    assert.equal(f.init.mode, "no-cors");
    assert.equal(f.init.headers["Content-Type"], "text/plain");
    assert.equal(JSON.parse(f.init.body)[0].n, i + 1);
  }
  // A network failure is logged, not thrown.
  fetchAnswer = () => Promise.reject(new TypeError("Failed to fetch"));
  c.submit("s", { n: 3 });
  await c.flush();
  assert.match(logs.warn.join("\n"), /cannot send events/);
});

test("apiKey and headers: fetch with the headers (CORS), never a beacon", async () => {
  fetchAnswer = () => new Response('{"status":401}', { status: 401 });
  const c = createClient({ url: "https://edge.test", streamConfig: null, apiKey: "k1", headers: { "X-Request-Id": "r" } });
  c.submit("s", {});
  await c.flush();
  assert.equal(beacons.length, 0);
  assert.equal(fetches.length, 1);
  const h = fetches[0].init.headers;
  assert.equal(h.Authorization, "Bearer k1");
  assert.equal(h["X-Request-Id"], "r");
  assert.equal(h["Content-Type"], "text/plain");
  assert.equal(fetches[0].init.mode, "cors");
  assert.match(logs.warn.join("\n"), /HTTP 401/);
});

test("stream config: events wait for it, then are sampled by it", async () => {
  let answer;
  fetchAnswer = (url) => {
    if (url.includes("/v1/streams")) return new Promise((r) => (answer = r));
    return new Response(null, { status: 202 });
  };
  const c = createClient({ url: "https://edge.test", streams: ["in", "out", "/^rx\\./"] });
  assert.equal(fetches[0].url, "https://edge.test/v1/streams?streams=in,out,%2F%5Erx%5C.%2F");
  c.submit("in", { n: 1 });
  c.submit("out", { n: 2 });
  c.submit("rx.a", { n: 3 });
  c.submit("unknown", { n: 4 });
  await flushMicrotasks();
  assert.equal(beacons.length, 0, "nothing sent before the config");
  const streams = {
    in: { sample: { rate: 1, unit: "session" } },
    out: { sample: { rate: 0, unit: "session" } },
    "/^rx\\./": { sample: { rate: 0, unit: "device" } },
  };
  answer(new Response(JSON.stringify({ streams }), { headers: { ETag: '"v1"' } }));
  const flushed = c.flush();
  assert.deepEqual(await c.config(), streams);
  await flushed;
  assert.deepEqual((await beaconEvents()).map((e) => e.n), [1, 4]);
  // Kept with its ETag for the next page.
  const kept = JSON.parse(localStorage.getItem("intake-streams https://edge.test/v1/streams?streams=in,out,%2F%5Erx%5C.%2F"));
  assert.equal(kept.e, '"v1"');
  assert.deepEqual(kept.s, streams);
});

test("stream config: a failed fetch sends events unsampled, with a warning", async () => {
  fetchAnswer = (url) => (url.includes("/v1/streams") ? new Response("no", { status: 500 }) : new Response(null, { status: 202 }));
  const c = createClient({ url: "https://edge.test" });
  c.submit("out", { n: 1 });
  await c.flush();
  assert.equal(await c.config(), undefined);
  assert.deepEqual((await beaconEvents()).map((e) => e.n), [1]);
  assert.match(logs.warn.join("\n"), /cannot read the stream configuration https:\/\/edge.test\/v1\/streams \(Error: HTTP 500\)/);
});

test("stream config: the wait is bounded by configTimeout", async () => {
  fetchAnswer = (url) => (url.includes("/v1/streams") ? new Promise(() => {}) : new Response(null, { status: 202 }));
  const c = createClient({ url: "https://edge.test", configTimeout: 500 });
  c.submit("out", { n: 1 });
  const flushed = c.flush();
  await flushMicrotasks();
  assert.equal(beacons.length, 0);
  mock.timers.tick(500);
  await flushed;
  assert.deepEqual((await beaconEvents()).map((e) => e.n), [1]);
  // Later events do not wait any more.
  c.submit("out", { n: 2 });
  await c.flush();
  assert.equal(beacons.length, 2);
});

test("stream config: a fresh localStorage copy serves at once; a stale one is revalidated with If-None-Match", async () => {
  const key = "intake-streams https://edge.test/v1/streams";
  const streams = { out: { sample: { rate: 0, unit: "session" } } };
  setGlobal("location", new URL("https://edge.test/page"));
  localStorage.setItem(key, JSON.stringify({ e: '"v1"', s: streams, t: Date.now() }));
  const c1 = createClient({ url: "https://edge.test" });
  assert.equal(fetches.length, 0, "fresh: no request");
  c1.submit("out", {});
  c1.submit("in", {});
  await c1.flush();
  assert.equal((await beaconEvents()).length, 1);
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

test("developer mode: each event at once to ?debug=true, unsampled, verdicts logged", async () => {
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
    streamConfig: { s: { sample: { rate: 0, unit: "session" } } },
  });
  assert.equal(c.developerMode, true);
  for (const kind of ["ok", "bad", "refused", "401"]) c.submit("s", { kind });
  assert.equal(fetches.length, 4, "sent at once, one request each, sampling bypassed");
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
  // The option wins over the switch.
  assert.equal(createClient({ url: "https://edge.test", developerMode: false, streamConfig: null }).developerMode, false);
});
