"""Evidence that reaches the server after the visit closed, or after its review.

Evidence is never refused for arriving late: a phone that was offline at the door sends its
photos, receipts and audio when it finds a network, and that evidence is genuine. What the
server knows is judged on both clocks, as check-ins are (API.md "Check-ins"):

- ``received_at`` (the server's clock) after the close says the team's account of the visit
  was still growing once both agents had left. Sent within ``SUBMISSION_GRACE`` of the later
  of the close and the end of its own capture, an item went out as it was made (a photo
  taken on the way out, the segment that records the leave, which can only be sent once it
  ends); later than that, it waited on the phone: it is flagged ``late_submission``, with
  how long after the close it arrived (``late_by_s``).
- ``captured_at`` (the device's clock) after the close is another matter: the capture
  itself happened once the agents had left. Photos and receipts are flagged ``lone_agent``
  (the visit was not open) and photos ``taken_outside_visit`` by the evidence rules; a
  segment recorded after the close does not count towards the recording's coverage of the
  visit. Such an item, sent at once, is not a late *submission*.
- Anything received after the visit's review re-opens it, however it is flagged: the
  review stays as recorded, with the verdict it was made on, and a supervisor reviews again.
"""

from __future__ import annotations

import datetime as dt

from fieldvisit.rules.checkins import ONLINE_WINDOW
from fieldvisit.texts import _, format_lazy

# The same line that separates a check-in sent from the door from one queued offline.
SUBMISSION_GRACE = ONLINE_WINDOW
LATE_SUBMISSION = "late_submission"


def late_by_s(
    closed_at: dt.datetime | None, received_at: dt.datetime, captured_end: dt.datetime
) -> float | None:
    """Seconds after the visit's close that an item reached us, when it was held back on the
    phone (``late_submission``); None when it is not a late submission.

    ``captured_end`` is when the item's own capture ended (a photo's or receipt's
    ``captured_at``; a segment's start plus its duration)."""
    if closed_at is None or received_at <= closed_at:
        return None
    if received_at - max(closed_at, captured_end) <= SUBMISSION_GRACE:
        return None
    return round((received_at - closed_at).total_seconds(), 3)


def lateness_text(seconds: float) -> str:
    """How long, for people: "42 s", "35 min", "3 h 05 min" (秒, 分钟, 小时 in Chinese)."""
    if seconds < 60:
        return format_lazy(_("{seconds} s"), seconds=f"{seconds:.0f}")
    minutes = int(seconds // 60)
    if minutes < 60:
        return format_lazy(_("{minutes} min"), minutes=minutes)
    return format_lazy(
        _("{hours} h {minutes} min"), hours=minutes // 60, minutes=f"{minutes % 60:02d}"
    )
