"""A visit's compliance verdict: named checks, each passed or failed with a sentence, judged
from the visit's records alone (``queries.visits.VisitRecords``): no query, no clock.

The API's visit answer, the legal timeline, admin review, a bundle's report and the verdict a
review keeps all come from ``judge``; ``Compliance.as_dict`` is its JSON (``{ok, checks}``),
``Compliance.from_dict`` reads a stored one back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.utils.functional import lazy

from fieldvisit.choices import CheckInKind
from fieldvisit.geo import local_text
from fieldvisit.models import CheckIn, Photo, PhotoAcceptance, Receipt, Route, VisitReport
from fieldvisit.queries.recordings import VisitRecording
from fieldvisit.queries.visits import VisitRecords
from fieldvisit.rules.checkins import MissedReport
from fieldvisit.rules.evidence import DOOR_KINDS, UNPLACED
from fieldvisit.texts import _, format_lazy
from fieldvisit.words import flags_text, person_name


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: Any  # a sentence: lazy until read (the reader's language) or stored (str)


@dataclass(frozen=True)
class Compliance:
    checks: dict[str, Check]  # in a fixed order: the order the checks are listed in

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checks": {n: {"ok": c.ok, "detail": str(c.detail)} for n, c in self.checks.items()},
        }

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> Compliance:
        return cls({n: Check(c["ok"], c["detail"]) for n, c in stored["checks"].items()})


def _flag_check(checkins: Sequence[CheckIn], flags: set[str], passed: Any, failed: Any) -> Check:
    arrivals = [c for c in checkins if c.kind in (CheckInKind.ARRIVE, CheckInKind.LEAVE)]
    if not arrivals:
        return Check(False, _("No arrival recorded yet."))
    broken = [c for c in arrivals if flags & set(c.flags)]
    if broken:
        return Check(
            False,
            format_lazy(_("{failed} ({count} check-in(s))."), failed=failed, count=len(broken)),
        )
    return Check(True, passed)


def _checkins_on_time(
    checkins: Sequence[CheckIn], missed: Sequence[MissedReport], zone: str
) -> Check:
    """Each agent's periodic reports that fell due while this visit was under way, judged
    from the check-ins themselves (``queries.visits.missed_during``)."""
    if not any(c.kind == CheckInKind.ARRIVE for c in checkins):
        return Check(False, _("Not visited yet."))
    if missed:
        said = [
            format_lazy(
                _("{agent} missed the check-in due at {due}"),
                agent=m.agent,
                due=local_text(m.due_at, zone),
            )
            if m.late_report_at is None
            else format_lazy(
                _("{agent} missed the check-in due at {due} (reported {reported})"),
                agent=m.agent,
                due=local_text(m.due_at, zone),
                reported=local_text(m.late_report_at, zone),
            )
            for m in missed
        ]
        return Check(
            False,
            format_lazy(
                _("{count} check-in(s) missed during the visit: {missed}."),
                count=len(missed),
                missed=format_lazy("; ".join(["{}"] * len(said)), *said),
            ),
        )
    return Check(True, _("No check-in missed during the visit."))


def _accepted(photo: Photo) -> PhotoAcceptance | None:
    """The supervisor's acceptance of the photo, read with it (``visit_records``)."""
    try:
        return photo.acceptance
    except ObjectDoesNotExist:
        return None


def _door_photo(photos: Sequence[Photo]) -> Check:
    """Rule 7: the door number (or the nearest one) with the partner in frame, taken while
    both agents were there, with GPS in it near the address (issue 20, item 8) or accepted
    by a supervisor who says why."""
    door = [p for p in photos if p.kind in DOOR_KINDS]
    if not door:
        return Check(False, _("No photo of the door number (or the nearest door number)."))
    with_partner = [p for p in door if p.partner_in_frame]
    if not with_partner:
        return Check(False, _("The door photos do not show the partner in frame."))
    good = [
        p
        for p in with_partner
        if "lone_agent" not in p.flags and (not UNPLACED & set(p.flags) or _accepted(p))
    ]
    if not good:
        flags = sorted({f for p in with_partner for f in p.flags})
        return Check(
            False,
            format_lazy(
                _("The door photos with the partner are flagged: {flags}."), flags=", ".join(flags)
            ),
        )
    best = good[0]
    accepted = _accepted(best)
    if accepted is not None:
        return Check(
            True,
            format_lazy(
                _("Door photo {file}… with the partner in frame, accepted by {who}: {reason}."),
                file=best.file_id[:12],
                who=person_name(accepted.accepted_by),
                reason=accepted.reason,
            ),
        )
    if best.flags:
        return Check(
            True,
            format_lazy(
                _("Door photo {file}… with the partner in frame (flags: {flags})."),
                file=best.file_id[:12],
                flags=", ".join(best.flags),
            ),
        )
    return Check(
        True,
        format_lazy(_("Door photo {file}… with the partner in frame."), file=best.file_id[:12]),
    )


# A notice signed by someone who should not have signed it: an unlisted third party with no
# reason given (queued offline), or a relation not to be contacted (``rules.judge_signer``).
SIGNER_FAILS = frozenset({"no_third_party_reason", "relation_do_not_contact"})


