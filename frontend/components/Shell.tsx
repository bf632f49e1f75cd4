import Link from "next/link";
import type { ReactNode } from "react";

import { BackendSwitcher } from "@/components/BackendSwitcher";
import { OutboxStatus } from "@/components/OutboxStatus";
import type { Board } from "@/lib/board";
import { countByStatus, currentBackend } from "@/lib/board";
import { STATUS_LABELS, TASK_STATUSES, type TaskStatus } from "@/lib/types";

export function statusHref(status: TaskStatus, context?: string | null): string {
  const base = status === "inbox" ? "/" : `/lists/${status}`;
  return context ? `${base}?context=${encodeURIComponent(context)}` : base;
}

/** Header (backend switcher, outbox line), navigation with counts, and the page: rendered whatever the backend answered. */
export function Shell({ board, active, context, children }: { board: Board; active: TaskStatus | "projects" | null; context?: string | null; children: ReactNode }) {
  const counts = board.tasks.ok ? countByStatus(board.tasks.data.tasks) : null;
  const current = currentBackend(board);
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="header">
        <div className="header-inner">
          <Link href="/" className="brand">
            GTD
          </Link>
          <BackendSwitcher listing={board.backends} current={current} location={board.selection.location} servedLocation={board.tasks.served.location} />
        </div>
        <OutboxStatus />
      </header>
      <div className="layout">
        <nav className="nav" aria-label="Lists">
          <ul>
            {TASK_STATUSES.map((status) => (
              <li key={status}>
                <Link href={statusHref(status, context)} aria-current={active === status ? "page" : undefined} data-status={status}>
                  <span>{STATUS_LABELS[status]}</span>
                  {counts ? (
                    <span className="count" data-testid={`count-${status}`}>
                      <span className="sr-only">, </span>
                      {counts[status]}
                      <span className="sr-only"> tasks</span>
                    </span>
                  ) : null}
                </Link>
              </li>
            ))}
            <li className="nav-sep">
              <Link href="/projects" aria-current={active === "projects" ? "page" : undefined}>
                <span>Projects</span>
                {board.projects.ok ? <span className="count">{board.projects.data.projects.length}</span> : null}
              </Link>
            </li>
          </ul>
        </nav>
        <main id="main" className="main" tabIndex={-1}>
          {children}
        </main>
      </div>
    </>
  );
}
