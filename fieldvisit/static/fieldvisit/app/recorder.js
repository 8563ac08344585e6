// The visit's continuous recording (API.md "Audio recording"): from arrival to departure,
// cut into self-contained segments (one MediaRecorder each, DEFAULT_SEGMENT_S long), each
// hashed on the phone, chained to the one before (chain.js) and queued in the outbox, which
// uploads it with tus.
//
// Nothing recorded lives only in memory: the recorder hands over its data every second and
// each piece goes to IndexedDB at once (store.addChunk). When a segment ends, its pieces
// become one file, queued in the same transaction that drops them. After a crash, a killed
// browser or a reload, the pieces of the segment that was being recorded are assembled on
// the next start (a shorter segment: the server then reports the missing time as a gap), and
// recording resumes where the visit still needs it.
//
// The next segment's recorder starts before the previous one stops, so consecutive segments
// overlap by a few milliseconds instead of leaving a gap (the server's continuity rule allows
// at most 2 s between them).
import {
  DEFAULT_SEGMENT_S, joinChain, MIN_SEGMENT_BYTES, newChain, pickMimeType, rechain, uploadMetadata,
} from "./chain.js";
import {sha256Hex} from "./hashing.js";
import * as store from "./store.js";

const SLICE_MS = 1000;

let segmentMs = DEFAULT_SEGMENT_S * 1000;
let onChange = () => {};
let stream = null;
let current = null;      // {recorder, key, part, startedAt, mimeType, writes}
let state = null;        // kept in kv "recorder": {chain, visit, user, active, started_at, part}
let cutTimer = null;
let wakeLock = null;
let finishing = Promise.resolve();
let stopping = false;    // stop() under way: the last segment is not queued yet

export function configure(options) {
  if (options.segmentSeconds) { segmentMs = options.segmentSeconds * 1000; }
  if (options.onChange) { onChange = options.onChange; }
}

/** What the screen shows: recording or not, for which visit, since when. */
export function status() {
  return {
    active: Boolean(state && state.active),
    live: Boolean(current),
    stopping,
    visit: state ? state.chain.visit : null,
    startedAt: state ? state.started_at : null,
    segments: state ? state.chain.next_index : 0,
  };
}

