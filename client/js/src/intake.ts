/**
 * intake's browser client: fills in what every event needs (meta.stream, meta.id, dt, $schema),
 * samples events by the stream configuration of GET /v1/streams, keeps them in the page's storage
 * (IndexedDB, else localStorage, else memory; bounded, oldest dropped) until the edge accepted them,
 * and sends them in order in batches (fetch, text/plain: no CORS preflight) when the browser is
 * online, retrying with backoff and full jitter, never sooner than Retry-After. A page hidden or
 * left sends what it holds at once (a beacon); those events leave the storage only when the edge's
 * answer is read, else the next page sends them again (same meta.id). Developer mode sends each
 * event at once to ?debug=true and logs the edge's verdict, or why the event was not sent.
 *
 * No runtime dependencies; the script build must stay under 4 KB gzip (npm run size).
 */

/** A stream's settings as GET /v1/streams answers them; the client reads `sample` only. */
export interface StreamSettings {
  sample?: { rate?: unknown; unit?: unknown } | null;
  schema_title?: string;
  [key: string]: unknown;
}

/** The `streams` member of GET /v1/streams: stream name (or "/regex/") to its settings. */
export type StreamConfigs = Record<string, StreamSettings | null>;

/** What a sample rate applies to: a browser tab's session, one page load, or the browser. */
export type SampleUnit = "session" | "pageview" | "device";

/** An event as sent: any JSON object; the client fills meta.stream, meta.id, dt and $schema. */
export interface IntakeEvent {
  $schema?: string;
  dt?: string;
  meta?: { stream?: string; id?: string; [key: string]: unknown };
  // any, not unknown: a value of any interface type is then an IntakeEvent too.
  [key: string]: any;
}

export interface ClientOptions {
  /** The edge's base URL, e.g. "https://intake.example.org" (no /v1/events). */
  url: string;
  /** Streams to ask GET /v1/streams for (?streams=a,b); a /regex/ stream by its "/regex/" key.
   * Default: every stream. */
  streams?: string[];
  /** $schema per stream, filled in when an event has none: {"example.click": "/example/click/1.0.0"}. */
  schemas?: Record<string, string>;
  /** The stream configuration to use instead of fetching it; null: none, every event is sent
   * unsampled (for an edge without GET /v1/streams). */
  streamConfig?: StreamConfigs | null;
  /** Where to GET the stream configuration. Default: url + "/v1/streams". */
  streamConfigUrl?: string;
  /** Send each event at once to ?debug=true and log the edge's verdict, out of sample too; say why
   * any other event is not sent. Default: localStorage "intake-debug" is "1". */
  developerMode?: boolean;
  /** An API key, sent as Authorization: Bearer (a CORS preflight, and fetch instead of beacons). */
  apiKey?: string;
  /** More request headers (as apiKey: fetch with a CORS preflight instead of beacons). */
  headers?: Record<string, string>;
  /** Events that make a batch be sent at once. Default 10. */
  batchSize?: number;
  /** How long the first queued event waits for more before the batch is sent, ms. Default 5000. */
  flushInterval?: number;
  /** Largest request body, bytes: bigger batches are split, a bigger event is dropped with a
   * warning (browsers refuse keepalive bodies over 64 KiB in all). Default 60000. */
  maxBeaconBytes?: number;
  /** Most events kept in storage until the edge accepts them; beyond, the oldest are dropped
   * (counted in stats().dropped). Default 1000. */
  maxQueueEvents?: number;
  /** Most bytes (UTF-8 JSON) kept in storage; beyond, the oldest events are dropped. Default 1000000. */
  maxQueueBytes?: number;
  /** How long a request may take, ms: a request not answered by then is given up and its events are
   * retried with backoff (the same meta.id). Default 30000. */
  timeout?: number;
}

/** What the storage holds: stats(). */
export interface QueueStats {
  /** Events kept until the edge accepts them (of every page of this origin sending to this edge). */
  queued: number;
  /** Their bytes (UTF-8 JSON). */
  bytes: number;
  /** Events dropped so far because the storage was full (maxQueueEvents, maxQueueBytes), oldest first. */
  dropped: number;
}

