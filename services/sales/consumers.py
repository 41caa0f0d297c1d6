"""Events the sales service consumes: the unified customer view, into its replica."""

from __future__ import annotations

from shared.replica import apply_view

__all__ = ["apply_view"]
