// The browser tests' world: a real intake edge (bin/intake serve, embedded Kafka broker) on
// http://127.0.0.1:EDGE, a page server on another origin (http://localhost:PAGE) serving the test
// pages, dist/ and a same-origin proxy of GET /v1/streams, consumers of the test topics
// (bin/intake tail), and headless Debian Chromium driven by playwright-core. Everything runs on
// free loopback ports and temp dirs, and stop() ends every process it started, also on failure.
import { spawn, execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, extname } from "node:path";
import { createServer as netServer } from "node:net";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const pkgDir = join(here, "..");
export const repoDir = join(pkgDir, "..", "..");

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

/** Streams the tests use, added to a copy of examples/stream-config.json. */
export const TEST_STREAMS = {
  "test.in": sampled(1),
  "test.out": sampled(0),
  "test.slow": sampled(1), // rate-limited by the access config: 429 with Retry-After
};
function sampled(rate) {
  return {
    schema_title: "example/click",
    destination_event_service: "intake",
    topic_prefixes: ["dev."],
    sample: { rate, unit: "session" },
    producers: { intake: { auth: "none", allow_debug: true } },
  };
}
export const TOPICS = ["dev.test.in", "dev.test.out", "dev.test.slow"];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = netServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function intakeBin() {
  if (process.env.INTAKE_BIN) return process.env.INTAKE_BIN;
  const bin = join(repoDir, "bin", "intake");
  if (!existsSync(bin)) {
    console.log("# building bin/intake (go build ./cmd/intake)");
    execFileSync("go", ["build", "-o", "bin/intake", "./cmd/intake"], {
      cwd: repoDir,
      stdio: "inherit",
      env: { ...process.env, GOTOOLCHAIN: "auto" },
    });
  }
  return bin;
}

function chromiumPath() {
  const path = process.env.CHROMIUM || "/usr/bin/chromium";
  if (!existsSync(path)) {
    execFileSync("bash", [join(repoDir, "scripts", "browser", "ensure-chromium.sh")], { stdio: "inherit", env: { ...process.env, CHROMIUM: path } });
  }
  return path;
}

const until = async (what, check, ms = 20000, every = 50) => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out after " + ms + " ms waiting for " + what);
    await new Promise((r) => setTimeout(r, every));
  }
};
export { until };

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript", ".ts": "text/plain" };

export class World {
  children = [];
  logs = new Map(); // child name -> output
  /** topic -> Map(meta.id -> event), filled by the tail consumers. */
  kafka = new Map();
  /** topic -> Map(meta.id -> how many times it was read): exactly once is 1. */
  counts = new Map();
  /** GET /v1/streams requests through the page server's proxy: {url, ifNoneMatch, status}. */
  configRequests = [];

  async start() {
    this.tmp = mkdtempSync(join(tmpdir(), "intake-js-"));
    // Even when the test process dies without stop(): no edge or consumer outlives it.
    process.once("exit", () => this.children.forEach((c) => killGroup(c, "SIGKILL")));
    const bin = intakeBin();
    const [edgePort, brokerPort] = [await freePort(), await freePort()];
    this.edge = `http://127.0.0.1:${edgePort}`;
    this.broker = `127.0.0.1:${brokerPort}`;

    // The page server first: its origin goes into the access config.
    this.pages = createServer((req, res) => this.#serve(req, res));
    await new Promise((r) => this.pages.listen(0, "127.0.0.1", r));
    this.origin = `http://localhost:${this.pages.address().port}`;

    const streams = JSON.parse(readFileSync(join(repoDir, "examples", "stream-config.json"), "utf8"));
    Object.assign(streams.streams, TEST_STREAMS);
    writeFileSync(join(this.tmp, "streams.json"), JSON.stringify(streams, null, 1));
    this.apiKey = "test-" + randomBytes(16).toString("hex");
    writeFileSync(
      join(this.tmp, "access.yaml"),
      [
        "auth:",
        "  api_keys:",
        "    - name: browser-dev",
        "      sha256: " + createHash("sha256").update(this.apiKey).digest("hex"),
        "      streams: [test.*, example.*]",
        "      debug: true",
        "  default_auth: none",
        `allowed_origins: ["${this.origin}"]`,
        "rate_limits:",
        "  streams: {test.slow: {rate: 1, burst: 1}}",
        "",
      ].join("\n"),
    );
    const edge = this.#spawn("edge", bin, [
      "serve",
      "--listen", `127.0.0.1:${edgePort}`,
      "--embedded-broker-addr", this.broker,
      "--schema-base-uri", join(repoDir, "examples", "schemas"),
      "--stream-config", join(this.tmp, "streams.json"),
      "--access-config", join(this.tmp, "access.yaml"),
      "--service-name", "intake",
      "--topic-prefix", "dev.",
      "--config-refresh", "0",
    ]);
    await until("the edge's /readyz", async () => {
      if (edge.exitCode != null || edge.signalCode != null) throw new Error("the edge exited:\n" + this.log("edge"));
      return (await fetch(this.edge + "/readyz").catch(() => ({}))).status == 200;
    }, 30000, 100);

