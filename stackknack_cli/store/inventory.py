"""The inventory ledger: central quantities, listings, sales and the journal.

Every change of a central quantity happens in SQL inside one ``BEGIN IMMEDIATE``
transaction, is written to the journal with its cause, and queues one outbox push per
listing that must learn of it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stackknack_cli.channels.base import SaleLine, SalesBatch
from stackknack_cli.store import outbox
from stackknack_cli.store.db import Store, iso, utcnow
from stackknack_cli.store.returns import ReturnOutcome, apply_return


@dataclass(frozen=True)
class SaleOutcome:
    status: str
    """``applied``, ``oversell``, ``duplicate`` or ``unknown_sku``."""
    sku: str | None
    quantity: int
    applied: int
    available_after: int | None

    @property
    def missing(self) -> int:
        return self.quantity - self.applied


@dataclass(frozen=True)
class ItemRecord:
    sku: str
    quantity: int
    title: str = ""


@dataclass
class WriteSummary:
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    pushes: int = 0
    """Pushes queued to linked listings because of the changes."""

    @property
    def written(self) -> int:
        return self.created + self.changed


def move_count(
    conn: sqlite3.Connection,
    sku: str,
    delta: int,
    cause: str,
    *,
    channel: str,
    reference: str,
    now: str,
) -> int:
    """Add ``delta`` to a SKU's count in SQL and journal it with its order line;
    return the new count. The caller has bounded ``delta`` (never below 0)."""
    (available,) = conn.execute(
        "UPDATE items SET available = available + ?, updated_at = ? WHERE sku = ?"
        " RETURNING available",
        (delta, now, sku),
    ).fetchone()
    conn.execute(
        "INSERT INTO journal (sku, delta, available_after, cause, channel, reference,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (sku, delta, available, cause, channel, reference, now),
    )
    return int(available)


def _journal(
    conn: sqlite3.Connection,
    sku: str,
    delta: int,
    cause: str,
    *,
    channel: str | None = None,
    reference: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO journal (sku, delta, available_after, cause, channel, reference,"
        " created_at) SELECT ?, ?, available, ?, ?, ?, ? FROM items WHERE sku = ?",
        (sku, delta, cause, channel, reference, iso(utcnow()), sku),
    )


MAX_QUANTITY = 10_000_000
"""More units than any reseller holds of one SKU (and within every platform's
32-bit quantity fields): a larger count is a typo."""


def set_item(
    conn: sqlite3.Connection, record: ItemRecord, *, cause: str, now: str
) -> tuple[str, int]:
    """Create or set one item to an absolute quantity inside the caller's transaction.

    Journals and queues pushes for a change. Returns ``created``, ``changed`` or
    ``unchanged``, and how many pushes were queued. Raises ``InputError`` past
    ``MAX_QUANTITY`` units.
    """
    if record.quantity > MAX_QUANTITY:
        from stackknack_cli.errors import InputError

        raise InputError(
            f"{record.sku}: {record.quantity:,} units is more than {MAX_QUANTITY:,}; "
            "is this a typo?"
        )
    row = conn.execute(
        "SELECT available FROM items WHERE sku = ?", (record.sku,)
    ).fetchone()
    if row is None:
        conn.execute(
            "INSERT INTO items (sku, title, available, updated_at) VALUES (?, ?, ?, ?)",
            (record.sku, record.title, record.quantity, now),
        )
        _journal(conn, record.sku, record.quantity, cause)
        return "created", 0

    delta = record.quantity - int(row[0])
    conn.execute(
        "UPDATE items SET available = ?, title = CASE WHEN ? != '' THEN ?"
        " ELSE title END, updated_at = ? WHERE sku = ?",
        (record.quantity, record.title, record.title, now, record.sku),
    )
    if delta == 0:
        return "unchanged", 0
    _journal(conn, record.sku, delta, cause)
    return "changed", outbox.enqueue_for_sku(conn, record.sku, cause=cause)


def set_quantities(
    store: Store, records: Iterable[ItemRecord], *, cause: str, dry_run: bool = False
) -> WriteSummary:
    """Create or set items to absolute quantities, journalled and pushed, in one
    transaction; with ``dry_run`` nothing is kept.

    Raises whatever ``records`` raises while being read; nothing is written then.
    """
    summary = WriteSummary()
    now = iso(utcnow())
    try:
        with store.transaction() as conn:
            for record in records:
                outcome, pushes = set_item(conn, record, cause=cause, now=now)
                setattr(summary, outcome, getattr(summary, outcome) + 1)
                summary.pushes += pushes
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return summary


class _DryRun(Exception):
    """Raised inside a transaction to roll it back after a dry run."""


def adjust(store: Store, sku: str, delta: int, *, cause: str) -> int:
    """Add ``delta`` (clamped so the count stays at 0 or more); return the new count.

    The journal records the change that happened, not the one asked for. Raises
    ``UnknownSkuError``, and ``InputError`` past ``MAX_QUANTITY`` units.
    """
    from stackknack_cli.errors import InputError, UnknownSkuError

    with store.transaction() as conn:
        row = conn.execute(
            "SELECT available FROM items WHERE sku = ?", (sku,)
        ).fetchone()
        if row is None:
            raise UnknownSkuError(f"unknown SKU {sku!r}; import it first")
        if abs(delta) > MAX_QUANTITY or int(row[0]) + delta > MAX_QUANTITY:
            raise InputError(
                f"{sku}: more than {MAX_QUANTITY:,} units; is this a typo?"
            )
        (after,) = conn.execute(
            "UPDATE items SET available = max(available + ?, 0), updated_at = ?"
            " WHERE sku = ? RETURNING available",
            (delta, iso(utcnow()), sku),
        ).fetchone()
        change = int(after) - int(row[0])
        if change:
            _journal(conn, sku, change, cause)
            outbox.enqueue_for_sku(conn, sku, cause=cause)
        return int(after)


def apply_sale(store: Store, channel: str, line: SaleLine) -> SaleOutcome:
    """Apply one sale line exactly once, as one transaction (see ``apply_sales``)."""
    return apply_sales(store, channel, [line])[0]


def apply_sales(
    store: Store, channel: str, lines: Sequence[SaleLine]
) -> list[SaleOutcome]:
    """Apply sale lines exactly once each, in one transaction; return their outcomes.

    Each line is recorded under (channel, order id, line id); seen again it changes
    nothing. The central count drops by what is left, never below 0; a shortfall is
    recorded as an oversell. The selling channel already took its unit off, so its
    listing is only updated, not pushed, unless it now disagrees with the count.
    """
    now = iso(utcnow())
    with store.transaction() as conn:
        return [_apply_line(conn, channel, line, now) for line in lines]


def apply_batch(
    store: Store, channel: str, batch: SalesBatch
) -> tuple[list[SaleOutcome], list[ReturnOutcome]]:
    """Apply a batch's sale lines, then its returns, each once, in one transaction.

    A return of a sale line first recorded in this batch adds nothing: the line's
    quantity already left it out (see ``SalesBatch``).
    """
    now = iso(utcnow())
    with store.transaction() as conn:
        sold = [_apply_line(conn, channel, line, now) for line in batch.lines]
        fresh = {
            (line.order_id, line.line_id)
            for line, outcome in zip(batch.lines, sold, strict=True)
            if outcome.status != "duplicate"
        }
        back = [
            apply_return(conn, channel, item, now, fresh=fresh)
            for item in batch.returns
        ]
    return sold, back


def _apply_line(
    conn: sqlite3.Connection, channel: str, line: SaleLine, now: str
) -> SaleOutcome:
    sku = line.sku
    if line.channel_ref is not None:
        linked = conn.execute(
            "SELECT sku FROM listings WHERE channel = ? AND channel_ref = ?",
            (channel, line.channel_ref),
        ).fetchone()
        if linked is not None:
            sku = linked[0]

    # What can be taken is decided in SQL, under the write lock, as the line is
    # recorded; a line seen before is ignored and returns nothing.
    row = conn.execute(
        "INSERT OR IGNORE INTO sales (channel, order_id, line_id, sku, quantity,"
        " applied, status, occurred_at, recorded_at)"
        " SELECT :channel, :order, :line, :sku, :quantity,"
        " coalesce(min(i.available, :quantity), 0),"
        " CASE WHEN i.sku IS NULL THEN 'unknown_sku'"
        "  WHEN i.available >= :quantity THEN 'applied' ELSE 'oversell' END,"
        " :occurred, :now"
        " FROM (SELECT 1) LEFT JOIN items i ON i.sku = :sku"
        " RETURNING id, applied, status",
        {
            "channel": channel,
            "order": line.order_id,
            "line": line.line_id,
            "sku": sku,
            "quantity": line.quantity,
            "occurred": iso(line.occurred_at) if line.occurred_at else None,
            "now": now,
        },
    ).fetchone()
    if row is None:
        return SaleOutcome("duplicate", sku, line.quantity, 0, None)
    sale_id, applied, status = row
    if status == "unknown_sku" or sku is None:
        return SaleOutcome("unknown_sku", sku, line.quantity, 0, None)

    reference = f"{line.order_id}/{line.line_id}"
    available = move_count(
        conn, sku, -applied, "sale", channel=channel, reference=reference, now=now
    )
    if status == "oversell":
        conn.execute(
            "INSERT INTO oversells (sale_id, sku, channel, wanted, missing,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (sale_id, sku, channel, line.quantity, line.quantity - applied, now),
        )

    if line.counted_by_channel:
        # The selling channel removed the sold units itself.
        conn.execute(
            "UPDATE listings SET channel_quantity = channel_quantity - ?,"
            " updated_at = ? WHERE channel = ? AND sku = ?"
            " AND channel_quantity IS NOT NULL",
            (line.quantity, now, channel, sku),
        )
    outbox.enqueue_for_sku(conn, sku, cause=f"sale {channel} {reference}")
    return SaleOutcome(status, sku, line.quantity, int(applied), int(available))


def link_listing(
    conn: sqlite3.Connection,
    channel: str,
    sku: str,
    channel_ref: str,
    *,
    quantity: int | None,
    active: bool = True,
    details: Mapping[str, Any] | None = None,
) -> int:
    """Link (or re-link) the channel's listing ``channel_ref`` to ``sku``; return id.

    New ``details`` are merged into the stored ones, so what a channel stops showing
    (StockX's ask price once a variant has no listing left) is kept.
    """
    now = iso(utcnow())
    row = conn.execute(
        "INSERT INTO listings (sku, channel, channel_ref, details, channel_quantity,"
        " active, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (channel, sku) DO UPDATE SET channel_ref = excluded.channel_ref,"
        " details = json_patch(listings.details, excluded.details),"
        " channel_quantity = excluded.channel_quantity,"
        " active = excluded.active, updated_at = excluded.updated_at RETURNING id",
        (
            sku,
            channel,
            channel_ref,
            json.dumps(dict(details or {}), sort_keys=True),
            quantity,
            int(active),
            now,
        ),
    ).fetchone()
    return int(row[0])


def stock_rows(store: Store, sku: str | None = None) -> list[dict[str, Any]]:
    """Return items with what each linked channel holds, for ``stock``."""
    where = "WHERE i.sku = ?" if sku is not None else ""
    params: tuple[Any, ...] = (sku,) if sku is not None else ()
    items = store.query(
        f"SELECT i.sku, i.title, i.available FROM items i {where} ORDER BY i.sku",
        params,
    )
    listings = store.query(
        "SELECT l.sku, l.channel, l.channel_ref, l.channel_quantity, l.active,"
        " t.target, (SELECT count(*) FROM outbox o WHERE o.listing_id = l.id"
        "  AND o.status IN ('pending', 'sending')) AS queued"
        " FROM listings l LEFT JOIN listing_targets t ON t.listing_id = l.id"
        f" {where.replace('i.', 'l.')}",
        params,
    )
    by_sku: dict[str, dict[str, Any]] = {}
    for listing in listings:
        quantity = listing["channel_quantity"]
        by_sku.setdefault(listing["sku"], {})[listing["channel"]] = {
            "ref": listing["channel_ref"],
            "quantity": quantity,
            "active": bool(listing["active"]),
            "queued": listing["queued"],
            "target": listing["target"],
            # More than it should show with no push on its way: a push went
            # through and could not bring it down (Shopify's other counting
            # locations holding more).
            "above_target": None not in (quantity, listing["target"])
            and quantity > listing["target"]
            and not listing["queued"],
        }
    for item in items:
        item["channels"] = by_sku.get(item["sku"], {})
    return items
