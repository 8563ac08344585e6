// The check-in timer as plain functions: the countdown to this agent's next report
// (`next_due_at` from the server's last answer; each agent has their own clock) and when to
// ring (the answer's `remind_at`, else WARN_BEFORE_MS before the due time).
// Unit tests: tests/fieldapp/js/timer.test.mjs.

// Ring a little before the report is due, so the agent has time to take the fix.
export const WARN_BEFORE_MS = 2 * 60 * 1000;

/**
 * phase: "idle" (no report due: before depart, after return), "running", "soon" (within
 * WARN_BEFORE_MS), "overdue" (past due and no later report sent yet).
 */
export function timerState(now, dueAtIso, remindAtIso = null) {
  if (!dueAtIso) { return {phase: "idle", remainingMs: null}; }
  const due = Date.parse(dueAtIso);
  if (!Number.isFinite(due)) { return {phase: "idle", remainingMs: null}; }
  const remainingMs = due - now;
  if (remainingMs <= 0) { return {phase: "overdue", remainingMs}; }
  const remind = Date.parse(remindAtIso);
  const soonFrom = Number.isFinite(remind) && remind < due ? remind : due - WARN_BEFORE_MS;
  if (now >= soonFrom) { return {phase: "soon", remainingMs}; }
  return {phase: "running", remainingMs};
}

/** Ring (notification, vibration, sound) once per due time, when it becomes soon or overdue. */
export function shouldRing(state, dueAtIso, rungFor) {
  return (state.phase === "soon" || state.phase === "overdue") && rungFor !== dueAtIso;
}

/** "29:59", "1:02:03", and "-04:10" once overdue. */
export function formatCountdown(ms) {
  if (ms === null || ms === undefined) { return "--:--"; }
  const sign = ms < 0 ? "-" : "";
  let s = Math.floor(Math.abs(ms) / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const two = (n) => String(n).padStart(2, "0");
  return sign + (h ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`);
}
