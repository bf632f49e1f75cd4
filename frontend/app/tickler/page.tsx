import type { Metadata } from "next";

import { StatusPage, contextParam, searchParam } from "@/components/StatusPage";

export const metadata: Metadata = { title: "Tickler" };

/** Tasks deferred to a later day, soonest first; each shows up in its list by itself on its day. */
export default async function TicklerPage({ searchParams }: PageProps<"/tickler">) {
  const params = await searchParams;
  return <StatusPage view="tickler" context={contextParam(params.context)} q={searchParam(params.q)} />;
}
