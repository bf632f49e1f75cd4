import { StatusPage, contextParam, searchParam } from "@/components/StatusPage";

export default async function InboxPage({ searchParams }: PageProps<"/">) {
  const params = await searchParams;
  return <StatusPage view="inbox" context={contextParam(params.context)} q={searchParam(params.q)} />;
}
