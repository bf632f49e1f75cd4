/**
 * A tiny method-aware router. Routes are compiled once; matching answers
 * 404 for an unknown path and 405 (with Allow) for a known path and a
 * method it does not serve. HEAD is served wherever GET is; OPTIONS
 * everywhere (it only reports Allow; CORS preflights are the gateway's job).
 */
import { ApiError, notFound } from "./errors.ts";

export interface RouteContext<S> {
  request: Request;
  url: URL;
  params: Record<string, string>;
  services: S;
}

export type Handler<S> = (ctx: RouteContext<S>) => Promise<Response>;

type Methods<S> = Partial<Record<"GET" | "POST" | "PATCH" | "DELETE", Handler<S>>>;

interface Route<S> {
  regex: RegExp;
  keys: string[];
  methods: Methods<S>;
  allow: string;
}

export interface Match<S> {
  handler: Handler<S> | "OPTIONS";
  params: Record<string, string>;
  allow: string;
}

export class Router<S> {
  private readonly routes: Route<S>[] = [];

  /** `path` uses `:name` segments, e.g. "/tasks/:id". */
  on(path: string, methods: Methods<S>): this {
    const keys: string[] = [];
    const source = path.replace(/:(\w+)/g, (_, key: string) => {
      keys.push(key);
      return "([^/]+)";
    });
    const names = Object.keys(methods);
    if (names.includes("GET")) names.splice(names.indexOf("GET") + 1, 0, "HEAD");
    this.routes.push({
      regex: new RegExp(`^${source}$`),
      keys,
      methods,
      allow: [...names, "OPTIONS"].join(", "),
    });
    return this;
  }

  match(method: string, pathname: string): Match<S> {
    for (const route of this.routes) {
      const m = route.regex.exec(pathname);
      if (!m) continue;
      const params: Record<string, string> = {};
      route.keys.forEach((key, i) => {
        params[key] = decodeURIComponentSafe(m[i + 1]);
      });
      if (method === "OPTIONS") return { handler: "OPTIONS", params, allow: route.allow };
      const handler = route.methods[(method === "HEAD" ? "GET" : method) as keyof Methods<S>];
      if (!handler) {
        throw new ApiError(405, "method_not_allowed", `method ${method} is not allowed here`, undefined, {
          allow: route.allow,
        });
      }
      return { handler, params, allow: route.allow };
    }
    throw notFound("route");
  }
}

function decodeURIComponentSafe(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // a malformed %-escape cannot name any id; the handler answers 404
  }
}
