// Screens as DOM built with textContent only: names and addresses come from case files and
// are never parsed as HTML.

export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) { continue; }
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  for (const child of [].concat(children)) {
    if (child === null || child === undefined || child === false) { continue; }
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

/** A time in a given IANA zone (the stop's own), in the app's language. */
export function timeIn(lang, iso, zone, withZone = false) {
  if (!iso) { return ""; }
  const options = {hour: "2-digit", minute: "2-digit", hourCycle: "h23"};
  if (zone) { options.timeZone = zone; }
  if (withZone) { options.timeZoneName = "short"; }
  try {
    return new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-GB", options).format(new Date(iso));
  } catch {
    return new Date(iso).toISOString().slice(11, 16);
  }
}

export function money(lang, amount) {
  const value = Number(amount);
  if (!Number.isFinite(value)) { return String(amount); }
  return new Intl.NumberFormat(lang === "zh" ? "zh-CN" : "en-GB", {
    minimumFractionDigits: 2, maximumFractionDigits: 2,
  }).format(value);
}

function field(label, value, cls = "") {
  return el("div", {class: `field ${cls}`}, [el("span", {class: "label"}, label), el("span", {class: "value"}, value)]);
}

/** One stop's facts, as on the route list and the visit screen: its hazards first. */
export function stopFacts(t, lang, stop, now) {
  const zone = stop.address.timezone;
  const hazards = stop.address.hazards || [];
  const warning = hazards.length || stop.address.hazard_notes
    ? el("p", {class: "hazard", role: "note", "data-hazards": hazards.join(" ")}, [
      `⚠ ${t("hazard_title")}: `,
      hazards.map((h) => t(`hazard_${h}`)).join(", "),
      stop.address.hazard_notes ? ` (${stop.address.hazard_notes})` : "",
    ])
    : null;
  return [
    caseWarning(t, stop.case),
    warning,
    field(t("debtor"), stop.case.debtor_name, "debtor"),
    field(t("id_number"), stop.case.debtor_id_masked || "—", "id-masked"),
    el("p", {class: "address"}, stop.address.text),
    field(t("amount_due"), money(lang, stop.case.amount_due), "amount"),
    field(t("notice_number"), stop.notice_number || "—", "notice-number"),
    field(t("local_time"), timeIn(lang, new Date(now).toISOString(), zone, true), "local-time"),
    relationsList(t, stop.case.relations || []),
    previousVisits(t, stop.case.previous_visits || []),
  ];
}

/** A case that is not open, or a debtor not to be contacted: the server refuses the arrival,
 * so the agent is told before knocking. */
function caseWarning(t, c) {
  const lines = [];
  if (c.do_not_contact) { lines.push(t("case_do_not_contact")); }
  if (c.status && c.status !== "open") {
    lines.push(t("case_not_visitable", {status: t(`case_status_${c.status}`)}));
  }
  if (!lines.length) { return null; }
  return el("p", {class: "case-warning", role: "alert", "data-case-status": c.status || ""}, [
    `⛔ ${lines.join("; ")}`,
    c.status_reason ? ` (${c.status_reason})` : "",
  ]);
}

function relationsList(t, relations) {
  if (!relations.length) { return null; }
  return field(t("relations"), relations.map((r) => `${r.name} (${t(`relation_${r.kind}`)}`
    + `${r.do_not_contact ? `, ${t("relation_dnc")}` : ""})`).join("; "), "relations");
}

function previousVisits(t, visits) {
  if (!visits.length) { return null; }
  return field(t("previous_visits"), visits.map((v) => `${v.date}: `
    + `${v.outcome ? t(`receipt_${v.outcome}`) : t("no_outcome")}`).join("; "), "previous-visits");
}

export function flagsText(t, flags) {
  if (!flags || !flags.length) { return ""; }
  return t("flags", {flags: flags.map((f) => t(`flag_${f}`)).join(", ")});
}
