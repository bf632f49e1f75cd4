import Link from "next/link";

export default function NotFound() {
  return (
    <div className="page-error">
      <h1>Not found</h1>
      <p>There is nothing here. It may have been deleted, or it lives on another backend.</p>
      <p>
        <Link prefetch={false} href="/">Back to the inbox</Link>
      </p>
    </div>
  );
}
