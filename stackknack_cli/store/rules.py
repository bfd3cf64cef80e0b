"""Publishing rules: what a channel shows for a central count.

A rule belongs to a channel, for every SKU (``sku`` empty) or one SKU (which wins field
by field). ``buffer`` holds units back (publish the count minus N, never below 0),
``max_quantity`` caps what is shown, and ``zero_below`` shows 0 while the count is
under a threshold. The ``listing_targets`` view applies them; changing a rule queues
the pushes it causes.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from stackknack_cli.errors import InputError, UnknownSkuError
from stackknack_cli.store.db import Store, iso, utcnow

FIELDS = ("buffer", "max_quantity", "zero_below")


def _check_scope(store: Store, channel: str, sku: str) -> None:
    """Refuse a rule for a channel stackknack does not know or a SKU not in the store
    (a typo would otherwise make a rule that never applies)."""
    from stackknack_cli.channels.registry import KNOWN

    if channel not in KNOWN:
        raise InputError(f"unknown channel {channel!r}; known: {', '.join(KNOWN)}")
    if sku and store.scalar("SELECT 1 FROM items WHERE sku = ?", (sku,)) is None:
        raise UnknownSkuError(f"unknown SKU {sku!r}: not in the inventory")


def set_rule(store: Store, channel: str, sku: str = "", **values: int | None) -> int:
    """Set the given fields of a rule (None leaves a field as it is); return how many
    pushes the new targets queued."""
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown rule fields: {', '.join(sorted(unknown))}")
    given = {k: v for k, v in values.items() if v is not None}
    if not given:
        raise InputError("nothing to set: give --buffer, --max or --zero-below")
    _check_scope(store, channel, sku)
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO rules (channel, sku, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (channel, sku) DO UPDATE"
            " SET updated_at = excluded.updated_at",
            (channel, sku, iso(utcnow())),
        )
        for name, value in given.items():
            conn.execute(
                # ``name`` is one of FIELDS, checked above.
                f"UPDATE rules SET {name} = ? WHERE channel = ? AND sku = ?",
                (value, channel, sku),
            )
        return _queue_changes(conn, channel, sku)


def clear_rule(store: Store, channel: str, sku: str = "") -> int:
    """Remove a rule; return how many pushes the restored targets queued."""
    _check_scope(store, channel, sku)
    with store.transaction() as conn:
        removed = conn.execute(
            "DELETE FROM rules WHERE channel = ? AND sku = ?", (channel, sku)
        ).rowcount
        if not removed:
            scope = f" for SKU {sku!r}" if sku else " for every SKU"
            raise InputError(f"no {channel} rule{scope} to clear (see: rules list)")
        return _queue_changes(conn, channel, sku)


def list_rules(store: Store) -> list[dict[str, Any]]:
    return store.query(
        "SELECT channel, sku, buffer, max_quantity, zero_below FROM rules"
        " ORDER BY channel, sku"
    )


def _queue_changes(conn: sqlite3.Connection, channel: str, sku: str) -> int:
    now = iso(utcnow())
    scope = " AND sku = ?" if sku else ""
    params: tuple[Any, ...] = (channel, sku) if sku else (channel,)
    cursor = conn.execute(
        "INSERT INTO outbox (channel, listing_id, target, cause, next_attempt_at,"
        " created_at, updated_at) SELECT channel, listing_id, target, 'rule', ?, ?, ?"
        " FROM listing_targets WHERE channel = ?"
        + scope
        + " AND (channel_quantity IS NULL OR channel_quantity != target)",
        (now, now, now, *params),
    )
    return cursor.rowcount
