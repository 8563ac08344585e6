// The phone's position. A check-in is never sent without real coordinates: a fix without
// them is refused here, before anything is queued.

let last = null;

function fromPosition(position) {
  const c = position.coords;
  if (!c || !Number.isFinite(c.latitude) || !Number.isFinite(c.longitude)) { return null; }
  return {
    lat: c.latitude, lon: c.longitude,
    accuracy_m: Math.max(0.01, Math.round((c.accuracy || 0) * 100) / 100),
    taken: Date.now(),
  };
}

/** A fresh fix, or {error: "denied" | "unavailable"}. */
export function getFix(timeoutMs = 20000) {
  return new Promise((resolve) => {
    if (!("geolocation" in navigator)) { resolve({error: "unavailable"}); return; }
    navigator.geolocation.getCurrentPosition(
      (position) => {
        const fix = fromPosition(position);
        if (fix) { last = fix; }
        resolve(fix || {error: "unavailable"});
      },
      (error) => resolve({error: error.code === 1 ? "denied" : "unavailable"}),
      // maximumAge 0: an agent who walked to the door and presses Arrive again needs a new fix.
      {enableHighAccuracy: true, timeout: timeoutMs, maximumAge: 0},
    );
  });
}

/** The last fix this app took (check-ins take one each), if it is recent enough to tell
 * where the agent is; a panic uses it at once rather than wait for the GPS. We take fixes on
 * demand instead of watching continuously: it saves the battery over a day of visits. */
export function lastFix(maxAgeMs = 2 * 60 * 1000) {
  return last && Date.now() - last.taken <= maxAgeMs ? last : null;
}
