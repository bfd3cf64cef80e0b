"""What the watch dashboard shows from the database: recent sales and how long each
took to reach every other channel, the oversells nobody acknowledged yet, and how a
return that was applied reads in a log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stackknack_cli.store.db import Store


@dataclass(frozen=True)
class SaleTrail:
    """One sale and, per other channel, seconds until it held the new count (None:
    still on its way; ``dead`` pushes are reported by the alerts)."""

    channel: str
    sku: str
    quantity: int
    status: str
    occurred_at: datetime
    reached: dict[str, float | None] = field(default_factory=dict)


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def recent_sales(store: Store, limit: int = 8) -> list[SaleTrail]:
    """Return the newest ``limit`` applied sales with their propagation times."""
    sales = store.conn.execute(
        "SELECT channel, order_id, line_id, sku, quantity, status,"
        " coalesce(occurred_at, recorded_at) FROM sales"
        " WHERE status IN ('applied', 'oversell') ORDER BY id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    trails = []
    for channel, order_id, line_id, sku, quantity, status, occurred in sales:
        started = _moment(occurred)
        trail = SaleTrail(channel, sku, quantity, status, started)
        entries = store.conn.execute(
            "SELECT o.id, o.channel, o.listing_id, o.status, o.updated_at,"
            " (SELECT min(later.updated_at) FROM outbox later"
            "  WHERE later.listing_id = o.listing_id AND later.id > o.id"
            "  AND later.status = 'done') FROM outbox o WHERE o.cause = ?",
            (f"sale {channel} {order_id}/{line_id}",),
        ).fetchall()
        for _, target, _, entry_status, updated_at, carried_at in entries:
            done_at = updated_at if entry_status == "done" else carried_at
            trail.reached[target] = (
                None
                if done_at is None
                else max((_moment(done_at) - started).total_seconds(), 0.0)
            )
        trails.append(trail)
    return trails


def open_oversells(store: Store, limit: int = 5) -> list[dict[str, object]]:
    """Return the newest oversells not acknowledged yet."""
    return store.query(
        "SELECT sku, channel, wanted, missing, created_at FROM oversells"
        " WHERE acknowledged_at IS NULL ORDER BY id DESC LIMIT ?",
        (limit,),
    )


def return_lines(channel: str, done: Mapping[str, Any]) -> list[str]:
    """Say in plain words what one applied return did (``ChannelReport.journalled``)
    and, when it acknowledged its sale's oversell, that too."""
    units = int(done["quantity"])
    what = f"{channel}: {done['cause']} of {units} x {done['sku']}"
    what += f" (order {done['order_id']})"
    if done["status"] == "not_restocked":
        what += ": not back in stock, nothing added"
    elif done["status"] == "capped":
        what += f": {done['applied']} added back, the rest was oversold"
    else:
        what += f": {done['applied']} added back"
    lines = [what]
    if done.get("resolved"):
        lines.append(
            f"{channel}: oversell of {done['sku']} (order {done['order_id']}) "
            f"acknowledged: the {done['cause']} covers it"
        )
    return lines
