"""Examples of each operation's request and answer, for the OpenAPI schema.

One visit of the demo's kind told through the API: agents ``agent_a`` and ``agent_b`` of team
Huangpu depart, arrive together at their route's first stop, photograph the door, record the
notice receipt, report, leave and co-sign; legal then reads the case. The ids are fixed so the
examples refer to one another. ``tests/contract/test_schema_examples.py`` validates every
example against the schema of the body it illustrates, so they cannot drift from the API.
"""

from __future__ import annotations

import base64
from typing import Any

from drf_spectacular.utils import OpenApiExample

ROUTE = "73adc5c7-04e9-47ef-b8ce-3f55b8712f4a"
STOP = "40fad6de-45e9-409a-aebc-c9cd1da0908e"
STOP_2 = "a0f2f493-84eb-40a3-9f50-85520b0fcee8"
VISIT = "3b47d4d1-110a-4c4f-acd1-793045a1814d"
VISIT_2 = "5a081e8f-b943-4d35-9adf-26b3f58bf0f1"
CASE = "06d45992-b4e5-4e4c-a199-27538b5ccce9"
CASE_2 = "a7ea9f38-58bc-48c1-bf1b-66153cc7579f"
CHECKIN_A = "9c16883d-ba3d-4df0-a01a-2ecabe3f1190"
CHECKIN_B = "47f841e6-4285-4ea4-8900-58d4cc7948c3"
PHOTO = "8f5abaa9-d0cf-4770-92d5-77e2ad5be86c"
RECEIPT = "bce7be11-a082-4994-8d6b-b307ef64b471"
REPORT = "4738e1bf-a17f-40ca-8f7c-082f3782bad0"
CHANGE = "f5ca4644-3cca-40aa-a4dd-35d8844293f7"
ALERT = "46adb711-93f2-47e8-aa3b-504b9757989f"
RELATION = "0c9d3b52-6f1e-4a7b-8e2d-5b4a3c2d1e0f"
RECORDING = "e1f7a3c2-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
UPLOAD = "5d0c3a9e-7f21-4b8a-9c44-2e6f1a8b3d57"
PHOTO_SHA = "d5307f05812983051b501c2b5ded01beb7f489579921b561be4ab532b384e5ba"
SIGNATURE_SHA = "c07c017583b93147d49c9721edf2c8ba132db407f18fcea919b330e125f48182"
SEGMENT_SHA = ["7d6fd7774f0d87624da6dcf16d0d3d104c3191e771fbe2f39c86aed4b2bf1a0f"]
SEGMENT_SHA.append("3a8e1f5c2b9d4e7f6a0c1b2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f")
REPORT_SHA = "d5c36ca5b4a07c8e0fc9f5acb9596a9f25a930df04309f983f236856975267e0"
ROOT_HASH = "86ca5eac1405cdd1de6c66154e2c6d886662592cecdd2188365a3a834e4b1695"
LEAF_HASH = "b97db857f36d55aed8855a36bc8973dee675e0ad92af238fea0233d276cb577d"
KEY_ID = "a0e044adafa75102"
PEM = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAXLEbpRP0Dc1voKQpfl3pn5qK33T0RbuAHGYRDWfe91w=\n"
    "-----END PUBLIC KEY-----\n"
)
NOTICE = "CN-20261124-73ADC5C7-001"
AT = "2026-11-24T09:30:00+08:00"  # the arrival; the other times follow it


def request(name: str, value: Any, **options: Any) -> OpenApiExample:
    return OpenApiExample(name, value=value, request_only=True, **options)


def answer(name: str, value: Any, status: int = 200, **options: Any) -> OpenApiExample:
    return OpenApiExample(
        name, value=value, response_only=True, status_codes=[str(status)], **options
    )


def created(name: str, value: Any) -> list[OpenApiExample]:
    """A create's answers: 201, and 200 to the same request sent again (the same ``id`` and
    content), with the record as it is now."""
    return [answer(name, value, 201), answer("Sent again: the same id and content", value, 200)]


# --- sign-in ---------------------------------------------------------------------------------

