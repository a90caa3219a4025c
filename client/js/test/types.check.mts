// Compiled by npm run test:types (tsc --noEmit), never run: the published types as a page's
// TypeScript sees them, through a direct import of dist/intake.mjs.
import { createClient, inSample, shouldSend, unitId, whyNotSent, type Client, type ClientOptions, type StreamConfigs } from "../dist/intake.mjs";

interface Click {
  page: { id: number; title?: string };
  button: "save" | "cancel" | "preview";
}

const options: ClientOptions = {
  url: "https://intake.example.org",
  streams: ["example.click"],
  schemas: { "example.click": "/example/click/1.0.0" },
  batchSize: 20,
  flushInterval: 2000,
  maxBeaconBytes: 32000,
};
const c: Client = createClient(options);
const click: Click = { page: { id: 1 }, button: "save" };
const id: string = c.submit("example.click", click);
c.submit("example.click", { page: { id: 2 }, button: "cancel", meta: { domain: "www.example.org" } });
c.submit("example.click");
void c.flush().then(() => c.config()).then((cfg: StreamConfigs | null | undefined) => cfg?.["example.click"]?.sample);
const dev: boolean = c.developerMode;
const sampled: boolean = inSample(unitId("session"), 0.1) && shouldSend(null, "example.click");
const why: string = whyNotSent(undefined, "example.click", unitId, true);

// @ts-expect-error the edge's URL is required
createClient({});
// @ts-expect-error meta.stream is a string
c.submit("example.click", { meta: { stream: 1 } });
// @ts-expect-error an event is an object
c.submit("example.click", 42);
// @ts-expect-error units are session, pageview or device
unitId("user");

// The script build's global.
const viaGlobal: Client = IntakeClient.createClient({ url: "https://intake.example.org", developerMode: true, apiKey: "k" });
export { id, dev, sampled, why, viaGlobal };