def _notice_outcome(receipts: Sequence[Receipt]) -> Check:
    """The notice's last outcome; signed for the debtor by an unlisted third party, it says
    so with the reason given, and it fails where the signer should not have signed."""
    if not receipts:
        return Check(False, _("No notice receipt recorded."))
    last = receipts[-1]
    said = format_lazy(
        _("Notice {number}: {outcome}."),
        number=last.notice_number,
        outcome=last.get_outcome_display(),
    )
    if SIGNER_FAILS & set(last.flags):
        return Check(
            False,
            format_lazy("{} {}", said, flags_text(sorted(SIGNER_FAILS & set(last.flags)))),
        )
    if "unlisted_third_party" in last.flags:
        return Check(
            True,
            format_lazy(
                _("{said} Signed by someone not listed as a relation: {reason}"),
                said=said,
                reason=last.third_party_reason,
            ),
        )
    return Check(True, said)


def _recording(recording: VisitRecording) -> Check:
    if recording.id is None:
        return Check(False, _("No recording uploaded."))
    return Check(recording.verdict.valid, recording.verdict.detail)


def _report_cosigned(report: VisitReport | None, zone: str) -> Check:
    """Rule 9: the current report, co-signed by a second agent over its exact content, with
    every conduct attestation of ``rules.conduct.ITEMS`` given. A false attestation is a
    statement: it fails here (and opened an incident when filed); an item not attested fails
    too, named apart."""
    if report is None:
        return Check(False, _("No visit report filed."))
    author = report.author.get_username()
    problems = []
    digest = report.compute_sha256()
    if digest != report.content_sha256:
        problems.append(_("its content does not match its recorded SHA-256"))
    cosignature = report.cosignature_or_none()
    if cosignature is None:
        problems.append(_("it awaits the second agent's co-signature"))
    elif cosignature.agent_id == report.author_id:
        problems.append(_("it is co-signed by its own author"))
    elif cosignature.report_sha256 != digest:
        problems.append(_("the co-signature does not sign this content"))
    if report.broken_attestations:
        problems.append(
            format_lazy(
                _("attestations not given: {names}"), names=", ".join(report.broken_attestations)
            )
        )
    if report.unattested:
        # Not stated is not kept: a phone that did not send an item leaves it open.
        problems.append(format_lazy(_("not attested: {names}"), names=", ".join(report.unattested)))
    if problems:
        return Check(
            False,
            format_lazy(
                _("Report {report} by {author}: {problems}."),
                report=report.id,
                author=author,
                problems=format_lazy("; ".join(["{}"] * len(problems)), *problems),
            ),
        )
    assert cosignature is not None  # narrowed by the problems above
    return Check(
        True,
        format_lazy(
            _(
                "Report {report} by {author}, co-signed by {cosigner} {at}; "
                "every conduct attestation given."
            ),
            report=report.id,
            author=author,
            cosigner=cosignature.agent.get_username(),
            at=local_text(cosignature.signed_at, zone),
        ),
    )


def _decider(route: Route) -> Any:
    """Who approved the route, by name when it was read with the route (``visit_records``
    does), else by account number."""
    if Route.decided_by.is_cached(route) and route.decided_by is not None:
        return person_name(route.decided_by)
    return format_lazy(_("user {number}"), number=route.decided_by_id)


# A choice's label as it reads inside a sentence ("draft"), in the language it is read in.
_lower = lazy(lambda label: str(label).lower(), str)


def judge(records: VisitRecords) -> Compliance:
    visit = records.visit
    route = visit.stop.route
    zone = visit.stop.address.zone_name
    approved = route.approved
    checkins = records.checkins
    checks = {
        "route_approved": Check(
            approved,
            format_lazy(
                _("Approved {at} by {decider}."),
                at=local_text(route.decided_at, zone),
                decider=_decider(route),
            )
            if approved
            else format_lazy(
                _("The route is {status}."), status=_lower(route.get_status_display())
            ),
        ),
        "two_agents_together": Check(
            True,
            format_lazy(
                _("Both agents arrived together; opened {at}."),
                at=local_text(visit.opened_at, zone),
            ),
        )
        if visit.opened_at
        else Check(False, _("The visit never opened: two agents did not arrive together.")),
        "within_hours": _flag_check(
            checkins, {"outside_visit_hours"}, _("All visit check-ins within the allowed hours."),
            _("Check-ins outside the allowed hours"),
        ),
        "geofence": _flag_check(
            checkins, {"too_far_from_address", "address_not_geocoded"},
            _("Arrivals within the geofence."),
            _("Arrivals too far from the address, or not judged"),
        ),
        "frequency_cap": _flag_check(
            checkins, {"frequency_cap"}, _("Within the visit frequency caps."),
            _("Visit frequency cap exceeded"),
        ),
        "approved_order": _flag_check(
            checkins, {"out_of_sequence"}, _("Arrived in the approved order of the route."),
            _("Arrived out of the approved order"),
        ),
        "checkins_on_time": _checkins_on_time(checkins, records.missed_reports, zone),
        "door_photo": _door_photo(records.photos),
        "recording": _recording(records.recording),
        "notice_outcome": _notice_outcome(records.receipts),
        "report_cosigned": _report_cosigned(records.report, zone),
    }  # fmt: skip
    return Compliance(checks)
