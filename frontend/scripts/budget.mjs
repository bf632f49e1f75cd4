// First-load JavaScript budget of the main page (/), gzipped.
//
// Reads the build output (run `npm run build` first): the framework's root
// chunks from .next/build-manifest.json (`rootMainFiles`; legacy polyfills are
// `nomodule` and not loaded by current browsers, so they are left out), plus
// every chunk the route's entries need (layout, page, loading, error,
// not-found) from .next/server/app/page_client-reference-manifest.js.
// Each file counts once, gzipped at level 9. Exits 1 when over budget.
//
//   node scripts/budget.mjs [--budget-kb 120] [--json]
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { gzipSync } from "node:zlib";

const args = process.argv.slice(2);
const budgetIndex = args.indexOf("--budget-kb");
const budgetKb = budgetIndex >= 0 ? Number(args[budgetIndex + 1]) : Number(process.env.BUDGET_KB ?? 120);
const asJson = args.includes("--json");
const root = path.resolve(import.meta.dirname, "..");
const next = path.join(root, ".next");

function fail(message) {
  console.error(`budget: ${message}`);
  process.exit(2);
}

const buildManifestPath = path.join(next, "build-manifest.json");
const clientManifestPath = path.join(next, "server", "app", "page_client-reference-manifest.js");
if (!existsSync(buildManifestPath) || !existsSync(clientManifestPath)) fail("no build output; run `npm run build` first");

const buildManifest = JSON.parse(readFileSync(buildManifestPath, "utf8"));
const sandbox = { globalThis: {} };
sandbox.globalThis = sandbox;
vm.runInNewContext(readFileSync(clientManifestPath, "utf8"), sandbox);
const clientManifest = sandbox.__RSC_MANIFEST?.["/page"];
if (!clientManifest) fail("page_client-reference-manifest.js has no entry for /page");

const files = new Set(buildManifest.rootMainFiles ?? []);
if (clientManifest.entryJSFiles) {
  // Turbopack: the chunks of each entry of the route (layout, page, error, ...).
  for (const chunks of Object.values(clientManifest.entryJSFiles)) for (const chunk of chunks) files.add(chunk);
} else {
  // webpack: no entryJSFiles; each client module the route renders lists the
  // chunks it needs as [id, file, id, file, ...] (modules of other routes list
  // none), and the page's RSC payload makes the browser load exactly those.
  // A stylesheet's entry (globals.css) names a JS chunk the browser never
  // fetches: the CSS comes as a <link>.
  for (const [module, entry] of Object.entries(clientManifest.clientModules ?? {})) {
    if (module.endsWith(".css")) continue;
    for (const chunk of entry.chunks ?? []) if (chunk.endsWith(".js")) files.add(chunk);
  }
}
if (files.size === 0) fail("no chunks found for /");

const rows = [...files]
  .filter((file) => file.endsWith(".js"))
  .map((file) => {
    const bytes = readFileSync(path.join(next, file.replace(/^\/?_next\//, "")));
    return { file, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  })
  .sort((a, b) => b.gzip - a.gzip);

const totalGzip = rows.reduce((sum, row) => sum + row.gzip, 0);
const totalRaw = rows.reduce((sum, row) => sum + row.raw, 0);
const kb = (bytes) => bytes / 1024;
const over = kb(totalGzip) > budgetKb;

if (asJson) {
  console.log(JSON.stringify({ page: "/", files: rows, raw_bytes: totalRaw, gzip_bytes: totalGzip, gzip_kb: Number(kb(totalGzip).toFixed(1)), budget_kb: budgetKb, ok: !over }));
} else {
  for (const row of rows) console.log(`${kb(row.gzip).toFixed(1).padStart(7)} KB gz ${kb(row.raw).toFixed(1).padStart(8)} KB  ${row.file}`);
  console.log(`First-load JS of /: ${kb(totalGzip).toFixed(1)} KB gzipped (${kb(totalRaw).toFixed(1)} KB raw, ${rows.length} files); budget ${budgetKb} KB: ${over ? "OVER" : "ok"}`);
}
process.exit(over ? 1 : 0);
