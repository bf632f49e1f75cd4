// Tasks as CSV (RFC 4180: every field quoted, quotes doubled, CRLF line ends), for spreadsheets.
import type { ExportDocument } from "./types";

const COLUMNS = [
  "id",
  "title",
  "status",
  "project",
  "context",
  "due_date",
  "defer_until",
  "repeat_rule",
  "repeat_from",
  "blocked_by",
  "notes",
  "completed_at",
  "created_at",
  "updated_at",
] as const;

function cell(value: string | null | undefined): string {
  const text = value ?? "";
  // A leading = + - @ would be run as a formula by spreadsheet programs; a tab before it is not shown.
  const safe = /^[=+\-@]/.test(text) && !/^@\S+$/.test(text) ? `\t${text}` : text;
  return `"${safe.replace(/"/g, '""')}"`;
}

export function tasksCsv(document: ExportDocument): string {
  const names = new Map(document.projects.map((project) => [project.id, project.name]));
  const rows = [COLUMNS.join(",")];
  for (const task of document.tasks) {
    rows.push(
      [
        task.id,
        task.title,
        task.status,
        task.project_id ? (names.get(task.project_id) ?? task.project_id) : null,
        task.context,
        task.due_date,
        task.defer_until ?? null,
        task.repeat?.rule ?? null,
        task.repeat?.from ?? null,
        (task.blocked_by ?? []).join(" "),
        task.notes,
        task.completed_at ?? null,
        task.created_at,
        task.updated_at,
      ]
        .map(cell)
        .join(","),
    );
  }
  return rows.join("\r\n") + "\r\n";
}
