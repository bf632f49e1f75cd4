/** Search this list's titles and notes (`q`), keeping the context filter: a plain GET form. */
export function SearchBox({ action, q, context }: { action: string; q: string | null; context: string | null }) {
  return (
    <form className="search" role="search" action={action} method="get">
      <label htmlFor="search-q" className="sr-only">
        Search this list
      </label>
      <input id="search-q" name="q" type="search" maxLength={200} defaultValue={q ?? ""} placeholder="Search titles and notes" />
      {context ? <input type="hidden" name="context" value={context} /> : null}
      <button type="submit" className="button small">
        Search
      </button>
      {q ? (
        <a className="button small" href={context ? `${action}?context=${encodeURIComponent(context)}` : action}>
          Clear
        </a>
      ) : null}
    </form>
  );
}
