// The visit screen's evidence sections: photos, the recording, the notice receipt and the
// report with its co-signature.
//
// The screen is redrawn whenever a record settles; a form half filled in (a signature being
// drawn, notes being typed) must survive that. So each stop's sections are built once (per
// language) and kept: a redraw moves the same nodes back into the page and refreshes only the
// lists and states inside them.
import SignaturePad from "../vendor/signature_pad/signature_pad.js";
import {ATTESTATIONS, PHOTO_KINDS, RECEIPT_OUTCOMES, REPORT_OUTCOMES, receiptProblems} from "./capture.js";
import {backlog, formatBytes, formatElapsed} from "./chain.js";
import {explainRefusal} from "./messages.js";
import {el, flagsText, timeIn} from "./views.js";

const panels = new Map();

/**
 * The sections for `stop`, built once per stop and language. `actions`: {photo, receipt,
 * report, cosign, record, stopRecording}, each returning a promise.
 */
export function evidencePanel(t, lang, stop, actions) {
  const key = `${stop.id}:${lang}`;
  if (!panels.has(key)) { panels.set(key, build(t, lang, stop, actions)); }
  return panels.get(key);
}

function select(name, id, values, label) {
  return el("select", {name, id}, values.map((value) => el("option", {value}, label(value))));
}

function checkbox(name, id, text) {
  return el("label", {class: "check"}, [el("input", {type: "checkbox", name, id}), el("span", {}, text)]);
}

