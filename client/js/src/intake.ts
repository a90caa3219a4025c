/**
 * intake's browser client: queues events, fills in what every event needs (meta.stream, meta.id,
 * dt, $schema), samples them by the stream configuration of GET /v1/streams, and sends them in
 * batches with navigator.sendBeacon (text/plain: no CORS preflight), also when the page is hidden
 * or left. Developer mode sends each event at once to ?debug=true and logs the edge's verdict, or
 * why the event was not sent.
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
}

export interface Client {
  /** Queues an event for a stream and returns its meta.id. The event object is not changed. */
  submit(stream: string, event?: IntakeEvent): string;
  /** Sends what is queued now (after the stream configuration arrived, or failed); resolves when
   * the beacons are queued by the browser or the fetches answered. */
  flush(): Promise<void>;
  /** The stream configuration in use once it is loaded; null or undefined: none. */
  config(): Promise<StreamConfigs | null | undefined>;
  /** Whether this client runs in developer mode. */
  readonly developerMode: boolean;
}

type Ev = IntakeEvent & { meta: { stream: string; id: string } };

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

function storage(key: string, value?: string): string | null | undefined {
  try {
    if (value == null) return localStorage.getItem(key);
    localStorage.setItem(key, value);
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
  // Beacons carry no headers of ours: only plain clients use them (and no-cors fetch).
  const plain = !o.apiKey && !o.headers;
  const dev = o.developerMode ?? storage("intake-debug") == "1";
  const enc = new TextEncoder();

  // The stream configuration: undefined until it is loaded (and when it cannot be), null for none.
  let config = o.streamConfig;
  let queue: [string, number][] = [];
  let timer: ReturnType<typeof setTimeout> | 0 = 0;
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

  function enqueue(e: Ev) {
    const j = JSON.stringify(e);
    const n = enc.encode(j).length;
    if (n + 2 > max) {
      console.warn(P + "dropped an event of stream " + e.meta.stream + ": " + n + " bytes, over maxBeaconBytes " + max, e);
      return;
    }
    queue.push([j, n]);
    if (queue.length >= (o.batchSize || 10)) send();
    else timer ||= setTimeout(send, o.flushInterval ?? 5000);
  }

  /** Sends the queue now, in requests of at most max bytes. */
  function send(): Promise<unknown> {
    clearTimeout(timer);
    timer = 0;
    const out: Promise<unknown>[] = [];
    let batch: string[] = [];
    let size = 1;
    const post = () => {
      if (batch.length) out.push(transmit("[" + batch.join() + "]"));
      batch = [];
      size = 1;
    };
    for (const [j, n] of queue) {
      if (size + n + 1 > max) post();
      batch.push(j);
      size += n + 1;
    }
    queue = [];
    post();
    return Promise.all(out);
  }

  function transmit(body: string): Promise<unknown> {
    const u = base + "/v1/events?hasty=true";
    try {
      if (plain && navigator.sendBeacon(u, new Blob([body], { type: "text/plain" }))) return Promise.resolve();
    } catch {
      // No sendBeacon (or it threw): fetch below.
    }
    return fetch(u, { method: "POST", body, headers, keepalive: true, mode: plain ? "no-cors" : "cors" }).then(
      (r) => r.ok || r.type == "opaque" || console.warn(P + "HTTP " + r.status + " from " + u),
      (err) => console.warn(P + "cannot send events to " + u, err),
    );
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
    addEventListener("pagehide", send);
    document.addEventListener("visibilitychange", () => document.visibilityState == "hidden" && send());
  }
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
    flush: () =>
      ready.then(() => Promise.all([send(), ...pending])).then(noop),
    config: () => ready.then(() => config),
  };
}
