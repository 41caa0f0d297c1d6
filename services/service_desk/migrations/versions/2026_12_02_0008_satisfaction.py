"""Satisfaction (CSAT) answers, one per resolution of a ticket.

Revision ID: service_desk_0008
Revises: service_desk_0007
Create Date: 2026-12-02
"""

from __future__ import annotations

revision = "service_desk_0008"
down_revision = "service_desk_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
