"""The customer service's own MetaData: every table of this service, and none of another's."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.db import COLUMN_TYPES


class Base(DeclarativeBase):
    type_annotation_map = COLUMN_TYPES
