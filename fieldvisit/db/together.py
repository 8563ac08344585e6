"""Many migration operations applied to the migration state together, for speed.

Django re-renders a model, and every model related to it, after each operation changes it in
the migration state: 0022's 343 ``AlterField`` (names people read, no SQL) took 12 of a
fresh ``migrate``'s 15 seconds, paid by every new database (the quick start, every test
database and child server, the migrations test three times over). ``Together`` applies its
operations' state changes in turn without rendering, then re-renders the models they touched
once; in the database each operation runs as it would alone, between the state before and the
state after all of them. So the operations must be independent of each other (no two touch
the same field), which relabelling operations are.
"""

from __future__ import annotations

from typing import Any

from django.db.migrations.operations.base import Operation


class Together(Operation):
    """``Together(op, op, ...)``: the operations, their migration state rendered once."""

    def __init__(self, *operations: Operation) -> None:
        self.operations = operations
        self.reversible = all(op.reversible for op in operations)
        self.reduces_to_sql = all(op.reduces_to_sql for op in operations)
        self.atomic = any(op.atomic for op in operations)
        touched = [self._touches(op) for op in operations]
        if len(set(touched)) != len(touched):
            raise ValueError("Together's operations must each change something different")

    @staticmethod
    def _model(op: Operation) -> str:
        """The model an operation changes (a field operation's, or a model operation's own)."""
        return getattr(op, "model_name_lower", None) or op.name_lower

    @classmethod
    def _touches(cls, op: Operation) -> tuple[str, ...]:
        return (type(op).__name__, cls._model(op), getattr(op, "name_lower", ""))

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (self.__class__.__qualname__, list(self.operations), {})

    def describe(self) -> str:
        return f"{len(self.operations)} operations together"

    @property
    def migration_name_fragment(self) -> str:
        return "together"

    def state_forwards(self, app_label: str, state: Any) -> None:
        # ProjectState re-renders only while its ``apps`` are rendered (``"apps" in
        # __dict__``): set them aside, change the states, then re-render what changed once,
        # with every model related to it (as each operation would have, undelayed).
        rendered = state.__dict__.pop("apps", None)
        models = set()
        try:
            for op in self.operations:
                op.state_forwards(app_label, state)
                models.add((app_label, self._model(op)))
        finally:
            if rendered is not None:
                state.__dict__["apps"] = rendered
        state.reload_models(models, delay=False)

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        for op in self.operations:
            op.database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        for op in reversed(self.operations):
            op.database_backwards(app_label, schema_editor, from_state, to_state)
