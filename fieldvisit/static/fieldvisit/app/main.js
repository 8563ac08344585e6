// The field app: sign-in, today's route, the visit screen, check-ins, the timer, panic, and
// the visit's evidence (photos, recording, receipt, report and co-signature).
// Every write goes into the outbox (IndexedDB) first and is sent by sender.js.
import * as api from "./api.js";
import * as capture from "./capture.js";
import {evidencePanel} from "./evidence.js";
import * as geo from "./geo.js";
import * as heartbeat from "./heartbeat.js";
import {explainRefusal, pickLanguage, translate} from "./messages.js";
import {visibleItems} from "./outbox.js";
import {holdButton, registerTap} from "./panic.js";
import * as recorder from "./recorder.js";
import * as sender from "./sender.js";
import * as store from "./store.js";
import {formatCountdown, shouldRing, timerState} from "./timer.js";
import {formatElapsed, recordingStopsIn} from "./chain.js";
import {el, flagsText, stopFacts, timeIn} from "./views.js";

const LANG_KEY = "fieldapp.lang";
const STOP_KINDS = new Set(["arrive", "leave"]);
const VISIT_POLL_MS = 5000;

const state = {
  lang: pickLanguage(localStorage.getItem(LANG_KEY), navigator.languages || [navigator.language]),
  route: null,
  visits: {},
  details: {},
  nextDueAt: null,
  remindAt: null,
  lastSync: null,
  outbox: [],
  sent: [],
  refusal: null,
  signInMessage: "",
};

const $ = (id) => document.getElementById(id);
const t = (key, params) => translate(state.lang, key, params);

// ---------------------------------------------------------------------------------------
// Notices and the overlay

let noticeTimer = null;
function notice(text, kind = "info", sticky = false) {
  const box = $("fa-notice");
  box.textContent = text;
  box.className = `notice notice-${kind}`;
  box.hidden = !text;
  clearTimeout(noticeTimer);
  if (text && !sticky) { noticeTimer = setTimeout(() => { box.hidden = true; }, 8000); }
}

function overlay(title, body) {
  const box = $("fa-overlay");
  box.replaceChildren(
    el("div", {class: "overlay-card"}, [
      el("h2", {}, title),
      el("p", {}, body),
      el("button", {type: "button", class: "big", onclick: () => { box.hidden = true; }}, t("close")),
    ]),
  );
  box.hidden = false;
}

// ---------------------------------------------------------------------------------------
// Loading what the phone knows

async function loadLocal() {
  state.route = (await store.get("route")) || null;
  state.visits = (await store.get("visits")) || {};
  state.details = (await store.get("visit_details")) || {};
  state.nextDueAt = (await store.get("next_due_at")) || null;
  state.remindAt = (await store.get("remind_at")) || null;
  state.lastSync = (await store.get("last_sync")) || null;
  const who = api.session();
  state.outbox = who ? visibleItems(await store.outboxItems(), who.user) : [];
  state.sent = who
    ? (await store.sentItems())
      .filter((s) => s.user === who.user && !s.discreet && Date.now() - Date.parse(s.settled_at) < 86_400_000)
      .sort((a, b) => (a.settled_at < b.settled_at ? 1 : -1))
    : [];
}

/** Today's route from the server (the team's day); the cached one when offline. */
let routeRetry = null;
async function refreshRoute() {
  clearTimeout(routeRetry);
  const answer = await api.call("GET", "/api/v1/routes/");
  if (answer.status === 401) { authLost(answer.body && answer.body.code); return; }
  if (answer.status !== 200 || !answer.body) {
    // A busy or briefly unreachable server (no answer, 429, 5xx): the screen would keep a
    // stale route (a visit opened by the last check-in not shown), so ask again shortly.
    if (navigator.onLine && (answer.status === 0 || answer.status === 429 || answer.status >= 500)) {
      const wait = Math.min(Number(answer.retryAfter) || 2, 30) * 1000;
      routeRetry = setTimeout(refreshRoute, wait);
    }
    return;
  }
  const routes = answer.body.results || [];
  const route = routes.find((r) => r.status !== "draft" && r.status !== "rejected") || routes[0] || null;
  state.route = route;
  await store.set("route", route);
  heartbeat.kick();  // out now (a depart just landed): the first beat need not wait a minute
  if (route) {
    for (const stop of route.stops) {
      if (stop.visit_id && !state.visits[stop.visit_id]) { state.visits[stop.visit_id] = "planned"; }
    }
  }
  render();
}

