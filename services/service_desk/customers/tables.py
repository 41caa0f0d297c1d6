"""The unified-view replica and what merges moved, in the service desk database."""

from __future__ import annotations

from services.service_desk.database import Base
from shared.lifecycle import RepointingColumns
from shared.replica import ReplicaColumns


class CustomerReplica(ReplicaColumns, Base):
    """The newest published view of each customer, and the few fields read from it."""

    __tablename__ = "customer_replicas"


class Repointing(RepointingColumns, Base):
    """A service desk record a merge moved to the survivor, so an unmerge can move it back."""

    __tablename__ = "customer_repointings"
