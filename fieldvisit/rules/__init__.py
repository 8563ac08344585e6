"""The procedure's rules as plain functions: data in, a ``Verdict`` out.

No HTTP and no ORM inside a decision, so every rule is unit-tested on its own and reused by
the API, the admin and the compliance verdict alike. Each failed verdict carries the stable
``code`` the API answers with; the HTTP status belongs to the code, in one table
(``fieldvisit.api.errors.CODES``), never to the rule.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    ok: bool
    code: str = ""
    detail: str = ""

    @classmethod
    def passed(cls, detail: str = "") -> Verdict:
        return cls(True, "", detail)

    @classmethod
    def failed(cls, code: str, detail: str) -> Verdict:
        return cls(False, code, detail)

    def raise_if_failed(self) -> None:
        if not self.ok:
            raise RuleViolation(self.code, self.detail)


class RuleViolation(Exception):
    """A rule refused an action; the API answers with a problem of the rule's code (and the
    status that code has), the admin shows the detail."""

    def __init__(self, code: str, detail: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.errors = errors or {}
