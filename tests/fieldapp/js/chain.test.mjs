import assert from "node:assert/strict";
import {test} from "node:test";
import {load} from "./load.mjs";

const ch = await load("chain.js");

test("the recorder takes Opus in WebM where it can, else AAC in MP4, else nothing", () => {
  assert.equal(ch.pickMimeType(() => true), "audio/webm;codecs=opus");
  assert.equal(ch.pickMimeType((t) => t.startsWith("audio/mp4")), "audio/mp4;codecs=mp4a.40.2");
  assert.equal(ch.pickMimeType((t) => t === "audio/mp4"), "audio/mp4");
  assert.equal(ch.pickMimeType(() => false), null);
  assert.equal(ch.pickMimeType(() => { throw new Error("old browser"); }), null);
});

test("containers: a WebM segment is .webm, an MP4 one .m4a, whatever the codec parameters", () => {
  assert.deepEqual(ch.containerOf("audio/webm;codecs=opus"), {ext: "webm", contentType: "audio/webm"});
  assert.deepEqual(ch.containerOf("audio/mp4;codecs=mp4a.40.2"), {ext: "m4a", contentType: "audio/mp4"});
  assert.deepEqual(ch.containerOf("video/mp4"), {ext: "m4a", contentType: "audio/mp4"});
});

test("each segment names the one before it; the first names none", () => {
  let chain = ch.newChain("rec-1", "visit-1", "audio/webm;codecs=opus");
  const hashes = ["a".repeat(64), "b".repeat(64), "c".repeat(64)];
  const segments = [];
  for (const sha of hashes) {
    const joined = ch.joinChain(chain, sha);
    segments.push(joined.segment);
    chain = joined.chain;
  }
  assert.deepEqual(segments, [
    {index: 0, prev_sha256: "", sha256: hashes[0]},
    {index: 1, prev_sha256: hashes[0], sha256: hashes[1]},
    {index: 2, prev_sha256: hashes[1], sha256: hashes[2]},
  ]);
  assert.deepEqual([chain.next_index, chain.last_sha256], [3, hashes[2]]);
});

test("joining is pure: the chain given is left as it was (a failed store keeps it)", () => {
  const chain = ch.newChain("rec-1", "visit-1", "audio/webm");
  ch.joinChain(chain, "d".repeat(64));
  assert.deepEqual([chain.next_index, chain.last_sha256], [0, ""]);
});

test("the upload's metadata: every tus key API.md names, as strings", () => {
  const chain = {...ch.newChain("rec-1", "visit-1", "audio/mp4;codecs=mp4a.40.2"), next_index: 12};
  const {segment} = ch.joinChain({...chain, last_sha256: "e".repeat(64)}, "f".repeat(64));
  const meta = ch.uploadMetadata(chain, segment, "2026-11-24T09:31:00.000Z");
  assert.deepEqual(meta, {
    visit: "visit-1", recording: "rec-1", segment: "12", started_at: "2026-11-24T09:31:00.000Z",
    sha256: "f".repeat(64), prev_sha256: "e".repeat(64), filename: "rec-1-0012.m4a",
    content_type: "audio/mp4",
  });
  for (const value of Object.values(meta)) { assert.equal(typeof value, "string"); }
});

test("the backlog counts only segments, and their bytes", () => {
  const items = [{kind: "segment", size: 1000}, {kind: "checkin"}, {kind: "segment", size: 2500}, {kind: "photo", size: 9e6}];
  assert.deepEqual(ch.backlog(items), {count: 2, bytes: 3500});
  assert.deepEqual(ch.backlog([]), {count: 0, bytes: 0});
});

test("elapsed time and sizes as the indicator shows them", () => {
  assert.equal(ch.formatElapsed(0), "0:00");
  assert.equal(ch.formatElapsed(65_400), "1:05");
  assert.equal(ch.formatElapsed(3_723_000), "1:02:03");
  assert.equal(ch.formatBytes(850), "850 B");
  assert.equal(ch.formatBytes(240_400), "240 KB");
  assert.equal(ch.formatBytes(3_400_000), "3.4 MB");
});

test("a refused segment: those queued after it move up, the chain goes on from the last kept", () => {
  const meta = (index, sha, prev) => ({kind: "segment", body: {recording: "r", segment: String(index),
    sha256: sha, prev_sha256: prev, filename: `r-${String(index).padStart(4, "0")}.webm`}});
  const refused = meta(2, "c", "b");
  const queued = [meta(3, "d", "c"), meta(4, "e", "d"), {kind: "photo", body: {}},
    {kind: "segment", body: {recording: "other", segment: "3"}}];
  const {changed, lastSha256} = ch.rechain(queued, refused);
  assert.deepEqual(changed.map((i) => [i.body.segment, i.body.prev_sha256, i.body.sha256, i.body.filename]), [
    ["2", "b", "d", "r-0002.webm"],
    ["3", "d", "e", "r-0003.webm"],
  ]);
  assert.equal(lastSha256, "e");
  assert.deepEqual(ch.rechain([], refused), {changed: [], lastSha256: "b"});
});

test("a closed visit's recording goes on until this phone's clock is past the last leave", () => {
  const leaveA = "2026-11-24T01:30:20.000Z";
  const leaveB = "2026-11-24T01:30:26.000Z";  // the partner's clock, running ahead
  const seen = Date.parse("2026-11-24T01:30:21.000Z");  // this phone saw the visit closed
  // Not when it saw the close, but the margin past the later leave, by its own clock.
  assert.equal(ch.recordingStopsIn(seen, [leaveA, leaveB], seen), 7000);
  assert.equal(ch.recordingStopsIn(seen + 5000, [leaveB, leaveA], seen), 2000);
  assert.equal(ch.recordingStopsIn(seen + 7000, [leaveA, leaveB], seen), 0);
  assert.equal(ch.recordingStopsIn(seen + 9000, [leaveA, leaveB], seen), 0);
  // The leaves behind its clock: the margin past them, never less.
  assert.equal(ch.recordingStopsIn(seen, [leaveA], seen), 1000);
  assert.equal(ch.recordingStopsIn(seen + 1000, [leaveA], seen), 0);
  // No leave known (a stale screen): the margin from when it saw the close.
  assert.equal(ch.recordingStopsIn(seen, [], seen), ch.END_MARGIN_MS);
  assert.equal(ch.recordingStopsIn(seen, ["not a time"], seen), ch.END_MARGIN_MS);
  // A partner's clock an hour ahead: it stops at the cap, counted from when it saw the close.
  const hourAhead = "2026-11-24T02:30:26.000Z";
  assert.equal(ch.recordingStopsIn(seen, [hourAhead], seen), ch.END_WAIT_MAX_MS);
  assert.equal(ch.recordingStopsIn(seen + ch.END_WAIT_MAX_MS, [hourAhead], seen), 0);
});
