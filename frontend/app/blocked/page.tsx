import type { Metadata } from "next";

import { StatusPage, contextParam, searchParam } from "@/components/StatusPage";

export const metadata: Metadata = { title: "Blocked" };

/** Open tasks waiting on another open task (left out of Next until it is done). */
export default async function BlockedPage({ searchParams }: PageProps<"/blocked">) {
  const params = await searchParams;
  return <StatusPage view="blocked" context={contextParam(params.context)} q={searchParam(params.q)} />;
}
