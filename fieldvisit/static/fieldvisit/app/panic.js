// Panic gestures.
//
// The visible panic: the big SOS button sends after it is held for HOLD_MS (2 s); lifting the
// finger earlier cancels, so a pocket or a stray tap never raises one.
//
// The discreet panic, for when a hostile person is watching the screen: TAPS_FOR_DISCREET
// quick taps (within TAPS_WINDOW_MS) on the clock in the top bar. We chose this over a duress
// PIN because the app has no lock screen to type a PIN into (and an agent under threat cannot
// be asked to unlock anything), and over shake or volume-button gestures because browsers do
// not expose the buttons and shaking is visible. Tapping the clock looks like checking the
// time, works with one thumb on every screen, and five taps in two seconds do not happen by
// accident. Nothing on the screen changes: no dialog, no vibration, and the outbox counter
// leaves discreet panics out.

export const HOLD_MS = 2000;
export const TAPS_FOR_DISCREET = 5;
export const TAPS_WINDOW_MS = 2000;

/** Record a tap; true when the last TAPS_FOR_DISCREET taps fell within TAPS_WINDOW_MS.
 * `taps` is the list of earlier tap times (kept short); it is reset after a match. */
export function registerTap(taps, now, count = TAPS_FOR_DISCREET, windowMs = TAPS_WINDOW_MS) {
  taps.push(now);
  while (taps.length > count) { taps.shift(); }
  if (taps.length === count && now - taps[0] <= windowMs) {
    taps.length = 0;
    return true;
  }
  return false;
}

/** Wire a hold-to-send button: `onFire` after HOLD_MS of continuous press. */
export function holdButton(button, onFire, holdMs = HOLD_MS) {
  let timer = null;
  const cancel = () => {
    if (timer !== null) { clearTimeout(timer); timer = null; }
    button.classList.remove("holding");
  };
  const start = (event) => {
    event.preventDefault();
    if (timer !== null) { return; }
    button.classList.add("holding");
    timer = setTimeout(() => {
      timer = null;
      button.classList.remove("holding");
      onFire();
    }, holdMs);
  };
  button.addEventListener("pointerdown", start);
  for (const name of ["pointerup", "pointerleave", "pointercancel"]) {
    button.addEventListener(name, cancel);
  }
  button.addEventListener("contextmenu", (event) => event.preventDefault());
  // Keyboard and switch access: holding Space or Enter works the same way.
  button.addEventListener("keydown", (event) => {
    if ((event.key === " " || event.key === "Enter") && !event.repeat) { start(event); }
  });
  button.addEventListener("keyup", cancel);
}
