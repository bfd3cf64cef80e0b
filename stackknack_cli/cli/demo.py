"""``stackknack demo``: the whole product on local simulators, in one command."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stackknack_cli import console

if TYPE_CHECKING:
    from stackknack_cli.sandbox.demo import DemoResult

COLUMNS = ("central", "shopify", "clover", "ebay", "stockx")


def demo(
    catalog: Annotated[
        Path | None,
        typer.Option(help="A product CSV to use instead of the shipped sneakers."),
    ] = None,
    keep: Annotated[
        Path | None,
        typer.Option(help="Keep the demo's database in this folder to look at it."),
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Show every SKU, not only those sold.")
    ] = False,
) -> None:
    """Import a catalogue, sell on two simulated channels, sync, and show they agree.

    Exits 0 only when every channel holds the central count and the race for the
    last pair was flagged as an oversell.
    """
    from stackknack_cli.sandbox.demo import run_demo
    from stackknack_cli.sandbox.runtime import CATALOG

    source = catalog or CATALOG
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        result = run_demo(source, keep, say=console.info)
    else:
        with tempfile.TemporaryDirectory(prefix="stackknack-demo-") as tmp:
            result = run_demo(source, Path(tmp), say=console.info)

    _print_table(result, show_all=show_all)
    for oversell in result.sync.oversells:
        console.out.print(
            f"OVERSELL flagged: {console.escape(oversell['sku'])} on "
            f"{oversell['channel']} (order {console.escape(oversell['order_id'])}); "
            "the reseller must cancel or source one pair"
        )
    if result.ok:
        console.out.print(
            f"all {len(result.rows)} SKUs agree on every channel; "
            "the oversell was flagged"
        )
        return
    for row in result.disagreeing:
        console.error(f"{row.sku} disagrees: {row.after}")
    if not result.oversell_flagged:
        console.error(f"the race for {result.oversold_sku} was not flagged")
    raise typer.Exit(1)


def _print_table(result: DemoResult, *, show_all: bool) -> None:
    from rich.table import Table

    def counts(values: dict[str, int]) -> str:
        return " ".join(str(values[k]) for k in COLUMNS)

    table = Table(
        "SKU",
        "before",
        "after",
        "what happened",
        title="central shopify clover ebay stockx, before and after syncing",
    )
    for row in result.rows:
        if not show_all and not row.note:
            continue
        table.add_row(
            console.escape(row.sku),
            counts(row.before),
            counts(row.after),
            console.escape(row.note) + ("" if row.agrees else "  DISAGREES"),
        )
    console.out.print(table)
