"""Compare what every channel really shows with what the central count says it should.

Sales are read first, so that a sale on its way is not taken for drift. A channel that
shows *more* than its target risks an oversell and is corrected with ``fix``. One that
shows *less* may have a sale not readable yet, so it is raised only with
``raise_low``; otherwise it is reported and left.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from stackknack_cli.channels.base import Channel
from stackknack_cli.engine.sync import ChannelReport, drain, ingest_sales
from stackknack_cli.errors import StackknackError
from stackknack_cli.store import outbox
from stackknack_cli.store.db import Store, iso, utcnow

log = logging.getLogger(__name__)

READ_CHUNK = 100


@dataclass(frozen=True)
class Drift:
    sku: str
    channel: str
    ref: str
    live: int | None
    """What the channel shows now; None when the listing is gone from the channel."""
    target: int
    central: int

    @property
    def high(self) -> bool:
        return self.live is not None and self.live > self.target


@dataclass
class ReconcileReport:
    checked: int = 0
    drifts: list[Drift] = field(default_factory=list)
    fixed: list[Drift] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    reasons: dict[Drift, str] = field(default_factory=dict)
    """Why a drift that a correction was sent for is still there."""

    @property
    def left(self) -> list[Drift]:
        return [d for d in self.drifts if d not in self.fixed]

    def as_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "drift": [
                asdict(d) | {"fixed": d in self.fixed, "reason": self.reasons.get(d)}
                for d in self.drifts
            ],
            "errors": self.errors,
        }


def reconcile(
    store: Store,
    channels: Mapping[str, Channel],
    *,
    fix: bool = False,
    raise_low: bool = False,
) -> ReconcileReport:
    """Read every linked listing's live quantity and compare it with its target.

    With ``fix``, drift is corrected through the outbox, and the outbox is drained.
    """
    report = ReconcileReport()
    for name, channel in channels.items():
        try:
            ingest_sales(store, channel, ChannelReport())
            report.drifts.extend(_drift(store, channel, report))
        except StackknackError as exc:
            report.errors[name] = str(exc)
            log.warning("%s: reconcile skipped: %s", name, exc)
    if not fix:
        return report

    fixable = [d for d in report.drifts if d.live is not None and (d.high or raise_low)]
    with store.transaction() as conn:
        for drift in fixable:
            # What the channel really holds becomes the compare-and-set base.
            conn.execute(
                "UPDATE listings SET channel_quantity = ?, updated_at = ?"
                " WHERE channel = ? AND channel_ref = ?",
                (drift.live, iso(utcnow()), drift.channel, drift.ref),
            )
            outbox.enqueue_for_sku(conn, drift.sku, cause="reconcile")
    report.fixed = fixable
    for name in {d.channel for d in fixable}:
        try:
            drain(store, channels[name], ChannelReport(), purpose="reconcile")
        except StackknackError as exc:
            report.errors[name] = str(exc)
    _still_above(store, channels, report)
    return report


def _still_above(
    store: Store, channels: Mapping[str, Channel], report: ReconcileReport
) -> None:
    """Take back "fixed" from drifts whose push went through but left the listing
    above its target (Shopify's other counting locations holding more)."""
    for drift in list(report.fixed):
        row = store.query(
            "SELECT t.channel_quantity, t.target FROM listing_targets t"
            " JOIN listings l ON l.id = t.listing_id"
            " WHERE l.channel = ? AND l.channel_ref = ?"
            " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.listing_id = l.id"
            "  AND o.status IN ('pending', 'sending'))",
            (drift.channel, drift.ref),
        )
        if not row or (row[0]["channel_quantity"] or 0) <= row[0]["target"]:
            continue
        report.fixed.remove(drift)
        reason = f"still shows {row[0]['channel_quantity']} after the push"
        hint = getattr(channels[drift.channel], "above_target_hint", "")
        report.reasons[drift] = f"{reason}: {hint}" if hint else reason


def _drift(store: Store, channel: Channel, report: ReconcileReport) -> list[Drift]:
    rows = store.query(
        "SELECT t.sku, l.channel_ref, t.target, t.available FROM listing_targets t"
        " JOIN listings l ON l.id = t.listing_id WHERE t.channel = ? ORDER BY t.sku",
        (channel.name,),
    )
    live: dict[str, int] = {}
    refs = [row["channel_ref"] for row in rows]
    for start in range(0, len(refs), READ_CHUNK):
        live.update(channel.read_quantities(refs[start : start + READ_CHUNK]))
    report.checked += len(rows)
    return [
        Drift(
            row["sku"],
            channel.name,
            row["channel_ref"],
            live.get(row["channel_ref"]),
            row["target"],
            row["available"],
        )
        for row in rows
        if live.get(row["channel_ref"]) != row["target"]
    ]
