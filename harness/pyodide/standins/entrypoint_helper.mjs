// Stand-in for the `_pyodide_entrypoint_helper` JS module workerd registers
// for Python Workers (workerd:src/pyodide/python-entrypoint-helper.ts and friends).
//
// The workers SDK (workers-runtime-sdk 1.9.5) uses exactly these members:
//   cloudflareWorkersModule   `import_from_javascript("cloudflare:workers")` → {env, waitUntil}
//   cloudflareSocketsModule   `import_from_javascript("cloudflare:sockets")`
//   doAnImport(name)          `import_from_javascript(other)` and the SDK's own JS modules
//   patchWaitUntil(ctx)       called by every WorkerEntrypoint constructor
//   patch_env_helper(patch)   the `workers.patch_env` context manager
// Only patchWaitUntil runs on the gateway's path; the others exist so that
// importing the SDK behaves as it does in workerd.

const patched = new WeakSet();

/** Same contract as workerd's: waitUntil accepts a Pyodide future proxy (copied, awaited, destroyed). */
export function patchWaitUntil(ctx) {
  let tag;
  try {
    tag = Object.prototype.toString.call(ctx);
  } catch {}
  if (tag !== "[object ExecutionContext]" || patched.has(ctx)) return;
  const original = ctx.waitUntil.bind(ctx);
  ctx.waitUntil = (p) =>
    original(
      (async () => {
        if (p && typeof p.copy === "function") p = p.copy();
        await p;
        if (p && typeof p.destroy === "function") p.destroy();
      })(),
    );
  patched.add(ctx);
}

export function makeEntrypointHelper(env) {
  let patch = null;
  return {
    cloudflareWorkersModule: {
      get env() {
        return patch ? { ...env, ...patch } : env;
      },
      waitUntil() {
        throw new Error("waitUntil outside a request is not available in the harness");
      },
    },
    cloudflareSocketsModule: {},
    doAnImport: (name) => import(name),
    patchWaitUntil,
    *patch_env_helper(kwds) {
      const previous = patch;
      patch = Object.fromEntries(kwds instanceof Map ? kwds : Object.entries(kwds));
      try {
        yield;
      } finally {
        patch = previous;
      }
    },
  };
}

/** The ExecutionContext workerd hands a Worker: here, waitUntil just keeps the promise. */
export class ExecutionContext {
  constructor(track, onError) {
    this.track = track;
    this.onError = onError;
  }
  waitUntil(promise) {
    this.track(Promise.resolve(promise).catch(this.onError));
  }
  passThroughOnException() {}
  get [Symbol.toStringTag]() {
    return "ExecutionContext";
  }
}
