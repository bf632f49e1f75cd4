#!/usr/bin/env node
// A tiny stand-in for workerd: an HTTP server on 127.0.0.1 that turns each
// request into a real JS `Request` (streaming body, duplex "half"), passes it
// to the Python Worker's `on_fetch` in src/entry.py through Pyodide as workerd
// calls it (isolate.mjs), and streams the JS
// `Response` back. See docs/pyodide.md.
//
//   node --experimental-wasm-stack-switching harness/pyodide/harness.mjs --port 0 --vars '{"ENVIRONMENT":"local",...}'
//        [--vars-file F] [--kv-persist DIR] [--kv-fail-file F] [--no-kv]
//        [--isolates N] [--rate-limit N] [--analytics] [--compat-flag NAME]... [--wheel F]
//
// Prints "READY <port>" on stdout once listening; the Worker's console.log
// lines follow on stdout. Stops on SIGTERM/SIGINT (disposing Miniflare).
//
// --kv-persist DIR   Miniflare KV persistence root (default: in-memory); the
//                    same folder as wrangler's --persist-to.
// --kv-namespace-id ID  the namespace id (default BACKEND_CONFIG_KV); wrangler
//                    names its local folder after wrangler.toml's id.
// --kv-fail-file F   while F exists, every BACKEND_CONFIG_KV call throws (fault injection).
// --isolates N       N independent Pyodide isolates sharing one env and KV; a
//                    request picks one with the `x-harness-isolate: <i>` header,
//                    which the harness removes (default 0).
// --rate-limit N     bind RATE_LIMITER: N requests per key, then `{success: false}`.
// --analytics        bind GATEWAY_ANALYTICS: a recording Analytics Engine dataset that checks
//                    each point against the binding's limits and prints it on stdout as one
//                    JSON line `{"event": "analytics_data_point", "blobs", "doubles", "indexes"}`.
//
// Test control (never reaches the Worker): a request carrying
// `x-harness-control` is answered by the harness itself:
//   settle   wait until every waitUntil promise of every isolate settled → 204
//   kv-get   value of KV key `x-harness-key` → 200 text, or 404
//   kv-put   body {"key", "value", "expirationTtl"?} (or a list of them) into KV → 204

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createServer } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { checkDataPoint } from "./analytics_dataset.mjs";
import { DEFAULT_WHEEL, createIsolate } from "./isolate.mjs";

const ISOLATE_HEADER = "x-harness-isolate";
const CONTROL_HEADER = "x-harness-control";
/** Every waitUntil promise not yet settled, across isolates. */
const pending = new Set();

/** The KV binding as workerd presents it: the SDK recognises bindings by constructor name. */
class KvNamespace {
  #inner;
  #failFile;
  constructor(inner, failFile) {
    this.#inner = inner;
    this.#failFile = failFile;
  }
  #check(operation) {
    if (this.#failFile && existsSync(this.#failFile)) {
      throw new Error(`KV ${operation} failed (injected by the test harness)`);
    }
  }
  async get(key, options) {
    this.#check("GET");
    return this.#inner.get(key, options);
  }
  async put(key, value, options) {
    this.#check("PUT");
    return this.#inner.put(key, value, options);
  }
  async list(options) {
    this.#check("LIST");
    return this.#inner.list(options);
  }
  async delete(key) {
    this.#check("DELETE");
    return this.#inner.delete(key);
  }
}

/** The Workers Rate Limiting binding's shape (`limit({key}) → {success}`), counting forever. */
class Ratelimit {
  #limit;
  #seen = new Map();
  constructor(limit) {
    this.#limit = limit;
  }
  async limit({ key }) {
    const count = (this.#seen.get(key) ?? 0) + 1;
    this.#seen.set(key, count);
    return { success: count <= this.#limit };
  }
}

/** The Analytics Engine dataset binding's shape, recording instead of sending (analytics_dataset.mjs). */
class RecordingAnalyticsDataset {
  writeDataPoint(event) {
    process.stdout.write(`${JSON.stringify(checkDataPoint(event))}\n`);
  }
}

function parse() {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "0" },
      vars: { type: "string" },
      "vars-file": { type: "string" },
      "kv-persist": { type: "string" },
      "kv-namespace-id": { type: "string", default: "BACKEND_CONFIG_KV" },
      "kv-fail-file": { type: "string" },
      "no-kv": { type: "boolean", default: false },
      isolates: { type: "string", default: "1" },
      "rate-limit": { type: "string" },
      analytics: { type: "boolean", default: false },
      "compat-flag": { type: "string", multiple: true, default: [] },
      wheel: { type: "string", default: DEFAULT_WHEEL },
    },
  });
  const vars = {
    ...(values["vars-file"] ? JSON.parse(readFileSync(values["vars-file"], "utf8")) : {}),
    ...(values.vars ? JSON.parse(values.vars) : {}),
  };
  return { ...values, vars };
}

