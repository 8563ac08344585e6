"""Every named choice of the domain, in one place (the API and admin show these values)."""

from django.db import models
from django.utils.translation import pgettext_lazy


class Role(models.TextChoices):
    """Django auth groups; a user's roles are the groups they belong to."""

    AGENT = "agent", pgettext_lazy("Role", "Field agent")
    PLANNER = "planner", pgettext_lazy("Role", "Planner / team lead")
    SUPERVISOR = "supervisor", pgettext_lazy("Role", "Supervisor / risk manager")
    LEGAL = "legal", pgettext_lazy("Role", "Legal")
    AUDITOR = "auditor", pgettext_lazy("Role", "Auditor")
    # Seeds (外访流程): the team lead (客户负责人) receives the arrival, position and return
    # reports of their teams, decides route changes and reviews and keeps visit reports and
    # slips; the risk manager (风控) approves routes and handles incidents.
    TEAM_LEAD = "team_lead", pgettext_lazy("Role", "Team lead")
    RISK_MANAGER = "risk_manager", pgettext_lazy("Role", "Risk manager")


class Datum(models.TextChoices):
    """The datum a coordinate was given in. GPS and the API are WGS-84; maps of China
    (AMap/高德, Tencent) use GCJ-02, Baidu uses BD-09, each 100-700 m off the GPS position of
    the same door."""

    WGS84 = "wgs84", pgettext_lazy("Datum", "WGS-84 (GPS)")
    GCJ02 = "gcj02", pgettext_lazy("Datum", "GCJ-02 (AMap, Tencent)")
    BD09 = "bd09", pgettext_lazy("Datum", "BD-09 (Baidu)")


class Hazard(models.TextChoices):
    """What a team should know before knocking (an address's hazards)."""

    AGGRESSIVE_OCCUPANT = "aggressive_occupant", pgettext_lazy("Hazard", "Aggressive occupant")
    DOG = "dog", pgettext_lazy("Hazard", "Dog")
    PREVIOUS_INCIDENT = "previous_incident", pgettext_lazy("Hazard", "Previous incident")
    OTHER = "other", pgettext_lazy("Hazard", "Other")


class AddressKind(models.TextChoices):
    HOME = "home", pgettext_lazy("AddressKind", "Home")
    WORK = "work", pgettext_lazy("AddressKind", "Workplace")
    HOUSEHOLD_REGISTRATION = (
        "household_registration",
        pgettext_lazy("AddressKind", "Household registration"),
    )
    MAILING = "mailing", pgettext_lazy("AddressKind", "Mailing")
    # Where agents escort a debtor who pays at the counter (行为指引 4): added to a case by an
    # approved escort change request, never planned.
    BANK = "bank", pgettext_lazy("AddressKind", "Bank counter")
    OTHER = "other", pgettext_lazy("AddressKind", "Other")


class RelationKind(models.TextChoices):
    CO_BORROWER = "co_borrower", pgettext_lazy("RelationKind", "Co-borrower")
    GUARANTOR = "guarantor", pgettext_lazy("RelationKind", "Guarantor")
    FAMILY = "family", pgettext_lazy("RelationKind", "Family member")
    COLLEAGUE = "colleague", pgettext_lazy("RelationKind", "Colleague")
    FRIEND = "friend", pgettext_lazy("RelationKind", "Friend")
    OTHER = "other", pgettext_lazy("RelationKind", "Other")


class CaseStatus(models.TextChoices):
    """Only an open case may be visited: the others are refused at route submission and
    approval and at every arrival (``rules.cases``)."""

    OPEN = "open", pgettext_lazy("CaseStatus", "Open")
    ON_HOLD = "on_hold", pgettext_lazy("CaseStatus", "On hold")
    DISPUTED = "disputed", pgettext_lazy("CaseStatus", "Disputed")
    PAID = "paid", pgettext_lazy("CaseStatus", "Paid")
    CLOSED = "closed", pgettext_lazy("CaseStatus", "Closed")
    DO_NOT_VISIT = "do_not_visit", pgettext_lazy("CaseStatus", "Do not visit")


class RouteStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("RouteStatus", "Draft")
    SUBMITTED = "submitted", pgettext_lazy("RouteStatus", "Submitted for approval")
    APPROVED = "approved", pgettext_lazy("RouteStatus", "Approved")
    REJECTED = "rejected", pgettext_lazy("RouteStatus", "Rejected")
    IN_PROGRESS = "in_progress", pgettext_lazy("RouteStatus", "In progress")
    COMPLETED = "completed", pgettext_lazy("RouteStatus", "Completed")


class StopStatus(models.TextChoices):
    PLANNED = "planned", pgettext_lazy("StopStatus", "Planned")
    SKIPPED = "skipped", pgettext_lazy("StopStatus", "Skipped (approved change)")
    VISITED = "visited", pgettext_lazy("StopStatus", "Visited")


class VisitStatus(models.TextChoices):
    PLANNED = "planned", pgettext_lazy("VisitStatus", "Planned")
    ARRIVING = "arriving", pgettext_lazy("VisitStatus", "Arriving (one agent arrived)")
    OPEN = "open", pgettext_lazy("VisitStatus", "Open (both agents arrived together)")
    CLOSED = "closed", pgettext_lazy("VisitStatus", "Closed (both agents left)")
    REPORTED = "reported", pgettext_lazy("VisitStatus", "Reported")
    REVIEWED = "reviewed", pgettext_lazy("VisitStatus", "Reviewed")


class ChangeRequestKind(models.TextChoices):
    """What a change request asks for: stops added, skipped or reordered; or escorting the
    debtor to a bank counter to pay there (行为指引 4), a stop of its own once approved."""

    ROUTE = "route", pgettext_lazy("ChangeRequestKind", "Stops added, skipped or reordered")
    BANK_ESCORT = "bank_escort", pgettext_lazy("ChangeRequestKind", "Escort to a bank counter")


class ChangeRequestStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("ChangeRequestStatus", "Pending")
    APPROVED = "approved", pgettext_lazy("ChangeRequestStatus", "Approved")
    REJECTED = "rejected", pgettext_lazy("ChangeRequestStatus", "Rejected")


class Platform(models.TextChoices):
    ANDROID = "android", pgettext_lazy("Platform", "Android")
    IOS = "ios", pgettext_lazy("Platform", "iOS")
    WEB = "web", pgettext_lazy("Platform", "Web")
    OTHER = "other", pgettext_lazy("Platform", "Other")


class CheckInKind(models.TextChoices):
    DEPART = "depart", pgettext_lazy("CheckInKind", "Depart")
    ARRIVE = "arrive", pgettext_lazy("CheckInKind", "Arrive at a stop")
    PERIODIC = "periodic", pgettext_lazy("CheckInKind", "Periodic report")
    LEAVE = "leave", pgettext_lazy("CheckInKind", "Leave a stop")
    RETURN = "return", pgettext_lazy("CheckInKind", "Return")


class AlertKind(models.TextChoices):
    PANIC = "panic", pgettext_lazy("AlertKind", "Panic")
    # Before per-agent clocks, one alert for the team's missed report; kept for those rows.
    MISSED_CHECKIN = "missed_checkin", pgettext_lazy("AlertKind", "Missed check-in (team)")
    AGENT_SILENT = "agent_silent", pgettext_lazy("AlertKind", "Agent silent (missed check-in)")
    LONE_DEPART = "lone_depart", pgettext_lazy("AlertKind", "Departed alone")
    LONE_AGENT = "lone_agent", pgettext_lazy("AlertKind", "Agent alone at the door")
    TEAM_SPLIT = "team_split", pgettext_lazy("AlertKind", "Team split")
    RULE_BREAK = "rule_break", pgettext_lazy("AlertKind", "Rule broken (offline check-in)")
    LATE_EVIDENCE = "late_evidence", pgettext_lazy("AlertKind", "Evidence received after review")
    PHONE_SILENT = (
        "phone_silent",
        pgettext_lazy("AlertKind", "Phone stopped reporting (no heartbeat)"),
    )
    LOW_BATTERY = "low_battery", pgettext_lazy("AlertKind", "Phone battery low")
    DAY_NOT_CLOSED = (
        "day_not_closed",
        pgettext_lazy("AlertKind", "Day not closed (report, recording or return missing)"),
    )
    THIRD_PARTY = (
        "third_party",
        pgettext_lazy("AlertKind", "Notice signed by someone who is not a listed relation"),
    )
    INCIDENT = "incident", pgettext_lazy("AlertKind", "Conduct incident opened")
    QUALIFICATION_EXPIRING = (
        "papers_expiring",
        pgettext_lazy("AlertKind", "Agent's qualification expiring"),
    )


