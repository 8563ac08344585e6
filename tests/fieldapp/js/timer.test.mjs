import assert from "node:assert/strict";
import {test} from "node:test";
import {load} from "./load.mjs";

const tm = await load("timer.js");
const panic = await load("panic.js");

const DUE = "2026-11-24T10:00:00+08:00";
const dueMs = Date.parse(DUE);

test("the countdown runs, warns two minutes before, then is overdue", () => {
  assert.deepEqual(tm.timerState(dueMs - 600_000, DUE), {phase: "running", remainingMs: 600_000});
  assert.equal(tm.timerState(dueMs - 120_000, DUE).phase, "soon");
  assert.equal(tm.timerState(dueMs, DUE).phase, "overdue");
  assert.equal(tm.timerState(dueMs + 5_000, DUE).remainingMs, -5_000);
  assert.equal(tm.timerState(dueMs, null).phase, "idle");
});

test("it rings once per due time", () => {
  const soon = tm.timerState(dueMs - 60_000, DUE);
  assert.equal(tm.shouldRing(soon, DUE, null), true);
  assert.equal(tm.shouldRing(soon, DUE, DUE), false);
  assert.equal(tm.shouldRing(tm.timerState(dueMs - 600_000, DUE), DUE, null), false);
});

test("countdown text", () => {
  assert.equal(tm.formatCountdown(29 * 60_000 + 59_000), "29:59");
  assert.equal(tm.formatCountdown(3_723_000), "1:02:03");
  assert.equal(tm.formatCountdown(-250_000), "-04:10");
  assert.equal(tm.formatCountdown(null), "--:--");
});

test("the discreet panic needs five taps within two seconds", () => {
  const taps = [];
  assert.deepEqual([0, 400, 800, 1200].map((at) => panic.registerTap(taps, at)), [false, false, false, false]);
  assert.equal(panic.registerTap(taps, 1600), true);
  assert.equal(taps.length, 0);
  const slow = [];
  assert.equal([0, 600, 1200, 1800, 2400].map((at) => panic.registerTap(slow, at)).some(Boolean), false);
  assert.equal(panic.registerTap(slow, 2500), true);  // the last five within 2 s
});

test("the server's remind_at sets when the phone rings", () => {
  const remind = "2026-11-24T09:55:00+08:00";  // five minutes before
  assert.equal(tm.timerState(dueMs - 290_000, DUE, remind).phase, "soon");
  assert.equal(tm.timerState(dueMs - 310_000, DUE, remind).phase, "running");
  // A remind_at after the due time, or none, falls back to two minutes before.
  assert.equal(tm.timerState(dueMs - 150_000, DUE, "2026-11-24T10:05:00+08:00").phase, "running");
  assert.equal(tm.timerState(dueMs - 150_000, DUE, null).phase, "running");
});
