"""Every named choice of the domain, in one place (the API and admin show these values)."""

from django.db import models


class Role(models.TextChoices):
    """Django auth groups; a user's roles are the groups they belong to."""

    AGENT = "agent", "Field agent (外访员)"
    PLANNER = "planner", "Planner / team lead (客户负责人)"
    SUPERVISOR = "supervisor", "Supervisor / risk manager (风控经理)"
    LEGAL = "legal", "Legal (法务)"
    AUDITOR = "auditor", "Auditor"


class Datum(models.TextChoices):
    """The datum a coordinate was given in. GPS and the API are WGS-84; maps of China
    (AMap/高德, Tencent) use GCJ-02, Baidu uses BD-09, each 100-700 m off the GPS position of
    the same door."""

    WGS84 = "wgs84", "WGS-84 (GPS)"
    GCJ02 = "gcj02", "GCJ-02 (AMap/高德, Tencent)"
    BD09 = "bd09", "BD-09 (Baidu)"


class Hazard(models.TextChoices):
    """What a team should know before knocking (an address's hazards)."""

    AGGRESSIVE_OCCUPANT = "aggressive_occupant", "Aggressive occupant (住户有攻击性)"
    DOG = "dog", "Dog (有狗)"
    PREVIOUS_INCIDENT = "previous_incident", "Previous incident (曾发生事件)"
    OTHER = "other", "Other (其他)"


class AddressKind(models.TextChoices):
    HOME = "home", "Home (住宅)"
    WORK = "work", "Workplace (单位)"
    HOUSEHOLD_REGISTRATION = "household_registration", "Household registration (户籍)"
    MAILING = "mailing", "Mailing (邮寄)"
    OTHER = "other", "Other (其他)"


class RelationKind(models.TextChoices):
    CO_BORROWER = "co_borrower", "Co-borrower (共同借款人)"
    GUARANTOR = "guarantor", "Guarantor (担保人)"
    FAMILY = "family", "Family member (家人)"
    COLLEAGUE = "colleague", "Colleague (同事)"
    FRIEND = "friend", "Friend (朋友)"
    OTHER = "other", "Other"


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    ON_HOLD = "on_hold", "On hold"
    CLOSED = "closed", "Closed"


class RouteStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted for approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


class StopStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    SKIPPED = "skipped", "Skipped (approved change)"
    VISITED = "visited", "Visited"


class VisitStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    ARRIVING = "arriving", "Arriving (one agent arrived)"
    OPEN = "open", "Open (both agents arrived together)"
    CLOSED = "closed", "Closed (both agents left)"
    REPORTED = "reported", "Reported"
    REVIEWED = "reviewed", "Reviewed"


class ChangeRequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Platform(models.TextChoices):
    ANDROID = "android", "Android"
    IOS = "ios", "iOS"
    WEB = "web", "Web"
    OTHER = "other", "Other"


class CheckInKind(models.TextChoices):
    DEPART = "depart", "Depart (出发)"
    ARRIVE = "arrive", "Arrive at a stop (到达)"
    PERIODIC = "periodic", "Periodic report (定时通报)"
    LEAVE = "leave", "Leave a stop (离开)"
    RETURN = "return", "Return (返回)"


class AlertKind(models.TextChoices):
    PANIC = "panic", "Panic"
    # Before per-agent clocks, one alert for the team's missed report; kept for those rows.
    MISSED_CHECKIN = "missed_checkin", "Missed check-in (team)"
    AGENT_SILENT = "agent_silent", "Agent silent (missed check-in)"
    LONE_DEPART = "lone_depart", "Departed alone"
    LONE_AGENT = "lone_agent", "Agent alone at the door"
    TEAM_SPLIT = "team_split", "Team split"
    RULE_BREAK = "rule_break", "Rule broken (offline check-in)"
    LATE_EVIDENCE = "late_evidence", "Evidence received after review"
    PHONE_SILENT = "phone_silent", "Phone stopped reporting (no heartbeat)"
    LOW_BATTERY = "low_battery", "Phone battery low"


class AlertSeverity(models.IntegerChoices):
    """Higher is more severe; the alerts page sorts on it."""

    LOW = 10, "Low"
    MEDIUM = 20, "Medium"
    HIGH = 30, "High"
    CRITICAL = 40, "Critical"


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class ContactKind(models.TextChoices):
    """Where a person on call is reached: an e-mail address, or a mobile number (SMS, and the
    @-mention in the DingTalk and WeCom group robots)."""

    EMAIL = "email", "E-mail"
    MOBILE = "mobile", "Mobile phone"


class AckChannel(models.TextChoices):
    """Through what an alert was acknowledged."""

    ADMIN = "admin", "Admin"
    EMAIL = "email", "E-mail link"
    SMS = "sms", "SMS link"
    DINGTALK = "dingtalk", "DingTalk link"
    WECOM = "wecom", "WeCom link"
    WEBHOOK = "webhook", "Webhook link"


class NoticeState(models.TextChoices):
    """One notification of one person (or group) through one channel."""

    PENDING = "pending", "Being sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed every retry"
    CANCELLED = "cancelled", "Not needed (acknowledged first)"


class PhotoKind(models.TextChoices):
    DOOR = "door", "Door number with the partner in frame (门牌号码)"
    NEAREST_DOOR = "nearest_door", "Nearest door number (address not found)"
    SURROUNDINGS = "surroundings", "Surroundings"
    NOTICE_ON_DOOR = "notice_on_door", "Notice on the door"
    SEAL = "seal", "Seal (封条)"
    OTHER = "other", "Other"


class ReceiptOutcome(models.TextChoices):
    SIGNED_BY_DEBTOR = "signed_by_debtor", "Signed by the debtor"
    SIGNED_BY_RELATION = "signed_by_relation", "Signed by a relation"
    REFUSED = "refused", "Refused"
    NOT_DELIVERED = "not_delivered", "Not delivered"
    LEFT_IN_MAILBOX = "left_in_mailbox", "Left in a private mailbox"


class UploadStatus(models.TextChoices):
    """A tus upload's life: receiving bytes, then completed (a segment) or ended."""

    RECEIVING = "receiving", "Receiving"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed (refused when complete)"
    TERMINATED = "terminated", "Terminated by the client"
    EXPIRED = "expired", "Expired"


class ReportOutcome(models.TextChoices):
    """What the visit came to, as the team's report states it (上门催收情况报告)."""

    MET_DEBTOR = "met_debtor", "Met the debtor"
    MET_RELATION = "met_relation", "Met a relation"
    NO_ANSWER = "no_answer", "Nobody answered"
    ADDRESS_NOT_FOUND = "address_not_found", "Address not found"
    MOVED = "moved", "The debtor moved away"
    REFUSED_CONTACT = "refused_contact", "Contact refused"


class ReportStatus(models.TextChoices):
    """A report's state, read from its records: co-signed, corrected, or neither yet."""

    AWAITING_COSIGN = "awaiting_cosign", "Awaiting the partner's co-signature"
    COSIGNED = "cosigned", "Co-signed by both agents"
    SUPERSEDED = "superseded", "Superseded by a correction"
