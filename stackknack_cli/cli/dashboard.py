"""The ``watch`` screen: a Rich live view in a terminal, timestamped lines elsewhere."""

from __future__ import annotations

import sys
from collections import deque
from datetime import datetime

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from stackknack_cli.engine.watch import ChannelStatus, Snapshot

ACTIVITY_LINES = 8


def _ago(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    seconds = (datetime.now(moment.tzinfo) - moment).total_seconds()
    return f"{seconds:.0f}s ago"


def _state(status: ChannelStatus) -> str:
    if status.needs_consent:
        return "[red]needs re-consent[/red]"
    if status.error:
        return f"[red]failing ({status.failures})[/red]"
    if status.last_poll is None:
        return "[yellow]starting[/yellow]"
    return "[green]ok[/green]"


def _budget(status: ChannelStatus) -> str:
    if not status.budget:
        return "-"
    budget = status.budget
    left, limit = budget.get("day_left"), budget.get("day_limit")
    if isinstance(left, int) and isinstance(limit, int):
        return f"{left:,} of {limit:,} left today"
    return ", ".join(f"{k} {v}" for k, v in budget.items())


def channels_table(snapshot: Snapshot) -> Table:
    table = Table(title="Channels", expand=True)
    for column in (
        "channel",
        "state",
        "last poll",
        "next",
        "outbox",
        "budget",
        "error",
    ):
        table.add_column(column)
    for status in snapshot.channels:
        next_in = max(status.next_poll - snapshot.now, 0.0)
        outbox = str(status.queued)
        if status.deferred:
            outbox += f" ({escape(status.deferred)} sending)"
        table.add_row(
            status.name,
            _state(status),
            _ago(status.last_poll),
            f"{next_in:.0f}s",
            outbox,
            escape(_budget(status)),
            escape(status.error or ""),
        )
    return table


def sales_table(snapshot: Snapshot) -> Table:
    table = Table(title="Last sales (time to reach each channel)", expand=True)
    for column in ("when", "sold on", "SKU", "qty", "reached"):
        table.add_column(column)
    for sale in snapshot.sales:
        reached = ", ".join(
            f"{channel} {'…' if seconds is None else f'{seconds:.1f}s'}"
            for channel, seconds in sorted(sale.reached.items())
        )
        flag = " [red]OVERSELL[/red]" if sale.status == "oversell" else ""
        table.add_row(
            sale.occurred_at.astimezone().strftime("%H:%M:%S"),
            sale.channel,
            escape(sale.sku) + flag,
            str(sale.quantity),
            reached or "-",
        )
    return table


def render(snapshot: Snapshot | None, activity: list[str]) -> RenderableType:
    """Return the whole screen for ``snapshot`` and the newest activity lines."""
    if snapshot is None:
        return Text("starting…")
    parts: list[RenderableType] = [channels_table(snapshot), sales_table(snapshot)]
    for oversell in snapshot.oversells:
        parts.append(
            Text(
                f"OVERSELL {oversell['sku']} on {oversell['channel']}: "
                f"{oversell['missing']} of {oversell['wanted']} missing",
                style="bold red",
            )
        )
    for alert in snapshot.alerts[:5]:
        parts.append(Text(f"alert: {alert.message}", style="yellow"))
    webhooks = ", ".join(f"{k} {v}" for k, v in sorted(snapshot.events.items()))
    if snapshot.listener:
        parts.append(Text(f"webhooks on {snapshot.listener}: {webhooks or 'none yet'}"))
    parts.extend(Text(line, style="dim") for line in activity)
    parts.append(Text("Ctrl-C stops after the work under way", style="dim"))
    return Group(*parts)


class Dashboard:
    """Keeps the newest snapshot and activity lines; Rich Live renders it."""

    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None
        self.activity: deque[str] = deque(maxlen=ACTIVITY_LINES)

    def update(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def line(self, text: str) -> None:
        self.activity.appendleft(f"{datetime.now():%H:%M:%S} {text}")

    def __rich__(self) -> RenderableType:
        return render(self.snapshot, list(self.activity))


def plain_line(text: str) -> None:
    """Write one timestamped line to stderr (systemd, a pipe, a log file)."""
    stamp = datetime.now().astimezone().isoformat(timespec="seconds")
    sys.stderr.write(f"{stamp} {text}\n")
    sys.stderr.flush()
