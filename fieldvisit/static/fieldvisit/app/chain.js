// A visit's recording as plain functions (no MediaRecorder, no IndexedDB, no clock):
// which format to record in, how each segment joins the chain, what its upload says about
// it (API.md "Audio recording"), and how much is still waiting to be uploaded.
// Unit tests: tests/fieldapp/js/chain.test.mjs (node --test).
//
// A segment is a self-contained, playable file (one MediaRecorder per segment), so each can be
// hashed, uploaded and judged on its own; segment n names the SHA-256 of segment n-1
// (`prev_sha256`), so none can later be dropped, swapped or slipped in.

export const DEFAULT_SEGMENT_S = 60;

// What browsers record, in order of preference: Opus in WebM (Chrome, Firefox, Edge), AAC in
// MP4 (Safari; Chrome where offered). The server times both from their content.
export const MIME_TYPES = [
  "audio/webm;codecs=opus",
  "audio/mp4;codecs=mp4a.40.2",
  "audio/mp4",
  "audio/webm",
];

/** The first type the browser can record (`isSupported`: MediaRecorder.isTypeSupported). */
export function pickMimeType(isSupported) {
  return MIME_TYPES.find((type) => {
    try { return Boolean(isSupported(type)); } catch { return false; }
  }) || null;
}

/** The file extension and bare content type for a recorder's (possibly parameterised) type. */
export function containerOf(mimeType) {
  const bare = String(mimeType || "").split(";")[0].trim().toLowerCase();
  if (bare === "audio/mp4" || bare === "video/mp4") { return {ext: "m4a", contentType: "audio/mp4"}; }
  if (bare === "audio/ogg") { return {ext: "ogg", contentType: "audio/ogg"}; }
  return {ext: "webm", contentType: "audio/webm"};
}

/** A new recording's chain: nothing recorded yet. */
export function newChain(recording, visit, mimeType) {
  return {recording, visit, mimeType, next_index: 0, last_sha256: ""};
}

/**
 * Segment `chain.next_index`, hashed `sha256`, joins the chain: its place (index and the
 * previous segment's hash) and the chain after it. Pure: the caller stores both together.
 */
export function joinChain(chain, sha256) {
  const segment = {index: chain.next_index, prev_sha256: chain.last_sha256, sha256};
  return {segment, chain: {...chain, next_index: chain.next_index + 1, last_sha256: sha256}};
}

/** The tus `Upload-Metadata` of a segment (every value a string, as tus requires). */
export function uploadMetadata(chain, segment, startedAtIso) {
  const {ext, contentType} = containerOf(chain.mimeType);
  return {
    visit: String(chain.visit),
    recording: String(chain.recording),
    segment: String(segment.index),
    started_at: startedAtIso,
    sha256: segment.sha256,
    prev_sha256: segment.prev_sha256,
    filename: `${chain.recording}-${String(segment.index).padStart(4, "0")}.${ext}`,
    content_type: contentType,
  };
}

/** What waits to be uploaded: segments in the outbox, their count and bytes. */
export function backlog(items) {
  const segments = items.filter((item) => item.kind === "segment");
  return {
    count: segments.length,
    bytes: segments.reduce((sum, item) => sum + (item.size || 0), 0),
  };
}

/** "12 s", "1:05", "1:02:03": the recording's elapsed time as the indicator shows it. */
export function formatElapsed(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}

/** Bytes in words: 850 B, 240 KB, 3.4 MB. */
export function formatBytes(bytes) {
  if (bytes < 1000) { return `${bytes} B`; }
  if (bytes < 1_000_000) { return `${Math.round(bytes / 1000)} KB`; }
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

// Below this a segment holds a container header and no audio (a recorder stopped before its
// first second): nothing of the visit is in it, and the server would refuse it.
export const MIN_SEGMENT_BYTES = 1000;

/**
 * The server refused segment `refused` (its hash, damaged audio): the segments queued after it
 * move up one place, the first naming the refused one's predecessor, so the chain goes on
 * from the last segment the server holds. The refused bytes stay on the phone; the recording
 * shows the missing time as a gap. Returns the changed items (pure: the caller stores them)
 * and the chain's new end.
 */
export function rechain(queued, refused) {
  const recording = refused.body.recording;
  const at = Number(refused.body.segment);
  const after = queued
    .filter((i) => i.kind === "segment" && i.body.recording === recording && Number(i.body.segment) > at)
    .sort((a, b) => Number(a.body.segment) - Number(b.body.segment));
  const changed = after.map((item) => {
    const index = Number(item.body.segment) - 1;
    const prev = index === at ? refused.body.prev_sha256 : item.body.prev_sha256;
    const filename = item.body.filename.replace(/-\d+\.(\w+)$/, `-${String(index).padStart(4, "0")}.$1`);
    return {...item, body: {...item.body, segment: String(index), prev_sha256: prev, filename}};
  });
  const last = changed.length ? changed[changed.length - 1].body.sha256 : refused.body.prev_sha256;
  return {changed, lastSha256: last};
}

// Once the visit has closed, the recording goes on until this phone's clock is this far past
// the last leave's `captured_at`: the server judges the recording's end (this phone's clock:
// a segment's start plus its audio) against that leave as the leaving phone stamped it, so the
// partner's clock running ahead, or a last piece of audio a little shorter than the time it
// took, must not leave the end of the visit off the record.
export const END_MARGIN_MS = 2000;
// A partner's clock that far ahead is not even flagged by the server (CLOCK_SKEW_FLAG_S); past
// that (and the margin), counted from when this phone saw the visit closed, it stops anyway.
export const END_WAIT_MAX_MS = 120_000 + END_MARGIN_MS;

/**
 * Milliseconds to go on recording a visit that has closed (0: stop now). `now` and
 * `closedSeenAt`: this phone's clock, now and when it first saw the visit closed;
 * `leaveTimes`: the `captured_at` of the visit's leave check-ins it knows of (none known: the
 * margin from when it saw the close).
 */
export function recordingStopsIn(now, leaveTimes, closedSeenAt) {
  const leaves = leaveTimes.map((at) => Date.parse(at)).filter(Number.isFinite);
  const until = (leaves.length ? Math.max(...leaves) : closedSeenAt) + END_MARGIN_MS;
  return Math.max(0, Math.min(until, closedSeenAt + END_WAIT_MAX_MS) - now);
}