async function refreshVisit(visitId) {
  const answer = await api.call("GET", `/api/v1/visits/${visitId}/`);
  if (answer.status === 200 && answer.body) {
    const changed = JSON.stringify(state.details[visitId]) !== JSON.stringify(answer.body);
    state.visits[visitId] = answer.body.status;
    state.details[visitId] = answer.body;
    await store.set("visits", state.visits);
    await store.set("visit_details", state.details);
    await stopRecordingWhenClosed(visitId);
    if (changed) { render(); }
  }
}

// ---------------------------------------------------------------------------------------
// The recording: started on this phone by the first agent to arrive, kept on until both
// agents have left (the recording must cover the whole visit), then stopped.

const CLOSED = new Set(["closed", "reported", "reviewed"]);
const closedSeenAt = new Map();  // visit → this phone's time when it first saw it closed
let stopTimer = null;

async function startRecording(visitId) {
  const started = await recorder.start(visitId, api.session().user);
  if (started.error) { notice(t(`recording_error_${started.error}`), "error", true); }
  await loadLocal();
  render();
  return started;
}

/**
 * Both agents have left: the recording stops, but not before this phone's clock is past the
 * last leave (chain.js recordingStopsIn). The leave was stamped by the partner's phone, whose
 * clock may run ahead of this one; stopping the moment the server says "closed" (a poll, or
 * the answer to this phone's own leave) can end the recording, on the record, before the visit
 * did. Each call decides again from the check-ins known then.
 */
async function stopRecordingWhenClosed(visitId) {
  const rec = recorder.status();
  if (!(rec.active && rec.visit === visitId && CLOSED.has(state.visits[visitId]))) { return; }
  if (!closedSeenAt.has(visitId)) { closedSeenAt.set(visitId, Date.now()); }
  const checkins = (state.details[visitId] && state.details[visitId].checkins) || [];
  const leaves = checkins.filter((c) => c.kind === "leave").map((c) => c.captured_at);
  const wait = recordingStopsIn(Date.now(), leaves, closedSeenAt.get(visitId));
  clearTimeout(stopTimer);
  if (wait > 0) {
    stopTimer = setTimeout(() => stopRecordingWhenClosed(visitId), wait);
    return;
  }
  await recorder.stop();
  notice(t("recording_stopped"));
}

// ---------------------------------------------------------------------------------------
// Writes: check-ins and panics, always through the outbox

async function checkIn(kind, stop = null) {
  if (!state.route) { return; }
  if (kind === "depart") { askNotificationPermission(); }
  if (kind === "arrive" && stop && stop.visit_id) {
    // The first agent at the door records: before the arrival is captured, so the recording
    // covers it. The partner's phone sees the visit "arriving" and leaves the recording to it;
    // online, it asks the server first, so a screen drawn before the partner arrived does not
    // decide.
    if (navigator.onLine) { await refreshVisit(stop.visit_id); }
    const rec = recorder.status();
    const first = (state.visits[stop.visit_id] || "planned") === "planned";
    if (first && !(rec.active && rec.visit === stop.visit_id) && recorder.supported()) {
      notice(t("recording_starting"), "info", true);
      await startRecording(stop.visit_id);
    }
  }
  notice(t("getting_fix"), "info", true);
  const fix = await geo.getFix();
  if (fix.error) {
    notice(t(fix.error === "denied" ? "no_fix_denied" : "no_fix"), "error", true);
    return;
  }
  const id = crypto.randomUUID();
  const body = {
    id, route: state.route.id, kind,
    lat: fix.lat, lon: fix.lon, accuracy_m: fix.accuracy_m,
    captured_at: new Date().toISOString(),
  };
  if (stop && STOP_KINDS.has(kind)) { body.stop = stop.id; }
  await store.enqueue({
    id, kind: "checkin", checkin_kind: kind, user: api.session().user,
    path: "/api/v1/checkins/", body, stop_id: stop ? stop.id : null,
    created_at: body.captured_at,
  });
  state.refusal = null;
  notice(t("queued", {kind: t(`kind_${kind}`)}));
  await loadLocal();
  render();
  sender.kick();
}