export function supported() {
  return Boolean(window.MediaRecorder && navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

/**
 * Start recording `visitId` on this phone (the arrival button calls it before it takes the
 * fix, so the recording begins before the arrival it must cover). Resolves once the first
 * segment is being recorded; {error} when the microphone cannot be used.
 */
export async function start(visitId, user) {
  if (state && state.active && state.chain.visit === visitId) {
    if (!current) { return resume(); }
    return {ok: true};
  }
  if (!supported()) { return {error: "unsupported"}; }
  const mimeType = pickMimeType((type) => MediaRecorder.isTypeSupported(type));
  if (!mimeType) { return {error: "unsupported"}; }
  state = {
    chain: newChain(crypto.randomUUID(), visitId, mimeType), user, active: true,
    started_at: new Date().toISOString(), part: 0,
  };
  await store.set("recorder", state);
  return resume();
}

/** Open the microphone and record the next segment (after start, or after a reload). */
async function resume() {
  try {
    stream = await navigator.mediaDevices.getUserMedia({audio: {echoCancellation: false, noiseSuppression: false, autoGainControl: true}});
  } catch (error) {
    return {error: error && error.name === "NotAllowedError" ? "denied" : "unavailable"};
  }
  await holdWakeLock();
  await beginSegment();
  onChange();
  return {ok: true};
}

/** Stop recording: the segment being recorded is finished and queued, the microphone released. */
export async function stop() {
  if (!state || !state.active) { return; }
  stopping = true;
  try {
    state = {...state, active: false};
    await store.set("recorder", state);
    clearTimeout(cutTimer);
    const last = current;
    current = null;
    if (last) { await stopRecorder(last); }
    await finishing;
    if (stream) { stream.getTracks().forEach((track) => track.stop()); stream = null; }
    if (wakeLock) { wakeLock.release().catch(() => {}); wakeLock = null; }
  } finally {
    stopping = false;
  }
  onChange();
}

/** On the app's start: queue what a crash left behind, and go on recording if it was on. */
export async function recover(user) {
  state = (await store.get("recorder")) || null;
  if (state && state.user !== user) { state = null; }
  for (const key of await store.chunkSegments()) {
    await finishSegment(key);
  }
  if (state && state.active) { return resume(); }
  return {ok: false};
}

async function beginSegment() {
  const part = state.part;
  state = {...state, part: part + 1};
  await store.set("recorder", state);
  const key = `${state.chain.recording}:${part}`;
  const recorder = new MediaRecorder(stream, {mimeType: state.chain.mimeType, audioBitsPerSecond: 32000});
  const segment = {recorder, key, part, startedAt: null, mimeType: state.chain.mimeType, writes: Promise.resolve()};
  recorder.addEventListener("dataavailable", (event) => {
    if (!event.data || !event.data.size) { return; }
    // In order, one after another: the pieces' order is the file's.
    segment.writes = segment.writes.then(() => store.addChunk(key, event.data, {
      started_at: segment.startedAt, mime: segment.mimeType,
    }));
  });
  const started = new Promise((resolve) => recorder.addEventListener("start", resolve, {once: true}));
  recorder.start(SLICE_MS);
  await started;
  segment.startedAt = new Date().toISOString();
  const previous = current;
  current = segment;
  clearTimeout(cutTimer);
  cutTimer = setTimeout(cut, segmentMs);
  if (previous) { await stopRecorder(previous); }
}

/** The segment is long enough: the next one starts, then this one stops. */
async function cut() {
  if (!state || !state.active || !current) { return; }
  try { await beginSegment(); } catch (error) { console.warn("recording: next segment", error); }
}

function stopRecorder(segment) {
  const stopped = new Promise((resolve) => segment.recorder.addEventListener("stop", resolve, {once: true}));
  if (segment.recorder.state !== "inactive") { segment.recorder.stop(); }
  // The last piece arrives before "stop"; once it is written, the segment is complete. One
  // segment is finished after the other: each takes the chain the one before left.
  const done = finishing.then(() => stopped).then(() => segment.writes)
    .then(() => finishSegment(segment.key));
  finishing = done.catch((error) => console.warn("recording: finish", error));
  return finishing;
}

/** A segment's pieces become one file: hashed, chained, queued. Segments finish in order. */
async function finishSegment(key) {
  const chunks = await store.chunksOf(key);
  if (!chunks.length || !state) { return; }
  const first = chunks[0];
  const blob = new Blob(chunks.map((c) => c.blob), {type: first.mime});
  if (blob.size < MIN_SEGMENT_BYTES) {
    await store.dropChunks(key);  // a header and no audio: nothing of the visit is lost
    return;
  }
  const sha256 = await sha256Hex(blob);
  const {segment, chain} = joinChain(state.chain, sha256);
  const startedAt = first.started_at || new Date(first.at - SLICE_MS).toISOString();
  const item = {
    id: crypto.randomUUID(), kind: "segment", user: state.user, visit: chain.visit,
    path: "/api/v1/uploads/", body: uploadMetadata(state.chain, segment, startedAt),
    files: {file: blob}, size: blob.size, created_at: startedAt,
  };
  state = {...state, chain};
  await store.finishSegment(key, item, state);
  onChange({queued: item});
}

/** The server refused a segment: the chain goes on from the last one it holds (chain.js
 * rechain), after any segment being finished now. */
export function segmentRefused(item) {
  const done = finishing.then(async () => {
    const {changed, lastSha256} = rechain(await store.outboxItems(), item);
    for (const queued of changed) { await store.updateItem(queued); }
    if (state && state.chain.recording === item.body.recording) {
      state = {...state, chain: {...state.chain, next_index: state.chain.next_index - 1, last_sha256: lastSha256}};
      await store.set("recorder", state);
    }
  });
  finishing = done.catch((error) => console.warn("recording: rechain", error));
  return finishing;
}

async function holdWakeLock() {
  if (!("wakeLock" in navigator) || wakeLock) { return; }
  try {
    wakeLock = await navigator.wakeLock.request("screen");
    wakeLock.addEventListener("release", () => { wakeLock = null; });
  } catch { wakeLock = null; }  // refused (battery saver, hidden page): recording goes on
}

// A screen lock released by hiding the page is taken again when the agent comes back.
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && current) { holdWakeLock(); }
});
