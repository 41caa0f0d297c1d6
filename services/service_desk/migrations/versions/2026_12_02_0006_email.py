"""The e-mail channel: Message-IDs sent and received, attachments, the outgoing mail queue.

Revision ID: service_desk_0006
Revises: service_desk_0005
Create Date: 2026-12-02
"""

from __future__ import annotations

revision = "service_desk_0006"
down_revision = "service_desk_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
