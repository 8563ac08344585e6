"""The check-in serializer, and the serializers of the phones' answers, share one set of bound
fields between requests: each request still gets its own data, errors and validated values,
and the shared fields are the serializer's declared ones (the schema reads the same)."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest

from fieldvisit.api.serializers.built_once import FieldsBuiltOnce
from fieldvisit.api.serializers.checkins import (
    AlertSerializer,
    CheckInCreateSerializer,
    CheckInResultSerializer,
    CheckInSerializer,
    HeartbeatAnswerSerializer,
    VisitBriefSerializer,
)
from fieldvisit.api.serializers.evidence import (
    PhotoSerializer,
    ReceiptSerializer,
    RecordingSerializer,
)
from fieldvisit.api.serializers.incidents import AccountSerializer
from fieldvisit.api.serializers.reports import CosignResultSerializer, ReportSerializer


def payload(**changes: object) -> dict:
    body = {
        "id": str(uuid.uuid4()),
        "route": str(uuid.uuid4()),
        "kind": "periodic",
        "lat": 31.2304,
        "lon": 121.4737,
        "accuracy_m": 8,
        "captured_at": (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)).isoformat(),
    }
    return {**body, **changes}


def test_two_serializers_share_fields_but_not_data_or_errors() -> None:
    bad = CheckInCreateSerializer(data=payload(lat=91, kind="teleport"))
    good = CheckInCreateSerializer(data=payload())

    assert bad.fields is good.fields
    assert not bad.is_valid()
    assert good.is_valid(), good.errors
    assert set(bad.errors) == {"lat", "kind"}
    assert good.validated_data["lat"] == 31.2304
    # An arrival without its stop: the serializer's own validate still runs per instance.
    arrive = CheckInCreateSerializer(data=payload(kind="arrive"))
    assert not arrive.is_valid()
    assert "stop" in arrive.errors
    assert list(good.fields) == list(CheckInCreateSerializer._declared_fields)


def test_concurrent_validations_keep_their_own_values() -> None:
    results: dict[int, object] = {}

    def validate(n: int) -> None:
        for _ in range(200):
            serializer = CheckInCreateSerializer(data=payload(lat=n / 10))
            assert serializer.is_valid(), serializer.errors
            if serializer.validated_data["lat"] != n / 10:
                results[n] = serializer.validated_data["lat"]
                return
        results[n] = None

    threads = [threading.Thread(target=validate, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == dict.fromkeys(range(8))


# The answers' serializers share their fields too (a ModelSerializer's cost 1.1 ms to build
# for each photo's answer). The fields are the ones DRF builds for a new serializer, so the
# answers and the schema are the same.
ANSWERS = [
    CheckInResultSerializer,
    CheckInSerializer,
    VisitBriefSerializer,
    HeartbeatAnswerSerializer,
    AlertSerializer,
    PhotoSerializer,
    ReceiptSerializer,
    RecordingSerializer,
    ReportSerializer,
    CosignResultSerializer,
    AccountSerializer,
]


@pytest.mark.parametrize("serializer", ANSWERS, ids=lambda s: s.__name__)
def test_answer_serializers_share_the_fields_drf_would_build(serializer: type) -> None:
    one, other = serializer(), serializer()
    assert one.fields is other.fields
    built = super(FieldsBuiltOnce, serializer()).fields  # what DRF builds for each instance
    assert [(name, type(field), field.source) for name, field in one.fields.items()] == [
        (name, type(field), field.source) for name, field in built.items()
    ]


def test_concurrent_answers_keep_their_own_values() -> None:
    moment = dt.datetime(2026, 12, 6, 8, 0, tzinfo=dt.UTC)
    wrong: list[object] = []

    def render(n: int) -> None:
        for _ in range(200):
            values = {
                "id": uuid.UUID(int=n),
                "kind": "periodic",
                "received_at": moment + dt.timedelta(seconds=n),
                "clock_skew_s": float(n),
                "flags": [f"flag{n}"],
                "visit": None,
                "next_due_at": None,
                "remind_at": None,
            }
            data = CheckInResultSerializer(values).data
            if (data["clock_skew_s"], data["flags"], data["visit"]) != (
                float(n),
                [f"flag{n}"],
                None,
            ):
                wrong.append(data)
                return

    threads = [threading.Thread(target=render, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
