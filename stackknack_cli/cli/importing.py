"""``stackknack import``: central counts from a CSV file, or listings from a channel."""

from __future__ import annotations

import enum
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from stackknack_cli import console
from stackknack_cli.cli.state import opened_store

if TYPE_CHECKING:
    from decimal import Decimal

    from stackknack_cli.engine.crosslist import CrosslistReport
    from stackknack_cli.engine.linking import LinkReport
    from stackknack_cli.importers import ImportSummary, Key
    from stackknack_cli.store.inventory import WriteSummary

app = typer.Typer(help="Import stock from a CSV file, or listings from a channel.")

JsonOption = Annotated[bool, typer.Option("--json", help="Print a JSON summary.")]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
]


@contextmanager
def _progress(total: int | None) -> Iterator[Callable[[int, int], None] | None]:
    """Yield a progress callback drawing a bar on a terminal, or None elsewhere."""
    if not total or not console.err.is_terminal or console.quiet:
        yield None
        return
    from rich.progress import Progress

    with Progress(console=console.err, transient=True) as bar:
        task = bar.add_task("importing", total=total)
        yield lambda rows, done: bar.update(task, completed=done)


# TODO: --create-on for import csv: a file's prices are not kept in the store yet
@app.command("csv")
def import_csv(
    file: Annotated[str, typer.Argument(help="The CSV file, or - for stdin.")],
    location: Annotated[
        str | None, typer.Option(help="Location to read from a multi-location export.")
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            help="Import variants without a SKU under this key: handle-options or "
            "barcode (they cannot be linked to other channels by SKU)."
        ),
    ] = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Set central counts from a Shopify product or inventory export, or sku,quantity.

    The whole file is one transaction: a bad row writes nothing.
    Example: stackknack import csv products_export_1.csv --dry-run
    """
    from stackknack_cli.errors import InputError
    from stackknack_cli.importers import read_csv
    from stackknack_cli.store import inventory
    from stackknack_cli.store.inventory import ItemRecord

    total: int | None = None
    if file == "-":
        source: Any = sys.stdin.buffer
        name = "stdin"
    else:
        path = Path(file)
        if path.is_dir():
            raise InputError(f"{file} is a folder, not a CSV file")
        if not path.exists():
            raise InputError(f"{file}: no such file")
        if not path.is_file():
            raise InputError(
                f"{file} is not a regular file (a device or pipe?); use - for stdin"
            )
        source, name, total = path, path.name, path.stat().st_size

    with (
        _progress(total) as progress,
        read_csv(
            source,
            name=name,
            location=location,
            key=cast("Key | None", key),  # read_csv refuses unknown keys itself
            progress=progress,
        ) as plan,
    ):
        records = (
            ItemRecord(
                r.sku, r.quantity, f"{r.title} / {r.variant}" if r.variant else r.title
            )
            for r in plan
        )
        with opened_store() as store:
            written = inventory.set_quantities(
                store, records, cause=f"import {name}", dry_run=dry_run
            )
    summary = plan.summary

    result = _csv_result(name, summary, written, dry_run)
    if as_json:
        console.print_json(result)
        return
    _print_csv_result(result, summary)


def _csv_result(
    name: str, summary: ImportSummary, written: WriteSummary, dry_run: bool
) -> dict[str, Any]:
    return {
        "file": name,
        "layout": str(summary.layout),
        "dry_run": dry_run,
        "products": summary.products,
        "variants": summary.variants,
        "written": written.written,
        "created": written.created,
        "changed": written.changed,
        "unchanged": written.unchanged,
        "pushes_queued": written.pushes,
        "skipped": dict(sorted(summary.skipped.items())),
        "negative_set_to_zero": len(summary.negative),
        "no_sku_rows": [m.row for m in summary.no_sku],
        "no_quantity_rows": list(summary.no_quantity),
        "duplicate_skus": sorted(summary.duplicate_skus),
    }


def _print_csv_result(result: dict[str, Any], summary: ImportSummary) -> None:
    verb = "would write" if result["dry_run"] else "wrote"
    skipped = ", ".join(f"{n} {reason}" for reason, n in result["skipped"].items())
    console.out.print(
        f"{console.escape(result['file'])} ({result['layout']}): "
        f"{result['products'] if result['products'] is not None else '-'} products, "
        f"{result['variants']} variants; {verb} {result['written']} SKUs "
        f"({result['created']} new, {result['changed']} changed)"
        + (f"; skipped {skipped}" if skipped else "")
    )
    ebay = result["layout"] == "ebay-listings"
    if summary.no_quantity:
        rows = ", ".join(str(row) for row in summary.no_quantity[:5])
        more = " ..." if len(summary.no_quantity) > 5 else ""
        console.warn(
            f"{len(summary.no_quantity)} rows have no quantity and were skipped "
            f"(row {rows}{more})"
        )
    if summary.no_sku and ebay:
        ids = ", ".join(m.handle for m in summary.no_sku[:5])
        console.warn(
            f"{len(summary.no_sku)} eBay listings have no Custom Label and cannot be "
            f"linked; give them one in Seller Hub (item {ids})"
        )
    elif summary.no_sku:
        console.warn(
            f"{len(summary.no_sku)} variants have no SKU and cannot be linked across "
            "channels; import them under a key with --key handle-options or "
            "--key barcode"
        )
    if summary.duplicate_skus and ebay:
        shown = ", ".join(sorted(summary.duplicate_skus)[:5])
        console.warn(
            f"{len(summary.duplicate_skus)} Custom Labels are shared by several "
            f"listings and were not imported; decide which listing holds the stock: "
            f"{shown}"
        )
    elif summary.duplicate_skus:
        shown = ", ".join(sorted(summary.duplicate_skus)[:5])
        console.warn(
            f"{len(summary.duplicate_skus)} SKUs appear more than once "
            "(first row kept): "
            f"{shown}"
        )
    if summary.negative:
        console.warn(f"{len(summary.negative)} negative quantities were imported as 0")


def _link(
    channel_name: str,
    create: bool,
    dry_run: bool,
    as_json: bool,
    *,
    use_catalog: bool = False,
    create_on: Sequence[Target] | None = None,
    stockx_ask: str | None = None,
) -> None:
    from stackknack_cli.channels import registry
    from stackknack_cli.engine.linking import link_channel

    targets = _targets(channel_name, create_on)
    ask = _ask(stockx_ask)
    if ask is not None and "stockx" not in targets:
        from stackknack_cli.errors import InputError

        raise InputError(
            "--stockx-ask is for new StockX listings; add --create-on stockx"
        )
    crosslist: CrosslistReport | None = None
    with (
        opened_store() as store,
        registry.connected_channels(store, [channel_name, *targets]) as channels,
    ):
        report = link_channel(
            store,
            channels[channel_name],
            create_missing=create,
            dry_run=dry_run,
            use_catalog=use_catalog,
        )
        if targets:
            from stackknack_cli.engine.crosslist import create_on as cross_list

            crosslist = cross_list(
                store,
                channels[channel_name],
                report.linked_listings,
                {name: channels[name] for name in targets},
                dry_run=dry_run,
                stockx_ask=ask,
            )
    if as_json:
        payload = report.as_dict()
        if crosslist is not None:
            payload["create_on"] = crosslist.as_dict()
        console.print_json(payload)
    else:
        _print_link(report, dry_run)
        if crosslist is not None:
            _print_crosslist(crosslist)
    if crosslist is not None and any(i.status == "failed" for i in crosslist.items):
        raise typer.Exit(1)


class Target(enum.StrEnum):
    """A channel stackknack can create listings on."""

    clover = "clover"
    ebay = "ebay"
    stockx = "stockx"


def _targets(source: str, create_on: Sequence[Target] | None) -> list[str]:
    from stackknack_cli.errors import InputError

    targets = list(dict.fromkeys(str(t.value) for t in create_on or ()))
    if source in targets:
        raise InputError(
            f"--create-on {source}: {source} is the channel being imported from"
        )
    return targets


def _ask(text: str | None) -> Decimal | None:
    from stackknack_cli.channels.prices import parse_amount
    from stackknack_cli.errors import InputError

    if text is None:
        return None
    amount = parse_amount(text)
    if amount is None:
        raise InputError(f"--stockx-ask {text!r}: give a price above 0, such as 180")
    return amount


def _print_crosslist(report: CrosslistReport) -> None:
    verbs = {"create": "would create", "link": "would link"}
    for name, counts in report.counts().items():
        summary = ", ".join(f"{n} {verbs.get(s, s)}" for s, n in counts.items())
        console.out.print(f"{name}: {summary}")
    for item in report.items:
        if item.status == "skipped" and item.reason.startswith("already linked"):
            continue
        sent = ""
        if item.quantity is not None and item.status not in ("skipped", "failed"):
            price = f" at {item.price} {item.currency or ''}".rstrip()
            sent = f" {item.quantity} x {item.title!r}{price if item.price else ''}"
        ref = f" [{item.ref}]" if item.ref else ""
        why = f": {item.reason}" if item.reason else ""
        line = f"  {item.channel} {item.sku}: {verbs.get(item.status, item.status)}"
        console.out.print(console.escape(line + sent + ref + why))
    for note in report.notes:
        console.info(note)
    if any(i.channel == "ebay" and i.status == "created" for i in report.items):
        console.info(
            "ebay: the new offers are unpublished; add a category and business "
            "policies in Seller Hub, then publish them"
        )


def _print_link(report: LinkReport, dry_run: bool) -> None:
    verb = "would link" if dry_run else "linked"
    queued = "would be queued" if dry_run else "queued"
    console.out.print(
        f"{report.channel}: {report.listings} listings; {verb} {report.linked} by SKU"
        f" ({report.created} new SKUs), {report.pushes} push(es) {queued}"
    )
    if report.no_sku:
        console.warn(
            f"{report.no_sku} {report.channel} listings have no SKU; not linked"
        )
    if report.duplicates:
        console.warn(
            f"SKUs listed more than once on {report.channel}, not linked: "
            + ", ".join(report.duplicates[:10])
        )
    if report.unmatched:
        what = (
            "variants match no inventory SKU"
            if report.channel == "stockx"
            else ("SKUs are not in the inventory")
        )
        console.warn(
            f"{len(report.unmatched)} {report.channel} {what}: "
            + ", ".join(report.unmatched[:10])
        )
    if report.missing:
        console.warn(
            f"{len(report.missing)} inventory SKUs have no {report.channel} listing"
        )


CreateOption = Annotated[
    bool,
    typer.Option(
        "--create/--link-only",
        help="Create inventory SKUs that only the channel has (one-way import).",
    ),
]
CreateOnOption = Annotated[
    list[Target] | None,
    typer.Option(
        "--create-on",
        metavar="CHANNEL",
        help="Also create the linked SKUs on this channel where they are missing, "
        "and link them (repeat for several; eBay offers stay unpublished).",
    ),
]
StockxAskOption = Annotated[
    str | None,
    typer.Option(
        "--stockx-ask",
        metavar="AMOUNT",
        help="Ask in USD for new StockX listings (default: the price on the channel "
        "imported from).",
    ),
]


@app.command("shopify")
def import_shopify(
    create: CreateOption = True,
    create_on: CreateOnOption = None,
    stockx_ask: StockxAskOption = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Read every Shopify variant and link it to the inventory by SKU.

    Example: stackknack import shopify --create-on ebay --dry-run
    """
    _link(
        "shopify",
        create,
        dry_run,
        as_json,
        create_on=create_on,
        stockx_ask=stockx_ask,
    )


