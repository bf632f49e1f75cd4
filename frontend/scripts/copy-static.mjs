// After `next build`: the standalone server does not serve `.next/static` or
// `public/` unless they are copied next to it (Next.js docs, "output: standalone").
import { cpSync, existsSync, rmSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const standalone = path.join(root, ".next", "standalone");
if (!existsSync(path.join(standalone, "server.js"))) {
  console.error("copy-static: .next/standalone/server.js is missing (is output: 'standalone' set?)");
  process.exit(1);
}
for (const [from, to] of [
  [path.join(root, ".next", "static"), path.join(standalone, ".next", "static")],
  [path.join(root, "public"), path.join(standalone, "public")],
]) {
  rmSync(to, { recursive: true, force: true });
  if (existsSync(from)) cpSync(from, to, { recursive: true });
}
console.log("copy-static: .next/static and public/ copied into .next/standalone");
