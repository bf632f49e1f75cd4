import { selectBackend } from "@/app/actions";
import { SwitcherMenu } from "@/components/SwitcherMenu";
import { formatMs } from "@/lib/format";
import type { ApiResult, BackendInfo, BackendsListing, HealthStatus, Location } from "@/lib/types";

/** The health of the entry a request would use: the chosen location, else the gateway's own environment. */
function entryHealth(backend: BackendInfo, location: Location | null, environment: string): { status: HealthStatus; latency: number | null } {
  const fallback = environment === "cloud" || environment === "local" ? environment : null;
  const entry =
    (location ? backend.locations[location] : undefined) ??
    (fallback ? backend.locations[fallback] : undefined) ??
    Object.values(backend.locations)[0];
  return { status: entry?.health.status ?? "unknown", latency: entry?.health.latency_ms ?? null };
}

/** Not by colour alone: each state has its own mark (✓ ✕ ?), and a state other than healthy is also written out. */
const HEALTH_MARK: Record<HealthStatus, string> = { healthy: "✓", unhealthy: "✕", unknown: "?" };

function HealthDot({ status }: { status: HealthStatus }) {
  return (
    <span className={`dot dot-${status}`} aria-hidden="true">
      {HEALTH_MARK[status]}
    </span>
  );
}

/**
 * Pick the backend (and, where it has both, the location) that serves this
 * session. Plain forms posting to a Server Action: they work without
 * JavaScript and with the keyboard; the choice lives in a cookie.
 */
export function BackendSwitcher({
  listing,
  current,
  location,
  servedLocation,
}: {
  listing: ApiResult<BackendsListing>;
  current: string | null;
  location: Location | null;
  servedLocation: string | null;
}) {
  if (!listing.ok) {
    return (
      <p className="switcher-error" role="status">
        Backends unavailable ({listing.error.code})
      </p>
    );
  }
  const active = listing.data.backends.find((backend) => backend.id === current) ?? null;
  const locations = active ? (Object.keys(active.locations) as Location[]) : [];
  return (
    <SwitcherMenu>
      <div className="switcher">
        <div role="group" aria-label="Backend" className="switcher-group" data-testid="backend-switcher">
          {listing.data.backends.map((backend) => {
            const health = entryHealth(backend, backend.id === current ? location : null, listing.data.environment);
            const latency = formatMs(health.latency);
            const selected = backend.id === current;
            return (
              <form key={backend.id} action={selectBackend}>
                <input type="hidden" name="backend" value={backend.id} />
                <button
                  type="submit"
                  className="backend"
                  aria-pressed={selected}
                  data-backend={backend.id}
                  data-health={health.status}
                  title={`${backend.name}: ${health.status}${latency ? `, ${latency}` : ""}; locations: ${Object.keys(backend.locations).join(", ")}`}
                >
                  <HealthDot status={health.status} />
                  <span className="backend-name">{backend.name}</span>
                  <span className="backend-meta">
                    {health.status === "healthy" ? <span className="sr-only"> healthy</span> : <span className="backend-health">{` ${health.status}`}</span>}
                    {latency ? ` ${latency}` : ""}
                    {` · ${Object.keys(backend.locations).join("/")}`}
                  </span>
                </button>
              </form>
            );
          })}
        </div>
        {active && locations.length > 1 ? (
          <div role="group" aria-label="Location" className="switcher-group" data-testid="location-switcher">
            {(["auto", ...locations] as const).map((option) => {
              const selected = option === "auto" ? location === null : location === option;
              return (
                <form key={option} action={selectBackend}>
                  <input type="hidden" name="location" value={option} />
                  <button type="submit" className="location" aria-pressed={selected} data-location={option}>
                    {option === "auto" ? `auto${servedLocation && location === null ? ` (${servedLocation})` : ""}` : option}
                  </button>
                </form>
              );
            })}
          </div>
        ) : null}
      </div>
    </SwitcherMenu>
  );
}
