"""Serializers whose fields are built once per process.

DRF deep-copies every declared field each time a serializer is made, and a ModelSerializer
also builds a field for each model field: that cost a check-in more than validating its data
(0.35 ms of 0.45), and a photo's answer 1.1 ms where writing it out takes 0.05. A serializer
that reads no context and keeps no per-request state in its fields can share one bound copy:
its fields are bound to a prototype instance. Validation (``run_validation`` of each field,
then the serializer's own ``validate``) and ``data`` run on the instance made for the
request, as before; a serializer nested in one of these, or the child of its ``many=True``
list, is one of the shared fields, built once with them.
"""

from __future__ import annotations

import functools
from typing import Any

from rest_framework import serializers


# Use for serializers, input or output, whose fields and ``get_*`` methods read neither
# ``context`` nor ``parent``/``root`` state nor the serializer's own ``instance``. Not a
# docstring: drf-spectacular describes a serializer by the first docstring in its classes, so
# every serializer without one of its own would be described by this one in the API schema.
class FieldsBuiltOnce(serializers.Serializer):
    @classmethod
    @functools.cache
    def shared_fields(cls) -> Any:
        prototype = cls()
        return super(FieldsBuiltOnce, prototype).fields

    @property
    def fields(self) -> Any:  # type: ignore[override]
        return self.shared_fields()
