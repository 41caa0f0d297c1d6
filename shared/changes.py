"""What a partial update really changes: the ``changes`` every changed-event carries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def changed_fields(current: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{field: {"old": ..., "new": ...}}`` for each of ``fields`` whose value differs from ``current``."""
    return {name: {"old": current.get(name), "new": value} for name, value in fields.items() if current.get(name) != value}