USER = {"id": 2, "username": "agent_a", "roles": ["agent"]}
MEMBERS = [
    {"id": 2, "username": "agent_a", "name": "Li Wei", "badge_number": "B00001"},
    {"id": 3, "username": "agent_b", "name": "Wang Fang", "badge_number": "B00002"},
]
AUTH_TOKEN = [
    request(
        "Sign in",
        {
            "username": "agent_a",
            "password": "correct horse battery staple",
            "device_id": "android-3f9c2e71",
            "device_name": "Pixel 7",
            "platform": "android",
        },
    ),
    answer(
        "Signed in",
        {
            "token": "9944b09199c62bcf9418ad846dd0e4bb",
            "device_id": "android-3f9c2e71",
            "user": USER,
        },
        201,
    ),
]
ME = [answer("A field agent", {**USER, "team": {"id": 1, "name": "Huangpu", "members": MEMBERS}})]

# --- routes ----------------------------------------------------------------------------------


def _stop(stop: str, sequence: int, visit: str, case: str, status: str) -> dict[str, Any]:
    return {
        "id": stop,
        "sequence": sequence,
        "visit_id": visit,
        "case": {
            "id": case,
            "number": f"C-0000{5 + sequence}",
            "debtor_name": "Zhang San" if sequence == 1 else "Li Si",
            "debtor_id_masked": "310***********4511",
            "amount_due": f"{5 + sequence}000.00",
            "creditor": "Acme Finance",
            "status": "open",
            "status_reason": "",
            "do_not_contact": False,
            "relations": [
                {"id": RELATION, "name": "Wang Wu", "kind": "guarantor", "do_not_contact": False}
            ]
            if sequence == 1
            else [],
            "previous_visits": [{"date": "2026-11-10", "status": "reviewed", "outcome": "refused"}]
            if sequence == 1
            else [],
        },
        "address": {
            "kind": "home",
            "text": f"{9 + sequence} Nanjing Road, Shanghai",
            "lat": 31.2304 + 0.002 * (sequence - 1),
            "lon": 121.4737,
            "timezone": "Asia/Shanghai",
            "hazards": ["dog"] if sequence == 2 else [],
            "hazard_notes": "A large dog in the yard." if sequence == 2 else "",
        },
        "notice_number": f"CN-20261124-73ADC5C7-00{sequence}",
        "status": status,
    }


ROUTE_ANSWER = {
    "id": ROUTE,
    "date": "2026-11-24",
    "status": "approved",
    "team": {"id": 1, "name": "Huangpu"},
    "stops": [
        _stop(STOP, 1, VISIT, CASE, "visited"),
        _stop(STOP_2, 2, VISIT_2, CASE_2, "planned"),
    ],
}
ROUTES_LIST = [answer("Today's route", ROUTE_ANSWER)]
ROUTES_RETRIEVE = [answer("An approved route", ROUTE_ANSWER)]

CHANGE_ANSWER = {
    "id": CHANGE,
    "route": ROUTE,
    "status": "pending",
    "kind": "route",
    "escort": None,
    "reason": "The gate is locked; the building manager is away until tomorrow.",
    "add_stops": [],
    "skip_stops": [STOP_2],
    "order": [],
    "decided_by": None,
    "decided_at": None,
    "comment": "",
}
ROUTES_CHANGE_REQUESTS_CREATE = [
    request(
        "Skip a stop",
        {
            "id": CHANGE,
            "reason": "The gate is locked; the building manager is away until tomorrow.",
            "skip_stops": [STOP_2],
        },
    ),
    request(
        "Escort the debtor to a bank counter",
        {
            "id": CHANGE,
            "reason": "The debtor wants to pay the instalment at the bank counter now.",
            "kind": "bank_escort",
            "escort": {
                "stop": STOP,
                "bank_name": "ICBC Huangpu branch",
                "bank_address": "300 Nanjing Road East, Shanghai",
                "lat": 31.2351,
                "lon": 121.4801,
            },
        },
    ),
    *created("Requested", CHANGE_ANSWER),
]
CHANGE_REQUESTS_RETRIEVE = [
    answer(
        "Approved",
        {
            **CHANGE_ANSWER,
            "status": "approved",
            "decided_by": "supervisor",
            "decided_at": "2026-11-24T10:02:00+08:00",
            "comment": "Skip it; it goes on Thursday's route.",
        },
    )
]

# --- check-ins, panic ------------------------------------------------------------------------