class DocumentKind(models.TextChoices):
    """The papers an agent's qualification holds (seeds: 外访催收作业人员诚信规定)."""

    CRIMINAL_RECORD = (
        "criminal_record",
        pgettext_lazy("DocumentKind", "Certificate of no criminal record"),
    )
    CREDIT_REPORT = "credit_report", pgettext_lazy("DocumentKind", "Personal credit report")
    TRAINING = "training", pgettext_lazy("DocumentKind", "Training completed")


class AlertSeverity(models.IntegerChoices):
    """Higher is more severe; the alerts page sorts on it."""

    LOW = 10, pgettext_lazy("AlertSeverity", "Low")
    MEDIUM = 20, pgettext_lazy("AlertSeverity", "Medium")
    HIGH = 30, pgettext_lazy("AlertSeverity", "High")
    CRITICAL = 40, pgettext_lazy("AlertSeverity", "Critical")


class AlertStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("AlertStatus", "Open")
    ACKNOWLEDGED = "acknowledged", pgettext_lazy("AlertStatus", "Acknowledged")
    RESOLVED = "resolved", pgettext_lazy("AlertStatus", "Resolved")


class ContactKind(models.TextChoices):
    """Where a person on call is reached: an e-mail address, or a mobile number (SMS, and the
    @-mention in the DingTalk and WeCom group robots)."""

    EMAIL = "email", pgettext_lazy("ContactKind", "E-mail")
    MOBILE = "mobile", pgettext_lazy("ContactKind", "Mobile phone")


class AckChannel(models.TextChoices):
    """Through what an alert was acknowledged."""

    ADMIN = "admin", pgettext_lazy("AckChannel", "Admin")
    EMAIL = "email", pgettext_lazy("AckChannel", "E-mail link")
    SMS = "sms", pgettext_lazy("AckChannel", "SMS link")
    DINGTALK = "dingtalk", pgettext_lazy("AckChannel", "DingTalk link")
    WECOM = "wecom", pgettext_lazy("AckChannel", "WeCom link")
    WEBHOOK = "webhook", pgettext_lazy("AckChannel", "Webhook link")


class NoticeState(models.TextChoices):
    """One notification of one person (or group) through one channel."""

    PENDING = "pending", pgettext_lazy("NoticeState", "Being sent")
    DELIVERED = "delivered", pgettext_lazy("NoticeState", "Delivered")
    FAILED = "failed", pgettext_lazy("NoticeState", "Failed every retry")
    CANCELLED = "cancelled", pgettext_lazy("NoticeState", "Not needed (acknowledged first)")


class PhotoKind(models.TextChoices):
    DOOR = "door", pgettext_lazy("PhotoKind", "Door number with the partner in frame")
    NEAREST_DOOR = (
        "nearest_door",
        pgettext_lazy("PhotoKind", "Nearest door number (address not found)"),
    )
    SURROUNDINGS = "surroundings", pgettext_lazy("PhotoKind", "Surroundings")
    NOTICE_ON_DOOR = "notice_on_door", pgettext_lazy("PhotoKind", "Notice on the door")
    SEAL = "seal", pgettext_lazy("PhotoKind", "Seal")
    OTHER = "other", pgettext_lazy("PhotoKind", "Other")


