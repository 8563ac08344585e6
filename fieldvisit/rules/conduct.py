"""The conduct a visit report attests, item by item, as the seeds state it, and what follows
when an item is attested broken (an incident) or not attested at all.

Every item is one boolean of the report (``VisitReport``), stored whatever its value: a
regulator asks "did your agents state, visit by visit, that they kept each rule", so the
kept ones are evidence as much as the broken ones. The order below is the order of a visit
(identity first, statements last) and the order every page lists them in.

An item a phone did not send (phones built before the item existed) is stored as ``None``:
"not attested". It is neither presumed kept (nobody said so) nor refused (the report is the
record of a visit that happened, and evidence is never thrown away): the compliance verdict
fails on it, naming it, until a correction states it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fieldvisit.choices import AlertSeverity, ComplaintCategory, ComplaintGrade
from fieldvisit.rules import Verdict
from fieldvisit.texts import Promise, _, format_lazy


@dataclass(frozen=True)
class Item:
    name: str  # the report's field and the API's attestation key
    statement: Promise  # what the agents attest, in a sentence
    seed: str  # where the seeds say it (cited in tests and pages)
    severity: int  # an incident's severity when the item is attested broken
    category: str  # the complaint category of the same rule


ITEMS: tuple[Item, ...] = (
    Item(
        "identity_shown",
        _("We showed our identity and badge first (工作证, 第一时间出示)."),
        "上门催收物品; 电话催收 第九条: 明确表明自己的身份",
        AlertSeverity.MEDIUM,
        ComplaintCategory.NO_IDENTITY,
    ),
    Item(
        "identity_verified_first",
        _(
            "We discussed the debt only with a person whose identity we had verified first "
            "(the debtor's, or a relation's and their relationship)."
        ),
        "外访流程 (5); 催收技巧: 首先表明自己的身份并确定对方的身份",
        AlertSeverity.HIGH,
        ComplaintCategory.THIRD_PARTY_DISCLOSURE,
    ),
    Item(
        "did_not_enter_residence",
        _("We did not enter the residence, even when asked in."),
        "外访流程 (5)①",
        AlertSeverity.HIGH,
        ComplaintCategory.ENTERED_RESIDENCE,
    ),
    Item(
        "no_disturbance",
        _("We did not shout, bang on the door or ring repeatedly."),
        "外访流程 (5)②",
        AlertSeverity.MEDIUM,
        ComplaintCategory.DISTURBANCE,
    ),
    Item(
        "no_physical_contact",
        _("We had no physical contact with anyone."),
        "外访流程 (5)③",
        AlertSeverity.CRITICAL,
        ComplaintCategory.PHYSICAL_CONTACT,
    ),
    Item(
        "no_threats_or_insults",
        _("We used no threatening, insulting, provoking or obscene words."),
        "外访流程 (5)③; 行为指引 1; 电话催收 第三方 3",
        AlertSeverity.HIGH,
        ComplaintCategory.THREATS_OR_INSULTS,
    ),
    Item(
        "no_impersonation",
        _("We did not present ourselves as police, a court or a bank."),
        "电话催收 第三方 1: 严禁以银行和司法机关的名义",
        AlertSeverity.CRITICAL,
        ComplaintCategory.IMPERSONATION,
    ),
    Item(
        "no_unauthorised_reduction",
        _("We promised no reduction or waiver the creditor had not authorised in writing."),
        "电话催收 第九条 6: 未有明确银行授权不得擅自承诺减免款项",
        AlertSeverity.HIGH,
        ComplaintCategory.UNAUTHORISED_REDUCTION,
    ),
    Item(
        "no_third_party_disclosure",
        _("We disclosed nothing of the debt to unrelated third parties."),
        "电话催收 第三方 2; 第九条 6",
        AlertSeverity.HIGH,
        ComplaintCategory.THIRD_PARTY_DISCLOSURE,
    ),
    Item(
        "no_cash_accepted",
        _("We accepted no cash, notes, goods or gifts."),
        "行为指引 4",
        AlertSeverity.CRITICAL,
        ComplaintCategory.CASH_OR_GIFTS,
    ),
    Item(
        "opening_statement_recorded",
        _("The recording's opening statement was spoken before we met anyone."),
        "外访流程 (4)",
        AlertSeverity.MEDIUM,
        ComplaintCategory.OTHER,
    ),
    Item(
        "closing_statement_recorded",
        _("The recording's closing statement was spoken when we left."),
        "外访流程 (6)",
        AlertSeverity.MEDIUM,
        ComplaintCategory.OTHER,
    ),
)

BY_NAME: dict[str, Item] = {item.name: item for item in ITEMS}
NAMES: tuple[str, ...] = tuple(item.name for item in ITEMS)

# The six items phones have always sent (API.md): still required, as before.
REQUIRED = (
    "did_not_enter_residence",
    "no_cash_accepted",
    "identity_shown",
    "no_third_party_disclosure",
    "opening_statement_recorded",
    "closing_statement_recorded",
)
# Added from the seeds later: a phone that does not send one leaves it "not attested".
ADDED = tuple(name for name in NAMES if name not in REQUIRED)

# A lone agent at the door breaks 行为指引 2 (两人成行, 严禁单独行动).
LONE_AGENT_RULE = "lone_agent"
LONE_AGENT_SEVERITY = AlertSeverity.HIGH


def broken(attestations: Mapping[str, bool | None]) -> list[str]:
    """The items attested broken (``False``), in the report's order."""
    return [name for name in NAMES if attestations.get(name) is False]


