"use client";

import { useRouter } from "next/navigation";
import { useRef, useState, type FormEvent } from "react";

import type { ImportResult } from "@/lib/types";

type Answer = ImportResult & { backend?: string | null };
type Failure = { code: string; message: string; field?: string };
type Step = { state: "idle" } | { state: "working"; text: string } | { state: "done"; text: string; result: Answer } | { state: "error"; text: string; error: Failure };

async function failure(response: Response): Promise<Failure> {
  try {
    const body = (await response.json()) as { error?: Failure };
    if (body.error?.code) return body.error;
  } catch {
    // not JSON: fall through
  }
  return { code: `http_${response.status}`, message: response.statusText || "Unexpected answer" };
}

function Counts({ result }: { result: Answer }) {
  return (
    <dl className="import-counts" data-testid="import-counts">
      <dt>Projects</dt>
      <dd data-created={result.projects.created} data-updated={result.projects.updated} data-unchanged={result.projects.unchanged}>
        {result.projects.created} created · {result.projects.updated} updated · {result.projects.unchanged} unchanged
      </dd>
      <dt>Tasks</dt>
      <dd data-testid="task-import-counts" data-created={result.tasks.created} data-updated={result.tasks.updated} data-unchanged={result.tasks.unchanged}>
        {result.tasks.created} created · {result.tasks.updated} updated · {result.tasks.unchanged} unchanged
      </dd>
    </dl>
  );
}

function Progress({ step, testId }: { step: Step; testId: string }) {
  return (
    <div aria-live="polite" className="notice" data-testid={testId} data-state={step.state}>
      {step.state === "working" ? <p className="muted">{step.text}</p> : null}
      {step.state === "done" ? (
        <div className="notice-ok">
          <p>{step.text}</p>
          <Counts result={step.result} />
        </div>
      ) : null}
      {step.state === "error" ? (
        <div className="error-panel" role="alert" data-code={step.error.code} data-field={step.error.field ?? ""}>
          <p className="error-title">{step.text}</p>
          <p>
            {step.error.message} ({step.error.code})
            {step.error.field ? (
              <>
                {" "}
                — field <code data-testid="error-field">{step.error.field}</code>
              </>
            ) : null}
          </p>
        </div>
      ) : null}
    </div>
  );
}

/** Export (JSON, CSV), import a JSON export, and copy everything to another backend. */
export function DataTools({ current, backends }: { current: string | null; backends: { id: string; name: string }[] }) {
  const [importStep, setImportStep] = useState<Step>({ state: "idle" });
  const [copyStep, setCopyStep] = useState<Step>({ state: "idle" });
  const fileRef = useRef<HTMLInputElement>(null);
  const router = useRouter();
  const others = backends.filter((backend) => backend.id !== current);

  async function onImport(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const file = fileRef.current?.files?.[0];
    if (!file) {
      setImportStep({ state: "error", text: "Choose a file first", error: { code: "no_file", message: "No file chosen" } });
      return;
    }
    setImportStep({ state: "working", text: `Importing ${file.name} (${Math.ceil(file.size / 1024)} KB)…` });
    const response = await fetch("/api/import", { method: "POST", headers: { "content-type": "application/json" }, body: await file.text() });
    if (!response.ok) {
      setImportStep({ state: "error", text: `Could not import ${file.name}`, error: await failure(response) });
      return;
    }
    const result = (await response.json()) as Answer;
    setImportStep({ state: "done", text: `Imported ${file.name} into ${result.backend ?? current ?? "this backend"}.`, result });
    router.refresh();
  }

  async function onCopy(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const target = new FormData(event.currentTarget).get("target");
    if (typeof target !== "string" || !target) return;
    setCopyStep({ state: "working", text: `1/2 Reading every task from ${current ?? "this backend"}…` });
    const exported = await fetch("/api/export", { cache: "no-store" });
    if (!exported.ok) {
      setCopyStep({ state: "error", text: `Could not read from ${current ?? "this backend"}`, error: await failure(exported) });
      return;
    }
    const document = await exported.text();
    let size = "";
    try {
      const parsed = JSON.parse(document) as { tasks?: unknown[]; projects?: unknown[] };
      size = ` (${parsed.tasks?.length ?? 0} tasks, ${parsed.projects?.length ?? 0} projects)`;
    } catch {
      // the import step reports it
    }
    setCopyStep({ state: "working", text: `2/2 Writing${size} to ${target}…` });
    const imported = await fetch(`/api/import?backend=${encodeURIComponent(target)}`, { method: "POST", headers: { "content-type": "application/json" }, body: document });
    if (!imported.ok) {
      setCopyStep({ state: "error", text: `Could not write to ${target}`, error: await failure(imported) });
      return;
    }
    const result = (await imported.json()) as Answer;
    setCopyStep({ state: "done", text: `Copied${size} from ${current ?? "this backend"} to ${target}. Copying again changes nothing: items are merged by id, the newer edit wins.`, result });
  }

  return (
    <div className="data-tools">
      <section aria-labelledby="export-title" className="data-section">
        <h2 id="export-title">Export</h2>
        <p>
          <a className="button" href="/api/export" download data-testid="export-json">
            Download JSON
          </a>{" "}
          <a className="button" href="/api/export?format=csv" download data-testid="export-csv">
            Download CSV
          </a>
        </p>
        <p className="muted">JSON holds everything (projects, tasks, dependencies, repeats) and can be imported again; CSV is for spreadsheets.</p>
      </section>

      <section aria-labelledby="import-title" className="data-section">
        <h2 id="import-title">Import</h2>
        <form onSubmit={onImport} className="inline-form">
          <label htmlFor="import-file">JSON export file</label>
          <input ref={fileRef} id="import-file" name="file" type="file" accept="application/json,.json" />
          <button type="submit" className="button" disabled={importStep.state === "working"}>
            Import
          </button>
        </form>
        <p className="muted">Merged by id into {current ?? "this backend"}: new items are added, an item is replaced only by a newer edit.</p>
        <Progress step={importStep} testId="import-status" />
      </section>

      <section aria-labelledby="copy-title" className="data-section">
        <h2 id="copy-title">Copy my tasks to…</h2>
        {others.length === 0 ? (
          <p className="muted">No other backend to copy to.</p>
        ) : (
          <form onSubmit={onCopy} className="inline-form">
            <label htmlFor="copy-target">Target backend</label>
            <select id="copy-target" name="target" defaultValue={others[0]?.id}>
              {others.map((backend) => (
                <option key={backend.id} value={backend.id}>
                  {backend.name} ({backend.id})
                </option>
              ))}
            </select>
            <button type="submit" className="button primary" disabled={copyStep.state === "working"}>
              Copy
            </button>
          </form>
        )}
        <Progress step={copyStep} testId="copy-status" />
      </section>
    </div>
  );
}