    for (const topic of TOPICS) {
      const seen = new Map();
      const counts = new Map();
      this.kafka.set(topic, seen);
      this.counts.set(topic, counts);
      const child = this.#spawn("tail " + topic, bin, ["tail", "--kafka-brokers", this.broker, "--from-beginning", topic], (line) => {
        try {
          const ev = JSON.parse(line);
          seen.set(ev.meta?.id, ev);
          counts.set(ev.meta?.id, (counts.get(ev.meta?.id) ?? 0) + 1);
        } catch {
          // not an event
        }
      });
      child.stderr.on("data", () => {});
    }

    this.browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
    return this;
  }

  /** Starts a child in its own process group (stop() kills the group); onLine gets its stdout lines. */
  #spawn(name, cmd, args, onLine) {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    let buf = "";
    child.stdout.on("data", (d) => {
      if (!onLine) {
        out += d;
        return;
      }
      buf += d;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", (code, sig) => (out += `\n[${name} exited: ${code ?? sig}]\n`));
    this.logs.set(name, () => out);
    this.children.push(child);
    return child;
  }

  log(name) {
    return this.logs.get(name)?.() ?? "";
  }

  #serve(req, res) {
    const url = new URL(req.url, this.origin);
    if (url.pathname == "/v1/streams") return this.#proxyStreams(req, res, url);
    if (url.pathname == "/favicon.ico") return res.writeHead(204).end();
    let file = url.pathname == "/" ? "/test/page.html" : url.pathname;
    if (url.pathname == "/module") file = "/test/module.html";
    const path = join(pkgDir, file);
    if (!path.startsWith(pkgDir + "/") || !existsSync(path) || !/^\/(test|dist)\//.test(file)) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "Content-Type": TYPES[extname(path)] || "application/octet-stream", "Cache-Control": "no-store" });
    res.end(readFileSync(path));
  }

  // GET /v1/streams of the edge, served on the page's origin (the edge's /v1/streams sends no CORS
  // headers): If-None-Match passed on, ETag, Cache-Control and 304 passed back.
  async #proxyStreams(req, res, url) {
    const ifNoneMatch = req.headers["if-none-match"];
    const r = await fetch(this.edge + url.pathname + url.search, { headers: ifNoneMatch ? { "If-None-Match": ifNoneMatch } : {} });
    this.configRequests.push({ url: url.pathname + url.search, ifNoneMatch, status: r.status });
    const headers = { "Content-Type": r.headers.get("Content-Type") || "application/json" };
    for (const h of ["ETag", "Cache-Control"]) if (r.headers.get(h)) headers[h] = r.headers.get(h);
    res.writeHead(r.status, headers).end(Buffer.from(await r.arrayBuffer()));
  }

  /** A fresh browser context (its own storage) and page, with the page's console and requests recorded. */
  async page(path = "/", { init, storageState, offline } = {}) {
    const context = await this.browser.newContext({ storageState });
    return this.open(context, path, init, offline);
  }

  /** A browser with a profile directory that outlives it (IndexedDB on disk): closing and
   * launching it again is a browser restart. Returns what page() does, and close(). */
  async persistentPage(dir, path = "/") {
    const context = await chromium.launchPersistentContext(dir, { executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
    this.persistent = context; // stop() closes it when a test fails
    return this.open(context, path, undefined, true);
  }

  /** Opens path in a new page of context, recording the page's console, errors and requests to the
   * edge (with their time). offline: the test pages and dist/ are answered by playwright from the
   * disk, so a page loads (and reloads) while the browser is offline; GET /v1/streams still needs
   * the network. */
  async open(context, path, init, offline) {
    if (init) await context.addInitScript(init);
    // A page playwright answers has no address: Chromium counts it public, and its requests to
    // the edge on 127.0.0.1 need the loopback permission (Local Network Access).
    if (offline) await context.grantPermissions(["local-network-access"], { origin: this.origin });
    if (offline) await context.route(
      (url) => url.origin == this.origin && /^\/(test|dist)\/|^\/(module)?$/.test(url.pathname),
      (route) => {
        const p = new URL(route.request().url()).pathname;
        const file = p == "/" ? "/test/page.html" : p == "/module" ? "/test/module.html" : p;
        const path = join(pkgDir, file);
        if (!existsSync(path)) return route.fulfill({ status: 404, body: "not found" });
        return route.fulfill({ status: 200, headers: { "Content-Type": TYPES[extname(path)] || "application/octet-stream", "Cache-Control": "no-store" }, body: readFileSync(path) });
      },
    );
    const page = await context.newPage();
    const rec = { console: [], requests: [], errors: [] };
    page.on("console", (m) => rec.console.push({ type: m.type(), text: m.text() }));
    page.on("pageerror", (e) => rec.errors.push(String(e)));
    context.on("request", (r) => {
      if (r.url().startsWith(this.edge)) {
        rec.requests.push({ url: r.url(), method: r.method(), type: r.resourceType(), headers: r.headers(), body: r.postData(), t: Date.now() });
      }
    });
    await page.goto(this.origin + path);
    await page.waitForFunction(() => window.IntakeClient);
    return { context, page, rec };
  }

  /** How many times each id was read from topic (0: never). */
  count(topic, ids) {
    const c = this.counts.get(topic);
    return ids.map((id) => c.get(id) ?? 0);
  }

  /** Waits until every id is in the topic; returns their events. */
  async arrived(topic, ids, ms = 20000) {
    const seen = this.kafka.get(topic);
    try {
      await until(`${ids.length} events in ${topic} (${ids.join(", ")})`, () => ids.every((id) => seen.has(id)), ms);
    } catch (err) {
      const missing = ids.filter((id) => !seen.has(id));
      err.message += `\nmissing: ${missing.join(", ")}; ${topic} holds ${seen.size} events\n--- edge log ---\n${this.log("edge").slice(-4000)}`;
      throw err;
    }
    return ids.map((id) => seen.get(id));
  }

  /** intake_events_total{stream,outcome} and intake_http_requests_total{route,code} from /metrics. */
  async metrics() {
    const text = await (await fetch(this.edge + "/metrics")).text();
    const m = {};
    for (const line of text.split("\n")) {
      const x = /^(intake_events_total|intake_http_requests_total)(\{[^}]*\}) (\S+)$/.exec(line);
      if (x) m[x[1] + x[2]] = Number(x[3]);
    }
    return m;
  }

  async stop() {
    await this.persistent?.close().catch(() => {});
    await this.browser?.close().catch(() => {});
    if (this.pages) {
      const closed = new Promise((r) => this.pages.close(r));
      this.pages.closeAllConnections();
      await closed;
    }
    const exits = this.children.map((c) => (c.exitCode == null && c.signalCode == null ? new Promise((r) => c.once("exit", r)) : null));
    for (const c of this.children) killGroup(c, "SIGTERM");
    const timer = setTimeout(() => this.children.forEach((c) => killGroup(c, "SIGKILL")), 5000);
    await Promise.all(exits);
    clearTimeout(timer);
    if (this.tmp) rmSync(this.tmp, { recursive: true, force: true });
  }
}

function killGroup(child, sig) {
  if (child.exitCode != null || child.signalCode != null) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    // already gone
  }
}
