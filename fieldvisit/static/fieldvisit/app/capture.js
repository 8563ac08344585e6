// The visit's evidence as the agent captures it: photos, the notice receipt, the report and
// the partner's co-signature. Each is hashed (files) and queued in the outbox at once, with
// its bytes, so nothing depends on the network at the moment of capture; sender.js sends it.
import * as api from "./api.js";
import * as geo from "./geo.js";
import {sha256Hex} from "./hashing.js";
import * as store from "./store.js";

export const PHOTO_KINDS = ["door", "nearest_door", "surroundings", "notice_on_door", "seal", "other"];
export const RECEIPT_OUTCOMES = ["signed_by_debtor", "signed_by_relation", "refused", "not_delivered", "left_in_mailbox"];
export const REPORT_OUTCOMES = ["met_debtor", "met_relation", "no_answer", "address_not_found", "moved", "refused_contact"];
// The seeds' conduct rules, item by item (fieldvisit/rules/conduct.py), in a visit's order.
export const ATTESTATIONS = [
  "identity_shown", "identity_verified_first", "did_not_enter_residence", "no_disturbance",
  "no_physical_contact", "no_threats_or_insults", "no_impersonation", "no_unauthorised_reduction",
  "no_third_party_disclosure", "no_cash_accepted",
  "opening_statement_recorded", "closing_statement_recorded",
];
const PROMISE_OUTCOMES = new Set(["met_debtor", "met_relation"]);

/** Where the phone is, if it can tell within a few seconds: evidence is never held back for
 * want of a fix (the server flags a photo without a position, it does not refuse it). */
async function position() {
  const fix = geo.lastFix() || await geo.getFix(8000);
  return fix && !fix.error ? {lat: fix.lat, lon: fix.lon} : {lat: null, lon: null};
}

async function queue(kind, visitId, path, body, files = null, filenames = null) {
  const size = files ? Object.values(files).reduce((sum, f) => sum + (f ? f.size : 0), 0) : 0;
  return store.enqueue({
    id: body.id || crypto.randomUUID(), kind, user: api.session().user, visit: visitId, path, body,
    files, filenames, size, created_at: body.captured_at || new Date().toISOString(),
  });
}

export async function photo(visitId, {kind, partnerInFrame, file}) {
  const captured_at = new Date().toISOString();
  const [where, sha256] = await Promise.all([position(), sha256Hex(file)]);
  const body = {
    id: crypto.randomUUID(), kind, captured_at, ...where, sha256, partner_in_frame: Boolean(partnerInFrame),
  };
  return queue("photo", visitId, `/api/v1/visits/${visitId}/photos/`, body,
    {file}, {file: file.name || "photo.jpg"});
}

/** What a receipt still lacks before it can be sent (the server's receipt rule, said early). */
export function receiptProblems(form) {
  const problems = [];
  if (!form.notice_number) { problems.push("receipt_needs_notice"); }
  // A relation chosen from the case's relations names the signer; anyone else is named,
  // with their relation and why they signed.
  const listed = form.outcome === "signed_by_relation" && form.relation;
  if (form.outcome.startsWith("signed_by_")) {
    if (!form.signature) { problems.push("receipt_needs_signature"); }
    if (!form.signer_name && !listed) { problems.push("receipt_needs_signer"); }
  }
  if (form.outcome === "signed_by_relation" && !listed) {
    if (!form.signer_relation) { problems.push("receipt_needs_relation"); }
    if (!form.third_party_reason) { problems.push("receipt_needs_reason"); }
  }
  if (form.outcome === "left_in_mailbox" && !form.photo) { problems.push("receipt_needs_photo"); }
  return problems;
}

export async function receipt(visitId, form) {
  const captured_at = new Date().toISOString();
  const [where, signatureSha, photoSha] = await Promise.all([
    position(),
    form.signature ? sha256Hex(form.signature) : null,
    form.photo ? sha256Hex(form.photo) : null,
  ]);
  const body = {
    id: crypto.randomUUID(), notice_number: form.notice_number, outcome: form.outcome,
    signer_name: form.signer_name || "", signer_relation: form.signer_relation || "",
    captured_at, ...where,
  };
  if (form.relation) { body.relation = form.relation; }
  if (form.third_party_reason) { body.third_party_reason = form.third_party_reason; }
  if (signatureSha) { body.signature_sha256 = signatureSha; }
  if (photoSha) { body.photo_sha256 = photoSha; }
  return queue("receipt", visitId, `/api/v1/visits/${visitId}/receipts/`, body,
    {signature: form.signature || null, photo: form.photo || null},
    {signature: "signature.png", photo: form.photo ? form.photo.name || "slip.jpg" : "slip.jpg"});
}

export async function report(visitId, form) {
  const promise = PROMISE_OUTCOMES.has(form.outcome) && form.promise_amount
    ? {amount: form.promise_amount, date: form.promise_date} : null;
  const body = {
    id: crypto.randomUUID(), outcome: form.outcome, promise_to_pay: promise, notes: form.notes || "",
    attestations: Object.fromEntries(ATTESTATIONS.map((name) => [name, Boolean(form.attestations[name])])),
  };
  return queue("report", visitId, `/api/v1/visits/${visitId}/report/`, body);
}

export async function cosign(visitId, reportId) {
  return queue("cosign", visitId, `/api/v1/visits/${visitId}/report/cosign/`, {report: reportId});
}
