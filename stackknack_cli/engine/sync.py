"""One sync cycle: read every channel's new sales, apply them, then drain the outbox.

Sales come first so that a push never works from a count that a waiting sale would
change. A channel that cannot be reached is reported and skipped; its pushes stay in the
outbox for the next cycle.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from stackknack_cli.channels.base import Channel, PushStatus, ReturnLine
from stackknack_cli.errors import ReconsentRequiredError, StackknackError
from stackknack_cli.store import inventory, locks, outbox
from stackknack_cli.store.db import Store, iso, utcnow
from stackknack_cli.store.returns import COUNTED, ReturnOutcome

log = logging.getLogger(__name__)

SALES_OVERLAP = timedelta(minutes=5)
"""Orders modified this long before the cursor are read again (late index updates)."""
UNEXPLAINED_GRACE = timedelta(minutes=10)
"""How long a listing that holds fewer units than we know may wait for its sale to show
up before we accept the channel's lower number."""
MAX_ROUNDS = 20
RETRY_SECONDS = 5.0
"""How soon a push that met a passing problem on its own is tried again."""
PENDING_POLL_SECONDS = 2.0
"""How soon an asynchronous write (StockX) is checked on again."""


@dataclass
class ChannelReport:
    sales: int = 0
    applied: int = 0
    duplicates: int = 0
    oversells: list[dict[str, Any]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    returns: int = 0
    """Returns, cancellations and edits read (duplicates included)."""
    restocked: int = 0
    """Units they added back to the central count."""
    journalled: list[dict[str, Any]] = field(default_factory=list)
    """The returns applied in this run (one journal line each): ``sku``, ``cause``,
    ``order_id``, ``line_id``, ``quantity``, ``applied``, ``status``, ``resolved``
    (it acknowledged its sale's oversell)."""
    pushed: int = 0
    mismatches: int = 0
    pending: int = 0
    dead: int = 0
    error: str | None = None
    reconsent: bool = False
    """The channel refused its refresh token: a new consent is needed."""
    queued: int = 0
    budget: Mapping[str, Any] | None = None
    """What is left of the channel's request budget after this run (StockX)."""
    deferred: str | None = None
    """Who else was sending this channel's outbox, so this run left it alone."""


@dataclass
class SyncReport:
    channels: dict[str, ChannelReport] = field(default_factory=dict)

    @property
    def oversells(self) -> list[dict[str, Any]]:
        return [o for report in self.channels.values() for o in report.oversells]

    @property
    def queued(self) -> int:
        return sum(report.queued for report in self.channels.values())

    @property
    def reconsent(self) -> list[str]:
        return [name for name, report in self.channels.items() if report.reconsent]

    @property
    def failed(self) -> list[str]:
        return [name for name, report in self.channels.items() if report.error]

    def as_dict(self) -> dict[str, Any]:
        return {
            name: {
                "sales": r.sales,
                "applied": r.applied,
                "duplicates": r.duplicates,
                "oversells": r.oversells,
                "unknown_skus": r.unknown,
                "returns": r.returns,
                "restocked": r.restocked,
                "pushed": r.pushed,
                "mismatches": r.mismatches,
                "dead": r.dead,
                "queued": r.queued,
                "error": r.error,
                "needs_consent": r.reconsent,
                "deferred": r.deferred,
                "budget": dict(r.budget) if r.budget else None,
            }
            for name, r in self.channels.items()
        }


def _cursor(store: Store, channel: str) -> datetime | None:
    value = store.scalar(
        "SELECT value FROM cursors WHERE channel = ? AND name = 'sales'", (channel,)
    )
    return datetime.fromisoformat(value) if value else None


def set_cursor(store: Store, channel: str, moment: datetime) -> None:
    """Record that sales of ``channel`` up to ``moment`` are applied (never back)."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO cursors (channel, name, value, updated_at)"
            " VALUES (?, 'sales', ?, ?) ON CONFLICT (channel, name) DO UPDATE"
            " SET value = max(value, excluded.value), updated_at = excluded.updated_at",
            (channel, iso(moment), iso(utcnow())),
        )


def ingest_sales(
    store: Store,
    channel: Channel,
    report: ChannelReport,
    *,
    since: datetime | None = None,
) -> None:
    """Read and apply the channel's sales since its cursor (minus the overlap), or
    since ``since`` when that is earlier (a webhook about an older order)."""
    start = _cursor(store, channel.name)
    if start is None:
        # Without a cursor the channel was never linked: sales before now predate
        # the imported counts, so they are not applied.
        set_cursor(store, channel.name, utcnow())
        return
    start -= SALES_OVERLAP
    if since is not None:
        start = min(start, since)
    batch = channel.fetch_sales(start)
    # One transaction per poll: durable once, and re-read whole after a crash.
    outcomes, returned = inventory.apply_batch(store, channel.name, batch)
    _report_returns(channel.name, batch.returns, returned, report)
    for line, outcome in zip(batch.lines, outcomes, strict=True):
        report.sales += 1
        if outcome.status == "duplicate":
            report.duplicates += 1
            continue
        if outcome.status == "unknown_sku":
            report.unknown.append(line.sku or line.channel_ref or line.line_id)
            log.warning(
                "%s: sale %s/%s is for %s, not in the inventory",
                channel.name,
                line.order_id,
                line.line_id,
                f"SKU {line.sku}" if line.sku else "a listing without a SKU",
            )
            continue
        report.applied += 1
        if outcome.status == "oversell":
            report.oversells.append(
                {
                    "sku": outcome.sku,
                    "channel": channel.name,
                    "order_id": line.order_id,
                    "line_id": line.line_id,
                    "missing": outcome.missing,
                }
            )
            log.error(
                "%s: OVERSELL of %s: order %s wanted %d, %d missing",
                channel.name,
                outcome.sku,
                line.order_id,
                outcome.quantity,
                outcome.missing,
            )
    if batch.newest is not None:
        set_cursor(store, channel.name, batch.newest)


def _report_returns(
    name: str,
    lines: list[ReturnLine],
    outcomes: list[ReturnOutcome],
    report: ChannelReport,
) -> None:
    for line, outcome in zip(lines, outcomes, strict=True):
        report.returns += 1
        report.restocked += outcome.applied
        if outcome.status == "duplicate":
            continue
        if outcome.status in COUNTED:
            report.journalled.append(
                {
                    "sku": outcome.sku,
                    "cause": line.cause,
                    "order_id": line.order_id,
                    "line_id": line.line_id,
                    "quantity": line.quantity,
                    "applied": outcome.applied,
                    "status": outcome.status,
                    "resolved": outcome.resolved,
                }
            )
        log.info(
            "%s: %s of %s/%s (%d units): %s, %d added back",
            name,
            line.cause,
            line.order_id,
            line.line_id,
            line.quantity,
            outcome.status,
            outcome.applied,
        )


def _resolve_mismatch(
    store: Store, entry: outbox.Entry, holds: int, *, first_seen: datetime | None
) -> str:
    """Decide what to do after a compare-and-set found ``holds`` units instead of the
    expected number; return the new status of the entry.

    Fewer units than we know of usually means a sale on that channel we have not read
    yet: writing our count over it would put the sold unit back on sale, so the entry
    waits for the sale (the caller re-reads sales first). If none shows up within the
    grace period, the lower number is accepted as the channel's truth.
    """
    now = utcnow()
    with store.transaction() as conn:
        known = conn.execute(
            "SELECT channel_quantity FROM listings WHERE id = ?", (entry.listing_id,)
        ).fetchone()[0]
        target = outbox.target_of(conn, entry.listing_id)
        if _landed_unrecorded(conn, entry, holds):
            # A push cut off (a crash, a timeout, a lost answer) explains what the
            # channel now shows: that write landed unrecorded. It is the base.
            conn.execute(
                "UPDATE outbox SET interrupted = 0 WHERE listing_id = ?",
                (entry.listing_id,),
            )
            if holds == target:
                outbox.mark_done(conn, entry, holds)
                return "done"
            known = holds
        unexplained = known is not None and holds < known
        waited_enough = first_seen is not None and now - first_seen > UNEXPLAINED_GRACE
        if unexplained and not waited_enough:
            status = outbox.retry_later(
                conn,
                entry.id,
                f"{entry.channel} holds {holds}, expected {known}; "
                "waiting for its sale",
                delay=15,
                # A cut-off write of this entry stays a possible explanation: the
                # sale read next may complete it (see _landed_unrecorded).
                uncertain=_was_cut_off(conn, entry.id),
            )
            conn.execute(
                "UPDATE outbox SET waiting_since = coalesce(waiting_since, ?)"
                " WHERE id = ?",
                (iso(now), entry.id),
            )
            return status
        if unexplained:
            # A channel that went below zero (Clover allows it) still shows 0 at most.
            target = max(0, min(target, holds))
        conn.execute(
            "UPDATE listings SET channel_quantity = ?, updated_at = ? WHERE id = ?",
            (holds, iso(now), entry.listing_id),
        )
        conn.execute(
            "UPDATE outbox SET target = ?, status = 'pending', lease_until = NULL,"
            " operation = NULL, waiting_since = NULL, interrupted = 0,"
            " next_attempt_at = ?,"
            " last_error = ?, updated_at = ? WHERE id = ?",
            (
                target,
                iso(now),
                f"compare mismatch: held {holds}, expected {known}",
                iso(now),
                entry.id,
            ),
        )
        return "pending"


def _was_cut_off(conn: sqlite3.Connection, entry_id: int) -> bool:
    row = conn.execute(
        "SELECT interrupted FROM outbox WHERE id = ?", (entry_id,)
    ).fetchone()
    return bool(row and row[0])


def _landed_unrecorded(
    conn: sqlite3.Connection, entry: outbox.Entry, holds: int
) -> bool:
    """Tell whether a cut-off push of this listing explains ``holds``: it asked for
    exactly that, or for that plus the units sold on the channel since it was written
    (a write that landed, then a sale there, before anything was recorded)."""
    cut_off = conn.execute(
        "SELECT target, created_at FROM outbox"
        " WHERE listing_id = ? AND interrupted = 1",
        (entry.listing_id,),
    ).fetchall()
    for target, created_at in cut_off:
        sold = conn.execute(
            "SELECT quantity FROM sales WHERE channel = ? AND sku = ?"
            " AND recorded_at >= ? ORDER BY recorded_at, id",
            (entry.channel, entry.sku, created_at),
        ).fetchall()
        left = target
        if left == holds:
            return True
        for (quantity,) in sold:
            left -= quantity
            if left == holds:
                return True
    return False


def drain(
    store: Store, channel: Channel, report: ChannelReport, *, purpose: str = "sync"
) -> None:
    """Send the channel's due outbox entries in batches until none is due, holding the
    channel's drain lock; leave them to another process that holds it."""
    with locks.held(store, channel.name, purpose=purpose) as blocker:
        if blocker is not None:
            report.deferred = f"{blocker.purpose} (pid {blocker.pid})"
            log.info("%s: outbox left to %s", channel.name, report.deferred)
            return
        _drain_locked(store, channel, report)


def _drain_locked(store: Store, channel: Channel, report: ChannelReport) -> None:
    install_id = store.install_id
    resynced = False
    for _ in range(MAX_ROUNDS):
        entries = outbox.claim(store, channel.name, limit=channel.batch_size)
        if not entries:
            break
        by_id = {entry.id: entry for entry in entries}
        try:
            results = channel.push([entry.push(install_id) for entry in entries])
        except StackknackError as exc:
            outbox.release(store, entries, str(exc))
            raise

        mismatched: list[tuple[outbox.Entry, int]] = []
        with store.transaction() as conn:
            for result in results:
                entry = by_id.pop(result.entry_id)
                if result.details:
                    conn.execute(
                        "UPDATE listings SET details = json_patch(details, ?)"
                        " WHERE id = ?",
                        (json.dumps(dict(result.details)), entry.listing_id),
                    )
                if result.status is PushStatus.DONE:
                    holds = entry.target if result.holds is None else result.holds
                    outbox.mark_done(conn, entry, holds)
                    report.pushed += 1
                elif result.status is PushStatus.MISMATCH and result.holds is not None:
                    mismatched.append((entry, result.holds))
                elif result.status is PushStatus.PENDING:
                    outbox.retry_later(
                        conn,
                        entry.id,
                        result.reason or "waiting for the platform",
                        delay=PENDING_POLL_SECONDS,
                        operation=result.operation or entry.operation,
                    )
                    report.pending += 1
                else:
                    if result.holds is not None:
                        # Part of the write landed (Clover's stock, not yet its
                        # availability; part of a StockX batch): the next compare
                        # starts from there.
                        conn.execute(
                            "UPDATE listings SET channel_quantity = ? WHERE id = ?",
                            (result.holds, entry.listing_id),
                        )
                    refused = result.status is PushStatus.REFUSED
                    status = outbox.retry_later(
                        conn,
                        entry.id,
                        result.reason or result.status.value,
                        # A passing refusal (a 429 on one item) is tried again
                        # soon; a refusal may need the user, so it waits longer.
                        delay=30 * (entry.attempts + 1) if refused else RETRY_SECONDS,
                        refused=refused,
                        permanent=refused and result.permanent,
                        # A passing failure to check on an asynchronous write keeps
                        # it: the write goes on at the platform either way.
                        operation=None
                        if refused
                        else (result.operation or entry.operation),
                        uncertain=not refused or result.uncertain,
                    )
                    if status == "dead":
                        report.dead += 1
                        log.error(
                            "%s: gave up pushing %s: %s",
                            channel.name,
                            entry.sku,
                            result.reason,
                        )
            for entry in by_id.values():  # no result came back for these
                outbox.retry_later(
                    conn,
                    entry.id,
                    "no result from channel",
                    delay=30,
                    operation=entry.operation,
                )

        if mismatched:
            report.mismatches += len(mismatched)
            if not resynced:
                # A mismatch is most often a sale not read yet: read it before deciding.
                ingest_sales(store, channel, report)
                resynced = True
            for entry, holds in mismatched:
                _resolve_mismatch(
                    store, entry, holds, first_seen=_first_mismatch(store, entry.id)
                )


def _first_mismatch(store: Store, entry_id: int) -> datetime | None:
    """When the entry started waiting for an unexplained drop to be explained."""
    value = store.scalar("SELECT waiting_since FROM outbox WHERE id = ?", (entry_id,))
    return datetime.fromisoformat(value) if value else None


def _guarded(
    step: Callable[[Store, Channel, ChannelReport], None],
    store: Store,
    channel: Channel,
    report: ChannelReport,
    notify: Callable[[str], None],
) -> None:
    """Run one channel's step; its failure is reported and never stops the others."""
    try:
        step(store, channel, report)
    except StackknackError as exc:
        report.error = str(exc)
        report.reconsent = isinstance(exc, ReconsentRequiredError)
        notify(f"{channel.name}: {exc}")
    except Exception as exc:  # a bug here must not leave the other channels unsynced
        log.error("%s: unexpected failure: %r", channel.name, exc)
        log.debug("%s: unexpected failure", channel.name, exc_info=True)
        report.error = f"unexpected failure: {type(exc).__name__}: {exc}"
        notify(f"{channel.name}: {report.error}")


def run_sync(
    store: Store,
    channels: Mapping[str, Channel],
    *,
    on_event: Callable[[str], None] | None = None,
) -> SyncReport:
    """Poll every channel for sales, apply them, then drain every channel's outbox."""
    report = SyncReport({name: ChannelReport() for name in channels})
    notify = on_event or (lambda message: None)

    for name, channel in channels.items():
        _guarded(ingest_sales, store, channel, report.channels[name], notify)

    for name, channel in channels.items():
        if not report.channels[name].error:
            _guarded(drain, store, channel, report.channels[name], notify)

    for name, channel in channels.items():
        report.channels[name].queued = outbox.depth(store, name)
        budget = getattr(channel, "budget", None)
        if callable(budget):
            report.channels[name].budget = budget()
    return report
