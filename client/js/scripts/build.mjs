// Bundles src/intake.ts twice (tsc has typechecked it and written dist/intake.d.ts):
// dist/intake.mjs, an ES module for bundlers and <script type="module">, and dist/intake.min.js,
// a minified script for a plain <script> tag that defines the global IntakeClient.
import { copyFileSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

const common = { entryPoints: ["src/intake.ts"], bundle: true, target: "es2020", logLevel: "warning", legalComments: "none" };
await build({ ...common, format: "esm", outfile: "dist/intake.mjs" });
await build({ ...common, format: "iife", globalName: "IntakeClient", minify: true, outfile: "dist/intake.min.js" });

// Types: intake.d.ts (package "types"), the same as intake.d.mts for a direct import of intake.mjs,
// and intake.global.d.ts for pages that use the script build's global.
copyFileSync("dist/intake.d.ts", "dist/intake.d.mts");
writeFileSync(
  "dist/intake.global.d.ts",
  '/** The script build (intake.min.js) defines this global. */\ndeclare const IntakeClient: typeof import("./intake.mjs");\n',
);
