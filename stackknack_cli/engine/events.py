"""Turn stored webhook events into "read this channel's sales now" requests.

An event is a hint, never a fact: an order event makes the loop read that channel's
sales through its adapter (from the event's own time when that is older than the
cursor), and ``apply_batch`` keeps every sale line and every return (a Shopify
refund, cancellation or edit) to one application however many times, and in whatever
order, its events arrive. Item and stock events are marked
ignored: polling and the outbox keep counts right.

Statuses: new, done, ignored, malformed (a signed body that could not be read; kept
for inspection, never retried).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from stackknack_cli.engine.webhooks import clover, ebay, shopify
from stackknack_cli.store.db import Store, iso, utcnow
from stackknack_cli.times import parse_time

log = logging.getLogger(__name__)

BATCH = 200
MAX_LOOKBACK = timedelta(days=3)
"""How far back an event may send a read: Shopify retries for hours, not days."""
EVENT_MARGIN = timedelta(minutes=1)


@dataclass
class PollPlan:
    """Channels to read now, from when, and the events that asked for it."""

    since: dict[str, datetime | None] = field(default_factory=dict)
    event_ids: dict[str, list[int]] = field(default_factory=dict)

    def add(self, channel: str, event_id: int, moment: datetime | None) -> None:
        floor = utcnow() - MAX_LOOKBACK
        if moment is not None:
            moment = max(moment - EVENT_MARGIN, floor)
        if channel in self.since:
            known = self.since[channel]
            moment = None if known is None or moment is None else min(known, moment)
        self.since[channel] = moment
        self.event_ids.setdefault(channel, []).append(event_id)


def _wants_read(
    channel: str, topic: str | None, body: bytes, merchant: str | None
) -> tuple[bool, datetime | None]:
    """Decide whether an event asks for a sales read, and from when."""
    try:
        payload = json.loads(body)
    except ValueError:
        return False, None
    if not isinstance(payload, dict):
        return False, None
    if channel == "shopify":
        if topic not in shopify.ORDER_TOPICS:
            return False, None
        # An order carries updated_at; a refunds/create body is the refund, and an
        # orders/edited body wraps the edit: both name their own created_at.
        edit = payload.get("order_edit")
        stamp = (
            payload.get("updated_at")
            or payload.get("created_at")
            or (edit.get("created_at") if isinstance(edit, dict) else None)
        )
        return True, parse_time(stamp)
    if channel == "clover":
        stamps = [
            stamp
            for mid, events in clover.object_keys(payload).items()
            if merchant is None or mid == merchant
            for key, _, stamp in events
            if key == "O"
        ]
        if not stamps:
            return False, None
        oldest = min(stamps)
        return True, datetime.fromtimestamp(oldest / 1000, UTC) if oldest else None
    if channel == "ebay":
        if topic not in ebay.ORDER_TOPICS:
            return False, None
        notification = payload.get("notification") or {}
        return True, parse_time(notification.get("eventDate"))
    return False, None


def plan_reads(
    store: Store,
    connected: Collection[str],
    *,
    merchants: dict[str, str] | None = None,
) -> PollPlan:
    """Read new events; return the sales reads they ask for.

    Events that ask for nothing (another topic, a channel not connected) are marked
    ``ignored`` here; the others stay ``new`` until ``finish`` after the read.
    """
    plan = PollPlan()
    rows = store.conn.execute(
        "SELECT id, channel, topic, body FROM webhook_events WHERE status = 'new'"
        " ORDER BY id LIMIT ?",
        (BATCH,),
    ).fetchall()
    ignored: list[tuple[int, str]] = []
    for event_id, channel, topic, body in rows:
        if channel not in connected:
            ignored.append((event_id, f"{channel} is not connected"))
            continue
        merchant = (merchants or {}).get(channel)
        wanted, moment = _wants_read(channel, topic, bytes(body), merchant)
        if wanted:
            plan.add(channel, event_id, moment)
        else:
            ignored.append((event_id, f"topic {topic} needs no read"))
    if ignored:
        with store.transaction() as conn:
            conn.executemany(
                "UPDATE webhook_events SET status = 'ignored', error = ?,"
                " processed_at = ? WHERE id = ? AND status = 'new'",
                [(reason, iso(utcnow()), event_id) for event_id, reason in ignored],
            )
    return plan


def finish(store: Store, event_ids: Iterable[int], *, error: str | None = None) -> None:
    """Mark events processed (with the read's error, if it failed: polling retries)."""
    stamp = iso(utcnow())
    with store.transaction() as conn:
        conn.executemany(
            "UPDATE webhook_events SET status = 'done', error = ?, processed_at = ?"
            " WHERE id = ? AND status = 'new'",
            [(error, stamp, event_id) for event_id in event_ids],
        )


def counts(store: Store) -> dict[str, int]:
    """Return how many stored events have each status."""
    rows = store.conn.execute(
        "SELECT status, count(*) FROM webhook_events GROUP BY status"
    ).fetchall()
    return {str(status): int(n) for status, n in rows}
