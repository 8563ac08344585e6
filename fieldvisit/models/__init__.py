"""The domain models, split by domain; import them from here."""

from fieldvisit.models.access_log import EvidenceAccess
from fieldvisit.models.cases import (
    Address,
    Case,
    CaseStatusChange,
    Creditor,
    Relation,
    mask_id_number,
)
from fieldvisit.models.evidence import (
    AudioSegment,
    EvidenceFile,
    Photo,
    PhotoAcceptance,
    Receipt,
    Recording,
)
from fieldvisit.models.incidents import (
    AgentSuspension,
    Complaint,
    ComplaintAgent,
    ComplaintAnswer,
    Incident,
    IncidentAccount,
    IncidentAgent,
    IncidentDecision,
    SuspensionLift,
)
from fieldvisit.models.ledger import (
    Checkpoint,
    CheckpointTimestamp,
    LedgerEntry,
    LedgerHead,
    LedgerNode,
    SigningKey,
)
from fieldvisit.models.oncall import AlertNotice, ContactPoint, DeliveryAttempt, OnCallEntry
from fieldvisit.models.people import AgentProfile, DeviceToken, Team
from fieldvisit.models.preferences import Preferences
from fieldvisit.models.qualifications import Agency, AgencyAgreement, QualificationDocument
from fieldvisit.models.reports import ReportCosignature, VisitReport, VisitReview
from fieldvisit.models.routes import AgentClock, Route, RouteChangeRequest, Stop, Visit
from fieldvisit.models.uploads import Upload
from fieldvisit.models.visits import Alert, CheckIn
from fieldvisit.models.witnesses import WitnessCosignature

__all__ = [
    "Address",
    "Agency",
    "AgencyAgreement",
    "AgentClock",
    "AgentProfile",
    "AgentSuspension",
    "Alert",
    "AlertNotice",
    "AudioSegment",
    "Case",
    "CaseStatusChange",
    "CheckIn",
    "Checkpoint",
    "CheckpointTimestamp",
    "Complaint",
    "ComplaintAgent",
    "ComplaintAnswer",
    "ContactPoint",
    "Creditor",
    "DeliveryAttempt",
    "DeviceToken",
    "EvidenceAccess",
    "EvidenceFile",
    "Incident",
    "IncidentAccount",
    "IncidentAgent",
    "IncidentDecision",
    "LedgerEntry",
    "LedgerHead",
    "LedgerNode",
    "OnCallEntry",
    "Photo",
    "PhotoAcceptance",
    "Preferences",
    "QualificationDocument",
    "Receipt",
    "Recording",
    "Relation",
    "ReportCosignature",
    "Route",
    "RouteChangeRequest",
    "SigningKey",
    "Stop",
    "SuspensionLift",
    "Team",
    "Upload",
    "Visit",
    "VisitReport",
    "VisitReview",
    "WitnessCosignature",
    "mask_id_number",
]