async function panic(discreet) {
  const who = api.session();
  if (!who) { return; }
  // No waiting for a fresh fix: the last one now, or the first one the phone gets.
  const fix = geo.lastFix();
  const id = crypto.randomUUID();
  await store.enqueue({
    id, kind: "panic", user: who.user, discreet, path: "/api/v1/alerts/panic/",
    body: {
      id, lat: fix ? fix.lat : null, lon: fix ? fix.lon : null,
      captured_at: new Date().toISOString(), note: "", discreet,
    },
    created_at: new Date().toISOString(),
  });
  sender.kick();
  if (discreet) { return; }  // the screen stays exactly as it was
  if (navigator.vibrate) { navigator.vibrate(200); }
  overlay(t("panic_queued_title"), t("panic_queued_body"));
  await loadLocal();
  render();
}

function onSettled(item, result) {
  // A refused segment: the queued ones are re-chained before the sender sends the next. The
  // visit already has the partner's recording (both phones arrived at once, offline): this
  // phone stops; its bytes stay on it.
  let rechained = null;
  if (item.kind === "segment" && result.status === "refused") {
    const another = result.code === "chain_broken" && /one recording/.test(result.detail || "");
    rechained = another ? recorder.stop().then(() => notice(t("recording_not_here")))
      : recorder.segmentRefused(item);
  }
  if (item.kind === "checkin" && result.status === "delivered") {
    const answer = result.answer || {};
    if ("next_due_at" in answer) {
      state.nextDueAt = answer.next_due_at;
      state.remindAt = answer.remind_at || null;
      store.set("next_due_at", state.nextDueAt);
      store.set("remind_at", state.remindAt);
    }
    if (answer.visit) {
      state.visits[answer.visit.id] = answer.visit.status;
      store.set("visits", state.visits);
      if (CLOSED.has(answer.visit.status) && recorder.status().active) {
        // This leave closed the visit: the partner's leave, as their phone stamped it, is read
        // first, and the stop decided from it (refreshVisit). Deciding now, without it, would
        // arm a stop 2 s away that a slow network lets fire before the partner's leave is
        // known. Should the read fail, the next poll decides; the recording goes on meanwhile.
        refreshVisit(answer.visit.id);
      } else {
        stopRecordingWhenClosed(answer.visit.id);
      }
    }
    const flags = flagsText(t, answer.flags);
    notice([t("delivered", {kind: t(`kind_${item.checkin_kind}`)}), flags].filter(Boolean).join(" "));
    refreshRoute();
  } else if (item.kind === "checkin") {
    state.refusal = {kind: item.checkin_kind, ...result};
    notice("", "info");
  } else if (item.kind === "panic" && !item.discreet && result.status === "delivered") {
    if (!$("fa-overlay").hidden) { overlay(t("panic_sent_title"), t("panic_sent_body")); }
  } else if (item.visit && ["report", "cosign", "receipt"].includes(item.kind)) {
    refreshVisit(item.visit);
  }
  loadLocal().then(render);
  return rechained;
}

function authLost(code) {
  api.forget();
  state.signInMessage = code === "token_revoked" ? t("revoked") : t("session_gone");
  render();
}

// ---------------------------------------------------------------------------------------
// The timer: countdown, then notification, vibration and sound; overdue banner

function askNotificationPermission() {
  if ("Notification" in window && Notification.permission === "default") {
    Notification.requestPermission().catch(() => {});
  }
}

function beep() {
  try {
    const audio = new (window.AudioContext || window.webkitAudioContext)();
    [0, 0.4, 0.8].forEach((at) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.3;
      osc.connect(gain).connect(audio.destination);
      osc.start(audio.currentTime + at);
      osc.stop(audio.currentTime + at + 0.25);
    });
  } catch { /* no audio: the banner and vibration remain */ }
}

