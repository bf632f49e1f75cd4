import Link from "next/link";

/** Filter the current list by GTD context (links, so the filter is in the URL; a search is kept). */
export function ContextFilter({ contexts, active, basePath, q = null }: { contexts: string[]; active: string | null; basePath: string; q?: string | null }) {
  if (contexts.length === 0 && !active) return null;
  const all = active && !contexts.includes(active) ? [...contexts, active] : contexts;
  const href = (context: string | null) => {
    const search = new URLSearchParams();
    if (context) search.set("context", context);
    if (q) search.set("q", q);
    const text = search.toString();
    return text ? `${basePath}?${text}` : basePath;
  };
  return (
    <nav className="contexts" aria-label="Filter by context">
      <span className="contexts-label">Context:</span>
      <ul>
        <li>
          <Link prefetch={false} href={href(null)} aria-current={active ? undefined : "true"} className="chip">
            All
          </Link>
        </li>
        {all.map((context) => (
          <li key={context}>
            <Link prefetch={false} href={href(context)} aria-current={active === context ? "true" : undefined} className="chip">
              {context}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}
