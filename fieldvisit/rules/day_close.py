"""The close of a field day (issue 20, item 8; seeds 外访流程 (6)-(7): after the visits, the
team returns, reports and hands in the recordings and slips the same day).

By a deadline after the day's last leave (the strictest creditor's ``day_close_after_min``,
two hours by default, and never after 23:00 at the team's place), every visit that began has
its report filed and co-signed and its recording uploaded, and every agent who departed has
returned; otherwise the supervisor is alerted.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass

from fieldvisit.texts import _, format_lazy

# Nobody is expected to be filing reports past this hour, whatever the creditor allows.
LATEST = dt.time(23, 0)


def close_deadline(
    last_leave: dt.datetime, after: dt.timedelta, zone: str, day: dt.date
) -> dt.datetime:
    """When the day must be closed: ``after`` the last leave, but no later than 23:00 of the
    route's day (or of the leave's day, should the last leave come after midnight) at the
    team's place."""
    tz = zoneinfo.ZoneInfo(zone)
    latest_day = max(day, last_leave.astimezone(tz).date())
    latest = dt.datetime.combine(latest_day, LATEST, tzinfo=tz)
    return min(last_leave + after, max(latest, last_leave))


@dataclass(frozen=True)
class VisitClose:
    sequence: int
    report_cosigned: bool
    recording_uploaded: bool


def day_close_problems(visits: Sequence[VisitClose], not_returned: Sequence[str]) -> list[str]:
    """What is still missing when the day should be closed (empty: closed)."""
    problems = []
    for visit in visits:
        if not visit.report_cosigned:
            problems.append(
                format_lazy(
                    _("stop {sequence}: report not filed and co-signed"), sequence=visit.sequence
                )
            )
        if not visit.recording_uploaded:
            problems.append(
                format_lazy(_("stop {sequence}: recording not uploaded"), sequence=visit.sequence)
            )
    if not_returned:
        problems.append(
            format_lazy(_("not returned: {agents}"), agents=", ".join(sorted(not_returned)))
        )
    return problems
