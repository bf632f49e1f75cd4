import { notFound } from "next/navigation";

import { StatusPage, contextParam, searchParam } from "@/components/StatusPage";
import { isTaskStatus } from "@/lib/types";

export default async function ListPage({ params, searchParams }: PageProps<"/lists/[status]">) {
  const [{ status }, query] = await Promise.all([params, searchParams]);
  if (!isTaskStatus(status)) notFound();
  return <StatusPage view={status} context={contextParam(query.context)} q={searchParam(query.q)} />;
}