async function ring() {
  if (navigator.vibrate) { navigator.vibrate([400, 200, 400, 200, 400]); }
  beep();
  if ("Notification" in window && Notification.permission === "granted") {
    try {
      const registration = await navigator.serviceWorker?.getRegistration("/app/");
      const options = {body: t("timer_due_body"), tag: "checkin-due", renotify: true,
        icon: "/static/fieldvisit/app/icons/icon-192.png"};
      if (registration) { await registration.showNotification(t("timer_due_title"), options); }
      else { new Notification(t("timer_due_title"), options); }
    } catch { /* the banner remains */ }
  }
}

function tick() {
  const now = Date.now();
  $("fa-clock").textContent = new Date(now).toLocaleTimeString(state.lang === "zh" ? "zh-CN" : "en-GB",
    {hour: "2-digit", minute: "2-digit", hourCycle: "h23"});
  const timer = $("fa-timer");
  const banner = $("fa-banner");
  if (!api.session()) { banner.hidden = true; if (timer) { timer.hidden = true; } return; }
  const st = timerState(now, state.nextDueAt, state.remindAt);
  if (timer) {
    timer.hidden = false;
    timer.dataset.phase = st.phase;
    timer.textContent = st.phase === "idle"
      ? t("timer_idle") : `${t("timer_next")} ${formatCountdown(st.remainingMs)}`;
  }
  if (st.phase === "overdue") {
    const late = formatCountdown(-st.remainingMs);
    const queued = state.outbox.some((i) => i.kind === "checkin");
    banner.textContent = t(queued ? "overdue_queued" : "overdue_banner", {late});
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
  const elapsed = $("fa-rec-elapsed");
  if (elapsed) { elapsed.textContent = formatElapsed(now - Date.parse(elapsed.dataset.since)); }
  const rungFor = localStorage.getItem("fieldapp.rung_for");
  if (shouldRing(st, state.nextDueAt, rungFor)) {
    localStorage.setItem("fieldapp.rung_for", state.nextDueAt);
    ring();
  }
}

// ---------------------------------------------------------------------------------------
// Screens

function screen() {
  const match = location.hash.match(/^#\/visit\/([0-9a-f-]+)$/);
  return match ? {name: "visit", stopId: match[1]} : {name: "route"};
}

function currentStop(route) {
  if (!route) { return null; }
  return route.stops.find((s) => s.status === "planned" && !["closed", "reported", "reviewed"]
    .includes(state.visits[s.visit_id])) || null;
}

function renderSignIn() {
  const form = el("form", {class: "card signin", id: "fa-signin"}, [
    el("h1", {}, t("sign_in_title")),
    state.signInMessage ? el("p", {class: "error", id: "fa-signin-message", role: "alert"}, state.signInMessage) : null,
    el("p", {class: "muted"}, t("sign_in_help")),
    el("label", {}, [t("username"), el("input", {name: "username", id: "fa-username", autocomplete: "username", required: true, autocapitalize: "none"})]),
    el("label", {}, [t("password"), el("input", {name: "password", id: "fa-password", type: "password", autocomplete: "current-password", required: true})]),
    el("button", {type: "submit", class: "big primary", id: "fa-signin-submit"}, t("sign_in")),
  ]);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = $("fa-signin-submit");
    button.disabled = true;
    button.textContent = t("signing_in");
    const answer = await api.signIn(form.username.value.trim(), form.password.value);
    if (answer.status === 201) {
      if (!(answer.body.user.roles || []).includes("agent")) {
        await api.signOut();
        state.signInMessage = t("not_an_agent");
      } else {
        state.signInMessage = "";
        keepStorage();
        for (const key of ["route", "visits", "next_due_at", "remind_at"]) { await store.set(key, null); }
        await loadLocal();
        await refreshRoute();
        sender.kick();
      }
    } else if (answer.status === 0) {
      state.signInMessage = t("offline_sign_in");
    } else if (answer.status >= 500) {
      state.signInMessage = t("sign_in_unavailable");
    } else {
      const code = answer.body && answer.body.code;
      state.signInMessage = t(code === "too_many_login_attempts" || code === "throttled"
        ? "too_many_login_attempts" : "invalid_credentials");
    }
    render();
  });
  return [form];
}

