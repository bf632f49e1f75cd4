#!/usr/bin/env node
// Workers on real workerd through Miniflare's API: the one launcher for the behaviour suite's
// `workerd` runtime (tests/behaviour/gateways.py) and the bench's workerd tools (bench/workerd/).
// workerd is the npm one, run through harness/workerd/workerd-offline (MINIFLARE_WORKERD_PATH,
// harness.services.workerd_env) so it loads the offline Pyodide bundle; the compat date and
// flags come from the dev overlay (harness.workerd.overlay). Driven from Python by
// harness/workerd/launch.py, which writes the spec.
//
//   node harness/workerd/launch.mjs --spec SPEC.json
//
// SPEC.json:
//   config        the dev overlay (JSON): compat date and flags, [vars], ratelimits, KV namespace id
//   kvPersist     KV state under DIR/v3 (the layout of wrangler's --persist-to DIR); default: memory
//   kvSeed        {key: value} put into BACKEND_CONFIG_KV's namespace before READY
//   inspectorPort V8's inspector (DevTools protocol), for CPU profiles
//   logs          true: the Workers' console.log lines on stdout, one per line; false: dropped
//   workers       [{name, ...}], each one Worker, its own isolate:
//     python      {src?, main?}: every .py under src (main module src/entry.py, or the file
//                 `main` uploaded as the main module beside them); only `main`: that file alone.
//                 A main module that defines no top-level `on_fetch` (a `class Default`) runs
//                 without `disable_python_no_global_handlers`: with global handlers on, workerd
//                 calls a Default's `on_fetch` method, not its `fetch` (python-entrypoint-helper.ts).
//     js          a JS module Worker's file instead of `python`
//     vars        plain-text bindings
//     overlayVars true: the overlay's [vars] under `vars`
//     envFile     settings and secrets, dotenv (what `wrangler dev --env-file` reads), over both
//     kv          "faulty": BACKEND_CONFIG_KV through a JS wrapper that can fail on demand (below);
//                 "plain": Miniflare's KV namespace itself; absent: no binding
//     rateLimit   true: the overlay's ratelimits; a number: them with that `limit`; absent: none
//     analytics   true: GATEWAY_ANALYTICS is a recording Analytics Engine dataset
//                 (analytics_plugin.mjs): each point is checked and logged as one JSON line
//                 `{"event": "analytics_data_point", …}` (Miniflare's own keeps nothing offline)
//     upstream    URL: an UPSTREAM service binding to that origin (the JS pass-through's)
//     socket      true: a direct socket of its own, so a client reaches it with no entry Worker
//
// Prints one line `READY {"entry": URL, "control": URL|null, "workers": {name: URL}}` once
// workerd listens ("entry" is Miniflare's entry socket, which routes to the first Worker, or to
// the one named by a request's `MF-Route-Override` header; "workers" has the direct sockets).
// Stops on SIGTERM/SIGINT.
//
// "faulty" KV: workerd cannot make its own KV binding fail on demand, so BACKEND_CONFIG_KV is
// Miniflare's namespace behind a JS WorkerEntrypoint (`FaultyKV`, bound as an RPC service
// binding): the same get/put/list/delete, plus a switch that makes every call throw. Its
// control URL (a direct socket of that wrapper Worker) serves:
//   POST /kv-put   body [{"key", "value", "expirationTtl"?}, …] → 204
//   GET  /kv-get?key=K → 200 text, or 404
//   POST /kv-outage/on | /kv-outage/off → 204

import { readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, parseEnv } from "node:util";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { pythonModules } from "./python_modules.mjs";

const ANALYTICS_PLUGIN = fileURLToPath(new URL("./analytics_plugin.mjs", import.meta.url));
const KV_WORKER = "faulty-kv";
const GLOBAL_HANDLERS_OFF = "disable_python_no_global_handlers";

const KV_WRAPPER = `
import { WorkerEntrypoint } from "cloudflare:workers";

let down = false;

function check(operation) {
  if (down) throw new Error("KV " + operation + " failed (outage injected by the test)");
}

export class FaultyKV extends WorkerEntrypoint {
  async get(key, options) { check("GET"); return this.env.INNER.get(key, options); }
  async put(key, value, options) { check("PUT"); return this.env.INNER.put(key, value, options); }
  async list(options) { check("LIST"); return this.env.INNER.list(options); }
  async delete(key) { check("DELETE"); return this.env.INNER.delete(key); }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/kv-put") {
      for (const { key, value, expirationTtl } of [await request.json()].flat()) {
        await env.INNER.put(key, value, expirationTtl ? { expirationTtl } : undefined);
      }
      return new Response(null, { status: 204 });
    }
    if (url.pathname === "/kv-get") {
      const value = await env.INNER.get(url.searchParams.get("key"));
      return value === null ? new Response(null, { status: 404 }) : new Response(value);
    }
    if (url.pathname === "/kv-outage/on" || url.pathname === "/kv-outage/off") {
      down = url.pathname.endsWith("/on");
      return new Response(null, { status: 204 });
    }
    return new Response("unknown control\\n", { status: 400 });
  },
};
`;

