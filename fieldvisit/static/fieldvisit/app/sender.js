// The outbox runner: sends what is waiting, one item at a time per lane (outbox.js: panics,
// records, media side by side, each in capture order), with backoff between failed attempts.
// Started on load, on every new item, when the network comes back and when a backoff runs
// out; the items live in IndexedDB, so a reload or a killed browser only delays them.
import "../vendor/tus-js-client/tus.min.js";
import * as api from "./api.js";
import * as geo from "./geo.js";
import {
  afterFailure, classify, LANES, nextItem, resetBackoff, retryAfterSeconds,
} from "./outbox.js";
import * as store from "./store.js";

// tus PATCH size (the page's data-upload-chunk-bytes, from FIELDAPP_UPLOAD_CHUNK_BYTES): small
// enough that a dropped connection loses little, large enough that a minute of audio (about
// 250 KB of Opus) goes in one or two requests.
let chunkBytes = 256 * 1024;

const lanes = Object.fromEntries(LANES.map((name) => [name, {name, running: false, again: false, timer: null}]));
let handlers = {onSettled: () => {}, onAuthLost: () => {}, onChange: () => {}, onProgress: () => {}};

export function configure({uploadChunkBytes, ...callbacks}) {
  if (uploadChunkBytes > 0) { chunkBytes = uploadChunkBytes; }
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
  for (const lane of Object.values(lanes)) { kickLane(lane); }
}

function kickLane(lane) {
  if (lane.timer !== null) { clearTimeout(lane.timer); lane.timer = null; }
  if (lane.running) { lane.again = true; return; }
  run(lane);
}

/** The network is back: forget the backoff and send now. */
export async function online() {
  await store.resetBackoff(resetBackoff);
  kick();
}

async function run(lane) {
  lane.running = true;
  try {
    // One sender per lane per browser, however many tabs of the app are open (Web Locks
    // where the browser has them; the server's idempotent ids make a double send harmless).
    if (navigator.locks) {
      await navigator.locks.request(`fieldapp-outbox-${lane.name}`, {ifAvailable: true}, async (lock) => {
        if (lock) { await sendAll(lane); } else { lane.timer = setTimeout(() => kickLane(lane), 5000); }
      });
    } else {
      await sendAll(lane);
    }
  } finally {
    lane.running = false;
    if (lane.again) { kickLane(lane); }
  }
}

async function sendAll(lane) {
  for (;;) {
    lane.again = false;
    const who = api.session();
    if (!who) { return; }
    const next = nextItem(await store.outboxItems(), who.user, Date.now(), lane.name);
    if (!next) { return; }
    if (next.waitMs > 0) {
      lane.timer = setTimeout(() => kickLane(lane), next.waitMs);
      return;
    }
    const stop = await attempt(next.item);
    // A discreet panic changes nothing on screen, sent or not (the phone may be watched).
    if (!next.item.discreet) { handlers.onChange(); }
    if (stop) { return; }
  }
}

/** The request an item stands for: {status, body, retryAfter} like api.call. */
async function send(item, body) {
  if (item.kind === "segment") { return sendSegment(item); }
  if (item.files) { return api.call("POST", item.path, api.formOf(body, item.files, item.filenames)); }
  return api.call("POST", item.path, body);
}

/** A recording segment, through tus (tus-js-client): resumed where it stopped after a dropped
 * connection or a reload (the upload's URL is kept under the item's id), and checked by the
 * server against the SHA-256 the phone declared when the last byte arrives. */
function sendSegment(item) {
  return new Promise((resolve) => {
    const upload = new window.tus.Upload(item.files.file, {
      endpoint: "/api/v1/uploads/",
      headers: {Authorization: `Token ${api.token()}`},
      metadata: item.body,
      chunkSize: chunkBytes,
      // A few quick retries inside one attempt; after that the outbox's backoff takes over.
      retryDelays: [0, 1000, 3000],
      fingerprint: async () => `fieldapp-segment-${item.id}`,
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onProgress: (sent, total) => handlers.onProgress(item, sent, total),
      onSuccess: () => resolve({status: 201, body: {sha256: item.body.sha256}, retryAfter: null}),
      onError: (error) => {
        const response = error && error.originalResponse;
        let body = null;
        try { body = response ? JSON.parse(response.getBody()) : null; } catch { body = null; }
        resolve({
          status: response ? response.getStatus() : 0, body,
          retryAfter: response ? response.getHeader("Retry-After") : null,
        });
      },
    });
    upload.findPreviousUploads()
      .then((previous) => { if (previous.length) { upload.resumeFromPreviousUpload(previous[0]); } })
      .catch(() => {})
      .finally(() => upload.start());
  });
}

/** One attempt; true when the runner must stop (signed out). */
async function attempt(item) {
  const body = await bodyToSend(item);
  if (body === null) {
    await store.updateItem(afterFailure(item, Date.now(), Math.random(), "no position yet"));
    return false;
  }
  const answer = await send(item, body);
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
  await handlers.onSettled(item, result);  // what follows from it is done before the next send
}
