// The outbox runner: sends what is waiting, one item at a time, in the order outbox.js
// decides, with backoff between failed attempts. Started on load, on every new item, when
// the network comes back and when a backoff runs out; the items live in IndexedDB, so a
// reload or a killed browser only delays them.
import * as api from "./api.js";
import * as geo from "./geo.js";
import {afterFailure, classify, nextItem, resetBackoff, retryAfterSeconds} from "./outbox.js";
import * as store from "./store.js";

let running = false;
let again = false;
let timer = null;
let handlers = {onSettled: () => {}, onAuthLost: () => {}, onChange: () => {}};

export function configure(callbacks) {
  handlers = {...handlers, ...callbacks};
}

/** The body as sent now: check-ins carry the device's clock at sending (`sent_at`, not part
 * of the record's content, so a retry is still the same record); a panic raised before any
 * fix takes the first position the phone gets. */
async function bodyToSend(item) {
  if (item.kind === "panic" && (item.body.lat === null || item.body.lon === null)) {
    const fix = geo.lastFix() || await geo.getFix(10000);
    if (!fix || fix.error) { return null; }
    // Kept before sending: a retry after a lost answer must send the same content, or the
    // server would see a different record under the same id (409 id_conflict).
    item.body = {...item.body, lat: fix.lat, lon: fix.lon};
    await store.updateItem(item);
  }
  const body = {...item.body};
  if (item.kind === "checkin") { body.sent_at = new Date().toISOString(); }
  return body;
}

export function kick() {
  if (timer !== null) { clearTimeout(timer); timer = null; }
  if (running) { again = true; return; }
  run();
}

/** The network is back: forget the backoff and send now. */
export async function online() {
  await store.resetBackoff(resetBackoff);
  kick();
}

async function run() {
  running = true;
  try {
    // One sender per browser, however many tabs of the app are open (Web Locks where the
    // browser has them; the server's idempotent ids make a double send harmless anyway).
    if (navigator.locks) {
      await navigator.locks.request("fieldapp-outbox", {ifAvailable: true}, async (lock) => {
        if (lock) { await sendAll(); } else { timer = setTimeout(kick, 5000); }
      });
    } else {
      await sendAll();
    }
  } finally {
    running = false;
    if (again) { kick(); }
  }
}

async function sendAll() {
  for (;;) {
    again = false;
    const who = api.session();
    if (!who) { return; }
    const next = nextItem(await store.outboxItems(), who.user, Date.now());
    if (!next) { return; }
    if (next.waitMs > 0) {
      timer = setTimeout(kick, next.waitMs);
      return;
    }
    const stop = await attempt(next.item);
    // A discreet panic changes nothing on screen, sent or not (the phone may be watched).
    if (!next.item.discreet) { handlers.onChange(); }
    if (stop) { return; }
  }
}

/** One attempt; true when the runner must stop (signed out). */
async function attempt(item) {
  const body = await bodyToSend(item);
  if (body === null) {
    await store.updateItem(afterFailure(item, Date.now(), Math.random(), "no position yet"));
    return false;
  }
  const answer = await api.call("POST", item.path, body);
  const outcome = classify(answer.status);
  if (outcome === "done") {
    const result = {status: "delivered", http_status: answer.status, answer: answer.body};
    await settled(item, result);
    return false;
  }
  if (outcome === "auth") {
    const code = answer.body && answer.body.code;
    handlers.onAuthLost(code);
    return true;
  }
  if (outcome === "retry") {
    const error = answer.status ? `HTTP ${answer.status}` : "no network";
    await store.updateItem(
      afterFailure(item, Date.now(), Math.random(), error, retryAfterSeconds(answer.retryAfter)),
    );
    return false;
  }
  const problem = answer.body || {};
  const result = {
    status: "refused", http_status: answer.status, code: problem.code || "other",
    detail: problem.detail || "", errors: problem.errors || null,
  };
  await settled(item, result);
  return false;
}

/** The item's answer kept; the screen told, unless the item is a discreet panic: then not
 * even "last sync" moves, since a watcher could see it change. */
async function settled(item, result) {
  await store.settle(item, result);
  if (item.discreet) { return; }
  await store.set("last_sync", new Date().toISOString());
  handlers.onSettled(item, result);
}