function build(t, lang, stop, actions) {
  const parts = {};
  const busy = async (button, work) => {
    button.disabled = true;
    try { await work(); } finally { button.disabled = false; }
  };

  // Photos: the camera, the kind of picture, whether the partner is in it.
  const photoInput = el("input", {type: "file", accept: "image/*", capture: "environment", id: "fa-photo-input", class: "file"});
  const photoKind = select("kind", "fa-photo-kind", PHOTO_KINDS, (k) => t(`photo_${k}`));
  const partner = checkbox("partner_in_frame", "fa-photo-partner", t("partner_in_frame"));
  photoInput.addEventListener("change", async () => {
    const file = photoInput.files && photoInput.files[0];
    if (!file) { return; }
    await actions.photo({kind: photoKind.value, partnerInFrame: partner.querySelector("input").checked, file});
    photoInput.value = "";
  });
  parts.photoList = el("ul", {class: "evidence-list", id: "fa-photos"});
  const photos = el("section", {class: "evidence", "data-section": "photos"}, [
    el("h3", {}, t("section_photos")),
    el("label", {}, [t("photo_kind"), photoKind]), partner,
    el("label", {class: "big button primary", for: "fa-photo-input"}, t("take_photo")), photoInput,
    parts.photoList,
  ]);

  // The recording: its state, elapsed time and what still waits to be uploaded.
  parts.recState = el("p", {class: "rec-state", id: "fa-rec-state"});
  parts.recBacklog = el("p", {class: "muted", id: "fa-rec-backlog"});
  parts.recServer = el("p", {class: "muted", id: "fa-rec-server"});
  parts.recStart = el("button", {type: "button", class: "big", id: "fa-rec-start"}, t("record_here"));
  parts.recStop = el("button", {type: "button", class: "big", id: "fa-rec-stop"}, t("record_stop"));
  parts.recStart.addEventListener("click", () => busy(parts.recStart, actions.record));
  parts.recStop.addEventListener("click", () => {
    if (window.confirm(t("record_stop_confirm"))) { busy(parts.recStop, actions.stopRecording); }
  });
  const recording = el("section", {class: "evidence", "data-section": "recording"}, [
    el("h3", {}, t("section_recording")), parts.recState, parts.recBacklog, parts.recServer,
    parts.recStart, parts.recStop,
  ]);

  // The notice receipt: who signed (drawn on the screen), or what happened to the notice.
  const outcome = select("outcome", "fa-receipt-outcome", RECEIPT_OUTCOMES, (o) => t(`receipt_${o}`));
  const notice = el("input", {name: "notice_number", id: "fa-receipt-notice", value: stop.notice_number || ""});
  const signer = el("input", {name: "signer_name", id: "fa-receipt-signer", autocomplete: "off"});
  const relation = el("input", {name: "signer_relation", id: "fa-receipt-relation", autocomplete: "off", placeholder: t("relation_example")});
  const canvas = el("canvas", {class: "signature", id: "fa-signature", width: 600, height: 240});
  const pad = new SignaturePad(canvas, {penColor: "#000", backgroundColor: "rgb(255,255,255)", minWidth: 1, maxWidth: 3});
  const slip = el("input", {type: "file", accept: "image/*", capture: "environment", id: "fa-receipt-photo", class: "file"});
  const slipLabel = el("label", {class: "big button", for: "fa-receipt-photo", id: "fa-receipt-photo-label"}, t("receipt_photo"));
  slip.addEventListener("change", () => {
    slipLabel.textContent = slip.files && slip.files[0] ? t("receipt_photo_taken") : t("receipt_photo");
  });
  // Signed by a relation: one of the case's relations, or someone not listed (with why).
  const relations = (stop.case && stop.case.relations) || [];
  const who = el("select", {name: "relation", id: "fa-receipt-who"}, [
    ...relations.map((r) => el("option", {value: r.id}, `${r.name} (${t(`relation_${r.kind}`)})`)),
    el("option", {value: ""}, t("signer_unlisted")),
  ]);
  const reason = el("textarea", {name: "third_party_reason", id: "fa-receipt-reason", rows: 2});
  const unlisted = el("div", {id: "fa-receipt-unlisted"}, [
    el("label", {}, [t("signer_name"), signer]),
    el("label", {id: "fa-receipt-relation-label"}, [t("signer_relation"), relation]),
    el("label", {id: "fa-receipt-reason-label"}, [t("third_party_reason"), reason]),
  ]);
  const signing = el("div", {id: "fa-receipt-signing"}, [
    el("label", {id: "fa-receipt-who-label"}, [t("signer_who"), who]),
    unlisted,
    el("p", {class: "label"}, t("signature_here")), canvas,
    el("button", {type: "button", class: "small", onclick: () => pad.clear()}, t("signature_clear")),
  ]);
  const showOutcome = () => {
    const byRelation = outcome.value === "signed_by_relation";
    signing.hidden = !outcome.value.startsWith("signed_by_");
    signing.querySelector("#fa-receipt-who-label").hidden = !byRelation;
    unlisted.hidden = byRelation && Boolean(who.value);
    signing.querySelector("#fa-receipt-relation-label").hidden = !byRelation;
    signing.querySelector("#fa-receipt-reason-label").hidden = !byRelation;
  };
  outcome.addEventListener("change", showOutcome);
  who.addEventListener("change", showOutcome);
  showOutcome();
  parts.receiptErrors = el("p", {class: "error", id: "fa-receipt-errors", role: "alert", hidden: true});
  parts.receiptList = el("ul", {class: "evidence-list", id: "fa-receipts"});
  const receiptSubmit = el("button", {type: "submit", class: "big primary", id: "fa-receipt-submit"}, t("receipt_submit"));
  const receiptForm = el("form", {id: "fa-receipt"}, [
    el("label", {}, [t("notice_number"), notice]), el("label", {}, [t("receipt_outcome"), outcome]),
    signing, slipLabel, slip, parts.receiptErrors, receiptSubmit,
  ]);
  receiptForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const signed = outcome.value.startsWith("signed_by_");
    const byRelation = outcome.value === "signed_by_relation";
    const chosen = byRelation ? who.value : "";
    const form = {
      notice_number: notice.value.trim(), outcome: outcome.value,
      signer_name: signed && !chosen ? signer.value.trim() : "", signer_relation: byRelation && !chosen ? relation.value.trim() : "",
      relation: chosen, third_party_reason: byRelation && !chosen ? reason.value.trim() : "",
      signature: signed && !pad.isEmpty() ? await canvasPng(canvas) : null,
      photo: slip.files && slip.files[0] ? slip.files[0] : null,
    };
    const problems = receiptProblems(form);
    parts.receiptErrors.hidden = !problems.length;
    parts.receiptErrors.textContent = problems.map((p) => t(p)).join(" ");
    if (problems.length) { return; }
    await busy(receiptSubmit, () => actions.receipt(form));
    pad.clear(); signer.value = ""; relation.value = ""; reason.value = ""; slip.value = "";
    slipLabel.textContent = t("receipt_photo");
  });
  const receipt = el("section", {class: "evidence", "data-section": "receipt"}, [
    el("h3", {}, t("section_receipt")), receiptForm, parts.receiptList,
  ]);

  // The report: filed by one agent, co-signed on the partner's own phone.
  const reportOutcome = select("outcome", "fa-report-outcome", REPORT_OUTCOMES, (o) => t(`report_${o}`));
  const amount = el("input", {name: "promise_amount", id: "fa-report-amount", inputmode: "decimal"});
  const date = el("input", {name: "promise_date", id: "fa-report-date", type: "date"});
  const promise = el("fieldset", {class: "promise", id: "fa-report-promise"}, [
    el("legend", {}, t("promise_to_pay")),
    el("label", {}, [t("promise_amount"), amount]), el("label", {}, [t("promise_date"), date]),
  ]);
  const showPromise = () => { promise.hidden = !["met_debtor", "met_relation"].includes(reportOutcome.value); };
  reportOutcome.addEventListener("change", showPromise);
  showPromise();
  const notes = el("textarea", {name: "notes", id: "fa-report-notes", rows: 4});
  const attest = ATTESTATIONS.map((name) => checkbox(name, `fa-attest-${name}`, t(`attest_${name}`)));
  parts.reportWarning = el("p", {class: "error", id: "fa-report-warning", role: "alert", hidden: true});
  const reportSubmit = el("button", {type: "submit", class: "big primary", id: "fa-report-submit"}, t("report_submit"));
  parts.reportForm = el("form", {id: "fa-report"}, [
    el("label", {}, [t("report_outcome"), reportOutcome]), promise,
    el("label", {}, [t("report_notes"), notes]),
    el("fieldset", {class: "attestations"}, [el("legend", {}, t("attestations")), ...attest]),
    parts.reportWarning, reportSubmit,
  ]);
  let warned = false;
  parts.reportForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const attestations = Object.fromEntries(ATTESTATIONS.map((name) => [name, parts.reportForm.querySelector(`#fa-attest-${name}`).checked]));
    const unconfirmed = ATTESTATIONS.filter((name) => !attestations[name]);
    // An unticked attestation is recorded as "not done" and fails the visit's compliance:
    // the agent is told so once, and sends it as it is if they tap again.
    if (unconfirmed.length && !warned) {
      warned = true;
      parts.reportWarning.hidden = false;
      parts.reportWarning.textContent = t("report_unconfirmed", {items: unconfirmed.map((n) => t(`attest_${n}`)).join("; ")});
      return;
    }
    await busy(reportSubmit, () => actions.report({
      outcome: reportOutcome.value, promise_amount: amount.value.trim(), promise_date: date.value,
      notes: notes.value, attestations,
    }));
    warned = false;
    parts.reportWarning.hidden = true;
  });
  parts.reportState = el("div", {id: "fa-report-state"});
  const report = el("section", {class: "evidence", "data-section": "report"}, [
    el("h3", {}, t("section_report")), parts.reportState, parts.reportForm,
  ]);

  return {nodes: [photos, recording, receipt, report], parts, update: (ctx) => update(t, lang, stop, parts, actions, ctx)};
}

