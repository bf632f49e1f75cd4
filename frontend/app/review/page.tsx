import type { Metadata } from "next";
import Link from "next/link";

import { ErrorPanel } from "@/components/ErrorPanel";
import { MarkReviewed } from "@/components/MarkReviewed";
import { Shell } from "@/components/Shell";
import { listPage, loadBoard } from "@/lib/board";
import { addDays } from "@/lib/dates";
import { userToday } from "@/lib/today";

export const metadata: Metadata = { title: "Weekly review" };

const DEFAULT_DAYS = 7;
/** Waiting and someday items are looked over from one page of the largest size. */
const REVIEW_PAGE = 500;

function daysParam(value: string | string[] | undefined): number {
  const text = Array.isArray(value) ? value[0] : value;
  return text && /^[1-9]\d{0,2}$/.test(text) ? Number(text) : DEFAULT_DAYS;
}

/**
 * The weekly review: get the inbox to empty, give every active project a next action, chase
 * what has been waiting too long, look over someday/maybe, and mark each project reviewed.
 */
export default async function ReviewPage({ searchParams }: PageProps<"/review">) {
  const days = daysParam((await searchParams).days);
  const today = await userToday();
  const [board, waiting, someday] = await Promise.all([
    loadBoard(),
    listPage({ status: "waiting", deferred: "false" }, today, REVIEW_PAGE),
    listPage({ status: "someday", deferred: "false" }, today, REVIEW_PAGE),
  ]);
  // "Waiting since": the last change of the task (when it was filed to Waiting, or touched since).
  const cutoff = addDays(today, -days);
  const stale = waiting.ok ? waiting.data.tasks.filter((task) => task.updated_at.slice(0, 10) < cutoff) : [];
  const projects = board.projects.ok ? board.projects.data.projects.filter((project) => project.status === "active") : [];
  const withoutNext = projects.filter((project) => project.task_counts.next === 0);
  const inbox = board.counts.ok ? board.counts.data.tasks.inbox : null;
  return (
    <Shell board={board} active="review">
      <div className="page-head">
        <h1>Weekly review</h1>
      </div>
      <ol className="review">
        <li>
          <h2>Inbox to empty</h2>
          {inbox === null ? null : (
            <p data-testid="review-inbox">
              {inbox === 0 ? "Inbox is empty." : `${inbox} ${inbox === 1 ? "item" : "items"} in the inbox.`} <Link prefetch={false} href="/">Process the inbox</Link>
            </p>
          )}
        </li>
        <li>
          <h2>Projects without a next action</h2>
          {board.projects.ok ? (
            withoutNext.length === 0 ? (
              <p>Every active project has a next action.</p>
            ) : (
              <ul data-testid="review-no-next" aria-label="Projects without a next action">
                {withoutNext.map((project) => (
                  <li key={project.id} data-project-id={project.id}>
                    <Link prefetch={false} href={`/projects/${project.id}`}>{project.name}</Link> <span className="muted">· {project.task_counts.open} open</span>
                  </li>
                ))}
              </ul>
            )
          ) : (
            <ErrorPanel error={board.projects.error} title="Could not load projects" />
          )}
        </li>
        <li>
          <h2>Waiting for more than {days} days</h2>
          <form method="get" action="/review" className="inline-form">
            <label htmlFor="review-days">Days</label>
            <input id="review-days" name="days" type="number" min={1} max={999} defaultValue={days} className="narrow" />
            <button type="submit" className="button small">
              Show
            </button>
          </form>
          {waiting.ok ? (
            stale.length === 0 ? (
              <p>Nothing has been waiting that long.</p>
            ) : (
              <ul data-testid="review-waiting" aria-label={`Waiting for more than ${days} days`}>
                {stale.map((task) => (
                  <li key={task.id} data-task-id={task.id}>
                    <Link prefetch={false} href={`/tasks/${task.id}`}>{task.title}</Link> <span className="muted">· since {task.updated_at.slice(0, 10)}</span>
                  </li>
                ))}
              </ul>
            )
          ) : (
            <ErrorPanel error={waiting.error} title="Could not load waiting items" />
          )}
        </li>
        <li>
          <h2>Someday / maybe to look over</h2>
          {someday.ok ? (
            someday.data.tasks.length === 0 ? (
              <p>No someday/maybe items.</p>
            ) : (
              <ul data-testid="review-someday" aria-label="Someday / maybe">
                {someday.data.tasks.map((task) => (
                  <li key={task.id}>
                    <Link prefetch={false} href={`/tasks/${task.id}`}>{task.title}</Link>
                  </li>
                ))}
              </ul>
            )
          ) : (
            <ErrorPanel error={someday.error} title="Could not load someday items" />
          )}
        </li>
        <li>
          <h2>Mark projects reviewed</h2>
          {projects.length === 0 ? (
            <p>No active projects.</p>
          ) : (
            <ul className="review-projects" data-testid="review-projects" aria-label="Active projects">
              {projects.map((project) => (
                <li key={project.id} data-project-id={project.id}>
                  <Link prefetch={false} href={`/projects/${project.id}`}>{project.name}</Link>{" "}
                  <MarkReviewed id={project.id} name={project.name} reviewedOn={project.reviewed_on} today={today} />
                </li>
              ))}
            </ul>
          )}
        </li>
      </ol>
    </Shell>
  );
}