def unattested(attestations: Mapping[str, bool | None]) -> list[str]:
    """The items nobody stated (``None`` or absent)."""
    return [name for name in NAMES if attestations.get(name) is None]


def severity_of(rules: list[str]) -> int:
    """An incident's severity: that of the gravest rule it names."""
    known = [BY_NAME[r].severity for r in rules if r in BY_NAME]
    if LONE_AGENT_RULE in rules:
        known.append(LONE_AGENT_SEVERITY)
    return max(known, default=AlertSeverity.HIGH)


# Complaints: what the company must answer by when (days after receipt). The ceiling is
# the 15 days regulators give financial institutions to answer a consumer complaint
# (银行业保险业消费投诉处理管理办法 第二十二条); graver ones are answered sooner.
RESPONSE_DAYS = {ComplaintGrade.MINOR: 15, ComplaintGrade.SERIOUS: 5, ComplaintGrade.CRITICAL: 1}

# What a complaint of each category is, before anyone has read it: a complaint of
# violence, impersonation, entering a home or taking money is serious until shown otherwise.
GRAVE_CATEGORIES = {
    ComplaintCategory.PHYSICAL_CONTACT: ComplaintGrade.CRITICAL,
    ComplaintCategory.IMPERSONATION: ComplaintGrade.SERIOUS,
    ComplaintCategory.ENTERED_RESIDENCE: ComplaintGrade.SERIOUS,
    ComplaintCategory.CASH_OR_GIFTS: ComplaintGrade.SERIOUS,
    ComplaintCategory.THREATS_OR_INSULTS: ComplaintGrade.SERIOUS,
}


def default_grade(category: str) -> int:
    return GRAVE_CATEGORIES.get(category, ComplaintGrade.MINOR)


def opens_incident(grade: int) -> bool:
    """A serious or critical complaint opens an incident at once."""
    return grade >= ComplaintGrade.SERIOUS


def complaint_severity(grade: int) -> int:
    return AlertSeverity.CRITICAL if grade >= ComplaintGrade.CRITICAL else AlertSeverity.HIGH


def check_not_suspended(suspended: Mapping[int, str]) -> Verdict:
    """No route is submitted or approved for a team while one of its agents is suspended
    (``suspended``: user id -> name): the team's route is every one of its agents' route.
    The agent is moved off the team, or the suspension lifted, first."""
    if suspended:
        return Verdict.failed(
            "agent_suspended",
            format_lazy(
                _(
                    "Suspended after a conduct incident, and still on the team: {names}. "
                    "Move them off the team or lift the suspension first."
                ),
                names=", ".join(sorted(suspended.values())),
            ),
        )
    return Verdict.passed()


def check_decidable(closed: bool, opened_by: int | None, decider: int) -> Verdict:
    """An incident is closed once, by a risk manager who did not open it (maker-checker:
    the supervisor who finds a breach does not also judge it)."""
    if closed:
        return Verdict.failed("incident_closed", _("The incident is already closed."))
    if opened_by is not None and opened_by == decider:
        return Verdict.failed(
            "maker_checker", _("Whoever opened an incident does not also close it.")
        )
    return Verdict.passed()


def check_account_by_named_agent(named: bool, closed: bool) -> Verdict:
    """Only an agent the incident names writes an account of it, while it is open."""
    if not named:
        return Verdict.failed("not_found", _("No such incident."))
    if closed:
        return Verdict.failed("incident_closed", _("The incident is already closed."))
    return Verdict.passed()
