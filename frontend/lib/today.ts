// "today" is the user's date, not the server's: the tickler shows a task on its day in the
// user's time zone. The browser writes its IANA zone into a cookie (components/LocalZone);
// the server turns it into a date for every list, counts and PATCH call (`today=`).
import "server-only";

import { cookies } from "next/headers";

import { ZONE_COOKIE, dateInZone } from "./dates";

/** The user's local date (`YYYY-MM-DD`); UTC until the browser has told its zone. */
export async function userToday(now: Date = new Date()): Promise<string> {
  const jar = await cookies();
  return dateInZone(jar.get(ZONE_COOKIE)?.value ?? null, now);
}
