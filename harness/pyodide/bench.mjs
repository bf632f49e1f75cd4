#!/usr/bin/env node
// Python CPU cost of the Worker under Pyodide, printed as JSON:
//
//   node --experimental-wasm-stack-switching harness/pyodide/bench.mjs [--requests 1000] [--warmup 100]
//
// * import: time to import the gateway (gateway.app + gateway.workers)
//   in a fresh isolate, after the workers SDK (entry.py imports it first);
// * per request: for each proxied request, the time spent in Python minus the
//   time spent awaiting the upstream `fetch` (measured by wrapping
//   `gateway.workers.fetch.upstream_fetch` and `gateway.workers.serve.serve` in this process
//   only). "serve" covers gateway.workers.serve.serve (view building, the core,
//   the JS Response); "entrypoint" adds workerd's one promising call of
//   `on_fetch` (the JS↔Python call), measured from JS. Requests run one at a time, so nothing
//   else runs on the thread while a sample is taken. The synchronous part of
//   the JS fetch() call (undici building the request: JS work that workerd
//   does natively) is measured separately and reported apart.
//
// The upstream is a node:http server on 127.0.0.1 in this process. Targets:
// ≤ 0.5 ms per request (serve median), ≤ 150 ms import.

import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { createIsolate } from "./isolate.mjs";

const { values } = parseArgs({
  options: { requests: { type: "string", default: "1000" }, warmup: { type: "string", default: "100" } },
});
const REQUESTS = Number(values.requests);
const WARMUP = Number(values.warmup);

const upstream = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": "11" });
    res.end('{"ok":true}');
  });
});
await new Promise((resolve) => upstream.listen(0, "127.0.0.1", resolve));
const upstreamUrl = `http://127.0.0.1:${upstream.address().port}`;

const env = {
  ENVIRONMENT: "local",
  DEFAULT_BACKEND: "bench",
  BACKEND_BENCH_URL: upstreamUrl,
  HEALTH_TTL_S: "3600",
  CORS_ALLOW_ORIGINS: "https://app.example",
};
const isolate = await createIsolate({ env });
const { pyodide } = isolate;

// Silence the per-request log line while measuring (console.log to a pipe is
// Node's cost, not Python's); the log call itself still runs.
const realLog = console.log;
console.log = () => {};

const stats = pyodide.runPython(`
import time
import entry
from gateway.workers import fetch as wfetch, natives as wnatives, platform as wplatform, serve as wserve

stats = {"serve": [], "fetch": [], "awaiting": 0.0, "fetch_call": []}
_fetch, _serve = wfetch.upstream_fetch, wserve.serve

class TimedJs:
    """The \`js\` module as gateway.workers.natives sees it, timing the synchronous part of fetch()."""

    def __getattr__(self, name):
        return getattr(js, name)

    def fetch(self, *args):
        started = time.perf_counter()
        try:
            return js.fetch(*args)
        finally:
            stats["fetch_call"].append(time.perf_counter() - started)

import js
wnatives.js = TimedJs()  # read when the natives are bound (first request)

async def timed_fetch(*args):
    started = time.perf_counter()
    try:
        return await _fetch(*args)
    finally:
        spent = time.perf_counter() - started
        stats["awaiting"] += spent
        stats["fetch"].append(spent)

async def timed_serve(build, request, env, ctx):
    stats["awaiting"] = 0.0
    started = time.perf_counter()
    response = await _serve(build, request, env, ctx)
    stats["serve"].append(time.perf_counter() - started - stats["awaiting"])
    return response

wplatform.upstream_fetch = timed_fetch   # picked up when the Platform is built (first request)
wserve.serve = timed_serve  # serve_now (entry.on_fetch) looks serve up in its module
stats
`);

const entrySamples = [];
async function one(i) {
  const request = new Request(`http://gateway.test/tasks/${i}?q=1`, {
    headers: {
      accept: "application/json",
      "user-agent": "bench",
      origin: "https://app.example",
      "x-request-id": `bench-${i}`,
      "cf-connecting-ip": "203.0.113.7",
    },
  });
  const fetchBefore = stats.get("fetch").length;
  const started = performance.now();
  const response = await isolate.fetch(request);
  const elapsed = performance.now() - started;
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`status ${response.status}`);
  const fetches = stats.get("fetch").toJs();
  const awaited = fetches.slice(fetchBefore).reduce((a, b) => a + b, 0) * 1000;
  return elapsed - awaited;
}

for (let i = 0; i < WARMUP; i++) await one(i);
stats.get("serve").clear();
stats.get("fetch_call").clear();
for (let i = 0; i < REQUESTS; i++) entrySamples.push(await one(i));
const serveSamples = stats.get("serve").toJs().map((s) => s * 1000);
const fetchCallSamples = stats.get("fetch_call").toJs().map((s) => s * 1000);
// undici's synchronous work inside fetch() is JS, not Python (workerd does it in C++).
const servePython = serveSamples.map((s, i) => s - (fetchCallSamples[i] ?? 0));
console.log = realLog;

function summary(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { median_ms: +at(0.5).toFixed(4), p90_ms: +at(0.9).toFixed(4), p99_ms: +at(0.99).toFixed(4), n: sorted.length };
}

const perRequest = summary(servePython);
const result = {
  pyodide: pyodide.version,
  requests: REQUESTS,
  per_request_python: {
    serve: perRequest,
    serve_including_undici_fetch_call: summary(serveSamples),
    undici_fetch_call: summary(fetchCallSamples),
    entrypoint_including_undici_fetch_call: summary(entrySamples),
  },
  import_ms: {
    gateway: +isolate.timings.importGatewayMs.toFixed(1),
    workers_sdk: +isolate.timings.importSdkMs.toFixed(1),
    entry_after_both: +isolate.timings.importEntryMs.toFixed(1),
    load_pyodide: +isolate.timings.loadPyodideMs.toFixed(1),
  },
  targets: {
    per_request_ms: 0.5,
    per_request_met: perRequest.median_ms <= 0.5,
    import_ms: 150,
    import_met: isolate.timings.importGatewayMs <= 150,
  },
};
console.log(JSON.stringify(result, null, 2));
upstream.close();
process.exit(0);
