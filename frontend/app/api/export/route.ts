// Download the chosen backend's whole store: `GET /api/export` (JSON, as GET /export answers it)
// or `?format=csv` (tasks only, one row each). Read from the backend of the user's cookie.
import { tasksCsv } from "@/lib/csv";
import { gateway } from "@/lib/gateway";
import { errorResponse, refused } from "@/lib/route";

export const dynamic = "force-dynamic";

export async function GET(request: Request): Promise<Response> {
  const format = new URL(request.url).searchParams.get("format") ?? "json";
  if (format !== "json" && format !== "csv") return refused(422, "validation_error", "format is json or csv", "format");
  const result = await gateway.exportAll();
  if (!result.ok) return errorResponse(result.error);
  const backend = result.served.backend ?? "backend";
  const stamp = (result.data.exported_at ?? new Date().toISOString()).slice(0, 10);
  const headers: Record<string, string> = { "cache-control": "no-store" };
  if (result.served.backend) headers["x-backend"] = result.served.backend;
  if (format === "csv") {
    headers["content-type"] = "text/csv; charset=utf-8";
    headers["content-disposition"] = `attachment; filename="gtd-${backend}-${stamp}.csv"`;
    return new Response(tasksCsv(result.data), { headers });
  }
  headers["content-type"] = "application/json";
  headers["content-disposition"] = `attachment; filename="gtd-${backend}-${stamp}.json"`;
  return new Response(JSON.stringify(result.data), { headers });
}
