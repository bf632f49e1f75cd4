#!/usr/bin/env node
// The gateway (src/entry.py, unchanged) on real workerd through Miniflare's API, for the
// behaviour suite's `workerd` runtime (tests/behaviour/gateways.py). workerd is the npm one,
// run through scripts/workerd/workerd-offline (MINIFLARE_WORKERD_PATH) so it loads the offline
// Pyodide bundle; the compat date and flags come from the dev overlay (scripts/workerd/dev_config.py).
//
//   node tests/workerd/miniflare_gateway.mjs --config OVERLAY.json --env-file .dev.vars
//        [--kv-persist DIR] [--no-kv] [--instances N] [--rate-limit N] [--analytics]
//
// Prints "READY <gateway url> <control url>" once workerd answers; the Worker's console.log
// lines follow on stdout, one per line, as workerd wrote them. Stops on SIGTERM/SIGINT.
//
// --env-file F    settings and secrets, dotenv format (what `wrangler dev --env-file` reads);
//                 they override the overlay's [vars], as they do under wrangler dev.
// --instances N   N gateway Workers (`gateway-0` … ), each its own isolate, sharing env, KV and
//                 rate limiter; a request picks one with Miniflare's `MF-Route-Override: gateway-<i>`
//                 (default: gateway-0).
// --rate-limit N  the overlay's RATE_LIMITER binding with `limit` N (its period kept).
// --kv-persist D  KV state under D/v3 (the layout of wrangler's --persist-to D).
// --analytics     bind GATEWAY_ANALYTICS to a recording stand-in of an Analytics Engine dataset
//                 (tests/workerd/analytics_plugin.mjs): each point is checked and logged as one
//                 JSON line `{"event": "analytics_data_point", …}` on stdout. Miniflare's own
//                 dataset binding is a sink offline (its local writeDataPoint keeps nothing).
//
// BACKEND_CONFIG_KV is Miniflare's KV namespace seen through a JS WorkerEntrypoint (`FaultyKV`,
// bound to the gateway as an RPC service binding): the same get/put/list/delete, plus a switch
// that makes every call throw, for the "KV is down" cases. workerd has no way to make its own KV
// binding fail on demand. The control URL (a direct socket of that wrapper Worker) serves:
//   POST /kv-put   body [{"key", "value", "expirationTtl"?}, …] → 204
//   GET  /kv-get?key=K → 200 text, or 404
//   POST /kv-outage/on | /kv-outage/off → 204

import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, parseEnv } from "node:util";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { pythonModules } from "../../scripts/workerd/python_modules.mjs";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");
const SRC = join(ROOT, "src");
const ANALYTICS_PLUGIN = fileURLToPath(new URL("./analytics_plugin.mjs", import.meta.url));

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

async function main() {
  const { values: args } = parseArgs({
    options: {
      config: { type: "string" },
      "env-file": { type: "string" },
      "kv-persist": { type: "string" },
      "no-kv": { type: "boolean", default: false },
      instances: { type: "string", default: "1" },
      "rate-limit": { type: "string" },
      analytics: { type: "boolean", default: false },
    },
  });
  const config = JSON.parse(readFileSync(args.config, "utf8"));
  const settings = args["env-file"] ? parseEnv(readFileSync(args["env-file"], "utf8")) : {};
  const bindings = { ...(config.vars ?? {}), ...settings };

  const ratelimits = {};
  for (const rl of config.ratelimits ?? []) {
    const limit = args["rate-limit"] ? Number(args["rate-limit"]) : rl.simple.limit;
    ratelimits[rl.name] = { namespace_id: String(rl.namespace_id), simple: { ...rl.simple, limit } };
  }
  const kvId = (config.kv_namespaces ?? []).find((ns) => ns.binding === "BACKEND_CONFIG_KV")?.id;
  const modules = pythonModules(SRC);

  const gateways = [];
  for (let i = 0; i < Number(args.instances); i++) {
    gateways.push({
      name: `gateway-${i}`,
      modules,
      modulesRoot: SRC,
      compatibilityDate: config.compatibility_date,
      compatibilityFlags: config.compatibility_flags,
      bindings,
      ratelimits,
      ...(args["no-kv"] ? {} : { serviceBindings: { BACKEND_CONFIG_KV: { name: "kv", entrypoint: "FaultyKV" } } }),
      ...(args.analytics ? { unsafeBindings: [ANALYTICS_BINDING] } : {}),
    });
  }
  const workers = [...gateways];
  if (!args["no-kv"]) {
    workers.push({
      name: "kv",
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
      ...(args["kv-persist"] ? { resourcePersistencePath: join(args["kv-persist"], "v3") } : {}),
      handleStructuredLogs: ({ message }) => process.stdout.write(`${message}\n`),
      workers,
    }),
  );
  const url = await mf.ready;
  const control = args["no-kv"] ? "-" : String(await mf.unsafeGetDirectURL("kv"));

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await mf.dispose();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.stdout.write(`READY ${String(url).replace(/\/$/, "")} ${control.replace(/\/$/, "")}\n`);
}

main().catch((err) => {
  process.stderr.write(`[miniflare_gateway] failed to start: ${err?.stack ?? err}\n`);
  process.exit(1);
});
