// Checks the script build against its budget: gzip (level 9, as servers send it) under 4 KB.
// Prints the sizes; exits 1 above the budget.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const BUDGET = 4096;
let failed = false;
for (const [file, budget] of [["dist/intake.min.js", BUDGET], ["dist/intake.mjs", 0]]) {
  const raw = readFileSync(file);
  const gz = gzipSync(raw, { level: 9 }).length;
  const over = budget > 0 && gz >= budget;
  failed ||= over;
  console.log(`${file}: ${raw.length} bytes, ${gz} bytes gzip` + (budget ? ` (budget < ${budget}: ${over ? "OVER" : "ok"})` : ""));
}
if (failed) {
  console.error("size: the script build is over its gzip budget");
  process.exit(1);
}
