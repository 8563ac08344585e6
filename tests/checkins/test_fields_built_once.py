"""The check-in serializer shares one set of bound fields between requests: each request
still gets its own data, errors and validated values, and the shared fields are the
serializer's declared ones (the schema reads the same)."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

from fieldvisit.api.serializers.checkins import CheckInCreateSerializer


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
