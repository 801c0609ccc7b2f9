"""The one clock of stored timestamps."""

from __future__ import annotations

from datetime import UTC, datetime


def now_iso() -> str:
    """ISO-8601 UTC with milliseconds, with the original's `+00:00` suffix."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")