/** Node request → JS Request, as workerd would build it (client address in cf-connecting-ip). */
function toRequest(req) {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  headers.delete(ISOLATE_HEADER);
  headers.set("cf-connecting-ip", req.socket.remoteAddress.replace(/^::ffff:/, ""));
  const url = `http://${req.headers.host ?? "127.0.0.1"}${req.url}`;
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  return new Request(url, {
    method: req.method,
    headers,
    body: hasBody ? Readable.toWeb(req) : undefined,
    duplex: hasBody ? "half" : undefined,
    redirect: "manual",
  });
}

async function writeResponse(res, response, method) {
  const raw = [];
  for (const [name, value] of response.headers) {
    if (name !== "set-cookie") raw.push(name, value);
  }
  for (const cookie of response.headers.getSetCookie()) raw.push("set-cookie", cookie);
  res.writeHead(response.status, response.statusText || undefined, raw);
  if (response.body && method !== "HEAD") {
    await pipeline(Readable.fromWeb(response.body), res);
  } else {
    await response.body?.cancel();
    res.end();
  }
}

async function main() {
  const args = parse();
  const env = { ...args.vars };
  let mf;
  if (!args["no-kv"]) {
    mf = new Miniflare(
      convertV4MiniflareOptions({
        modules: true,
        script: "export default { fetch() { return new Response(null, { status: 404 }); } }",
        // The id decides the folder under <persist>/v3/kv/: pass wrangler.toml's
        // id to share what `wrangler kv … --local --persist-to` wrote.
        kvNamespaces: { BACKEND_CONFIG_KV: args["kv-namespace-id"] },
        // wrangler's --persist-to DIR keeps its state under DIR/v3.
        ...(args["kv-persist"] ? { resourcePersistencePath: join(args["kv-persist"], "v3") } : {}),
      }),
    );
    env.BACKEND_CONFIG_KV = new KvNamespace(await mf.getKVNamespace("BACKEND_CONFIG_KV"), args["kv-fail-file"]);
  }
  if (args["rate-limit"]) env.RATE_LIMITER = new Ratelimit(Number(args["rate-limit"]));
  if (args.analytics) env.GATEWAY_ANALYTICS = new RecordingAnalyticsDataset();

  const isolates = [];
  for (let i = 0; i < Number(args.isolates); i++) {
    isolates.push(
      await createIsolate({
        env,
        wheel: args.wheel,
        compatFlags: args["compat-flag"],
        onWaitUntil: (promise) => {
          pending.add(promise);
          promise.finally(() => pending.delete(promise));
        },
      }),
    );
  }
  process.stderr.write(`[harness] isolate timings ${JSON.stringify(isolates[0].timings)}\n`);

  const kv = env.BACKEND_CONFIG_KV;
  async function control(req, res) {
    const command = req.headers[CONTROL_HEADER];
    if (command === "settle") {
      while (pending.size) await Promise.allSettled([...pending]);
      res.writeHead(204).end();
    } else if (command === "kv-get") {
      const value = await kv.get(req.headers["x-harness-key"]);
      if (value === null) res.writeHead(404).end();
      else res.writeHead(200, { "content-type": "text/plain" }).end(value);
    } else if (command === "kv-put") {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      const entries = [JSON.parse(Buffer.concat(chunks).toString("utf8"))].flat();
      for (const { key, value, expirationTtl } of entries) {
        await kv.put(key, value, expirationTtl ? { expirationTtl } : undefined);
      }
      res.writeHead(204).end();
    } else {
      res.writeHead(400).end(`unknown control ${command}\n`);
    }
  }

  const server = createServer(async (req, res) => {
    try {
      if (req.headers[CONTROL_HEADER]) return await control(req, res);
      const index = Number(req.headers[ISOLATE_HEADER] ?? 0);
      const isolate = isolates[index];
      if (!isolate) throw new Error(`no isolate ${index}`);
      const response = await isolate.fetch(toRequest(req));
      await writeResponse(res, response, req.method);
    } catch (err) {
      // workerd answers an uncaught exception with a bare 500 as well.
      process.stderr.write(`[harness] worker threw: ${err?.stack ?? err}\n`);
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end("worker threw an exception\n");
      } else {
        res.destroy();
      }
    }
  });
  server.requestTimeout = 0;
  server.keepAliveTimeout = 5000;

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    server.closeAllConnections?.();
    server.close();
    await mf?.dispose();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);

  server.listen(Number(args.port), "127.0.0.1", () => {
    process.stdout.write(`READY ${server.address().port}\n`);
  });
}

main().catch((err) => {
  process.stderr.write(`[harness] failed to start: ${err?.stack ?? err}\n`);
  process.exit(1);
});
