"""SLA policies, business calendars and each ticket's SLA state.

Revision ID: service_desk_0005
Revises: service_desk_0004
Create Date: 2026-12-02
"""

from __future__ import annotations

revision = "service_desk_0005"
down_revision = "service_desk_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