/** What a queued or sent record is, in words: "Arrival", "Photo", "Recording segment 3". */
function itemLabel(item) {
  if (item.kind === "checkin") { return t(`kind_${item.checkin_kind || item.body.kind}`); }
  if (item.kind === "segment") { return t("kind_segment", {n: Number(item.body.segment) + 1}); }
  return t(`kind_${item.kind}`);
}

function outboxPanel() {
  const items = state.outbox.map((item) =>
    el("li", {"data-id": item.id, "data-kind": item.kind}, [
      itemLabel(item),
      " · ", t("captured", {time: timeIn(state.lang, item.created_at)}),
      item.size ? ` · ${Math.max(1, Math.round(item.size / 1000))} KB` : "",
      item.attempts ? ` · ${t("attempts", {n: item.attempts})}` : "",
    ]));
  const sent = state.sent.slice(0, 8).map((s) =>
    el("li", {"data-id": s.id, "data-status": s.status, "data-kind": s.kind, class: s.status}, [
      itemLabel(s),
      " · ", t("captured", {time: timeIn(state.lang, s.body.captured_at || s.body.started_at)}),
      s.status === "refused" ? ` · ${explainRefusal(state.lang, s.code, s.detail).what}` : "",
      s.answer && s.answer.flags && s.answer.flags.length ? ` · ${flagsText(t, s.answer.flags)}` : "",
    ]));
  return el("section", {class: "card outbox", id: "fa-outbox"}, [
    el("h2", {}, t("outbox_title")),
    items.length ? el("ul", {id: "fa-outbox-items"}, items) : el("p", {class: "muted"}, t("outbox_empty")),
    el("p", {class: "muted", id: "fa-last-sync"},
      state.lastSync ? t("last_sync", {time: timeIn(state.lang, state.lastSync)}) : t("never_synced")),
    sent.length ? el("h3", {}, t("recent")) : null,
    sent.length ? el("ul", {id: "fa-sent"}, sent) : null,
  ]);
}

function refusalCard() {
  const r = state.refusal;
  if (!r) { return null; }
  const words = explainRefusal(state.lang, r.code, r.detail);
  return el("section", {class: "card refusal", id: "fa-refusal", role: "alert", "data-code": r.code}, [
    el("h2", {}, t("refused_title", {kind: t(`kind_${r.kind}`)})),
    el("p", {}, words.what),
    el("p", {}, [el("strong", {}, `${t("what_next")}: `), words.next]),
    el("button", {type: "button", class: "small", onclick: () => { state.refusal = null; render(); }}, t("close")),
  ]);
}

function renderRoute() {
  const route = state.route;
  if (!route) {
    return [el("section", {class: "card"}, [el("h1", {}, t("route_title")), el("p", {}, t("no_route"))]), outboxPanel()];
  }
  const current = currentStop(route);
  const now = Date.now();
  const stops = route.stops.map((stop) => {
    const visit = state.visits[stop.visit_id] || "planned";
    return el("li", {class: `stop${current && stop.id === current.id ? " current" : ""}`,
      "data-stop": stop.id, "data-sequence": stop.sequence}, [
      el("div", {class: "stop-head"}, [
        el("span", {class: "seq"}, String(stop.sequence)),
        el("span", {class: "status"}, `${t(`stop_${stop.status}`)} · ${t(`visit_${visit}`)}`),
      ]),
      ...stopFacts(t, state.lang, stop, now),
      el("a", {class: "big button", href: `#/visit/${stop.id}`}, t("open_visit")),
    ]);
  });
  const buttons = el("div", {class: "actions"}, [
    el("button", {type: "button", class: "big primary", "data-kind": "depart", onclick: () => checkIn("depart")}, t("depart")),
    el("button", {type: "button", class: "big", "data-kind": "periodic", onclick: () => checkIn("periodic")}, t("periodic")),
    el("button", {type: "button", class: "big", "data-kind": "return", onclick: () => checkIn("return")}, t("return")),
  ]);
  return [
    refusalCard(),
    el("section", {class: "card"}, [
      el("h1", {}, t("route_title")),
      el("p", {id: "fa-route-status", "data-status": route.status}, `${route.date} · ${t("route_status", {status: t(`status_${route.status}`)})}`),
      buttons,
    ]),
    el("ol", {class: "stops", id: "fa-stops"}, stops),
    outboxPanel(),
  ];
}

