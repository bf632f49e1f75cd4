// Container healthcheck: 200 whenever this server runs, without calling the
// gateway. `?gateway=1` adds the gateway's reachability to the body (still 200).
import { gateway } from "@/lib/gateway";

export const dynamic = "force-dynamic";

export async function GET(request: Request): Promise<Response> {
  const body: Record<string, unknown> = { status: "ok", service: "gtd-frontend" };
  if (new URL(request.url).searchParams.get("gateway") === "1") {
    const result = await gateway.health();
    body.gateway = result.ok ? "reachable" : { status: result.error.status, code: result.error.code };
  }
  return Response.json(body, { headers: { "cache-control": "no-store" } });
}
