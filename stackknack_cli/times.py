"""Times as the platforms write them."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_time(value: object) -> datetime | None:
    """Read an ISO 8601 time (``Z`` or an offset; none is taken as UTC) as an aware
    UTC datetime; ``None`` for a blank, a non-string or an unreadable value."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
