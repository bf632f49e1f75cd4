#!/usr/bin/env node
// One workerd, several Workers, for the bench's workerd phase (bench/run.py, phase_workerd):
//
//   js        JS pass-through (bench/proxies/passthrough_worker.js: env.UPSTREAM.fetch(request))
//   py        minimal Python pass-through entered by `class Default(WorkerEntrypoint)`
//             (bench/workerd/passthrough.py: js.fetch of the request)
//   py-onfetch the same entered by a top-level `on_fetch`, as the gateway is
//             (bench/workerd/passthrough_on_fetch.py): the gateway's floor
//   py-min    the least a header-editing Python gateway does (bench/workerd/minimal_gateway.py)
//   pieces    only with --only: one piece of per-request work in a loop (bench/workerd/pieces.py)
//   gw-local  the gateway (src/entry.py, unchanged), ENVIRONMENT=local, one backend
//   gw-cloud  the gateway, ENVIRONMENT=cloud, the backend in Miniflare's KV namespace
//
// through Miniflare's API (as tests/workerd/miniflare_gateway.mjs), workerd being the npm one run
// through scripts/workerd/workerd-offline (MINIFLARE_WORKERD_PATH), compat date and flags from the
// dev overlay. Each Worker gets its own direct socket, so wrk talks to workerd with no Node or
// entry Worker in between. No RATE_LIMITER binding (its 600/min would answer 429 under load).
//
//   node bench/workerd/workers.mjs --config OVERLAY.json --upstream http://127.0.0.1:P
//        --settings JSON [--kv-persist DIR] [--only NAME,...] [--variant NAME=SRC_DIR ...]
//        [--inspector-port PORT]
//
// --variant NAME=DIR  adds `gw-local-NAME`: the gateway (local mode) from DIR, another src/ tree.
//
// Prints "READY name=url ..." then, per console.log line of the Workers, nothing (they are dropped:
// the bench measures the Worker's cost of logging, not a reader's). Stops on SIGTERM/SIGINT.

import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { pythonModules } from "../../scripts/workerd/python_modules.mjs";

const HERE = resolve(fileURLToPath(import.meta.url), "..");
const ROOT = resolve(HERE, "../..");
const SRC = join(ROOT, "src");

async function main() {
  const { values: args } = parseArgs({
    options: {
      config: { type: "string" },
      upstream: { type: "string" },
      settings: { type: "string", default: "{}" },
      "kv-persist": { type: "string" },
      only: { type: "string" },
      variant: { type: "string", multiple: true, default: [] },
      "inspector-port": { type: "string" },
    },
  });
  const config = JSON.parse(readFileSync(args.config, "utf8"));
  const settings = JSON.parse(args.settings);
  const upstream = args.upstream.replace(/\/$/, "");
  const compat = { compatibilityDate: config.compatibility_date, compatibilityFlags: config.compatibility_flags };
  // A `class Default(WorkerEntrypoint)` Worker runs without wrangler.toml's
  // `disable_python_no_global_handlers`: while global handlers are on, workerd calls a
  // `Default`'s `on_fetch` method, not its `fetch` (python-entrypoint-helper.ts).
  const classCompat = {
    ...compat,
    compatibilityFlags: config.compatibility_flags.filter((flag) => flag !== "disable_python_no_global_handlers"),
  };
  const entersByClass = (dir) => !/^(async )?def on_fetch\(/m.test(readFileSync(join(dir, "entry.py"), "utf8"));
  const socket = { unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }] };
  const gwModules = pythonModules(SRC);
  const all = {
    js: {
      modules: true,
      script: readFileSync(join(HERE, "../proxies/passthrough_worker.js"), "utf8"),
      compatibilityDate: config.compatibility_date,
      serviceBindings: { UPSTREAM: { external: { address: upstream.replace(/^http:\/\//, ""), http: {} } } },
    },
    py: {
      modules: pythonModules(SRC, {
        path: "bench_passthrough.py",
        contents: readFileSync(join(HERE, "passthrough.py"), "utf8"),
      }),
      modulesRoot: SRC,
      ...classCompat,
      bindings: { UPSTREAM_ORIGIN: upstream },
    },
    "py-onfetch": {
      modules: [
        {
          type: "PythonModule",
          path: join(HERE, "passthrough_on_fetch.py"),
          contents: readFileSync(join(HERE, "passthrough_on_fetch.py"), "utf8"),
        },
      ],
      modulesRoot: HERE,
      ...compat,
      bindings: { UPSTREAM_ORIGIN: upstream },
    },
    "py-min": {
      modules: [
        {
          type: "PythonModule",
          path: join(HERE, "minimal_gateway.py"),
          contents: readFileSync(join(HERE, "minimal_gateway.py"), "utf8"),
        },
      ],
      modulesRoot: HERE,
      ...classCompat,
      bindings: { UPSTREAM_ORIGIN: upstream },
    },
    "gw-local": {
      modules: gwModules,
      modulesRoot: SRC,
      ...compat,
      bindings: { ...settings, ENVIRONMENT: "local", BACKEND_UPSTREAM_URL: upstream, DEFAULT_BACKEND: "upstream" },
    },
    pieces: {
      modules: pythonModules(SRC, {
        path: "bench_pieces.py",
        contents: readFileSync(join(HERE, "pieces_worker.py"), "utf8"),
      }),
      modulesRoot: SRC,
      ...classCompat,
      bindings: { ...settings, ENVIRONMENT: "local", BACKEND_UPSTREAM_URL: upstream, DEFAULT_BACKEND: "upstream", UPSTREAM_ORIGIN: upstream },
    },
    "gw-cloud": {
      modules: gwModules,
      modulesRoot: SRC,
      ...compat,
      bindings: { ...settings, ENVIRONMENT: "cloud", DEFAULT_BACKEND: "upstream" },
      kvNamespaces: { BACKEND_CONFIG_KV: "bench-backends" },
    },
  };
  for (const variant of args.variant) {
    // The gateway from another source tree (e.g. `git archive` of a base commit's src/, or a
    // copy with one piece turned off), local mode, beside the current one in the same workerd.
    const [name, dir] = variant.split("=", 2);
    all[`gw-local-${name}`] = {
      ...all["gw-local"],
      ...(entersByClass(dir) ? classCompat : compat),
      modules: pythonModules(dir),
      modulesRoot: dir,
    };
  }
  const names = args.only ? args.only.split(",") : Object.keys(all).filter((name) => name !== "pieces");
  const workers = names.map((name) => ({ name, ...all[name], ...socket }));
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      cf: false,
      logRequests: false,
      ...(args["kv-persist"] ? { resourcePersistencePath: join(args["kv-persist"], "v3") } : {}),
      handleStructuredLogs: () => {},
      // V8's inspector (DevTools protocol) for bench/workerd/profile.py's CPU profiles.
      ...(args["inspector-port"] ? { inspectorPort: Number(args["inspector-port"]) } : {}),
      workers,
    }),
  );
  await mf.ready;
  if (names.includes("gw-cloud")) {
    const kv = await mf.getKVNamespace("BACKEND_CONFIG_KV", "gw-cloud");
    await kv.put("backend:upstream", JSON.stringify({ id: "upstream", url: upstream, type: "cloud" }));
  }
  const urls = [];
  for (const name of names) urls.push(`${name}=${String(await mf.unsafeGetDirectURL(name)).replace(/\/$/, "")}`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await mf.dispose();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.stdout.write(`READY ${urls.join(" ")}\n`);
}

main().catch((err) => {
  process.stderr.write(`[bench workerd] failed to start: ${err?.stack ?? err}\n`);
  process.exit(1);
});