class ReceiptOutcome(models.TextChoices):
    SIGNED_BY_DEBTOR = "signed_by_debtor", pgettext_lazy("ReceiptOutcome", "Signed by the debtor")
    SIGNED_BY_RELATION = (
        "signed_by_relation",
        pgettext_lazy("ReceiptOutcome", "Signed by a relation"),
    )
    REFUSED = "refused", pgettext_lazy("ReceiptOutcome", "Refused")
    NOT_DELIVERED = "not_delivered", pgettext_lazy("ReceiptOutcome", "Not delivered")
    LEFT_IN_MAILBOX = (
        "left_in_mailbox",
        pgettext_lazy("ReceiptOutcome", "Left in a private mailbox"),
    )


class UploadStatus(models.TextChoices):
    """A tus upload's life: receiving bytes, then completed (a segment) or ended."""

    RECEIVING = "receiving", pgettext_lazy("UploadStatus", "Receiving")
    COMPLETED = "completed", pgettext_lazy("UploadStatus", "Completed")
    FAILED = "failed", pgettext_lazy("UploadStatus", "Failed (refused when complete)")
    TERMINATED = "terminated", pgettext_lazy("UploadStatus", "Terminated by the client")
    EXPIRED = "expired", pgettext_lazy("UploadStatus", "Expired")


class ReportOutcome(models.TextChoices):
    """What the visit came to, as the team's report states it (上门催收情况报告)."""

    MET_DEBTOR = "met_debtor", pgettext_lazy("ReportOutcome", "Met the debtor")
    MET_RELATION = "met_relation", pgettext_lazy("ReportOutcome", "Met a relation")
    NO_ANSWER = "no_answer", pgettext_lazy("ReportOutcome", "Nobody answered")
    ADDRESS_NOT_FOUND = "address_not_found", pgettext_lazy("ReportOutcome", "Address not found")
    MOVED = "moved", pgettext_lazy("ReportOutcome", "The debtor moved away")
    REFUSED_CONTACT = "refused_contact", pgettext_lazy("ReportOutcome", "Contact refused")


class ReportStatus(models.TextChoices):
    """A report's state, read from its records: co-signed, corrected, or neither yet."""

    AWAITING_COSIGN = (
        "awaiting_cosign",
        pgettext_lazy("ReportStatus", "Awaiting the partner's co-signature"),
    )
    COSIGNED = "cosigned", pgettext_lazy("ReportStatus", "Co-signed by both agents")
    SUPERSEDED = "superseded", pgettext_lazy("ReportStatus", "Superseded by a correction")


class PromiseTerms(models.TextChoices):
    """What a promise to pay does to the debt: only a settlement reduces it, and a reduction
    needs the creditor's written authorisation (seeds: 不得擅自承诺减免款项)."""

    FULL = "full", pgettext_lazy("PromiseTerms", "Pays the whole amount due")
    INSTALMENT = "instalment", pgettext_lazy("PromiseTerms", "An instalment: the rest stays due")
    SETTLEMENT = "settlement", pgettext_lazy("PromiseTerms", "Settles the debt for less")


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", pgettext_lazy("PaymentMethod", "Bank transfer")
    BANK_COUNTER = "bank_counter", pgettext_lazy("PaymentMethod", "At a bank counter")
    ALIPAY = "alipay", pgettext_lazy("PaymentMethod", "Alipay")
    WECHAT_PAY = "wechat_pay", pgettext_lazy("PaymentMethod", "WeChat Pay")
    OTHER = "other", pgettext_lazy("PaymentMethod", "Other")


class IncidentSource(models.TextChoices):
    """What opened a conduct incident (事件)."""

    ATTESTATION = "attestation", pgettext_lazy("IncidentSource", "Report attests a rule broken")
    LONE_AGENT = "lone_agent", pgettext_lazy("IncidentSource", "Agent acted alone")
    COMPLAINT = "complaint", pgettext_lazy("IncidentSource", "Serious complaint")
    FINDING = "finding", pgettext_lazy("IncidentSource", "Supervisor's finding")


