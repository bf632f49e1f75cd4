import path from "node:path";
import type { NextConfig } from "next";

// The frontend is its own npm project inside the repo: pin the roots to this
// folder so the standalone output is `.next/standalone/server.js` (not nested
// under the repo's path) and nothing outside `frontend/` is traced.
// (`npm run build` is `next build --webpack`; `turbopack.root` serves `next dev`.)
const root = path.resolve(process.cwd());

const securityHeaders = [
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Referrer-Policy", value: "same-origin" },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=()" },
];

const nextConfig: NextConfig = {
  output: "standalone",
  outputFileTracingRoot: root,
  turbopack: { root },
  poweredByHeader: false,
  reactStrictMode: true,
  async headers() {
    return [{ source: "/:path*", headers: securityHeaders }];
  },
};

export default nextConfig;
