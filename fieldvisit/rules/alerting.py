"""Rules for getting an alert to a person (DESIGN rules 2, 3 and 10; seeds: 外访流程 (2) to (3)).

An alarm always reaches a responsible person within a known time, or escalates until it
does (the promise of lone-worker products and BS 8484): each team has an ordered on-call
chain; an alert goes to its first person, and every ``step_every`` without an
acknowledgement to the next one; past the chain's end, to everyone on it again, until
someone acknowledges. Each notice is retried with backoff; what failed every retry is
recorded as failed, and when nobody at a step could be reached the alert moves on at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from fieldvisit.choices import AlertKind, AlertSeverity
from fieldvisit.rules import Verdict
from fieldvisit.texts import _, format_lazy

# A chain needs two people who can be reached: one may be asleep, ill or in a tunnel.
MIN_VERIFIED_ONCALL = 2

# A panic escalates every three minutes (BS 8484 asks the alarm receiving centre to act at
# once; three minutes without an answer is long enough to try the next person).
PANIC_STEP_EVERY = dt.timedelta(minutes=3)

# Between tries of one notice: at once, then after 10 s, 30 s, 90 s; failed after the fourth.
RETRY_DELAYS: tuple[dt.timedelta, ...] = (
    dt.timedelta(seconds=10),
    dt.timedelta(seconds=30),
    dt.timedelta(seconds=90),
)

# The phone's heartbeat: sent every minute by the field app; five minutes without one while
# the agent is out, or a battery under 15 % and not charging, is a warning.
HEARTBEAT_TIMEOUT = dt.timedelta(minutes=5)
LOW_BATTERY_PERCENT = 15


@dataclass(frozen=True)
class ChainEntry:
    """One place on a team's on-call chain, as the rules need it."""

    user_id: int
    verified: bool


def check_oncall_chain(chain: Sequence[ChainEntry]) -> Verdict:
    """A team may go out only when its alarms can reach someone: at least two different
    people with verified contacts on its chain, and its first two entries different people
    (the second is who is told when the first does not answer)."""
    if len(chain) >= 2 and chain[0].user_id == chain[1].user_id:
        return Verdict.failed(
            "oncall_chain_incomplete",
            _(
                "The first two people on the team's on-call chain are the same person; the "
                "second is who is told when the first does not answer."
            ),
        )
    verified = {entry.user_id for entry in chain if entry.verified}
    if len(verified) < MIN_VERIFIED_ONCALL:
        return Verdict.failed(
            "oncall_chain_incomplete",
            format_lazy(
                _(
                    "The team's on-call chain has {count} person(s) with a verified "
                    "contact; alerts need at least {minimum} (a contact "
                    "is verified once its owner acknowledged a test message)."
                ),
                count=len(verified),
                minimum=MIN_VERIFIED_ONCALL,
            ),
        )
    return Verdict.passed(format_lazy(_("{count} people on call"), count=len(verified)))


def step_positions(chain_length: int, step: int) -> list[int]:
    """The chain positions (0-based) told at ``step`` (1-based): one person per step along
    the chain, then everyone on it at every step after its end."""
    if chain_length <= 0 or step <= 0:
        return []
    if step <= chain_length:
        return [step - 1]
    return list(range(chain_length))


def escalates(severity: int) -> bool:
    """High and critical alerts go along the chain until acknowledged; lower ones are told
    to the first person only (they wait for the supervisor's working day)."""
    return severity >= AlertSeverity.HIGH


def step_every(kind: str, escalation: dt.timedelta) -> dt.timedelta:
    """How long an alert waits for an acknowledgement before the next person is told: a
    panic every three minutes; the others after the route's escalation delay (the case's
    ``escalation_after_min``), the same timing missed check-ins always had."""
    return PANIC_STEP_EVERY if kind == AlertKind.PANIC else escalation


def next_try(attempts: int, now: dt.datetime) -> dt.datetime | None:
    """When to try a notice again after ``attempts`` failed tries; None: it has failed."""
    if attempts <= 0:
        return now
    if attempts > len(RETRY_DELAYS):
        return None
    return now + RETRY_DELAYS[attempts - 1]


def check_battery(battery: int | None, charging: bool | None) -> Verdict:
    """A phone that may die during the visit: the recording and the panic button go with it."""
    if battery is not None and battery < LOW_BATTERY_PERCENT and not charging:
        return Verdict.failed(
            "low_battery", format_lazy(_(
                "Battery at {battery} % and not charging (warning below "
                "{threshold} %)."
            ), battery=battery, threshold=LOW_BATTERY_PERCENT)
        )  # fmt: skip
    return Verdict.passed()
