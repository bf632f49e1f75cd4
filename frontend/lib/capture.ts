// The capture box's syntax, parsed on Enter: `Call Ana @phone +house due:2026-12-24 defer:2026-12-20`.
//   @word          context (an existing context's spelling wins, compared case-insensitively)
//   +word          project: an existing project whose name, case-insensitively, is the word
//                  (spaces in the name may be written as - or _); no match: the word stays in the
//                  title and the result names it (the app says so; nothing is created)
//   due:DATE       due date; defer:DATE  defer until (a real YYYY-MM-DD; anything else stays text)
import { isIsoDate } from "./dates";
import type { TaskCreate } from "./types";

export interface Parsed {
  body: TaskCreate;
  /** A +word that names no project (left in the title). */
  unknownProject: string | null;
}

function projectKey(name: string): string {
  return name.trim().toLowerCase().replace(/[\s_]+/g, "-");
}

export function parseCapture(
  text: string,
  projects: readonly { id: string; name: string }[],
  contexts: readonly string[],
  defaults: Omit<TaskCreate, "title"> = {},
): Parsed {
  const body: TaskCreate = { ...defaults, title: "" };
  let unknownProject: string | null = null;
  const title: string[] = [];
  for (const word of text.trim().split(/\s+/)) {
    const lower = word.toLowerCase();
    if (/^@\S{1,49}$/.test(word) && body.context === defaults.context) {
      body.context = contexts.find((context) => context.toLowerCase() === lower) ?? word;
    } else if (/^\+\S+$/.test(word) && body.project_id === defaults.project_id) {
      const wanted = projectKey(word.slice(1));
      const project = projects.find((candidate) => projectKey(candidate.name) === wanted);
      if (project) body.project_id = project.id;
      else {
        unknownProject = word.slice(1);
        title.push(word);
      }
    } else if (lower.startsWith("due:") && isIsoDate(word.slice(4)) && body.due_date === defaults.due_date) {
      body.due_date = word.slice(4);
    } else if (lower.startsWith("defer:") && isIsoDate(word.slice(6)) && body.defer_until === defaults.defer_until) {
      body.defer_until = word.slice(6);
    } else if (word) {
      title.push(word);
    }
  }
  body.title = title.join(" ");
  return { body, unknownProject };
}
