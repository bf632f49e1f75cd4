// A Miniflare plugin that binds a recording stand-in of an Analytics Engine dataset on real
// workerd, for launch.mjs (a Worker spec with "analytics": true).
//
// Miniflare's own dataset binding keeps nothing offline (its local writeDataPoint only forwards
// to a remote dataset), so written points cannot be observed. This plugin builds the binding the
// way Miniflare builds its own: a workerd *wrapped binding*, a module that runs inside the
// gateway's isolate and whose default export makes the binding object. Its writeDataPoint is
// synchronous and returns undefined like the real one; it checks the point
// (harness/pyodide/analytics_dataset.mjs) and logs it with console.log as one JSON line
// `{"event": "analytics_data_point", …}`, which reaches the launcher's stdout with the
// Worker's own log lines.
//
// Used through Miniflare's `unsafeBindings` (type "recording-analytics", plugin
// {package: <this file>, name: "recording-analytics"}).

import { checkDataPoint } from "../pyodide/analytics_dataset.mjs";

const TYPE = "unsafe:recording-analytics";
const MODULE = "recording-analytics:dataset";

const DATASET_MODULE = `
${checkDataPoint.toString()}

class RecordingAnalyticsDataset {
  writeDataPoint(event) {
    console.log(JSON.stringify(checkDataPoint(event)));
  }
}

export default function () {
  return new RecordingAnalyticsDataset();
}
`;

function declared(config) {
  return Object.entries(config?.env ?? {}).filter(([, binding]) => binding.type === TYPE);
}

export const plugins = {
  "recording-analytics": {
    bindingTypeDescription: "recording Analytics Engine dataset (tests)",
    getBindings(options) {
      return declared(options.config).map(([name]) => ({ name, wrapped: { moduleName: MODULE, innerBindings: [] } }));
    },
    getNodeBindings() {
      return {};
    },
    getServices() {
      return undefined;
    },
    getExtensions({ options }) {
      if (!options.some((o) => declared(o.config).length > 0)) return [];
      return [{ modules: [{ name: MODULE, esModule: DATASET_MODULE, internal: true }] }];
    },
  },
};
