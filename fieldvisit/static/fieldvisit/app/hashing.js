// SHA-256 of what the phone captured, computed on the phone before anything is sent: the
// server checks the declared hash against the bytes it receives (`hash_mismatch`), so a
// photo or a recording segment damaged or altered on the way is refused, never kept.
// hash-wasm (vendored) hashes incrementally: a 20 MB photo or a long segment is read in
// slices, never held twice in memory. WebCrypto's digest() would need the whole file at once.
import "../vendor/hash-wasm/sha256.umd.min.js";

export const SLICE_BYTES = 4 * 1024 * 1024;

/** Lowercase hex SHA-256 of a Blob (a File, a recorded segment, a drawn signature). */
export async function sha256Hex(blob) {
  const hasher = await self.hashwasm.createSHA256();
  hasher.init();
  for (let at = 0; at < blob.size; at += SLICE_BYTES) {
    const part = await blob.slice(at, at + SLICE_BYTES).arrayBuffer();
    hasher.update(new Uint8Array(part));
  }
  return hasher.digest("hex");
}
