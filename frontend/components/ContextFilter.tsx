import Link from "next/link";

/** Filter the current list by GTD context (links, so the filter is in the URL). */
export function ContextFilter({ contexts, active, basePath }: { contexts: string[]; active: string | null; basePath: string }) {
  if (contexts.length === 0 && !active) return null;
  const all = active && !contexts.includes(active) ? [...contexts, active] : contexts;
  return (
    <nav className="contexts" aria-label="Filter by context">
      <span className="contexts-label">Context:</span>
      <ul>
        <li>
          <Link href={basePath} aria-current={active ? undefined : "true"} className="chip">
            All
          </Link>
        </li>
        {all.map((context) => (
          <li key={context}>
            <Link href={`${basePath}?context=${encodeURIComponent(context)}`} aria-current={active === context ? "true" : undefined} className="chip">
              {context}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}
