"""Rules of consent, tested without a database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.customer.consent import rules
from shared.errors import InvalidInput

NOW = datetime(2026, 11, 26, 12, tzinfo=timezone.utc)


def test_an_opt_in_needs_the_wording_shown() -> None:
    with pytest.raises(InvalidInput, match="wording"):
        rules.record(channel="email", status="opt_in", source="web", wording=None, recorded_at=None,
                       previous="unknown", recorded_by="dev", now=NOW)
    record = rules.record(channel="email", status="opt_out", source="unsubscribe link", wording=None,
                            recorded_at=None, previous="opt_in", recorded_by="dev", now=NOW)
    assert record["recorded_at"] == NOW and record["previous_status"] == "opt_in"


def test_consent_is_never_dated_ahead_and_unknown_by_default() -> None:
    with pytest.raises(InvalidInput):
        rules.record(channel="sms", status="opt_out", source="x", wording=None, recorded_at=NOW + timedelta(hours=1),
                       previous="unknown", recorded_by="dev", now=NOW)
    assert {c: s["status"] for c, s in rules.current({}).items()} == {"email": "unknown", "sms": "unknown",
                                                                       "phone": "unknown"}
