"""Returns: units of a recorded sale that came back to stock, applied once each.

A return is recorded under (channel, return key), so the same platform event read
again changes nothing. It adds back at most what its sale took. An oversold line took
fewer units than it asked for, and the units it lacked are taken to leave first (the
refund of an oversold pair is most often the pair that never existed): cancelling an
oversold line creates no stock, and several partial returns never add back more than
the line took.

Statuses: ``restocked``; ``capped`` (fewer units added than returned, because they
were never taken); ``not_restocked`` (the platform kept the units away);
``before_sale`` (restocked units already left out of the sale when it was first
read; units that did not come back stay in the sale, and their return is applied
after it as ``not_restocked``); ``no_sale``
(no applied sale of that line: nothing was taken).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from stackknack_cli.channels.base import ReturnLine
from stackknack_cli.store import outbox, oversells
from stackknack_cli.store.db import iso

COUNTED = ("restocked", "capped", "not_restocked")
"""Statuses of returns that took units out of their sale line."""


@dataclass(frozen=True)
class ReturnOutcome:
    status: str
    """One of the statuses above, or ``duplicate``."""
    sku: str | None
    quantity: int
    applied: int
    available_after: int | None
    resolved: bool = False
    """It covered the units its sale line lacked: that oversell is acknowledged."""


def apply_return(
    conn: sqlite3.Connection,
    channel: str,
    back: ReturnLine,
    now: str,
    *,
    fresh: Collection[tuple[str, str]] = (),
) -> ReturnOutcome:
    """Record and apply one return inside the caller's write transaction.

    ``fresh`` holds the (order id, line id) of sale lines first recorded in this same
    transaction: their quantity already leaves a restocked return out, and still
    holds the units of one that was not restocked. An applied return
    raises the central count in SQL, is journalled with its cause, updates what the
    selling channel holds when it put the units back itself, and queues pushes.
    """
    sale = conn.execute(
        "SELECT id, sku, quantity, applied, status FROM sales"
        " WHERE channel = ? AND order_id = ? AND line_id = ?",
        (channel, back.order_id, back.line_id),
    ).fetchone()
    status, applied = _decide(conn, back, sale, fresh)
    sale_id, sku = (sale[0], sale[1]) if sale is not None else (None, None)

    row = conn.execute(
        "INSERT OR IGNORE INTO returns (channel, return_key, sale_id, order_id,"
        " line_id, sku, cause, quantity, applied, status, occurred_at, recorded_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            channel,
            back.key,
            sale_id,
            back.order_id,
            back.line_id,
            sku,
            back.cause,
            back.quantity,
            applied,
            status,
            iso(back.occurred_at) if back.occurred_at else None,
            now,
        ),
    ).fetchone()
    if row is None:
        return ReturnOutcome("duplicate", sku, back.quantity, 0, None)
    if status not in COUNTED or sale is None or sku is None:
        return ReturnOutcome(status, sku, back.quantity, 0, None)

    from stackknack_cli.store.inventory import move_count  # inventory imports us

    reference = f"{back.order_id}/{back.line_id}"
    available = move_count(
        conn,
        sku,
        applied,
        _cause(back, status, applied),
        channel=channel,
        reference=reference,
        now=now,
    )
    if back.counted_by_channel and back.restocked:
        # The channel put every returned unit back on its listing, the oversold
        # ones included; the push below takes those off again.
        conn.execute(
            "UPDATE listings SET channel_quantity = channel_quantity + ?,"
            " updated_at = ? WHERE channel = ? AND sku = ?"
            " AND channel_quantity IS NOT NULL",
            (back.quantity, now, channel, sku),
        )
    elif back.restocked:
        # Whether the channel put the units back itself is not said (a Clover
        # refund may or may not restock the item): what it holds is unknown, so
        # the push below writes the central count whatever it finds, even when
        # that count did not change (an oversold unit coming back adds nothing).
        conn.execute(
            "UPDATE listings SET channel_quantity = NULL, updated_at = ?"
            " WHERE channel = ? AND sku = ?",
            (now, channel, sku),
        )
    why = f"{back.cause} on {channel}: {reference}"
    returned = _returned(conn, int(sale[0]))
    resolved = oversells.resolve_if_covered(conn, int(sale[0]), returned, why, now)
    outbox.enqueue_for_sku(conn, sku, cause=f"{back.cause} {channel} {reference}")
    return ReturnOutcome(
        status, sku, back.quantity, applied, int(available), resolved=resolved
    )


def _decide(
    conn: sqlite3.Connection,
    back: ReturnLine,
    sale: tuple[Any, ...] | None,
    fresh: Collection[tuple[str, str]],
) -> tuple[str, int]:
    """Return the status of a new return and how many units it adds back."""
    if sale is None or sale[1] is None or sale[4] == "unknown_sku":
        return "no_sale", 0
    if (back.order_id, back.line_id) in fresh and back.restocked:
        return "before_sale", 0
    if not back.restocked:
        return "not_restocked", 0

    sale_id, _, wanted, took, _ = sale
    earlier = _returned(conn, sale_id)
    missing = int(wanted) - int(took)
    # The units of this return are the next ones out of the line, after the earlier
    # returns; those among the first ``missing`` were never taken.
    start, end = earlier, min(earlier + back.quantity, int(wanted))
    real = max(0, end - max(start, missing))
    return ("restocked" if real == back.quantity else "capped"), real


def _returned(conn: sqlite3.Connection, sale_id: int) -> int:
    """Return how many units of the sale line its recorded returns took out."""
    marks = ",".join("?" for _ in COUNTED)
    (units,) = conn.execute(
        "SELECT coalesce(sum(quantity), 0) FROM returns"
        f" WHERE sale_id = ? AND status IN ({marks})",
        (sale_id, *COUNTED),
    ).fetchone()
    return int(units)


def _cause(back: ReturnLine, status: str, applied: int) -> str:
    if status == "not_restocked":
        return f"{back.cause} (not restocked)"
    if status == "capped":
        return f"{back.cause} ({back.quantity - applied} never taken: oversold)"
    return back.cause