ARRIVE = {
    "id": CHECKIN_A,
    "route": ROUTE,
    "stop": STOP,
    "kind": "arrive",
    "lat": 31.2304,
    "lon": 121.4737,
    "accuracy_m": 8.5,
    "captured_at": AT,
    "sent_at": "2026-11-24T09:30:01+08:00",
}
CHECKINS_CREATE = [
    request("Arrive at a stop", ARRIVE),
    request(
        "A periodic check-in",
        {
            "id": "d2dc1643-5ce0-4b42-a61c-e060eb87aa73",
            "route": ROUTE,
            "stop": STOP,
            "kind": "periodic",
            "lat": 31.23041,
            "lon": 121.47372,
            "accuracy_m": 12.0,
            "captured_at": "2026-11-24T09:45:00+08:00",
        },
    ),
    request(
        "Depart, position from a Chinese map SDK (GCJ-02)",
        {
            "id": "06a993e6-e3a5-45dc-9af7-3dc16be321e1",
            "route": ROUTE,
            "kind": "depart",
            "lat": 31.22851,
            "lon": 121.47815,
            "accuracy_m": 15.0,
            "captured_at": "2026-11-24T09:05:00+08:00",
            "datum": "gcj02",
        },
    ),
    answer(
        "The second agent arrived: the visit is open",
        {
            "id": CHECKIN_B,
            "kind": "arrive",
            "received_at": "2026-11-24T09:30:01+08:00",
            "clock_skew_s": -0.4,
            "flags": [],
            "visit": {"id": VISIT, "status": "open"},
            "next_due_at": "2026-11-24T10:00:00+08:00",
            "remind_at": "2026-11-24T09:58:00+08:00",
        },
        201,
    ),
    answer(
        "Queued offline outside the visit hours: kept, flagged",
        {
            "id": "c4d9e2f1-0a3b-4c5d-8e6f-7a8b9c0d1e2f",
            "kind": "periodic",
            "received_at": "2026-11-24T21:20:00+08:00",
            "clock_skew_s": 0.2,
            "flags": ["outside_visit_hours"],
            "visit": {"id": VISIT, "status": "open"},
            "next_due_at": "2026-11-24T21:50:00+08:00",
            "remind_at": "2026-11-24T21:48:00+08:00",
        },
        201,
    ),
]
CHECKINS_CREATE.append(answer("Sent again: the same id and content", CHECKINS_CREATE[3].value, 200))
ALERT_ANSWER = {
    "id": ALERT,
    "kind": "panic",
    "severity": 40,
    "severity_name": "critical",
    "status": "open",
    "raised_at": "2026-11-24T09:41:00+08:00",
    "discreet": True,
}
ALERTS_PANIC = [
    request(
        "A discreet panic",
        {
            "id": ALERT,
            "lat": 31.2304,
            "lon": 121.4737,
            "captured_at": "2026-11-24T09:41:00+08:00",
            "note": "Threatened at the door",
            "discreet": True,
        },
    ),
    *created("Raised: the team's on-call chain is told, first person first", ALERT_ANSWER),
]

HEARTBEAT = [
    request(
        "A phone on battery, two bars of 4G",
        {"battery": 62, "charging": False, "signal": 2, "network": "4g"},
    ),
    answer(
        "Watched: the next beat is due within five minutes",
        {"watched": True, "next_beat_by": "2026-11-24T09:46:00+08:00", "warning": ""},
    ),
]

# --- evidence --------------------------------------------------------------------------------