const ANALYTICS_BINDING = {
  name: "GATEWAY_ANALYTICS",
  type: "recording-analytics",
  plugin: { package: ANALYTICS_PLUGIN, name: "recording-analytics" },
  options: {},
};

/** The Miniflare options of a Python Worker's code: modules, their root, compat flags. */
function pythonCode({ src, main }, config) {
  let modules;
  let root;
  if (src && main) {
    modules = pythonModules(src, { path: basename(main), contents: readFileSync(main, "utf8") });
    root = src;
  } else if (src) {
    modules = pythonModules(src);
    root = src;
  } else {
    modules = [{ type: "PythonModule", path: main, contents: readFileSync(main, "utf8") }];
    root = dirname(main);
  }
  const entersByOnFetch = /^(async )?def on_fetch\(/m.test(modules[0].contents);
  const flags = config.compatibility_flags ?? [];
  return {
    modules,
    modulesRoot: root,
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: entersByOnFetch ? flags : flags.filter((flag) => flag !== GLOBAL_HANDLERS_OFF),
  };
}

function ratelimits(config, rateLimit) {
  if (rateLimit === undefined || rateLimit === null || rateLimit === false) return {};
  const out = {};
  for (const rl of config.ratelimits ?? []) {
    const limit = typeof rateLimit === "number" ? rateLimit : rl.simple.limit;
    out[rl.name] = { namespace_id: String(rl.namespace_id), simple: { ...rl.simple, limit } };
  }
  return out;
}

function workerOptions(w, config, kvId) {
  const code = w.js
    ? { modules: true, script: readFileSync(w.js, "utf8"), compatibilityDate: config.compatibility_date }
    : pythonCode(w.python, config);
  const settings = w.envFile ? parseEnv(readFileSync(w.envFile, "utf8")) : {};
  const serviceBindings = {
    ...(w.kv === "faulty" ? { BACKEND_CONFIG_KV: { name: KV_WORKER, entrypoint: "FaultyKV" } } : {}),
    ...(w.upstream ? { UPSTREAM: { external: { address: w.upstream.replace(/^http:\/\//, ""), http: {} } } } : {}),
  };
  return {
    name: w.name,
    ...code,
    bindings: { ...(w.overlayVars ? (config.vars ?? {}) : {}), ...(w.vars ?? {}), ...settings },
    ratelimits: ratelimits(config, w.rateLimit),
    serviceBindings,
    ...(w.kv === "plain" ? { kvNamespaces: { BACKEND_CONFIG_KV: kvId } } : {}),
    ...(w.analytics ? { unsafeBindings: [ANALYTICS_BINDING] } : {}),
    ...(w.socket ? { unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }] } : {}),
  };
}

const noSlash = (url) => String(url).replace(/\/$/, "");

async function main() {
  const { values: args } = parseArgs({ options: { spec: { type: "string" } } });
  const spec = JSON.parse(readFileSync(args.spec, "utf8"));
  const config = JSON.parse(readFileSync(spec.config, "utf8"));
  const kvId = (config.kv_namespaces ?? []).find((ns) => ns.binding === "BACKEND_CONFIG_KV")?.id ?? "BACKEND_CONFIG_KV";
  const workers = spec.workers.map((w) => workerOptions(w, config, kvId));
  const faulty = spec.workers.some((w) => w.kv === "faulty");
  if (faulty) {
    workers.push({
      name: KV_WORKER,
      modules: true,
      script: KV_WRAPPER,
      compatibilityDate: config.compatibility_date,
      kvNamespaces: { INNER: kvId },
      unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
    });
  }

  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      cf: false,
      logRequests: false,
      ...(spec.kvPersist ? { resourcePersistencePath: join(resolve(spec.kvPersist), "v3") } : {}),
      handleStructuredLogs: spec.logs ? ({ message }) => process.stdout.write(`${message}\n`) : () => {},
      ...(spec.inspectorPort ? { inspectorPort: Number(spec.inspectorPort) } : {}),
      workers,
    }),
  );
  const entry = await mf.ready;
  const seed = Object.entries(spec.kvSeed ?? {});
  if (seed.length) {
    const holder = faulty ? [KV_WORKER, "INNER"] : [spec.workers.find((w) => w.kv === "plain")?.name, "BACKEND_CONFIG_KV"];
    if (!holder[0]) throw new Error("kvSeed needs a Worker with a BACKEND_CONFIG_KV binding (kv: faulty or plain)");
    const kv = await mf.getKVNamespace(holder[1], holder[0]);
    for (const [key, value] of seed) await kv.put(key, value);
  }
  const sockets = {};
  for (const w of spec.workers) if (w.socket) sockets[w.name] = noSlash(await mf.unsafeGetDirectURL(w.name));
  const control = faulty ? noSlash(await mf.unsafeGetDirectURL(KV_WORKER)) : null;

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await mf.dispose();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.stdout.write(`READY ${JSON.stringify({ entry: noSlash(entry), control, workers: sockets })}\n`);
}

main().catch((err) => {
  process.stderr.write(`[harness/workerd/launch.mjs] failed to start: ${err?.stack ?? err}\n`);
  process.exit(1);
});
