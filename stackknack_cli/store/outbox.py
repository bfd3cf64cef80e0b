"""The persistent outbox of quantity pushes.

An entry asks one channel to make one listing hold ``target`` units. Entries are
replayed per channel in the order written. When a listing has several entries waiting,
only the newest is sent and the older ones become ``superseded``. An entry being sent
holds a lease; an expired lease (a crashed process) makes it pending again.

Statuses: pending, sending, done, superseded, dead (refused too often; kept with its
reason for the operator).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from stackknack_cli.channels.base import Push
from stackknack_cli.store.db import Store, iso, utcnow

LEASE_SECONDS = 120
MAX_REFUSALS = 3
OPEN_STATUSES = ("pending", "sending")


def target_of(conn: sqlite3.Connection, listing_id: int) -> int:
    """Return what a listing should show: the central count after the publishing
    rules of its channel and SKU (buffer, maximum, zero below a threshold)."""
    row = conn.execute(
        "SELECT target FROM listing_targets WHERE listing_id = ?", (listing_id,)
    ).fetchone()
    return int(row[0]) if row is not None else 0


def enqueue_for_sku(
    conn: sqlite3.Connection,
    sku: str,
    *,
    cause: str,
    only_changed: bool = True,
    channel: str | None = None,
) -> int:
    """Queue a push to every listing of ``sku`` whose known quantity differs from its
    target, or that is still offered at 0 (or to all of them with
    ``only_changed=False``); return how many. ``channel`` limits it to that channel.

    Must run inside the caller's write transaction.
    """
    now = iso(utcnow())
    # A listing still offered at 0 is pushed too: that is how it is deactivated
    # (Clover's item made unavailable after the till sold its last unit). So is one
    # with a push waiting or under way for another number: the count came back, and
    # the newer push must replace it (or follow it) with today's number.
    condition = (
        " AND (t.channel_quantity IS NULL OR t.channel_quantity != t.target"
        " OR (t.target = 0 AND l.active = 1)"
        " OR EXISTS (SELECT 1 FROM outbox w WHERE w.listing_id = t.listing_id"
        "  AND w.status IN ('pending', 'sending') AND w.target != t.target))"
        if only_changed
        else ""
    )
    params: tuple[str, ...] = (cause, now, now, now, sku)
    if channel is not None:
        condition += " AND t.channel = ?"
        params += (channel,)
    cursor = conn.execute(
        "INSERT INTO outbox (channel, listing_id, target, cause, next_attempt_at,"
        " created_at, updated_at) SELECT t.channel, t.listing_id, t.target, ?, ?, ?, ?"
        " FROM listing_targets t JOIN listings l ON l.id = t.listing_id"
        " WHERE t.sku = ?" + condition + " ORDER BY t.channel",
        params,
    )
    return cursor.rowcount


@dataclass(frozen=True)
class Entry:
    id: int
    channel: str
    listing_id: int
    sku: str
    channel_ref: str
    target: int
    expected: int | None
    details: dict[str, Any]
    attempts: int
    operation: str | None = None
    interrupted: bool = False
    """A process died while sending it: the write may have landed unrecorded."""

    def push(self, install_id: str) -> Push:
        # The key changes whenever the request would change, so a replay of the same
        # request is recognised by the platform while a recomputed one is not.
        seed = f"{install_id}:{self.id}:{self.target}:{self.expected}"
        key = str(uuid.UUID(bytes=hashlib.sha256(seed.encode()).digest()[:16]))
        return Push(
            entry_id=self.id,
            channel_ref=self.channel_ref,
            target=self.target,
            expected=self.expected,
            key=key,
            details=self.details,
            operation=self.operation,
        )


def _expire_leases(conn: sqlite3.Connection, channel: str, now: str) -> None:
    conn.execute(
        "UPDATE outbox SET status = 'pending', lease_until = NULL, interrupted = 1"
        " WHERE channel = ? AND status = 'sending' AND lease_until < ?",
        (channel, now),
    )


def _supersede(conn: sqlite3.Connection, channel: str, now: str) -> int:
    # An entry whose asynchronous write is under way is never superseded: newer
    # entries wait until the platform reports its outcome.
    cursor = conn.execute(
        "UPDATE outbox SET status = 'superseded', updated_at = ?"
        " WHERE channel = ? AND status = 'pending' AND operation IS NULL"
        " AND id < (SELECT max(o2.id)"
        " FROM outbox o2 WHERE o2.listing_id = outbox.listing_id"
        " AND o2.status = 'pending')",
        (now, channel),
    )
    return cursor.rowcount


def _settle_no_ops(conn: sqlite3.Connection, channel: str, now: str) -> None:
    """Mark done, without a call, the pending entries that ask a listing for what it
    already holds (a count that went away and came back before the push left)."""
    conn.execute(
        "UPDATE outbox SET status = 'done', last_error = 'nothing to change',"
        " updated_at = ? WHERE channel = ? AND status = 'pending'"
        " AND operation IS NULL AND id IN (SELECT o.id FROM outbox o"
        "  JOIN listings l ON l.id = o.listing_id WHERE o.channel = ?"
        "  AND o.status = 'pending' AND o.target = l.channel_quantity"
        "  AND NOT (o.target = 0 AND l.active = 1)"
        "  AND NOT EXISTS (SELECT 1 FROM outbox s WHERE s.listing_id = o.listing_id"
        "   AND (s.status = 'sending' OR (s.operation IS NOT NULL"
        "    AND s.status = 'pending'))))",
        (now, channel, channel),
    )


def claim(
    store: Store,
    channel: str,
    *,
    limit: int,
    now: datetime | None = None,
    lease_seconds: int = LEASE_SECONDS,
) -> list[Entry]:
    """Lease up to ``limit`` due entries of ``channel``, oldest first, one a listing."""
    moment = now or utcnow()
    stamp = iso(moment)
    lease = iso(moment + timedelta(seconds=lease_seconds))
    with store.transaction() as conn:
        _expire_leases(conn, channel, stamp)
        _supersede(conn, channel, stamp)
        _settle_no_ops(conn, channel, stamp)
        # An entry whose asynchronous write is under way is sent with the newest
        # target waiting behind it, so a write cut at a batch limit goes on toward
        # today's count, not the one it started for.
        rows = conn.execute(
            "SELECT o.id, o.listing_id, l.sku, l.channel_ref,"
            " CASE WHEN o.operation IS NULL THEN o.target ELSE coalesce("
            "  (SELECT n.target FROM outbox n WHERE n.listing_id = o.listing_id"
            "   AND n.status = 'pending' AND n.id > o.id ORDER BY n.id DESC LIMIT 1),"
            "  o.target) END,"
            " l.channel_quantity, l.details, o.attempts, o.operation, o.interrupted"
            " FROM outbox o"
            " JOIN listings l ON l.id = o.listing_id"
            " WHERE o.channel = ? AND o.status = 'pending' AND o.next_attempt_at <= ?"
            " AND NOT EXISTS (SELECT 1 FROM outbox s WHERE s.listing_id = o.listing_id"
            "  AND (s.status = 'sending' OR (s.operation IS NOT NULL"
            "   AND s.status = 'pending' AND s.id != o.id)))"
            " ORDER BY o.id LIMIT ?",
            (channel, stamp, limit),
        ).fetchall()
        entries = [
            Entry(
                id=row[0],
                channel=channel,
                listing_id=row[1],
                sku=row[2],
                channel_ref=row[3],
                target=row[4],
                expected=row[5],
                details=json.loads(row[6] or "{}"),
                attempts=row[7],
                operation=row[8],
                interrupted=bool(row[9]),
            )
            for row in rows
        ]
        conn.executemany(
            "UPDATE outbox SET status = 'sending', lease_until = ?, updated_at = ?"
            " WHERE id = ?",
            [(lease, stamp, entry.id) for entry in entries],
        )
    return entries


def mark_done(conn: sqlite3.Connection, entry: Entry, holds: int) -> None:
    now = iso(utcnow())
    conn.execute(
        "UPDATE outbox SET status = 'done', lease_until = NULL, last_error = NULL,"
        " operation = NULL, updated_at = ? WHERE id = ?",
        (now, entry.id),
    )
    conn.execute(
        "UPDATE listings SET channel_quantity = ?, active = ?, updated_at = ?"
        " WHERE id = ?",
        (holds, int(holds > 0), now, entry.listing_id),
    )


def retry_later(
    conn: sqlite3.Connection,
    entry_id: int,
    reason: str,
    *,
    delay: float,
    refused: bool = False,
    permanent: bool = False,
    operation: str | None = None,
    uncertain: bool = False,
) -> str:
    """Put an entry back to pending after ``delay`` seconds; return its new status.

    A refusal counts towards the dead letter, a permanent one reaches it at once.
    ``operation`` records an asynchronous write to check on (None clears it).
    ``uncertain`` says the write may have landed unseen (a timeout, a lost answer).
    """
    now = utcnow()
    counted = MAX_REFUSALS if permanent else int(refused)
    row = conn.execute(
        "UPDATE outbox SET attempts = attempts + ?, last_error = ?, lease_until = NULL,"
        " status = CASE WHEN attempts + ? >= ? THEN 'dead' ELSE 'pending' END,"
        " operation = ?, interrupted = ?, next_attempt_at = ?, updated_at = ?"
        " WHERE id = ?"
        " RETURNING status",
        (
            counted,
            reason,
            counted,
            MAX_REFUSALS,
            operation,
            int(uncertain),
            iso(now + timedelta(seconds=delay)),
            iso(now),
            entry_id,
        ),
    ).fetchone()
    return str(row[0]) if row else "missing"


def release(store: Store, entries: list[Entry], reason: str) -> None:
    """Give leased entries back (the channel could not be reached); whether their
    writes landed is unknown, which the next compare will tell."""
    with store.transaction() as conn:
        for entry in entries:
            retry_later(
                conn,
                entry.id,
                reason,
                delay=0,
                operation=entry.operation,
                uncertain=True,
            )


def depth(store: Store, channel: str | None = None) -> int:
    """Return how many entries wait to be sent (for one channel, or all)."""
    if channel is None:
        return int(
            store.scalar(
                "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"
            )
        )
    return int(
        store.scalar(
            "SELECT count(*) FROM outbox WHERE channel = ?"
            " AND status IN ('pending', 'sending')",
            (channel,),
        )
    )


def entries(
    store: Store, *, statuses: tuple[str, ...] = OPEN_STATUSES
) -> list[dict[str, Any]]:
    marks = ",".join("?" for _ in statuses)
    return store.query(
        "SELECT o.id, o.channel, l.sku, l.channel_ref, o.target, o.status, o.attempts,"
        " o.last_error, o.cause, o.created_at, o.next_attempt_at FROM outbox o"
        f" JOIN listings l ON l.id = o.listing_id WHERE o.status IN ({marks})"
        " ORDER BY o.id",
        statuses,
    )