PHOTO_ANSWER = {
    "id": PHOTO,
    "kind": "door",
    "sha256": PHOTO_SHA,
    "size": 2_481_532,
    "media_type": "image/jpeg",
    "width": 4032,
    "height": 3024,
    "partner_in_frame": True,
    "agent": "agent_a",
    "captured_at": "2026-11-24T09:31:10+08:00",
    "received_at": "2026-11-24T09:31:14+08:00",
    "lat": 31.23042,
    "lon": 121.47371,
    "exif": {
        "lat": 31.23043,
        "lon": 121.47369,
        "altitude": 4.2,
        "taken_at": "2026-11-24T09:31:10+08:00",
        "make": "Google",
        "model": "Pixel 7",
    },
    "distance_m": 2.3,
    "flags": [],
    "late_by_s": None,
}
VISITS_PHOTOS_CREATE = [
    request(
        "The door, the partner in frame",
        {
            "id": PHOTO,
            "kind": "door",
            "captured_at": "2026-11-24T09:31:10+08:00",
            "lat": 31.23042,
            "lon": 121.47371,
            "partner_in_frame": True,
            "sha256": PHOTO_SHA,
            "file": "(the JPEG's bytes)",
        },
        media_type="multipart/form-data",
    ),
    *created("Kept", PHOTO_ANSWER),
]
RECEIPT_ANSWER = {
    "id": RECEIPT,
    "notice_number": NOTICE,
    "outcome": "signed_by_debtor",
    "signer_name": "Zhang San",
    "signer_relation": "",
    "relation": None,
    "third_party_reason": "",
    "signature": {"sha256": SIGNATURE_SHA, "size": 18_204, "media_type": "image/png"},
    "photo": None,
    "agent": "agent_a",
    "captured_at": "2026-11-24T09:36:00+08:00",
    "received_at": "2026-11-24T09:36:03+08:00",
    "lat": 31.2304,
    "lon": 121.4737,
    "flags": [],
    "late_by_s": None,
}
VISITS_RECEIPTS_CREATE = [
    request(
        "Signed by the debtor",
        {
            "id": RECEIPT,
            "notice_number": NOTICE,
            "outcome": "signed_by_debtor",
            "signer_name": "Zhang San",
            "captured_at": "2026-11-24T09:36:00+08:00",
            "lat": 31.2304,
            "lon": 121.4737,
            "signature": "(the signature's PNG bytes)",
            "signature_sha256": SIGNATURE_SHA,
        },
        media_type="multipart/form-data",
    ),
    request(
        "Signed by one of the case's relations",
        {
            "id": RECEIPT,
            "notice_number": NOTICE,
            "outcome": "signed_by_relation",
            "relation": RELATION,
            "captured_at": "2026-11-24T09:36:00+08:00",
            "lat": 31.2304,
            "lon": 121.4737,
            "signature": "(the signature's PNG bytes)",
            "signature_sha256": SIGNATURE_SHA,
        },
        media_type="multipart/form-data",
    ),
    *created("Kept", RECEIPT_ANSWER),
]

# --- the report ------------------------------------------------------------------------------

ATTESTATIONS = {
    "did_not_enter_residence": True,
    "no_cash_accepted": True,
    "identity_shown": True,
    "no_third_party_disclosure": True,
    "opening_statement_recorded": True,
    "closing_statement_recorded": True,
    "identity_verified_first": True,
    "no_disturbance": True,
    "no_physical_contact": True,
    "no_threats_or_insults": True,
    "no_impersonation": True,
    "no_unauthorised_reduction": True,
}
REPORT_ANSWER = {
    "id": REPORT,
    "visit": VISIT,
    "status": "awaiting_cosign",
    "outcome": "met_debtor",
    "promise_to_pay": {
        "amount": "2000.00",
        "date": "2026-12-01",
        "terms": "instalment",
        "method": "bank_transfer",
        "payer": "",
        "payer_voluntary": None,
        "authorisation": "",
    },
    "notes": "Met the debtor at the door; notice delivered. Promised 2000 by 1 December.",
    "attestations": ATTESTATIONS,
    "failed_attestations": [],
    "broken_attestations": [],
    "unattested": [],
    "author": "agent_b",
    "device_id": "android-77a1d0c4",
    "received_at": "2026-11-24T09:44:00+08:00",
    "corrects": None,
    "content_sha256": REPORT_SHA,
    "cosigned_by": None,
    "cosigned_at": None,
}
VISITS_REPORT_CREATE = [
    request(
        "A promise to pay",
        {
            "id": REPORT,
            "outcome": "met_debtor",
            "promise_to_pay": {
                "amount": "2000.00",
                "date": "2026-12-01",
                "terms": "instalment",
                "method": "bank_transfer",
            },
            "notes": "Met the debtor at the door; notice delivered. Promised 2000 by 1 December.",
            "attestations": ATTESTATIONS,
        },
    ),
    request(
        "A settlement the creditor authorised in writing",
        {
            "id": REPORT,
            "outcome": "met_relation",
            "promise_to_pay": {
                "amount": "9000.00",
                "date": "2026-12-01",
                "terms": "settlement",
                "method": "bank_counter",
                "payer": "Wang Wu (guarantor)",
                "payer_voluntary": True,
                "authorisation": "ACME-2026-1187",
            },
            "notes": "The guarantor offered to settle; within the creditor's written limit.",
            "attestations": ATTESTATIONS,
        },
    ),
    *created("Filed, awaiting the partner's co-signature", REPORT_ANSWER),
]
COSIGNED_AT = "2026-11-24T09:52:00+08:00"
VISITS_REPORT_COSIGN = [
    request("Co-sign the current report", {"report": REPORT}),
    answer(
        "Co-signed",
        {
            "status": "cosigned",
            "report": REPORT,
            "cosigned_by": "agent_a",
            "cosigned_at": COSIGNED_AT,
            "report_sha256": REPORT_SHA,
        },
    ),
]

