// One Python Worker "isolate": Pyodide 0.28.2 with the pinned workers SDK,
// the stand-ins for workerd's injected modules, and src/ unchanged.
//
// `createIsolate(...)` returns `{ fetch(request), pyodide }` where `fetch`
// does what workerd does per request: construct the Python entrypoint class
// `Default(ctx, env)` and call its `fetch` the way workerd's introspection
// `wrapper_func` does (python-entrypoint-helper.ts, `makeEntrypointProxyHandler`):
// the JS Request through the SDK's `python_from_rpc` (so the Worker gets a
// `workers.Request`, as in production), a relaxed call, and the result through
// `python_to_rpc`; the JS Response comes back.

import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPyodide } from "pyodide";
import { ExecutionContext, makeEntrypointHelper } from "./standins/entrypoint_helper.mjs";

const HERE = fileURLToPath(new URL(".", import.meta.url));
export const REPO = join(HERE, "..", "..");
export const DEFAULT_WHEEL = join(REPO, ".cache", "wheels", "workers_runtime_sdk-1.9.5-py3-none-any.whl");
const PYODIDE_DIR = join(REPO, "node_modules", "pyodide");
const SESSION = "/session";

function* pythonFiles(dir) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== "__pycache__") yield* pythonFiles(path);
    } else if (name.endsWith(".py")) {
      yield path;
    }
  }
}

function writeTree(pyodide, srcDir, target) {
  for (const path of pythonFiles(srcDir)) {
    const dest = join(target, relative(srcDir, path));
    pyodide.FS.mkdirTree(dest.slice(0, dest.lastIndexOf("/")));
    pyodide.FS.writeFile(dest, readFileSync(path));
  }
}

/**
 * @param {object} o
 * @param {object} o.env        the Worker's env: string vars/secrets and bindings
 * @param {string} [o.srcDir]   the Worker's source (default: <repo>/src)
 * @param {string} [o.wheel]    workers-runtime-sdk wheel
 * @param {string[]} [o.compatFlags] flags the `_cloudflare_compat_flags` stand-in reports as on
 * @param {(p: Promise<unknown>) => void} [o.onWaitUntil] sees every promise given to ctx.waitUntil
 */
export async function createIsolate({
  env,
  srcDir = join(REPO, "src"),
  wheel = DEFAULT_WHEEL,
  compatFlags = [],
  onWaitUntil = () => {},
}) {
  const started = performance.now();
  const pyodide = await loadPyodide({
    indexURL: PYODIDE_DIR,
    stdout: (line) => process.stderr.write(`[py] ${line}\n`),
    stderr: (line) => process.stderr.write(`[py] ${line}\n`),
  });
  const loadedMs = performance.now() - started;

  // The SDK wheel, unpacked into site-packages as pip would (its .pth only
  // acts when workerd's `_cloudflare` package exists, so it is inert here).
  let wheelBytes;
  try {
    wheelBytes = readFileSync(wheel);
  } catch {
    throw new Error(`workers SDK wheel not found at ${wheel}: run tests/pyodide/fetch_sdk.py`);
  }
  pyodide.FS.mkdirTree(SESSION);
  pyodide.FS.writeFile(`${SESSION}/sdk.whl`, wheelBytes);

  writeTree(pyodide, join(HERE, "standins"), `${SESSION}/standins`);
  const flags = compatFlags.map((f) => `${f} = True\n`).join("");
  if (flags) {
    const path = `${SESSION}/standins/_cloudflare_compat_flags.py`;
    pyodide.FS.writeFile(path, pyodide.FS.readFile(path, { encoding: "utf8" }) + flags);
  }
  writeTree(pyodide, srcDir, `${SESSION}/src`);
  pyodide.registerJsModule("_pyodide_entrypoint_helper", makeEntrypointHelper(env));

  // Import in three timed steps: the SDK, the gateway, then the entry module.
  const timings = pyodide.runPython(`
import sys, sysconfig, time, zipfile
with zipfile.ZipFile("${SESSION}/sdk.whl") as wheel:
    wheel.extractall(sysconfig.get_path("purelib"))
sys.path[:0] = ["${SESSION}/standins", "${SESSION}/src"]
t0 = time.perf_counter()
import workers
t1 = time.perf_counter()
import gateway.app, gateway.workers_runtime
t2 = time.perf_counter()
import entry
t3 = time.perf_counter()

from inspect import isawaitable
from pyodide.code import relaxed_call
from workers import python_from_rpc, python_to_rpc


async def _call_like_workerd(relaxed, inst, prop, *args):
    # workerd 1.20261117's introspection.wrapper_func, line for line.
    method = getattr(inst, prop)
    py_args = [python_from_rpc(arg) for arg in args]
    result = relaxed_call(method, *py_args) if relaxed else method(*py_args)
    if isawaitable(result):
        return python_to_rpc(await result)
    return python_to_rpc(result)

{"importSdkMs": (t1 - t0) * 1000, "importGatewayMs": (t2 - t1) * 1000, "importEntryMs": (t3 - t2) * 1000}
`).toJs({ dict_converter: Object.fromEntries });
  const Default = pyodide.pyimport("entry").Default;
  const callLikeWorkerd = pyodide.globals.get("_call_like_workerd");

  async function fetch(request) {
    const ctx = new ExecutionContext(onWaitUntil, (err) => process.stderr.write(`[harness] waitUntil rejected: ${err}\n`));
    const instance = Default(ctx, env);
    const pending = callLikeWorkerd(true, instance, "fetch", request); // relaxed: workerd's `isFetch`
    try {
      const result = await pending;
      return result?.js_object ?? result;
    } finally {
      pending.destroy?.();
      instance.destroy();
    }
  }

  return { fetch, pyodide, timings: { loadPyodideMs: loadedMs, ...timings } };
}
