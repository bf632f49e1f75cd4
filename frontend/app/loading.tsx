export default function Loading() {
  return (
    <div className="loading" role="status" aria-live="polite" aria-busy="true">
      <span className="spinner" aria-hidden="true" /> Loading…
    </div>
  );
}