# --- the visit as the API shows it -----------------------------------------------------------


def _checkin(checkin: str, agent: str, device: str, lat: float, distance: float) -> dict:
    return {
        "id": checkin,
        "kind": "arrive",
        "agent": agent,
        "device_id": device,
        "route": ROUTE,
        "stop": STOP,
        "lat": lat,
        "lon": 121.4737,
        "accuracy_m": 8.5,
        "captured_at": AT,
        "received_at": "2026-11-24T09:30:01+08:00",
        "clock_skew_s": -0.4,
        "distance_m": distance,
        "flags": [],
        "source": None,
    }


SEGMENTS = [
    {
        "index": index,
        "sha256": SEGMENT_SHA[index],
        "started_at": started,
        "duration_s": duration,
        "format": "m4a",
        "size": size,
        "received_at": received,
        "flags": [],
        "late_by_s": None,
    }
    for index, started, duration, size, received in (
        (0, "2026-11-24T09:29:50+08:00", 600.0, 4_812_211, "2026-11-24T09:40:02+08:00"),
        (1, "2026-11-24T09:39:51+08:00", 620.5, 4_967_032, "2026-11-24T09:50:20+08:00"),
    )
]
RECORDING_ANSWER = {
    "id": RECORDING,
    "segments": SEGMENTS,
    "continuous": True,
    "covers_visit": True,
    "gaps": [{"after_index": 0, "seconds": 1.0}],
    "missing": [],
    "starts_at": "2026-11-24T09:29:50+08:00",
    "ends_at": "2026-11-24T09:50:11.500000+08:00",
    "valid": True,
    "detail": "Continuous from before the first arrival to after the last leave.",
}
CHECKS = [
    ("route_approved", "Approved 2026-11-23 18:05:00 CST by Chen Jing (supervisor)."),
    ("two_agents_together", "agent_a and agent_b arrived 20 m apart within 1 s."),
    ("within_hours", "Arrived 09:30 CST, within 08:00-21:00."),
    ("geofence", "Both arrivals within 100 m of the address (0 m and 20 m)."),
    ("frequency_cap", "The first visit to this debtor this week."),
    ("approved_order", "Arrived in the approved order of the route."),
    ("checkins_on_time", "Every report within its 30 minutes."),
    ("door_photo", "A door photo with the partner in frame."),
    ("recording", "Continuous from before the first arrival to after the last leave."),
    ("notice_outcome", f"Notice {NOTICE}: Signed by the debtor."),
    ("report_cosigned", "Report by agent_b co-signed by agent_a."),
]
VISIT_ANSWER = {
    "id": VISIT,
    "stop": STOP,
    "status": "reported",
    "opened_at": "2026-11-24T09:30:01+08:00",
    "closed_at": "2026-11-24T09:50:05+08:00",
    "checkins": [
        _checkin(CHECKIN_A, "agent_a", "android-3f9c2e71", 31.2304, 0.0),
        _checkin(CHECKIN_B, "agent_b", "android-77a1d0c4", 31.23058, 20.0),
    ],
    "photos": [PHOTO_ANSWER],
    "recording": RECORDING_ANSWER,
    "receipts": [RECEIPT_ANSWER],
    "report": {
        **REPORT_ANSWER,
        "status": "cosigned",
        "cosigned_by": "agent_a",
        "cosigned_at": COSIGNED_AT,
    },
    "compliance": {
        "ok": True,
        "checks": {name: {"ok": True, "detail": detail} for name, detail in CHECKS},
    },
    "review": None,
}
VISITS_RETRIEVE = [answer("A reported visit", VISIT_ANSWER)]
VISITS_RECORDING_RETRIEVE = [answer("Two segments covering the visit", RECORDING_ANSWER)]

