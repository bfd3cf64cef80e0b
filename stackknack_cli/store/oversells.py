"""Oversells: sales that found too little stock, until a return covers them or the
operator acknowledges them.

An oversold line lacked ``missing`` units. Those are taken to leave the order first
when it is refunded, cancelled or edited (see ``returns``), so once its returns
cover ``missing`` units the customer who was promised a pair that did not exist no
longer waits for it: the oversell is acknowledged with that return as its
resolution. The operator acknowledges the others by hand.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from stackknack_cli.errors import InputError
from stackknack_cli.store.db import Store, iso, utcnow

HAND = "acknowledged by hand"
"""The resolution of an oversell acknowledged without a note."""


def resolve_if_covered(
    conn: sqlite3.Connection, sale_id: int, returned: int, why: str, now: str
) -> bool:
    """Acknowledge the open oversell of ``sale_id`` when ``returned`` units of its
    line have left the order, inside the caller's transaction; tell whether it did.
    """
    cursor = conn.execute(
        "UPDATE oversells SET acknowledged_at = ?, resolution = ?"
        " WHERE sale_id = ? AND acknowledged_at IS NULL AND missing <= ?",
        (now, why, sale_id, returned),
    )
    return cursor.rowcount > 0


def acknowledge(store: Store, ids: Sequence[int], note: str | None = None) -> list[int]:
    """Acknowledge the oversells ``ids`` by hand; return those that were still open.

    Raises ``InputError`` naming an id that is no oversell; nothing is written then.
    """
    now = iso(utcnow())
    with store.transaction() as conn:
        opened: list[int] = []
        for oversell_id in dict.fromkeys(ids):
            row = conn.execute(
                "SELECT acknowledged_at FROM oversells WHERE id = ?", (oversell_id,)
            ).fetchone()
            if row is None:
                raise InputError(
                    f"no oversell {oversell_id}; see stackknack oversells --all"
                )
            if row[0] is None:
                opened.append(oversell_id)
        conn.executemany(
            "UPDATE oversells SET acknowledged_at = ?, resolution = ? WHERE id = ?",
            [(now, note or HAND, oversell_id) for oversell_id in opened],
        )
    return opened


def oversell_rows(store: Store, *, acknowledged: bool = False) -> list[dict[str, Any]]:
    """Return the open oversells, oldest first; with ``acknowledged`` every one."""
    where = "" if acknowledged else "WHERE o.acknowledged_at IS NULL"
    return store.query(
        "SELECT o.id, o.sku, o.channel, s.order_id, s.line_id, o.wanted, o.missing,"
        " o.created_at, o.acknowledged_at, o.resolution"
        f" FROM oversells o JOIN sales s ON s.id = o.sale_id {where} ORDER BY o.id"
    )