@app.command("clover")
def import_clover(
    create: CreateOption = True,
    create_on: CreateOnOption = None,
    stockx_ask: StockxAskOption = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Read every Clover item and link it to the inventory by SKU.

    Example: stackknack import clover --create-on ebay --dry-run
    """
    _link(
        "clover",
        create,
        dry_run,
        as_json,
        create_on=create_on,
        stockx_ask=stockx_ask,
    )


@app.command("ebay")
def import_ebay(
    create: CreateOption = True,
    create_on: CreateOnOption = None,
    stockx_ask: StockxAskOption = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Read every eBay inventory item and its offers and link them by SKU.

    Example: stackknack import ebay --create-on clover --dry-run
    """
    _link(
        "ebay",
        create,
        dry_run,
        as_json,
        create_on=create_on,
        stockx_ask=stockx_ask,
    )


@app.command("stockx")
def import_stockx(
    catalog: Annotated[
        bool,
        typer.Option(
            "--catalog",
            help="Look up SKUs with no StockX listing in StockX's catalogue "
            "(one request a second each).",
        ),
    ] = False,
    create_on: CreateOnOption = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Link StockX variants to inventory SKUs by style id and size.

    A SKU such as DZ5485-612-10, or a title ending in "US 10", gives the style and
    size; sizes are compared in one sizing system (10, US 10 and US M 10 are one).
    """
    _link("stockx", False, dry_run, as_json, use_catalog=catalog, create_on=create_on)
