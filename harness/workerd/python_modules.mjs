// The Python Worker's modules as Miniflare takes them: every .py file under a
// source folder, the main module first (as wrangler uploads it), each with an
// absolute path (Miniflare names modules relative to `modulesRoot`). Used by
// the behaviour suite's workerd runtime and by the workerd bench phase.

import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

/**
 * @param {string} srcDir  the folder Miniflare's `modulesRoot` points at
 * @param {{path: string, contents: string}} [main]  the main module (default: srcDir/entry.py);
 *        `entry.py` is only ever uploaded as the main module
 */
export function pythonModules(srcDir, main) {
  const first = main ?? { path: "entry.py", contents: readFileSync(join(srcDir, "entry.py"), "utf8") };
  const found = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== "__pycache__") walk(path);
      else if (entry.isFile() && entry.name.endsWith(".py")) found.push(relative(srcDir, path));
    }
  };
  walk(srcDir);
  found.sort();
  const rest = found
    .filter((path) => path !== first.path && path !== "entry.py")
    .map((path) => ({ type: "PythonModule", path: join(srcDir, path), contents: readFileSync(join(srcDir, path), "utf8") }));
  return [{ type: "PythonModule", path: join(srcDir, first.path), contents: first.contents }, ...rest];
}
