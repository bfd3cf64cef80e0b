"""``stock``, ``outbox`` and ``oversells``: what the database says now."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from stackknack_cli import console
from stackknack_cli.cli.state import opened_store
from stackknack_cli.errors import UnknownSkuError

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON instead of a table.")
]


def _warn_consent(store: Any) -> None:
    """Say on stderr which channels wait for a new consent (their pushes wait too)."""
    from stackknack_cli.channels import registry

    for name in registry.needing_consent(store):
        console.warn(
            f"{name} needs a new consent; its pushes wait in the outbox; "
            f"run: stackknack connect {name}"
        )


def _holding(channel: dict[str, Any] | None) -> str:
    if channel is None:
        return "-"
    quantity = channel["quantity"]
    text = "?" if quantity is None else str(quantity)
    if channel["queued"]:
        text += " (queued)"
    return text


def stock(
    sku: Annotated[
        str | None, typer.Argument(help="One SKU; all when left out.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show the central count of each SKU and what each channel holds."""
    from rich.table import Table

    from stackknack_cli.store import inventory

    with opened_store(create=False) as store:
        rows = inventory.stock_rows(store, sku)
        _warn_consent(store)
        channels = [
            r["name"] for r in store.query("SELECT name FROM channels ORDER BY name")
        ]
    if sku is not None and not rows:
        raise UnknownSkuError(f"unknown SKU {sku!r}")
    if as_json:
        console.print_json(rows)
        return

    table = Table("SKU", "title", "available", *channels)
    for row in rows:
        cells = [_holding(row["channels"].get(name)) for name in channels]
        table.add_row(
            console.escape(row["sku"]),
            console.escape(row["title"]),
            str(row["available"]),
            *cells,
        )
    console.out.print(table)


def outbox_cmd(
    show_all: Annotated[
        bool, typer.Option("--all", help="Include sent, superseded and dead entries.")
    ] = False,
    dead: Annotated[
        bool, typer.Option("--dead", help="Only dead-lettered entries.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List the pushes waiting to be sent (or every push with --all)."""
    from rich.table import Table

    from stackknack_cli.store import outbox

    statuses: tuple[str, ...] = outbox.OPEN_STATUSES
    if show_all:
        statuses = ("pending", "sending", "done", "superseded", "dead")
    elif dead:
        statuses = ("dead",)
    with opened_store(create=False) as store:
        rows = outbox.entries(store, statuses=statuses)
        _warn_consent(store)
    if as_json:
        console.print_json(rows)
        return
    if not rows:
        console.out.print("outbox is empty")
        return

    table = Table("id", "channel", "SKU", "target", "status", "attempts", "last error")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["channel"],
            console.escape(row["sku"]),
            str(row["target"]),
            row["status"],
            str(row["attempts"]),
            console.escape(row["last_error"] or ""),
        )
    console.out.print(table)


def oversells(as_json: JsonOption = False) -> None:
    """List the sales that found too little stock."""
    from rich.table import Table

    with opened_store(create=False) as store:
        rows = store.query(
            "SELECT o.id, o.sku, o.channel, s.order_id, s.line_id, o.wanted, o.missing,"
            " o.created_at FROM oversells o JOIN sales s ON s.id = o.sale_id"
            " ORDER BY o.id"
        )
    if as_json:
        console.print_json(rows)
        return
    if not rows:
        console.out.print("no oversells")
        return

    table = Table("id", "SKU", "channel", "order", "wanted", "missing", "when")
    for row in rows:
        table.add_row(
            str(row["id"]),
            console.escape(row["sku"]),
            row["channel"],
            console.escape(row["order_id"]),
            str(row["wanted"]),
            str(row["missing"]),
            row["created_at"],
        )
    console.out.print(table)


def sales(
    unknown: Annotated[
        bool,
        typer.Option(
            "--unknown", help="Only sales of SKUs not in the inventory (not applied)."
        ),
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List the sales read from the channels, newest first, with what each did.

    A sale of a SKU that was not in the inventory when it was read is recorded but not
    applied (status unknown_sku): import the SKU, then correct its count with
    stackknack adjust if that sale should count. "returned" is how many units its
    refunds, cancellations and edits added back (stackknack explain SKU shows each).
    """
    from rich.table import Table

    where = "WHERE status = 'unknown_sku'" if unknown else ""
    with opened_store(create=False) as store:
        rows = store.query(
            "SELECT id, channel, order_id, line_id, sku, quantity, applied,"
            " (SELECT coalesce(sum(r.applied), 0) FROM returns r"
            "  WHERE r.sale_id = sales.id) AS returned, status,"
            f" occurred_at, recorded_at FROM sales {where} ORDER BY id DESC LIMIT ?",
            (limit,),
        )
    if as_json:
        console.print_json(rows)
        return
    if not rows:
        console.out.print("no sales" if not unknown else "no sales of unknown SKUs")
        return

    table = Table(
        "when", "channel", "order", "SKU", "qty", "applied", "returned", "status"
    )
    for row in rows:
        table.add_row(
            row["recorded_at"],
            row["channel"],
            console.escape(row["order_id"]),
            console.escape(row["sku"] or "?"),
            str(row["quantity"]),
            str(row["applied"]),
            str(row["returned"]),
            row["status"],
        )
    console.out.print(table)