function canvasPng(canvas) {
  return new Promise((resolve) => canvas.toBlob((blob) => resolve(blob), "image/png"));
}

/** The records of one kind for this visit: sent (with the server's answer) and waiting. */
function recordsOf(kind, visitId, ctx) {
  const sent = ctx.sent.filter((s) => s.kind === kind && s.visit === visitId);
  const waiting = ctx.outbox.filter((i) => i.kind === kind && i.visit === visitId);
  return [...waiting.map((i) => ({...i, status: "waiting"})), ...sent];
}

function statusWords(t, lang, record) {
  if (record.status === "waiting") { return t("evidence_waiting"); }
  if (record.status === "refused") { return `${t("not_accepted")}: ${explainRefusal(lang, record.code, record.detail).what}`; }
  return t("evidence_received");
}

function update(t, lang, stop, parts, actions, ctx) {
  const visitId = stop.visit_id;
  parts.photoList.replaceChildren(...recordsOf("photo", visitId, ctx).map((p) => {
    const answer = p.answer || {};
    return el("li", {"data-id": p.id, "data-status": p.status, class: p.status}, [
      `${t(`photo_${p.body.kind}`)} · ${timeIn(lang, p.body.captured_at, stop.address.timezone)} · ${statusWords(t, lang, p)}`,
      Number.isFinite(answer.distance_m) ? ` · ${t("distance", {m: Math.round(answer.distance_m)})}` : "",
      answer.flags && answer.flags.length ? ` · ${flagsText(t, answer.flags)}` : "",
    ]);
  }));

  // Recording.
  const rec = ctx.recorder;
  const here = rec.active && rec.visit === visitId;
  const waiting = backlog(ctx.outbox.filter((i) => i.visit === visitId));
  const mine = rec.visit === visitId;
  parts.recState.dataset.recording = here ? (rec.live ? "live" : "paused")
    : (mine && rec.stopping ? "stopping" : "off");
  // Segments this phone recorded for the visit (queued or sent): a test's and a support
  // person's way to compare with what the office has.
  parts.recState.dataset.segments = String(mine ? rec.segments : 0);
  parts.recState.replaceChildren(here
    ? el("span", {class: "rec-dot"}, [rec.live ? t("recording_live") : t("recording_paused"), " ",
      el("span", {id: "fa-rec-elapsed", "data-since": rec.startedAt}, formatElapsed(Date.now() - Date.parse(rec.startedAt))),
      " · ", t("segments_done", {n: rec.segments})])
    : (mine ? t("recording_done_here", {n: rec.segments})
      : t(ctx.visitStatus === "planned" ? "recording_on_arrival" : "recording_not_here")));
  parts.recBacklog.dataset.count = String(waiting.count);
  parts.recBacklog.textContent = waiting.count
    ? t("upload_backlog", {n: waiting.count, size: formatBytes(waiting.bytes)}) : t("upload_backlog_none");
  const server = ctx.detail && ctx.detail.recording;
  parts.recServer.textContent = server && server.segments && server.segments.length
    ? t(server.continuous ? "recording_server_continuous" : "recording_server_gaps", {n: server.segments.length})
    : "";
  parts.recStart.hidden = here && rec.live;
  parts.recStart.textContent = here ? t("record_resume") : t("record_here");
  parts.recStop.hidden = !here;

  parts.receiptList.replaceChildren(...recordsOf("receipt", visitId, ctx).map((r) =>
    el("li", {"data-id": r.id, "data-status": r.status, class: r.status},
      `${t(`receipt_${r.body.outcome}`)} · ${statusWords(t, lang, r)}${r.answer && r.answer.flags && r.answer.flags.length ? ` · ${flagsText(t, r.answer.flags)}` : ""}`)));

  // The report: the visit's current one as the server has it, else what this phone filed.
  const current = ctx.detail && ctx.detail.report;
  const mineWaiting = recordsOf("report", visitId, ctx).find((r) => r.status === "waiting");
  const cosignWaiting = recordsOf("cosign", visitId, ctx).find((r) => r.status === "waiting");
  const lastRefusal = [...recordsOf("report", visitId, ctx), ...recordsOf("cosign", visitId, ctx)]
    .filter((r) => r.status === "refused").sort((a, b) => (a.settled_at < b.settled_at ? 1 : -1))[0];
  const state = [];
  if (current) {
    state.push(el("p", {id: "fa-report-current", "data-status": current.status, "data-author": current.author},
      t("report_current", {outcome: t(`report_${current.outcome}`), author: current.author, status: t(`report_status_${current.status}`)})));
    if (current.failed_attestations && current.failed_attestations.length) {
      state.push(el("p", {class: "error"}, t("report_failed_attestations", {items: current.failed_attestations.map((n) => t(`attest_${n}`)).join("; ")})));
    }
    if (current.status === "awaiting_cosign" && current.author !== ctx.user && !cosignWaiting) {
      const closed = ["closed", "reported", "reviewed"].includes(ctx.visitStatus);
      const button = el("button", {type: "button", class: "big primary", id: "fa-cosign", disabled: !closed,
        onclick: () => actions.cosign(current.id)}, t("cosign"));
      state.push(button);
      if (!closed) { state.push(el("p", {class: "muted"}, t("cosign_after_leave"))); }
    } else if (current.status === "awaiting_cosign" && current.author === ctx.user) {
      state.push(el("p", {class: "muted"}, t("report_awaiting_partner")));
    }
  }
  if (mineWaiting) { state.push(el("p", {class: "muted", id: "fa-report-queued"}, t("report_queued"))); }
  if (cosignWaiting) { state.push(el("p", {class: "muted", id: "fa-cosign-queued"}, t("cosign_queued"))); }
  if (lastRefusal) {
    const words = explainRefusal(lang, lastRefusal.code, lastRefusal.detail);
    state.push(el("p", {class: "error", id: "fa-report-refused", "data-code": lastRefusal.code}, `${t("not_accepted")}: ${words.what} ${words.next}`));
  }
  parts.reportState.replaceChildren(...state);
  // One report a visit from this screen (a correction is filed from the office for now).
  parts.reportForm.hidden = Boolean(current || mineWaiting) || ctx.visitStatus === "planned";
}