# --- legal -----------------------------------------------------------------------------------

CASE_ANSWER = {
    "id": CASE,
    "number": "C-00006",
    "creditor": "Acme Finance",
    "team": "Huangpu",
    "debtor_name": "Zhang San",
    "debtor_id_number": "310101198206304511",
    "amount_due": "6000.00",
    "currency": "CNY",
    "overdue_since": "2026-06-30",
    "status": "open",
}
CASES_LIST = [answer("A case found by its debtor's name", CASE_ANSWER)]
TIMELINE = [
    (AT, "checkin", CHECKIN_A, "arrive by agent_a (0 m from the address)"),
    ("2026-11-24T09:30:00.400000+08:00", "checkin", CHECKIN_B, "arrive by agent_b (20 m)"),
    ("2026-11-24T09:31:10+08:00", "photo", PHOTO, "door photo by agent_a"),
    ("2026-11-24T09:36:00+08:00", "receipt", RECEIPT, f"notice {NOTICE}: signed_by_debtor"),
    ("2026-11-24T09:44:00+08:00", "report", REPORT, "report by agent_b: met_debtor"),
]
CASES_EVIDENCE = [
    answer(
        "One visit",
        {
            "case": CASE_ANSWER,
            "visits": [VISIT_ANSWER],
            "timeline": [
                {"at": at, "kind": kind, "visit": VISIT, "id": record, "summary": summary}
                for at, kind, record, summary in TIMELINE
            ],
        },
    )
]

# --- the ledger ------------------------------------------------------------------------------

LEDGER_CHECKPOINT = [
    answer(
        "The latest checkpoint",
        {
            "tree_size": 11,
            "root_hash": ROOT_HASH,
            "timestamp": "2026-11-24T01:30:00.521571Z",
            "key_id": KEY_ID,
            "signature": "AQO7BMjnU1nx8B0wS649VD+naoPu11k4P3QgNOeVjsOpweuNT9B70fPvh5Iidu/9nN7U"
            "lbKin+SGIevFHOAPDg==",
            "signed_b64": "eyJrZXlfaWQiOiJhMGUwNDRhZGFmYTc1MTAyIiwidHJlZV9zaXplIjoxMX0=",
            "tsa_status": "off",
            "tsa_token": None,
            "tsa_time": None,
            "tsa_authority": None,
            "tsa_error": None,
        },
    )
]
LEDGER_CHECKPOINT_NOTE = [
    OpenApiExample(
        "The latest checkpoint as a signed note",
        value="fieldvisit.example/ledger\n11\nhsperBQFzdHebGYVTixtiGZiWSzs3SGINlo6g05LFpU=\n\n"
        "— fieldvisit.example/ledger bSE4BjvHC9oKlEf0gdH63jateaCEBdABskUdE7oJNNXofxkojxwgz09x"
        "NbzraDtqKuLID9gvIFbXAUCt0+6Wtl/W/QQ=\n",
        response_only=True,
        status_codes=["200"],
        media_type="text/plain",
    )
]
ENTRY_B64 = "eyJpbmRleCI6MSwia2luZCI6InJvdXRlLmFwcHJvdmVkIn0="
LEDGER_PROOF = [
    answer(
        "Entry 1 in the tree of 11",
        {
            "entry": 1,
            "tree_size": 11,
            "leaf_hash": LEAF_HASH,
            "entry_b64": ENTRY_B64,
            "path": [
                "b4a08b72e90e6fc82f0979f49d090f79ebb166a3377fa78391378b73d524b336",
                "87bb85209ff7633288934d9ac6e787463382189642eecf6a5bc0495ff482006c",
                "46b72f756421342c421aa844090f60d7554706d7abfd36f0be1eaafc0b8cf0c4",
                "2b8953bb141edc631e08968dda2a83c9f520c979a19d25d09f211f6717dd872e",
            ],
            "root_hash": ROOT_HASH,
        },
    )
]
LEDGER_CONSISTENCY = [
    answer(
        "From the tree of 1 to the tree of 3",
        {
            "first": 1,
            "second": 3,
            "first_root": "b4a08b72e90e6fc82f0979f49d090f79ebb166a3377fa78391378b73d524b336",
            "second_root": "d16d4056ba8ceab4d7d0aed0944e077385c47ff22ffa7457ff19a9cef78cb260",
            "path": [
                LEAF_HASH,
                "3ed48e589af71bb5d9410e3ebd5a003f1d08c1ffdc66e2a6bc27b84f886b9da3",
            ],
        },
    )
]
LEDGER_ENTRY = [
    answer(
        "A route's approval",
        {
            "index": 1,
            "leaf_hash": LEAF_HASH,
            "entry_b64": ENTRY_B64,
            "entry": {
                "actor": {"id": 1, "type": "user", "username": "supervisor"},
                "at": "2026-11-23T10:05:00Z",
                "data": {"comment": "ok", "date": "2026-11-24", "team": "Huangpu"},
                "index": 1,
                "kind": "route.approved",
                "subject": f"route:{ROUTE}",
            },
        },
    )
]
LEDGER_KEYS = [
    answer(
        "One key",  # the answer is a list of these
        {
            "key_id": KEY_ID,
            "valid_from": "2026-11-01T09:00:00+08:00",
            "valid_until": None,
            "public_key_pem": PEM,
            "note_verifier_key": "fieldvisit.example/ledger+6d213806+AVyxG6UT9A3Nb6CkKX5d6Z"
            "+ait909EW7gBxmEQ1n3vdc",
            "fingerprint": KEY_ID + "5c1f0e27d9b34a8e6f01c2d3b4a5968778695a4b3c2d1e0f",
        },
    )
]
LEDGER_VERIFIER = [
    OpenApiExample(
        "The verifier",
        value='#!/usr/bin/env python3\n"""Verify this evidence bundle. ...',
        response_only=True,
        status_codes=["200"],
        media_type="text/x-python",
    )
]
LEDGER_PUBLIC_KEY = [
    OpenApiExample(
        "The current key",
        value=PEM,
        response_only=True,
        status_codes=["200"],
        media_type="application/x-pem-file",
    )
]

