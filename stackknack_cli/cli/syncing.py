"""``stackknack sync``: one cycle for cron (poll sales, apply, drain the outbox)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from stackknack_cli import console
from stackknack_cli.cli.state import opened_store

if TYPE_CHECKING:
    from stackknack_cli.engine.sync import SyncReport

EXIT_QUEUED = 3
EXIT_OVERSELL = 4
EXIT_RECONSENT = 5


def sync(
    channel: Annotated[
        list[str] | None,
        typer.Option("--channel", "-c", help="Only these channels (repeatable)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON report.")
    ] = False,
) -> None:
    """Read new sales from every connected channel, apply them, and push the results.

    Exit codes: 0 all done; 1 a channel failed; 3 pushes still queued; 4 an oversell
    was flagged; 5 a channel needs a new consent (stackknack connect CHANNEL).
    When several apply, the first of 4, 5, 1, 3 wins.
    """
    from stackknack_cli.channels import registry
    from stackknack_cli.engine.sync import run_sync

    with (
        opened_store(create=False) as store,
        registry.connected_channels(store, channel) as channels,
    ):
        report = run_sync(store, channels, on_event=console.warn)

    if as_json:
        console.print_json(
            {
                "channels": report.as_dict(),
                "oversells": report.oversells,
                "queued": report.queued,
                "failed": report.failed,
            }
        )
    else:
        parts = []
        for name, r in report.channels.items():
            text = f"{name}: {r.applied} sales, {r.pushed} pushed"
            if r.journalled:
                text += f", {len(r.journalled)} returns ({r.restocked} back)"
            if r.queued:
                text += f", {r.queued} queued"
            if r.budget and isinstance(r.budget.get("day_left"), int):
                text += f", {r.budget['day_left']:,} requests left today"
            if r.error:
                text += ", FAILED"
            parts.append(text)
        summary = "; ".join(parts) or "no channels connected"
        unknown = sum(len(r.unknown) for r in report.channels.values())
        if unknown:
            summary += (
                f"; {unknown} sale(s) of SKUs not in the inventory, not applied "
                "(stackknack sales --unknown)"
            )
        if report.oversells:
            summary += f"; {len(report.oversells)} OVERSELL(S)"
        console.out.print(console.escape(summary))

    raise typer.Exit(exit_code(report))


def exit_code(report: SyncReport) -> int:
    """Pick the exit code: oversell 4, re-consent 5, failure 1, queued 3, else 0."""
    if report.oversells:
        return EXIT_OVERSELL
    if report.reconsent:
        return EXIT_RECONSENT
    if report.failed:
        return 1
    if report.queued:
        return EXIT_QUEUED
    return 0
