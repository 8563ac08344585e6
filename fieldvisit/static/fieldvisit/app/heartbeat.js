// The phone's heartbeat: every minute while its agent is out (a route under way), battery
// and connection go to POST /api/v1/heartbeat/. The server warns the on-call chain when the
// beats stop or the battery runs low; the answer's warning is shown on the route screen.
// Nothing is queued: a beat that cannot leave is simply the absence the server watches for.

import * as api from "./api.js";

export const BEAT_MS = 60 * 1000;

async function battery() {
  if (!navigator.getBattery) { return {}; }
  try {
    const state = await navigator.getBattery();
    return {battery: Math.round(state.level * 100), charging: state.charging};
  } catch {
    return {};
  }
}

function network() {
  const connection = navigator.connection;
  return connection && connection.effectiveType ? String(connection.effectiveType).slice(0, 16) : "";
}

// One beat now; the server's answer ({watched, next_beat_by, warning}) or null.
export async function beat() {
  if (!api.session() || !navigator.onLine) { return null; }
  const answer = await api.call("POST", "/api/v1/heartbeat/", {...(await battery()), network: network()});
  return answer.status === 200 ? answer.body : null;
}

let ticker = null;
let lastBeat = 0;

// Beat every minute while ``isOut()`` says the agent is out; ``onAnswer`` gets each answer.
export function start(isOut, onAnswer) {
  ticker = async (force = false) => {
    if (!isOut() || (!force && Date.now() - lastBeat < BEAT_MS - 1000)) { return; }
    lastBeat = Date.now();
    const answer = await beat();
    if (answer) { onAnswer(answer); }
  };
  ticker();
  return setInterval(ticker, BEAT_MS);
}

// A beat now if none went out in the last minute (the agent just set out).
export function kick() {
  if (ticker) { ticker(); }
}