export interface Client {
  /** Queues an event for a stream and returns its meta.id. The event object is not changed. */
  submit(stream: string, event?: IntakeEvent): string;
  /** Sends what is queued now (after the stream configuration arrived, or failed); resolves when
   * the edge answered for all of it, or the client waits to retry (offline, backoff). */
  flush(): Promise<void>;
  /** What the storage holds, and how many events its bounds dropped. */
  stats(): Promise<QueueStats>;
  /** The stream configuration in use once it is loaded; null or undefined: none. */
  config(): Promise<StreamConfigs | null | undefined>;
  /** Whether this client runs in developer mode. */
  readonly developerMode: boolean;
}

type Ev = IntakeEvent & { meta: { stream: string; id: string } };
/** A queued event: its meta.id, its JSON, its bytes (UTF-8). */
type Rec = [string, string, number];
/** The queue as stored: events in order, and how many the bounds dropped. */
type Box = { q: Rec[]; d: number };

const P = "[intake] ";
const UNITS: unknown[] = ["session", "pageview", "device"];
const ID = /^[0-9a-f]{20}$/;
const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
const noop = () => {};

/** Random lower-case hex of n bytes. */
const hex = (n: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => (b + 256).toString(16).slice(1)).join("");

/** A random UUID (v4). */
export function uuid(): string {
  if (crypto.randomUUID) return crypto.randomUUID(); // secure contexts only
  const h = hex(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20)}`;
}

/**
 * Whether a unit id is in sample at rate: a rate of 1 or more is in, 0 or less out; otherwise the
 * first 8 characters of the id must be hex digits, read as a number and divided by 0xFFFFFFFF,
 * in sample when below the rate (client/testdata/sampling-vectors.json, the Go client's rule).
 */
export function inSample(id: string, rate: number): boolean {
  if (rate >= 1) return true;
  const h = String(id).slice(0, 8);
  return rate > 0 && /^[0-9a-f]{8}$/i.test(h) && parseInt(h, 16) / 0xffffffff < rate;
}

/** The settings of a stream: its exact name, else the first "/regex/" key that matches it. */
export function streamSettings(config: StreamConfigs | null | undefined, stream: string): StreamSettings | null | undefined {
  if (!config) return;
  if (hasOwn(config, stream)) return config[stream];
  for (const k in config) {
    // As the edge reads them: "//" is a pattern too (the empty one, matching every name).
    if (k.length > 1 && k[0] == "/" && k[k.length - 1] == "/") {
      try {
        if (new RegExp(k.slice(1, -1)).test(stream)) return config[k];
      } catch {
        // Not a regular expression JavaScript reads: it matches nothing here.
      }
    }
  }
}

/**
 * Why an event of stream is not sent, "" when it is (client/testdata/sampling-vectors.json, the Go
 * client's rule, Wikimedia Metrics Platform's): config null (none, by choice) sends everything;
 * undefined (not loaded) nothing. A stream the configuration does not list (or whose settings are
 * not an object) is not sent; one without sample is; an invalid sample (rate not a number in
 * [0, 1], unit not session, pageview or device) sends nothing; else inSample of the unit's id.
 * Developer mode sends what is out of sample, and nothing else that would not be sent.
 */
export function whyNotSent(
  config: StreamConfigs | null | undefined,
  stream: string,
  idOf: (unit: SampleUnit) => string = unitId,
  developerMode = false,
): string {
  if (config === null) return "";
  if (!config) return "no stream configuration";
  const st = streamSettings(config, stream);
  if (!st || typeof st != "object" || Array.isArray(st)) return "stream not in the stream configuration";
  const s = st.sample;
  if (s == null) return "";
  const { rate, unit } = s;
  if (typeof s != "object" || typeof rate != "number" || !(rate >= 0 && rate <= 1) || !UNITS.includes(unit)) {
    return "invalid sample in the stream configuration: " + JSON.stringify(s);
  }
  return developerMode || inSample(idOf(unit as SampleUnit), rate) ? "" : "out of sample";
}

/** Whether an event of stream is sent: whyNotSent says "". */
export const shouldSend = (config: StreamConfigs | null | undefined, stream: string, idOf?: (unit: SampleUnit) => string): boolean =>
  !whyNotSent(config, stream, idOf);

// Unit ids once read, and where storage fails (private mode, blocked cookies): kept for the page.
const ids: Record<string, string> = {};

/**
 * The id of a sampling unit: 20 random hex characters, kept in sessionStorage (session),
 * localStorage (device) or memory (pageview: one page load). Storage failures fall back to memory.
 */
export function unitId(unit: SampleUnit): string {
  const k = "intake-" + unit + "-id";
  if (!ids[k]) {
    let v: string | null | undefined;
    if (unit != "pageview") {
      try {
        const s = unit == "device" ? localStorage : sessionStorage;
        v = s.getItem(k);
        if (!ID.test(v as string)) s.setItem(k, (v = hex(10)));
      } catch {
        // No storage: memory below.
      }
    }
    ids[k] = v && ID.test(v) ? v : hex(10);
  }
  return ids[k];
}

/** localStorage's value of key, or sets it (then "" when it could). */
function storage(key: string, value?: string): string | null | undefined {
  try {
    if (value == null) return localStorage.getItem(key);
    localStorage.setItem(key, value);
    return "";
  } catch {
    // Private mode or no DOM: nothing kept.
  }
}

/** Creates a client sending to the edge at options.url. */
export function createClient(o: ClientOptions): Client {
  const base = o.url.replace(/\/+$/, "");
  const max = o.maxBeaconBytes || 60000;
  const headers: Record<string, string> = { "Content-Type": "text/plain", ...o.headers };
  if (o.apiKey) headers.Authorization = "Bearer " + o.apiKey;
  // Beacons carry no headers of ours: only plain clients use them.
  const plain = !o.apiKey && !o.headers;
  const dev = o.developerMode ?? storage("intake-debug") == "1";
  const enc = new TextEncoder();
  const u = base + "/v1/events";
  const key = "intake-queue " + base; // the stored queue: IndexedDB "intake" store "q", or localStorage
  const nav = typeof navigator != "undefined" ? navigator : ({} as Navigator);

  // The stream configuration: undefined until it is loaded (and when it cannot be), null for none.
  let config = o.streamConfig;
  let timer: ReturnType<typeof setTimeout> | 0 = 0; // batch interval
  let wake: ReturnType<typeof setTimeout> | 0 = 0; // the next retry, while waiting for it
  let fresh: Rec[] = []; // submitted, not yet in storage
  const own = new Map<string, Rec>(); // this page's events not yet accepted, for a send on hide
  const unsaved = new Set<string>(); // ids of this page's events not yet known to be in storage
  const spill = "intake-unsaved " + base; // where a page that is left puts them (synchronously)
  const flying = new Set<string>(); // ids whose request is on its way
  let attempt = 0; // failed attempts in a row
  let solo = 0; // requests to send with one event each (to find the one the edge will never take)
  let busy: Promise<unknown> | 0 = 0;
  let again = 0;
  let mem: Box | 0 = 0; // the queue when no storage works
  let db: Promise<IDBDatabase | 0> | undefined;
  const pending = new Set<Promise<unknown>>(); // developer-mode requests in flight
  // Events submitted before the stream configuration arrived (at most 128, as Metrics Platform
  // keeps them); 0 once it did, or could not.
  let waiting: Ev[] | 0 = 0;
  let ready: Promise<unknown> = Promise.resolve();

  /** Sends an event the stream configuration lets out; in developer mode, says why it does not. */
  function route(e: Ev, why = whyNotSent(config, e.meta.stream, unitId, dev)) {
    if (why) dev && console.error(P + e.meta.stream + ": not sent: " + why, e);
    else if (dev) debug(e);
    else enqueue(e);
  }

  if (config === undefined) {
    // The stream configuration: localStorage first (with its ETag), revalidated once per page.
    const u = o.streamConfigUrl || base + "/v1/streams";
    const cu = o.streams ? u + (u.includes("?") ? "&" : "?") + "streams=" + o.streams.map(encodeURIComponent).join() : u;
    const key = "intake-streams " + cu;
    let cached: { e?: string | null; s: StreamConfigs; t: number } | null = null;
    try {
      cached = JSON.parse(storage(key) || "null");
    } catch {
      // A broken entry is refetched.
    }
    const keep = (c: typeof cached) => {
      cached = c;
      storage(key, JSON.stringify(c));
      return (config = c!.s);
    };
    const h: Record<string, string> = {};
    // A header of ours on a cross-origin GET would need a preflight: there the browser's cache
    // revalidates with its own If-None-Match (cache: "no-cache").
    if (cached?.e && typeof location != "undefined" && new URL(cu, location.href).origin == location.origin) {
      h["If-None-Match"] = cached.e;
    }
    const load =
      cached?.s && Date.now() - cached.t < 60000 // the edge's Cache-Control: max-age=60
        ? 0
        : fetch(cu, { headers: h, cache: "no-cache" })
            .then((r) =>
              r.status == 304 && cached
                ? keep({ ...cached, t: Date.now() })
                : r.ok
                  ? r.json().then((j) => (j.streams ? keep({ e: r.headers.get("ETag"), s: j.streams, t: Date.now() }) : Promise.reject(new Error("no streams"))))
                  : Promise.reject(new Error("HTTP " + r.status)),
            )
            .catch((err) => {
              console.warn(P + "cannot read the stream configuration " + cu + " (" + err + "): events are not sent (streamConfig: null sends them unsampled)");
            });
    if (cached?.s) {
      config = cached.s; // no wait: a stale copy serves this page while it is revalidated
    } else if (load) {
      waiting = [];
      ready = load.then(() => {
        const w = waiting as Ev[];
        waiting = 0;
        w.forEach((e) => route(e));
      });
    }
  }

  /** Applies f to the stored queue (IndexedDB, else localStorage, else memory) and resolves to
   * it; without f, only reads it. One transaction: pages of one origin never lose each other's writes. */
  function update(f?: (b: Box) => void): Promise<Box> {
    db ||= new Promise<IDBDatabase | 0>((res) => {
      const r = indexedDB.open("intake");
      r.onupgradeneeded = () => r.result.createObjectStore("q");
      r.onsuccess = () => res(r.result);
      r.onerror = () => res(0);
    }).catch(() => 0 as const); // no IndexedDB (old or private browsers): localStorage
    return db
      .then(
        (d) =>
          new Promise<Box>((res, rej) => {
            if (!d) throw 0;
            const t = d.transaction("q", f ? "readwrite" : "readonly");
            const s = t.objectStore("q");
            const g = s.get(key);
            let b: Box;
            g.onsuccess = () => {
              b = g.result || { q: [], d: 0 };
              if (f) f(b), s.put(b, key);
            };
            t.oncomplete = () => res(b);
            t.onabort = rej;
          }),
      )
      .catch(() => {
        // IndexedDB failed (quota, closed): localStorage from now on.
        db = Promise.resolve(0);
        let b: Box | 0 | null = mem;
        try {
          b ||= JSON.parse(storage(key)!);
        } catch {
          // broken: a new queue
        }
        b ||= { q: [], d: 0 };
        if (f) {
          f(b);
          if (!mem && storage(key, JSON.stringify(b)) == null) mem = b; // full or no localStorage
        }
        return b;
      });
  }

  /** Writes the submitted events to storage, dropping the oldest beyond the bounds; resolves to the queue. */
  function persist(): Promise<Box> {
    const add = fresh.splice(0);
    return update(
      add.length
        ? (b) => {
            const q = b.q;
            const has = new Set(q.map((r) => r[0]));
            for (const r of add) has.has(r[0]) || q.push(r); // a spilled copy may have been written too
            let n = q.reduce((s, r) => s + r[2], 0);
            while (q.length > (o.maxQueueEvents || 1000) || n > (o.maxQueueBytes || 1e6)) {
              n -= q.shift()![2];
              b.d++ || console.warn(P + "storage full: the oldest events are dropped (stats().dropped counts them)");
            }
          }
        : undefined,
    ).then((b) => (add.forEach((r) => unsaved.delete(r[0])), b));
  }

  /** Requests of at most max bytes. */
  function chunks(recs: Rec[]): Rec[][] {
    const out: Rec[][] = [];
    let size = max;
    for (const r of recs) {
      if (size + r[2] + 1 > max) out.push([]), (size = 1);
      out[out.length - 1].push(r);
      size += r[2] + 1;
    }
    return out;
  }

  function enqueue(e: Ev) {
    const j = JSON.stringify(e);
    const n = enc.encode(j).length;
    if (n + 2 > max) {
      console.warn(P + "dropped an event of stream " + e.meta.stream + ": " + n + " bytes, over maxBeaconBytes " + max, e);
      return;
    }
    const r: Rec = [e.meta.id, j, n];
    own.set(r[0], r);
    unsaved.add(r[0]);
    // In storage before the page can go on: a reload or a crash right after keeps it.
    fresh.push(r) < 2 && Promise.resolve().then(persist);
    if (own.size >= (o.batchSize || 10)) pump();
    else timer ||= setTimeout(pump, o.flushInterval ?? 5000);
  }

  /** Sends the stored queue, one request at a time, in order, until it is empty, the browser is
   * offline or a retry waits. One page of the origin at a time (Web Locks) sends it. */
  function pump(): Promise<unknown> {
    clearTimeout(timer);
    timer = 0;
    if (busy) return (again = 1), busy;
    const drain = async () => {
      // What another page sent, or the bounds dropped, is no longer this page's to send on hide
      // (events submitted before a read are written before it).
      let mine = [...own.keys()];
      for (let b: Box | 0 = await persist(); ; ) {
        const inq = new Set(b.q.map((r) => r[0]));
        for (const id of mine) inq.has(id) || own.delete(id);
        if (wake || nav.onLine === false) return; // a retry waits; "online" pumps again
        const [batch] = chunks(b.q.filter((r) => !flying.has(r[0])));
        mine = [...own.keys()];
        // The queue as the answer's transaction left it: no second read unless events were added.
        if (!batch || !(b = await post(solo ? (solo--, batch.slice(0, 1)) : batch))) return;
        if (fresh.length) b = await persist();
      }
    };
    return (busy = (nav.locks ? nav.locks.request(key, drain) : drain()).finally(() => {
      busy = 0;
      if (again) (again = 0), pump();
    }));
  }

  /** Posts a batch and settles it by the answer: accepted and invalid events leave the storage; a
   * retry is scheduled for the others. Resolves to the queue when the next batch may go at once. */
  async function post(batch: Rec[]): Promise<Box | 0> {
    const ids = batch.map((r) => r[0]);
    let retry = ids;
    let wait = 0;
    ids.forEach((i) => flying.add(i));
    try {
      // A request never answered would hold the queue: given up after the timeout, and retried.
      const r = await fetch(u, { method: "POST", body: "[" + batch.map((r) => r[1]).join() + "]", headers, keepalive: true, signal: AbortSignal.timeout?.(o.timeout || 3e4) });
      // Read whole: until then the request counts against the browser's keepalive quota (64 KiB).
      const t = await r.text();
      const s = r.status;
      retry = [];
      if (s == 207 || s > 299) {
        let j: any;
        try {
          j = JSON.parse(t);
        } catch {
          // no lists
        }
        wait = +r.headers.get("Retry-After")! * 1000 || Date.parse(r.headers.get("Retry-After")!) - Date.now() || 0;
        if (j?.invalid) {
          // EventGate's lists (a browser's entries carry the index): invalid events are dropped, the
          // "error" ones (Kafka unavailable, a stream's rate limit) retried.
          for (const e of j.invalid) console.warn(P + "the edge refused an event: " + e.context?.errorsText, batch[e.index]?.[1]);
          retry = (j.error || []).map((e: any) => ids[e.index]);
        } else if (s == 408 || s == 429 || s > 499) retry = ids;
        else if (ids.length > 1) (solo = ids.length), (retry = ids), (wait = -1); // find the culprit
        else console.warn(P + "HTTP " + s + " from " + u + ": the edge will not take this event, dropped", batch[0][1]);
      }
    } catch {
      // Offline, the edge unreachable, or CORS (is this origin in the edge's allowed_origins?).
    }
    const keep = new Set(retry);
    const done = new Set(ids.filter((i) => !keep.has(i)));
    const b = await update(done.size ? (b) => (b.q = b.q.filter((r) => !done.has(r[0]))) : undefined);
    done.forEach((i) => own.delete(i));
    ids.forEach((i) => flying.delete(i)); // only now: a drain meanwhile would send them again
    if (!retry.length || wait < 0) return (attempt = 0), b;
    // Full jitter, never sooner than Retry-After.
    wake = setTimeout(
      () => {
        wake = 0;
        pump();
      },
      Math.max(wait, Math.random() * Math.min(60000, 1000 * 2 ** attempt++)),
    );
    return 0;
  }

  /** The page is hidden or left: sends this page's events at once (kept in storage all the same). A
   * request's answer, if the page lives to read it, settles them; a beacon's never does, and the
   * next page sends those again (same meta.id: deduplicated downstream). */
  function hide(left?: boolean) {
    // IndexedDB may not finish before the page is gone: what it has not confirmed goes to
    // localStorage now, and the next page adds it to the queue.
    const un = [...own.values()].filter((r) => unsaved.has(r[0]));
    if (left && un.length) storage(spill, JSON.stringify(JSON.parse(storage(spill) || "[]").concat(un)));
    if (fresh.length) persist();
    if (nav.onLine === false) return;
    for (const batch of chunks([...own.values()].filter((r) => !flying.has(r[0])))) {
      if (left && plain && nav.sendBeacon?.(u, new Blob(["[" + batch.map((r) => r[1]).join() + "]"], { type: "text/plain" }))) {
        batch.forEach((r) => own.delete(r[0])); // not beaconed twice; still stored, sent again
      } else post(batch);
    }
  }

  function debug(e: Ev) {
    const s = e.meta.stream;
    const body = JSON.stringify(e);
    if (enc.encode(body).length > max) {
      console.warn(P + "dropped an event of stream " + s + ": over maxBeaconBytes " + max, e);
      return;
    }
    const p = fetch(base + "/v1/events?debug=true", { method: "POST", body, headers, keepalive: true })
      .then((r) =>
        r.text().then((t) => {
          let v: any;
          try {
            v = JSON.parse(t).events[0];
          } catch {
            // Not a developer-mode answer: logged whole below.
          }
          if (!v) {
            console.error(P + s + ": HTTP " + r.status + " from the edge, not a developer-mode answer: " + t);
          } else if (v.status == "accepted") {
            console.info(P + s + ": accepted, produced to " + v.topic, v.event);
          } else {
            const errs: any[] = v.errors || [];
            const text = errs.map((x) => (x.instancePath || "/") + ": " + x.message).join("\n  ") || v.message || "";
            console.error(
              P + s + ": " + v.status + " (HTTP " + r.status + ")\n  " + text +
                (/developer mode/.test(text)
                  ? "\n  The edge refuses developer mode: it needs an apiKey flagged debug in its access config and allow_debug on the stream."
                  : ""),
              v.event,
              errs,
            );
          }
        }),
      )
      .catch((err) =>
        console.error(P + s + ": cannot reach " + base + " (network, or CORS: is this origin in the edge's allowed_origins?)", err),
      );
    pending.add(p);
    p.then(() => pending.delete(p));
  }

  if (typeof document != "undefined") {
    // Pages die without notice once hidden (mobile tab switches, bfcache): send on hide. Events
    // still waiting for the stream configuration cannot be decided: they wait on.
    addEventListener("pagehide", () => hide(true));
    document.addEventListener("visibilitychange", () => document.visibilityState == "hidden" && hide());
    addEventListener("online", () => {
      clearTimeout(wake);
      wake = attempt = 0;
      pump();
    });
  }
  try {
    fresh.push(...JSON.parse(storage(spill) || "[]"));
  } catch {
    // broken: nothing to add
  }
  storage(spill, "[]");
  pump(); // what earlier pages left
  if (dev) console.info(P + "developer mode: each event goes to " + base + "/v1/events?debug=true, out of sample too");

  return {
    developerMode: dev,
    submit(stream, data = {}) {
      const e = { $schema: o.schemas?.[stream], ...data, meta: { ...data.meta, stream } } as Ev;
      e.meta.id ||= uuid();
      e.dt ||= new Date().toISOString();
      if (!waiting) route(e);
      else if (waiting.push(e) > 128) route(waiting.shift()!, "more than 128 events waited for the stream configuration");
      return e.meta.id;
    },
    flush: () => {
      const w = (): unknown => busy && busy.then(w); // through the round pump() may have added
      return ready.then(() => Promise.all([pump().then(w), ...pending])).then(noop);
    },
    stats: () => persist().then((b) => ({ queued: b.q.length, bytes: b.q.reduce((s, r) => s + r[2], 0), dropped: b.d })),
    config: () => ready.then(() => config),
  };
}
