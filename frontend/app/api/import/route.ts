// `POST /api/import[?backend=ID]` with an export document: merged into the chosen backend (or
// into ``backend``: "Copy my tasks to…"), answered with the gateway's counts or its 422 (field).
import { getSelection, gateway, isBackendId } from "@/lib/gateway";
import { refused, errorResponse, sameOrigin } from "@/lib/route";
import type { Selection } from "@/lib/types";

export const dynamic = "force-dynamic";

/** The contract's limit for /import. */
const MAX_BYTES = 32 * 1024 * 1024;

export async function POST(request: Request): Promise<Response> {
  if (!sameOrigin(request)) return refused(403, "forbidden", "Imports come from this app's own pages");
  if (!(request.headers.get("content-type") ?? "").toLowerCase().startsWith("application/json")) {
    return refused(415, "unsupported_media_type", "Send the export document as application/json");
  }
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BYTES) return refused(413, "payload_too_large", "An import is at most 32 MiB");
  const text = await request.text();
  if (Buffer.byteLength(text) > MAX_BYTES) return refused(413, "payload_too_large", "An import is at most 32 MiB");
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return refused(400, "invalid_json", "The file is not JSON (choose a file from Export)");
  }
  const target = new URL(request.url).searchParams.get("backend");
  let selection: Selection | undefined;
  if (target !== null) {
    if (!isBackendId(target)) return refused(422, "validation_error", "Unknown backend", "backend");
    const current = await getSelection();
    // The chosen location applies to the chosen backend only; another backend gets its default.
    selection = { backend: target, location: current.backend === target ? current.location : null };
  }
  const result = await gateway.importAll(document, selection);
  if (!result.ok) return errorResponse(result.error);
  return Response.json({ ...result.data, backend: result.served.backend }, { headers: { "cache-control": "no-store" } });
}
