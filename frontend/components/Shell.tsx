import Link from "next/link";
import type { ReactNode } from "react";

import { BackendSwitcher } from "@/components/BackendSwitcher";
import { LocalZone } from "@/components/LocalZone";
import { OutboxStatus } from "@/components/OutboxStatus";
import type { Board } from "@/lib/board";
import { currentBackend } from "@/lib/board";
import { TASK_STATUSES } from "@/lib/types";
import { EXTRA_VIEWS, VIEW_LABELS, viewHref, type View } from "@/lib/views";

export type Active = View | "projects" | "review" | "data" | null;

function Count({ value, testId }: { value: number | null; testId?: string }) {
  if (value === null) return null;
  return (
    <span className="count" data-testid={testId}>
      <span className="sr-only">, </span>
      {value}
      <span className="sr-only"> tasks</span>
    </span>
  );
}

/**
 * Header (backend switcher, outbox line), navigation with counts (one `GET /counts`), and the
 * page: rendered whatever the backend answered.
 *
 * Links in the app do not prefetch (`prefetch={false}`): every page is dynamic and there is no
 * root loading.tsx to stop a prefetch early, so each visible link would render its whole page
 * on the server (a list page, the review's lists) on every page view.
 */
export function Shell({ board, active, context, children }: { board: Board; active: Active; context?: string | null; children: ReactNode }) {
  const counts = board.counts.ok ? board.counts.data : null;
  const current = currentBackend(board);
  const views: View[] = [...TASK_STATUSES, ...EXTRA_VIEWS];
  const countOf = (view: View): number | null => (counts ? counts.tasks[view === "tickler" ? "deferred" : view] : null);
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <LocalZone today={board.today} />
      <header className="header">
        <div className="header-inner">
          <Link prefetch={false} href="/" className="brand">
            GTD
          </Link>
          <BackendSwitcher listing={board.backends} current={current} location={board.selection.location} servedLocation={board.counts.served.location} />
        </div>
        <OutboxStatus />
      </header>
      <div className="layout">
        <nav className="nav" aria-label="Lists">
          <ul>
            {views.map((view) => (
              <li key={view} className={view === "tickler" ? "nav-sep" : undefined}>
                <Link prefetch={false} href={viewHref(view, { context })} aria-current={active === view ? "page" : undefined} data-status={view}>
                  <span>{VIEW_LABELS[view]}</span>
                  <Count value={countOf(view)} testId={`count-${view}`} />
                </Link>
              </li>
            ))}
            <li className="nav-sep">
              <Link prefetch={false} href="/projects" aria-current={active === "projects" ? "page" : undefined}>
                <span>Projects</span>
                {counts ? (
                  <span className="count" data-testid="count-projects">
                    <span className="sr-only">, </span>
                    {counts.projects.active}
                    <span className="sr-only"> active</span>
                  </span>
                ) : null}
              </Link>
            </li>
            <li>
              <Link prefetch={false} href="/review" aria-current={active === "review" ? "page" : undefined}>
                <span>Weekly review</span>
              </Link>
            </li>
            <li>
              <Link prefetch={false} href="/data" aria-current={active === "data" ? "page" : undefined}>
                <span>Export / import</span>
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
