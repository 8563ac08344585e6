// Everything the app keeps on the phone, in IndexedDB (through idb): the outbox, what was
// sent (with the server's answer), the last known route, team and timer, and the recording
// as it is captured (second by second, so a killed browser loses at most the last second).
import {openDB} from "../vendor/idb/index.js";

const DB_NAME = "fieldapp";
const DB_VERSION = 2;

let dbPromise = null;

function db() {
  if (!dbPromise) {
    dbPromise = openDB(DB_NAME, DB_VERSION, {
      upgrade(database, oldVersion) {
        if (oldVersion < 1) { version1(database); }
        if (oldVersion < 2) {
          // The recording's data as the recorder hands it over (about a second each), under
          // its segment's key: the segment is assembled from them when it ends, or after a
          // crash from whatever was kept.
          const chunks = database.createObjectStore("chunks", {keyPath: "n", autoIncrement: true});
          chunks.createIndex("segment", "segment");
        }
      },
    });
  }
  return dbPromise;
}

function version1(database) {
  // seq: capture order (autoincrement), never reused, so order survives reloads.
  const outbox = database.createObjectStore("outbox", {keyPath: "seq", autoIncrement: true});
  outbox.createIndex("id", "id", {unique: true});
  // Records the server has (or refused), with its answer: shown, never re-sent.
  database.createObjectStore("sent", {keyPath: "id"});
  database.createObjectStore("kv");
}

export async function enqueue(item) {
  const database = await db();
  const seq = await database.add("outbox", {attempts: 0, next_attempt_at: 0, ...item});
  return {...item, seq};
}

export async function outboxItems() {
  return (await db()).getAll("outbox");
}

export async function updateItem(item) {
  return (await db()).put("outbox", item);
}

/** The item leaves the outbox and its outcome is kept, in one transaction: a reload between
 * the two can neither lose it nor send it twice. */
export async function settle(item, outcome) {
  const database = await db();
  const tx = database.transaction(["outbox", "sent"], "readwrite");
  await Promise.all([
    tx.objectStore("outbox").delete(item.seq),
    // What the server has is kept without its bytes; what it refused keeps them, so that
    // nothing captured is lost on the phone's side (a supervisor can still recover it).
    tx.objectStore("sent").put({...outcome, id: item.id, kind: item.kind, user: item.user,
      discreet: Boolean(item.discreet), body: item.body, visit: item.visit || null,
      size: item.size || 0, files: outcome.status === "refused" ? item.files || null : null,
      settled_at: new Date().toISOString()}),
    tx.done,
  ]);
}

/** Apply `reset` (outbox.js resetBackoff) to the items still waiting, in one transaction, so an
 * item settled meanwhile is not written back. */
export async function resetBackoff(reset) {
  const tx = (await db()).transaction("outbox", "readwrite");
  for (const item of reset(await tx.store.getAll())) { await tx.store.put(item); }
  await tx.done;
}

export async function sentItems() {
  return (await db()).getAll("sent");
}

export async function get(key) {
  return (await db()).get("kv", key);
}

export async function set(key, value) {
  return (await db()).put("kv", value, key);
}

/** One piece of the segment being recorded. */
export async function addChunk(segment, blob, meta = {}) {
  return (await db()).add("chunks", {...meta, segment, blob, at: Date.now()});
}

/** The pieces of a segment, in the order they were recorded. */
export async function chunksOf(segment) {
  return (await db()).getAllFromIndex("chunks", "segment", segment);
}

/** The keys of the segments that have pieces kept (after a crash: the ones never finished). */
export async function chunkSegments() {
  const all = await (await db()).getAll("chunks");
  return [...new Set(all.map((c) => c.segment))];
}

/**
 * A finished segment goes into the outbox, its pieces go, and the recording's chain moves on,
 * in one transaction: a crash in between leaves either the pieces (assembled again on the
 * next start) or the queued segment, never both and never neither.
 */
export async function finishSegment(segmentKey, item, recorderState) {
  const database = await db();
  const tx = database.transaction(["outbox", "chunks", "kv"], "readwrite");
  const chunks = tx.objectStore("chunks");
  const done = [];
  done.push(tx.objectStore("outbox").add({attempts: 0, next_attempt_at: 0, ...item}));
  for (const key of await chunks.index("segment").getAllKeys(segmentKey)) {
    done.push(chunks.delete(key));
  }
  done.push(tx.objectStore("kv").put(recorderState, "recorder"));
  await Promise.all([...done, tx.done]);
}

/** A segment's pieces dropped (a recorder stopped before any audio). */
export async function dropChunks(segmentKey) {
  const tx = (await db()).transaction("chunks", "readwrite");
  for (const key of await tx.store.index("segment").getAllKeys(segmentKey)) {
    await tx.store.delete(key);
  }
  await tx.done;
}
