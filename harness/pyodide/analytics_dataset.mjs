// The check both test runtimes apply to an Analytics Engine data point, in place of the real
// dataset (which Miniflare only simulates as a sink: its local `writeDataPoint` drops every
// point unless the binding is remote, so nothing written can be observed offline).
//
// `checkDataPoint(event)` throws what the binding rejects, per Cloudflare's documented limits:
// a point that is not a plain object (a JS `Map`, which is what Pyodide's `to_js` makes of a
// dict by default, has no `blobs` property), more than 20 blobs or doubles, a blob that is not
// a string or null, a double that is not a number, more than one index, or an index over 96
// bytes. It returns the line the recorder prints: `{"event": "analytics_data_point", blobs,
// doubles, indexes}`. Self-contained (no imports, no closures) so that the workerd launcher can
// embed its source in a Worker (harness/workerd/analytics_plugin.mjs).

export function checkDataPoint(event) {
  if (event === null || typeof event !== "object" || event instanceof Map || Array.isArray(event)) {
    throw new TypeError("writeDataPoint expects an object {blobs, doubles, indexes}");
  }
  const { blobs = [], doubles = [], indexes = [] } = event;
  const fits = (list, max, ok) => Array.isArray(list) && list.length <= max && list.every(ok);
  if (!fits(blobs, 20, (b) => typeof b === "string" || b === null)) {
    throw new TypeError(`bad blobs: ${JSON.stringify(blobs)}`);
  }
  if (!fits(doubles, 20, (d) => typeof d === "number")) {
    throw new TypeError(`bad doubles: ${JSON.stringify(doubles)}`);
  }
  if (!fits(indexes, 1, (i) => typeof i === "string" && new TextEncoder().encode(i).length <= 96)) {
    throw new TypeError(`bad indexes: ${JSON.stringify(indexes)}`);
  }
  return { event: "analytics_data_point", blobs, doubles, indexes };
}
