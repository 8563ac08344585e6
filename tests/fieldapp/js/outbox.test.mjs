import assert from "node:assert/strict";
import {test} from "node:test";
import {load} from "./load.mjs";

const ob = await load("outbox.js");

const item = (seq, kind = "checkin", extra = {}) => ({seq, id: `id-${seq}`, kind, user: "agent_a", attempts: 0, next_attempt_at: 0, ...extra});

test("items go in capture order, panics first", () => {
  const items = [item(3), item(1), item(5, "panic"), item(2), item(4, "panic")];
  assert.deepEqual(ob.ordered(items).map((i) => i.seq), [4, 5, 1, 2, 3]);
});

test("the head of the line waits out its backoff and holds the others back", () => {
  const items = [item(1, "checkin", {next_attempt_at: 10_000}), item(2)];
  const next = ob.nextItem(items, "agent_a", 4_000);
  assert.equal(next.item.seq, 1);
  assert.equal(next.waitMs, 6_000);
  assert.equal(ob.nextItem(items, "agent_a", 12_000).waitMs, 0);
});

test("a panic captured later jumps the line even past an item in backoff", () => {
  const items = [item(1, "checkin", {next_attempt_at: 99_000}), item(2, "panic")];
  const next = ob.nextItem(items, "agent_a", 1_000);
  assert.deepEqual([next.item.seq, next.waitMs], [2, 0]);
});

test("only the signed-in user's items are sent; nothing waiting gives null", () => {
  const items = [item(1, "checkin", {user: "agent_b"})];
  assert.equal(ob.nextItem(items, "agent_a", 0), null);
  assert.equal(ob.nextItem([], "agent_a", 0), null);
});

test("backoff doubles from 2 s up to 5 minutes, with equal jitter", () => {
  assert.equal(ob.backoffDelay(1, 0), 1000);      // half of 2 s fixed, random part 0
  assert.equal(ob.backoffDelay(1, 0.999999), 2000);
  assert.equal(ob.backoffDelay(2, 0), 2000);
  assert.equal(ob.backoffDelay(3, 0), 4000);
  assert.equal(ob.backoffDelay(30, 0), 150_000);   // capped at MAX_DELAY_MS / 2 + jitter
  assert.ok(ob.backoffDelay(30, 0.999999) <= ob.MAX_DELAY_MS);
});

test("after a failure: one more attempt, the next try later; Retry-After is honoured", () => {
  const failed = ob.afterFailure(item(1), 1_000, 0, "no network");
  assert.deepEqual([failed.attempts, failed.next_attempt_at, failed.last_error], [1, 2_000, "no network"]);
  const twice = ob.afterFailure(failed, 5_000, 0, "HTTP 503");
  assert.deepEqual([twice.attempts, twice.next_attempt_at], [2, 7_000]);
  const throttled = ob.afterFailure(item(1), 0, 0, "HTTP 429", ob.retryAfterSeconds("30"));
  assert.equal(throttled.next_attempt_at, 30_000);
});

test("the network coming back forgets every backoff", () => {
  const items = ob.resetBackoff([item(1, "checkin", {next_attempt_at: 50_000, attempts: 4})]);
  assert.equal(ob.nextItem(items, "agent_a", 0).waitMs, 0);
  assert.equal(items[0].attempts, 4);  // the history stays visible
});

test("answers: delivered, retry, sign in again, or refused", () => {
  assert.equal(ob.classify(201), "done");
  assert.equal(ob.classify(200), "done");  // the same id sent before: the server has it
  for (const status of [0, 408, 429, 500, 502, 503]) { assert.equal(ob.classify(status), "retry", status); }
  assert.equal(ob.classify(401), "auth");
  for (const status of [400, 403, 404, 409, 413, 422]) { assert.equal(ob.classify(status), "rejected", status); }
});

test("discreet panics never show in what the agent sees as waiting", () => {
  const items = [item(1), item(2, "panic", {discreet: true}), item(3, "panic")];
  assert.deepEqual(ob.visibleItems(items, "agent_a").map((i) => i.seq), [3, 1]);
});

test("Retry-After in seconds; anything else is ignored", () => {
  assert.equal(ob.retryAfterSeconds("5"), 5);
  assert.equal(ob.retryAfterSeconds(null), null);
  assert.equal(ob.retryAfterSeconds("Wed, 21 Oct 2015 07:28:00 GMT"), null);
});

test("three lanes: a panic, the records, the media; each in its own capture order", () => {
  const items = [item(1, "photo"), item(2, "checkin"), item(3, "segment"), item(4, "receipt"),
    item(5, "panic"), item(6, "report"), item(7, "cosign")];
  assert.deepEqual(items.map(ob.laneOf), ["media", "records", "media", "records", "panic", "records", "records"]);
  assert.equal(ob.nextItem(items, "agent_a", 0, "panic").item.seq, 5);
  assert.equal(ob.nextItem(items, "agent_a", 0, "records").item.seq, 2);
  assert.equal(ob.nextItem(items, "agent_a", 0, "media").item.seq, 1);
  assert.equal(ob.nextItem(items, "agent_a", 0).item.seq, 5);  // all lanes: panics first
});

test("a photo uploading on a slow network does not hold a check-in back", () => {
  const items = [item(1, "photo", {next_attempt_at: 60_000}), item(2, "checkin")];
  assert.deepEqual([ob.nextItem(items, "agent_a", 0, "records").item.seq,
    ob.nextItem(items, "agent_a", 0, "records").waitMs], [2, 0]);
  assert.equal(ob.nextItem(items, "agent_a", 0, "media").waitMs, 60_000);
});

test("segments keep their order: a later one never overtakes one in backoff", () => {
  const items = [item(2, "segment", {next_attempt_at: 5_000}), item(3, "segment"), item(1, "checkin")];
  const next = ob.nextItem(items, "agent_a", 1_000, "media");
  assert.deepEqual([next.item.seq, next.waitMs], [2, 4_000]);
  assert.equal(ob.nextItem([], "agent_a", 0, "media"), null);
});
