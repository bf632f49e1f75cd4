/**
 * cf-d1 backend: the shared GTD app as a module Worker over the D1 binding `DB`.
 * The schema comes from `wrangler d1 migrations apply` (../shared/migrations).
 */
import { createApp, Store } from "../../shared/src/app.ts";
import { type D1Like, d1Driver } from "./driver.ts";

export interface Env {
  DB: D1Like;
  BACKEND_ID?: string;
}

type App = ReturnType<typeof createApp>;

// Bindings are fixed for an isolate's lifetime, so the app is built once per env object.
const apps = new WeakMap<Env, App>();

function appFor(env: Env): App {
  let app = apps.get(env);
  if (!app) {
    app = createApp({ store: new Store(d1Driver(env.DB)), backendId: env.BACKEND_ID || "cf-d1" });
    apps.set(env, app);
  }
  return app;
}

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    return appFor(env)(request);
  },
};
