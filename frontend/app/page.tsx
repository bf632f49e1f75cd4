import { StatusPage, contextParam } from "@/components/StatusPage";

export default async function InboxPage({ searchParams }: PageProps<"/">) {
  const params = await searchParams;
  return <StatusPage status="inbox" context={contextParam(params.context)} />;
}
