"""Canonical JSON: the standard library's fast path writes exactly the bytes of ``rfc8785``
for every value it takes, and everything else still goes through ``rfc8785``."""

from __future__ import annotations

import math
import random
import struct
from typing import Any

import pytest
import rfc8785

from fieldvisit.canonical import canonical_json, entry_json, jsonable

ALPHABET = (
    [chr(c) for c in range(0x00, 0x80)]
    + list("外访通报催款通知书签收回执证据包¥€éß")
    + ["\u2028", "\u2029", "\ufeff", "\ufffd", "\U0001f600", "\U00020000", "\x7f", "\x85"]
)


def text(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 12)))


def number(rng: random.Random) -> float:
    """Floats of every form: positions and accuracies as phones send them, whole numbers,
    the edges of ECMAScript's and Python's fixed notations, and any bit pattern."""
    return rng.choice(
        [
            round(rng.uniform(-180, 180), rng.randint(0, 9)),
            float(rng.randint(-(2**60), 2**60)),
            rng.choice([0.0, -0.0, 1e-4, 9.999e-5, 1e16, 9999999999999998.0, 1e21, 5e-324]),
            rng.choice([1e-7, 1e-6, 123e-20, 1.5e300, -2.5e-5, 0.1, 2**53 + 2.0]),
            struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0],
        ]
    )


def value(rng: random.Random, depth: int = 0) -> Any:
    kinds = ["str", "int", "float", "bool", "none"] + (["dict", "list"] if depth < 4 else [])
    kind = rng.choice(kinds)
    if kind == "str":
        return text(rng)
    if kind == "int":
        return rng.choice([0, 1, -1, 2**53, -(2**53), rng.randint(-(10**12), 10**12)])
    if kind == "float":
        return number(rng)
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "none":
        return None
    if kind == "list":
        return [value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = [rng.choice(["a", "b", "index", "Z", "_x", "a1", "kind", "data", ""]) + text(rng)[:3]]
    keys += [rng.choice(["a", "b", "index", "Z", "kind", "data", "at"]) for _ in range(3)]
    return {key: value(rng, depth + 1) for key in keys}


@pytest.mark.parametrize("seed", range(5))
def test_floats_take_the_fast_path_only_where_python_writes_them_as_ecmascript(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(20_000):
        x = number(rng)
        if math.isfinite(x):
            assert canonical_json([x]) == rfc8785.dumps([x]), repr(x)
        else:  # NaN and infinities are refused, as rfc8785 refuses them
            with pytest.raises(rfc8785.FloatDomainError):
                canonical_json([x])


@pytest.mark.parametrize("seed", range(20))
def test_the_fast_path_writes_the_bytes_of_rfc8785(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(200):
        data = value(rng)
        assert canonical_json(data) == rfc8785.dumps(jsonable(data)), data


def test_what_the_fast_path_leaves_to_rfc8785() -> None:
    # Whole floats are written as integers, others as Python writes them, on the fast path.
    assert canonical_json({"f": 0.1, "h": -0.0, "k": 8.0, "l": 31.2304}) == (
        b'{"f":0.1,"h":0,"k":8,"l":31.2304}'
    )
    for data in (
        {"g": 1e21, "i": 5e-7, "j": 1.5e16},  # ECMAScript number forms
        {"\U0001f600": 1, "\ufb01": 2, "é": 3},  # keys sorted by UTF-16 code units
        [1.5, {"x": [2.25]}],
    ):
        assert canonical_json(data) == rfc8785.dumps(jsonable(data))
    # UTF-16 order puts the surrogate pair (D83D DE00) before U+FB01; code points would not.
    assert canonical_json({"\ufb01": 2, "\U0001f600": 1}) == '{"\U0001f600":1,"\ufb01":2}'.encode()


class _Int(int):
    pass


class _Str(str):
    __slots__ = ()


class _Dict(dict):
    pass


def test_the_exact_type_shortcuts_give_what_the_general_rules_give() -> None:
    """Plain str, int and dict take a shortcut; their subclasses take the general rules,
    and both must give the same value (so the same bytes)."""
    for number in (0, 7, -7, 2**53 - 1, 2**53, -(2**53) + 1, -(2**53), 10**20, -(10**20)):
        assert jsonable(number) == jsonable(_Int(number))
        assert isinstance(jsonable(number), str) == isinstance(jsonable(_Int(number)), str)
    assert jsonable(2**53) == "9007199254740992"
    assert jsonable(-(2**53) + 1) == -(2**53) + 1
    rng = random.Random(7)
    for _ in range(300):
        data = value(rng)
        if not isinstance(data, dict):
            continue
        general = _Dict({_Str(key): item for key, item in data.items()})
        general[_Int(3)] = _Int(2**60)
        data[3] = 2**60
        assert jsonable(data) == jsonable(general)
        assert canonical_json(data) == canonical_json(general) == rfc8785.dumps(jsonable(data))
    odd_keys = {"é": 1, "a": {"\U0001f600": 2}}
    assert canonical_json(odd_keys) == rfc8785.dumps(odd_keys)


def outcome(fn: Any, *args: Any) -> Any:
    """What ``fn`` returns, or the type of what it raises."""
    try:
        return fn(*args)
    except Exception as exc:  # compared, not swallowed
        return type(exc)


@pytest.mark.parametrize("seed", range(10))
def test_an_entry_written_field_by_field_is_its_content_s_canonical_json(seed: int) -> None:
    """``entry_json`` writes the entry's own fields itself: the same bytes as the content's
    canonical JSON (or the same refusal) for any actor, data, chain, text and index."""
    rng = random.Random(seed)
    for _ in range(300):
        index = rng.choice([0, 1, 2**53 - 1, 2**53, rng.randint(0, 10**9), True, -1])
        kind, subject, at = text(rng), text(rng), text(rng)
        if rng.random() < 0.05:
            kind = kind + "\ud800"  # a lone surrogate
        if rng.random() < 0.05:
            subject = 7  # type: ignore[assignment]
        actor, data = value(rng), value(rng)
        chain = rng.choice([None, value(rng), {"visit": text(rng), "seq": 3, "prev": None}])
        content = {"index": index, "kind": kind, "at": at, "actor": actor, "subject": subject}
        content["data"] = data
        if chain is not None:
            content["chain"] = chain
        expected = outcome(canonical_json, content)
        assert outcome(entry_json, index, kind, at, actor, subject, data, chain) == expected
