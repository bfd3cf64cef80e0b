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
    if channel.get("above_target"):
        text += f" (above {channel['target']})"
    if channel["queued"]:
        text += " (queued)"
    return text


def stock(
    sku: Annotated[
        str | None, typer.Argument(help="One SKU; all when left out.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show the central count of each SKU and what each channel holds.

    "5 (above 2)": the channel holds 5 where 2 should show and no push is on its way
    (a Shopify location other than the push location holds more; see doctor).
    """
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


oversells_app = typer.Typer()


@oversells_app.callback(invoke_without_command=True)
def oversells(
    ctx: typer.Context,
    show_all: Annotated[
        bool, typer.Option("--all", help="Include acknowledged oversells.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List the sales that found too little stock and nobody acknowledged yet.

    An oversell is acknowledged by itself once its order's refunds, cancellations
    or edits give back the units it lacked; acknowledge the others with
    stackknack oversells ack ID.
    """
    from rich.table import Table

    from stackknack_cli.store.oversells import oversell_rows

    if ctx.invoked_subcommand is not None:
        return
    with opened_store(create=False) as store:
        rows = oversell_rows(store, acknowledged=show_all)
    if as_json:
        console.print_json(rows)
        return
    if not rows:
        console.out.print("no oversells" if show_all else "no open oversells")
        return

    columns = ["id", "SKU", "channel", "order", "wanted", "missing", "when"]
    table = Table(*columns, *(["acknowledged", "resolution"] if show_all else []))
    for row in rows:
        cells = [
            str(row["id"]),
            console.escape(row["sku"]),
            row["channel"],
            console.escape(row["order_id"]),
            str(row["wanted"]),
            str(row["missing"]),
            row["created_at"],
        ]
        if show_all:
            cells += [
                row["acknowledged_at"] or "",
                console.escape(row["resolution"] or ""),
            ]
        table.add_row(*cells)
    console.out.print(table)


@oversells_app.command("ack")
def oversells_ack(
    ids: Annotated[list[int], typer.Argument(help="Oversell ids (see oversells).")],
    note: Annotated[
        str | None, typer.Option(help="What was done, shown with --all.")
    ] = None,
) -> None:
    """Acknowledge oversells you have dealt with; they leave the list.

    Example: stackknack oversells ack 3 --note "customer took the next size"
    """
    from stackknack_cli.store.oversells import acknowledge

    with opened_store(create=False) as store:
        opened = acknowledge(store, ids, note)
    for oversell_id in dict.fromkeys(ids):
        if oversell_id in opened:
            console.out.print(f"oversell {oversell_id} acknowledged")
        else:
            console.warn(f"oversell {oversell_id} was already acknowledged")


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