# --- tus uploads (headers: examples of the request's and the answer's) -----------------------

UPLOAD_URL = f"https://fieldvisit.example/api/v1/uploads/{UPLOAD}/"
UPLOAD_METADATA = ",".join(
    f"{key} {base64.b64encode(value.encode()).decode()}"
    for key, value in {
        "visit": VISIT,
        "recording": RECORDING,
        "segment": "0",
        "started_at": SEGMENTS[0]["started_at"],
        "sha256": SEGMENT_SHA[0],
        "filename": "segment-0.m4a",
        "content_type": "audio/mp4",
    }.items()
)
UPLOAD_EXPIRES = "Fri, 27 Nov 2026 01:40:02 GMT"


def just(value: str | int, name: str = "Example") -> list[OpenApiExample]:
    """One example of a header's or a query parameter's value."""
    return [OpenApiExample(name, value=value)]


# --- conduct incidents -----------------------------------------------------------------------

INCIDENT = "6f1c2a9e-3d4b-4e8a-9c71-2b5d8e0f4a13"
ACCOUNT = "0d8e7c6b-5a49-4382-b1f0-e9d8c7b6a514"
ACCOUNT_ANSWER = {
    "id": ACCOUNT,
    "incident": INCIDENT,
    "agent": "agent_a",
    "text": "The debtor's mother asked us in out of the rain; we stayed under the porch.",
    "submitted_at": "2026-11-24T11:02:00+08:00",
}
INCIDENT_ANSWER = {
    "id": INCIDENT,
    "source": "attestation",
    "rules": ["did_not_enter_residence"],
    "severity": 30,
    "summary": "The visit report attests these rules broken: did_not_enter_residence.",
    "case": "C-2026-000123",
    "visit": VISIT,
    "opened_at": "2026-11-24T09:44:00+08:00",
    "status": "open",
    "account_due_at": "2026-11-25T09:44:00+08:00",
    "my_accounts": [ACCOUNT_ANSWER],
}
INCIDENTS_LIST = [answer("An incident that asks for your account", INCIDENT_ANSWER)]
INCIDENT_ACCOUNT_CREATE = [
    request("A written account", {"id": ACCOUNT, "text": ACCOUNT_ANSWER["text"]}),
    *created("Recorded", ACCOUNT_ANSWER),
]
