// The outbox's decisions as plain functions (no IndexedDB, no network, no clock): which item
// goes next, what an answer means, and how long to wait before trying again.
// Unit tests: tests/fieldapp/js/outbox.test.mjs (node --test).
//
// An item: {seq, id, kind, user, path, body, created_at, attempts, next_attempt_at, last_error}
// - seq: the order it was captured in (IndexedDB's autoincrement key);
// - id: the record's client-generated UUID, also the body's `id`, so a retry after a lost
//   answer finds the record the server already kept (200) instead of making a second one;
// - kind: "panic" | "checkin" | "photo" | "segment" | "receipt" | "report" | "cosign";
// - files: {field: Blob} for multipart records (a photo, a receipt's signature and slip), the
//   segment's bytes for a recording segment: kept in IndexedDB with the item until it is sent.
//
// Three lanes, each sent strictly in capture order, side by side: a person in danger must
// not wait behind a photo upload, nor a check-in behind a minute of audio on a slow network.
// - "panic": panics;
// - "records": check-ins, receipts, reports and co-signatures, whose order the server judges
//   (arrivals, the visit's opening and closing, the timer);
// - "media": photos and recording segments (segment n joins only after n-1 arrived).

export const BASE_DELAY_MS = 2000;
export const MAX_DELAY_MS = 5 * 60 * 1000;

export const LANES = ["panic", "records", "media"];
const MEDIA = new Set(["photo", "segment"]);

export function laneOf(item) {
  if (item.kind === "panic") { return "panic"; }
  return MEDIA.has(item.kind) ? "media" : "records";
}

/** Panics first (a person in danger outranks every record), then capture order. */
export function priority(item) {
  return item.kind === "panic" ? 0 : 1;
}

export function compareItems(a, b) {
  return priority(a) - priority(b) || a.seq - b.seq;
}

export function ordered(items) {
  return [...items].sort(compareItems);
}

/**
 * The item to send next for `user` in `lane` (all lanes when null), and how long to wait for
 * it (0: now). Strictly in order within a lane: a check-in must not overtake the one captured
 * before it (the server judges arrivals, visits and timers in that order), so a head item
 * waiting out its backoff holds the others of its lane back. Null when nothing is waiting.
 */
export function nextItem(items, user, now, lane = null) {
  const mine = ordered(items.filter((item) => item.user === user
    && (lane === null || laneOf(item) === lane)));
  if (!mine.length) { return null; }
  const head = mine[0];
  return {item: head, waitMs: Math.max(0, (head.next_attempt_at || 0) - now)};
}

/**
 * Exponential backoff with "equal jitter": half the delay fixed, half random, so phones that
 * lost the network together do not all come back in the same second.
 * attempts: failures so far (1 after the first). random: a number in [0, 1).
 */
export function backoffDelay(attempts, random, base = BASE_DELAY_MS, max = MAX_DELAY_MS) {
  const exp = Math.min(max, base * 2 ** Math.max(0, attempts - 1));
  return Math.round(exp / 2 + (exp / 2) * random);
}

/**
 * What an answer means for the item.
 * - "done": the server has the record (201 new, 200 the same id and content sent before);
 * - "auth": the token is gone (revoked, unknown): stop, keep everything, sign in again;
 * - "retry": nothing was kept, try again later (no network, timeouts, throttling, 5xx);
 * - "rejected": the server refused this record for a reason that a retry will not change
 *   (a rule, a validation error); it leaves the outbox and the agent is told why.
 * status 0 stands for "no answer" (network error).
 */
export function classify(status) {
  if (status === 200 || status === 201) { return "done"; }
  if (status === 401) { return "auth"; }
  if (status === 0 || status === 408 || status === 425 || status === 429 || status >= 500) {
    return "retry";
  }
  return "rejected";
}

/** The item after a failed attempt: one more attempt, and when to try again. */
export function afterFailure(item, now, random, error, retryAfterS = null) {
  const attempts = (item.attempts || 0) + 1;
  let delay = backoffDelay(attempts, random);
  if (retryAfterS !== null && Number.isFinite(retryAfterS)) {
    delay = Math.max(delay, retryAfterS * 1000);
  }
  return {...item, attempts, next_attempt_at: now + delay, last_error: error};
}

/** The network is back: everything may go at once (in order), backoff forgotten. */
export function resetBackoff(items) {
  return items.map((item) => ({...item, next_attempt_at: 0}));
}

/** What the agent sees as waiting: discreet panics are never shown (the phone may be watched). */
export function visibleItems(items, user) {
  return ordered(items.filter((item) => item.user === user && !item.discreet));
}

/** Parse a Retry-After header given in seconds (the API never sends an HTTP date). */
export function retryAfterSeconds(header) {
  if (header === null || header === undefined || header === "") { return null; }
  const value = Number(header);
  return Number.isFinite(value) && value >= 0 ? value : null;
}