function renderVisit(stopId) {
  const route = state.route;
  const stop = route && route.stops.find((s) => s.id === stopId);
  if (!stop) { location.hash = "#/route"; return renderRoute(); }
  const visit = state.visits[stop.visit_id] || "planned";
  const mine = state.sent.filter((s) => s.kind === "checkin" && s.body.stop === stop.id);
  // What this phone already did here (sent, or waiting to be sent): no second arrival.
  const done = (kind) => mine.some((s) => s.status === "delivered" && s.body.kind === kind)
    || state.outbox.some((i) => i.kind === "checkin" && i.body.stop === stop.id && i.body.kind === kind);
  const arrived = done("arrive");
  const left = done("leave");
  return [
    refusalCard(),
    el("section", {class: "card visit", id: "fa-visit", "data-stop": stop.id, "data-visit-status": visit}, [
      el("a", {href: "#/route", class: "back"}, `← ${t("back")}`),
      el("h1", {}, `${t("stop_n", {n: stop.sequence})} · ${stop.case.debtor_name}`),
      el("p", {class: "visit-status", id: "fa-visit-status"}, t("visit_status", {status: t(`visit_${visit}`)})),
      ...stopFacts(t, state.lang, stop, Date.now()),
      el("div", {class: "actions"}, [
        el("button", {type: "button", class: "big primary", "data-kind": "arrive", disabled: arrived, onclick: () => checkIn("arrive", stop)}, t("arrive")),
        el("button", {type: "button", class: "big", "data-kind": "periodic", onclick: () => checkIn("periodic", stop)}, t("periodic")),
        el("button", {type: "button", class: "big", "data-kind": "leave", disabled: !arrived || left, onclick: () => checkIn("leave", stop)}, t("leave")),
      ]),
      mine.length ? el("ul", {class: "visit-log"}, mine.map((s) => el("li", {class: s.status}, [
        t(`kind_${s.body.kind}`), " ", timeIn(state.lang, s.body.captured_at, stop.address.timezone, true),
        s.status === "refused" ? ` · ${t("not_accepted")}` : "",
        s.answer && s.answer.flags && s.answer.flags.length ? ` · ${flagsText(t, s.answer.flags)}` : "",
      ]))) : null,
    ]),
    ...visitEvidence(stop, visit),
    outboxPanel(),
  ];
}

function visitEvidence(stop, visit) {
  const visitId = stop.visit_id;
  const panel = evidencePanel(t, state.lang, stop, {
    photo: (form) => captured(capture.photo(visitId, form), "photo_queued"),
    receipt: (form) => captured(capture.receipt(visitId, form), "receipt_queued"),
    report: (form) => captured(capture.report(visitId, form), "report_queued"),
    cosign: (reportId) => captured(capture.cosign(visitId, reportId), "cosign_queued"),
    record: () => startRecording(visitId),
    stopRecording: async () => { await recorder.stop(); await loadLocal(); render(); },
  });
  panel.update({
    sent: state.sent, outbox: state.outbox, recorder: recorder.status(), user: api.session().user,
    detail: state.details[visitId] || null, visitStatus: visit,
  });
  return panel.nodes;
}

/** A record was queued: say so, show it waiting, and send it. */
async function captured(queued, message) {
  await queued;
  notice(t(message));
  await loadLocal();
  render();
  sender.kick();
}

function renderHeader() {
  const who = api.session();
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  $("fa-title").textContent = t("app_name");
  $("fa-lang").textContent = t("lang_switch");
  $("fa-panic-label").textContent = t("panic_label");
  $("fa-panic").title = t("panic_hint");
  $("fa-panic").setAttribute("aria-label", t("panic_hint"));
  $("fa-panic").hidden = !who;
  const sync = $("fa-sync");
  sync.textContent = !who ? "" : (state.outbox.length ? t("outbox_count", {n: state.outbox.length}) : t("all_sent"));
  sync.dataset.waiting = String(state.outbox.length);
  sync.classList.toggle("offline", !navigator.onLine);
}