class IncidentDecisionKind(models.TextChoices):
    """How a risk manager closes an incident."""

    NOT_SUBSTANTIATED = (
        "not_substantiated",
        pgettext_lazy("IncidentDecisionKind", "Not substantiated"),
    )
    WARNING = "warning", pgettext_lazy("IncidentDecisionKind", "Substantiated: written warning")
    RETRAINING = (
        "retraining",
        pgettext_lazy("IncidentDecisionKind", "Substantiated: retraining before field work"),
    )
    SUSPENSION = (
        "suspension",
        pgettext_lazy("IncidentDecisionKind", "Substantiated: agent(s) suspended"),
    )
    DISMISSAL = "dismissal", pgettext_lazy("IncidentDecisionKind", "Substantiated: dismissal")


class ComplaintChannel(models.TextChoices):
    WEB_FORM = "web_form", pgettext_lazy("ComplaintChannel", "Public web form")
    PHONE = "phone", pgettext_lazy("ComplaintChannel", "Telephone")
    LETTER = "letter", pgettext_lazy("ComplaintChannel", "Letter")
    IN_PERSON = "in_person", pgettext_lazy("ComplaintChannel", "In person")
    EMAIL = "email", pgettext_lazy("ComplaintChannel", "E-mail")
    CREDITOR = "creditor", pgettext_lazy("ComplaintChannel", "Forwarded by the creditor")
    REGULATOR = "regulator", pgettext_lazy("ComplaintChannel", "Forwarded by a regulator")


class ComplainantKind(models.TextChoices):
    DEBTOR = "debtor", pgettext_lazy("ComplainantKind", "The debtor")
    RELATION = "relation", pgettext_lazy("ComplainantKind", "A relation of the debtor")
    THIRD_PARTY = "third_party", pgettext_lazy("ComplainantKind", "A third party (neighbour, ...)")
    OTHER = "other", pgettext_lazy("ComplainantKind", "Other")


class ComplaintCategory(models.TextChoices):
    """What the complaint says was done, in the seeds' terms (外访流程, 行为指引,
    电话催收管理制度)."""

    ENTERED_RESIDENCE = (
        "entered_residence",
        pgettext_lazy("ComplaintCategory", "Entered the residence"),
    )
    DISTURBANCE = (
        "disturbance",
        pgettext_lazy("ComplaintCategory", "Shouting, banging or repeated ringing"),
    )
    PHYSICAL_CONTACT = "physical_contact", pgettext_lazy("ComplaintCategory", "Physical contact")
    THREATS_OR_INSULTS = (
        "threats_or_insults",
        pgettext_lazy("ComplaintCategory", "Threats or insults"),
    )
    IMPERSONATION = (
        "impersonation",
        pgettext_lazy("ComplaintCategory", "Posed as police, a court or a bank"),
    )
    UNAUTHORISED_REDUCTION = (
        "unauthorised_reduction",
        pgettext_lazy("ComplaintCategory", "Promised a reduction or waiver"),
    )
    THIRD_PARTY_DISCLOSURE = (
        "third_party_disclosure",
        pgettext_lazy("ComplaintCategory", "Told others about the debt"),
    )
    CASH_OR_GIFTS = (
        "cash_or_gifts",
        pgettext_lazy("ComplaintCategory", "Took cash, notes, goods or gifts"),
    )
    NO_IDENTITY = (
        "no_identity",
        pgettext_lazy("ComplaintCategory", "Did not show identity or badge"),
    )
    HOURS_OR_FREQUENCY = (
        "hours_or_frequency",
        pgettext_lazy("ComplaintCategory", "Visited at night or too often"),
    )
    OTHER = "other", pgettext_lazy("ComplaintCategory", "Other")


class ComplaintGrade(models.IntegerChoices):
    """How serious a complaint is; serious and critical ones open an incident at once."""

    MINOR = 10, pgettext_lazy("ComplaintGrade", "Minor")
    SERIOUS = 30, pgettext_lazy("ComplaintGrade", "Serious")
    CRITICAL = 40, pgettext_lazy("ComplaintGrade", "Critical")
