"""The service desk's own settings, beyond the library's: the mail server replies go out through, the secret
of satisfaction links, and how often its jobs run."""

from __future__ import annotations

from pydantic import Field

from shared.settings import Settings


class DeskSettings(Settings):
    # The SMTP server agent replies and escalation notices go out through (CRM_SMTP_HOST, CRM_SMTP_PORT);
    # an empty host keeps mail queued, unsent, until one is configured.
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_timeout_seconds: float = 10.0
    # The desk's own address: From of every reply, and the domain of the Message-IDs it makes.
    mail_from: str = "support@oneview-crm.local"
    # How often queued outgoing mail is sent (CRM_MAIL_SEND_SECONDS).
    mail_send_seconds: float = 2.0
    # The largest attachment an inbound message may carry, in bytes (CRM_MAX_ATTACHMENT_BYTES).
    max_attachment_bytes: int = Field(default=10 * 1_048_576, ge=1)
    # A resolved ticket the customer answers within this many days is reopened; later, a new ticket.
    reopen_window_days: int = Field(default=14, ge=0)
    # How often open tickets' SLA due times are checked for warnings and breaches (CRM_SLA_CHECK_SECONDS).
    sla_check_seconds: float = 15.0
    # How often unassigned tickets are handed out to agents who have capacity (CRM_ASSIGNMENT_SECONDS).
    assignment_seconds: float = 10.0
    # Signs the satisfaction links sent on resolution (CRM_SATISFACTION_LINK_SECRET); empty: the JWT secret.
    satisfaction_link_secret: str = ""
    # The public base URL satisfaction links point at (the gateway, as customers reach it).
    public_base_url: str = "http://127.0.0.1:8000"
