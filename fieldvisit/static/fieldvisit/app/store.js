// Everything the app keeps on the phone, in IndexedDB (through idb): the outbox, what was
// sent (with the server's answer), and the last known route, team and timer.
import {openDB} from "../vendor/idb/index.js";

const DB_NAME = "fieldapp";
const DB_VERSION = 1;

let dbPromise = null;

function db() {
  if (!dbPromise) {
    dbPromise = openDB(DB_NAME, DB_VERSION, {
      upgrade(database) {
        // seq: capture order (autoincrement), never reused, so order survives reloads.
        const outbox = database.createObjectStore("outbox", {keyPath: "seq", autoIncrement: true});
        outbox.createIndex("id", "id", {unique: true});
        // Records the server has (or refused), with its answer: shown, never re-sent.
        database.createObjectStore("sent", {keyPath: "id"});
        database.createObjectStore("kv");
      },
    });
  }
  return dbPromise;
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
    tx.objectStore("sent").put({...outcome, id: item.id, kind: item.kind, user: item.user,
      discreet: Boolean(item.discreet), body: item.body, settled_at: new Date().toISOString()}),
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
