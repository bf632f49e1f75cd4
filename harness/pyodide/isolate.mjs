// One Python Worker "isolate": Pyodide 0.28.2 with the pinned workers SDK,
// the stand-ins for workerd's injected modules, and src/ unchanged.
//
// `createIsolate(...)` returns `{ fetch(request), pyodide }` where `fetch`
// does what workerd does per request for a top-level `on_fetch` (production:
// compatibility flag `disable_python_no_global_handlers`;
// python-entrypoint-helper.ts, `makeHandler` and `doPyCallHelper`): one call of
// the module's `on_fetch` with the raw JS `Request`, `env` and `ExecutionContext`,
// through `callWithOptions({ relaxed: true, promising: true })` (a JSPI
// "promising" call, so Pyodide's `run_sync` works as in workerd), and the
// answer's `js_response ?? answer`. No SDK class, no `python_from_rpc`.
//
// JSPI needs Node's `--experimental-wasm-stack-switching` (Node 20; workerd
// enables it for Python Workers): `createIsolate` refuses to start without it
// rather than enter the Worker differently from production.

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
    throw new Error(`workers SDK wheel not found at ${wheel}: run harness/pyodide/fetch_sdk.py`);
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

  // Import in three timed steps: the SDK (the runtime provides it; entry.py does not import it,
  // so it is timed apart), the gateway, then the entry module.
  const timings = pyodide.runPython(`
import sys, sysconfig, time, zipfile
with zipfile.ZipFile("${SESSION}/sdk.whl") as wheel:
    wheel.extractall(sysconfig.get_path("purelib"))
sys.path[:0] = ["${SESSION}/standins", "${SESSION}/src"]
t0 = time.perf_counter()
import workers
t1 = time.perf_counter()
import gateway.app, gateway.workers
t2 = time.perf_counter()
import entry
t3 = time.perf_counter()

{"importSdkMs": (t1 - t0) * 1000, "importGatewayMs": (t2 - t1) * 1000, "importEntryMs": (t3 - t2) * 1000}
`).toJs({ dict_converter: Object.fromEntries });
  if (!pyodide._module.jspiSupported) {
    throw new Error("JSPI is off: run node with --experimental-wasm-stack-switching (workerd calls on_fetch promising)");
  }
  const onFetch = pyodide.pyimport("entry").on_fetch;

  async function fetch(request) {
    const ctx = new ExecutionContext(onWaitUntil, (err) => process.stderr.write(`[harness] waitUntil rejected: ${err}\n`));
    const result = await onFetch.callWithOptions({ relaxed: true, promising: true }, request, env, ctx);
    // workerd's makeHandler: `result?.js_response ?? result` (a pyodide.ffi.FetchResponse).
    return result?.js_response ?? result;
  }

  return { fetch, pyodide, timings: { loadPyodideMs: loadedMs, ...timings } };
}
