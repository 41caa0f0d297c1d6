"""Rules of customer search: sort orders, keyset cursors and how query text is normalised.

Plain Python. A list is walked by keyset pagination on ``(sort key, id)``: the cursor
carries the last row's sort key and id, so a page is one index range scan however
deep the client has paged, and rows written meanwhile never shift a page.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.customer.domain.customers import phone_key, search_name
from shared.errors import BadRequest, InvalidInput

# API sort name -> the column it walks (display_name sorts by its normalised form).
SORTS: dict[str, str] = {"display_name": "name_search", "created_at": "created_at", "updated_at": "updated_at"}


@dataclass(frozen=True)
class Sort:
    column: str  # "id" or a value of SORTS
    descending: bool = False

    @property
    def name(self) -> str:
        api = next((k for k, v in SORTS.items() if v == self.column), self.column)
        return f"-{api}" if self.descending else api


DEFAULT_SORT = Sort("id")


def parse_sort(text: str | None) -> Sort:
    """``display_name``, ``-created_at`` ...; none means creation order (by id)."""
    if not text:
        return DEFAULT_SORT
    descending = text.startswith("-")
    name = text.lstrip("-+")
    if name == "id":
        return Sort("id", descending)
    if name not in SORTS:
        raise InvalidInput.on("sort", f"sort by one of {', '.join(['id', *SORTS])}, '-' first for descending")
    return Sort(SORTS[name], descending)


@dataclass(frozen=True)
class Cursor:
    after_id: uuid.UUID
    key: Any = None  # the sort column's value of the last row (None when sorting by id)


def encode_cursor(sort: Sort, after_id: uuid.UUID, key: Any) -> str:
    # The default (id-order) cursor keeps the shape the other lists use: {"after": id}.
    payload: dict[str, Any] = {"after": str(after_id)}
    if sort != DEFAULT_SORT:
        payload["sort"] = sort.name
    if sort.column != "id":
        payload["key"] = key.isoformat() if isinstance(key, datetime) else key
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def decode_cursor(text: str, sort: Sort) -> Cursor:
    try:
        raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        after = uuid.UUID(raw["after"])
        sorted_by = raw.get("sort")
        key = raw.get("key")
        if sort.column in ("created_at", "updated_at"):
            key = datetime.fromisoformat(key)
        elif sort.column != "id" and not isinstance(key, str):
            raise ValueError("a sorted cursor needs its key")
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise BadRequest("The cursor is not one this service issued.") from exc
    if sorted_by != (None if sort == DEFAULT_SORT else sort.name):
        raise BadRequest("This cursor belongs to a list in another sort order; start again without a cursor.")
    return Cursor(after, key)


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix`` (binary order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def name_query(text: str) -> str:
    normalised = search_name(text)
    if not normalised:
        raise InvalidInput.on("name", "give at least one letter or digit")
    return normalised


def phone_query(text: str) -> str:
    key = phone_key(text)
    if len(key) < 6:
        raise InvalidInput.on("phone", "give the number with its country code, e.g. +49 30 1234567")
    return key