function render() {
  renderHeader();
  const main = $("fa-main");
  const who = api.session();
  let content;
  if (!who) {
    document.body.dataset.screen = "signin";
    content = renderSignIn();
  } else {
    const where = screen();
    document.body.dataset.screen = where.name;
    content = where.name === "visit" ? renderVisit(where.stopId) : renderRoute();
    if (who) { content.push(el("p", {class: "muted signed-in"}, [t("signed_in_as", {user: who.user}), " · ",
      el("button", {type: "button", class: "link", id: "fa-signout", onclick: async () => { await api.signOut(); render(); }}, t("sign_out"))])); }
  }
  // The same form nodes come back on every redraw (evidence.js): give the focus back to the
  // field the agent was typing in, which moving it out and in again takes away.
  const focused = document.activeElement;
  main.replaceChildren(...content.filter(Boolean));
  if (focused && focused !== document.body && main.contains(focused) && document.activeElement !== focused) {
    focused.focus({preventScroll: true});
  }
  tick();
}

// ---------------------------------------------------------------------------------------
// Start

/** Ask the browser to keep this app's storage under pressure: the outbox and the recording
 * live in IndexedDB, which a browser short of space may otherwise clear. */
function keepStorage() {
  if (navigator.storage && navigator.storage.persist) {
    navigator.storage.persist().catch(() => {});
  }
}

async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) { return; }
  try {
    await navigator.serviceWorker.register("/app/sw.js", {scope: "/app/"});
    await navigator.serviceWorker.ready;
    const mark = () => { if (navigator.serviceWorker.controller) { document.documentElement.dataset.sw = "ready"; } };
    mark();
    navigator.serviceWorker.addEventListener("controllerchange", mark);
  } catch (error) {
    console.warn("service worker not registered", error);
  }
}

async function start() {
  api.setLanguage(state.lang);
  const timerBar = el("div", {class: "timer", id: "fa-timer", role: "timer", hidden: true});
  $("fa-banner").before(timerBar);
  $("fa-lang").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem(LANG_KEY, state.lang);
    api.setLanguage(state.lang);
    render();
  });
  holdButton($("fa-panic"), () => panic(false));
  const taps = [];
  $("fa-clock").addEventListener("click", () => {
    if (api.session() && registerTap(taps, Date.now())) { panic(true); }
  });
  sender.configure({
    uploadChunkBytes: Number(document.body.dataset.uploadChunkBytes),
    onSettled,
    onAuthLost: authLost,
    onChange: () => loadLocal().then(render),
  });
  recorder.configure({
    segmentSeconds: Number(document.body.dataset.segmentSeconds) || undefined,
    onChange: (event) => {
      if (event && event.queued) { sender.kick(); }
      loadLocal().then(render);
    },
  });
  window.addEventListener("hashchange", () => {
    render();
    const where = screen();
    if (where.name === "visit" && state.route) {
      const stop = state.route.stops.find((s) => s.id === where.stopId);
      if (stop && stop.visit_id) { refreshVisit(stop.visit_id); }
    }
  });
  window.addEventListener("online", () => { render(); sender.online(); refreshRoute(); });
  window.addEventListener("offline", render);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) { sender.kick(); } });
  await loadLocal();
  render();
  document.body.dataset.ready = "1";
  setInterval(tick, 1000);
  heartbeat.start(
    () => Boolean(state.route && state.route.status === "in_progress"),
    (answer) => { state.heartbeat = answer; },
  );  // beats every minute while out
  registerServiceWorker();
  if (api.session()) {
    keepStorage();
    await recorder.recover(api.session().user);
    sender.kick();
    refreshRoute();
  }
  // The open visit is read again every few seconds while its screen is shown: the partner's
  // arrival, departure and report appear without a tap, and a recording still on stops once
  // both agents have left.
  setInterval(() => {
    if (!api.session() || !navigator.onLine || !state.route) { return; }
    const watched = new Set();
    const where = screen();
    const stop = where.name === "visit" && state.route.stops.find((s) => s.id === where.stopId);
    if (stop && stop.visit_id && !document.hidden) { watched.add(stop.visit_id); }
    const rec = recorder.status();
    if (rec.active) { watched.add(rec.visit); }
    watched.forEach(refreshVisit);
  }, VISIT_POLL_MS);
}

start();
