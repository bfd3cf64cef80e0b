"""``stackknack shopify``: settings of the connected Shopify store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from stackknack_cli import console
from stackknack_cli.cli.state import opened_store

if TYPE_CHECKING:
    from stackknack_cli.channels.shopify import Location

app = typer.Typer(help="Settings of the connected Shopify store.", no_args_is_help=True)


@app.command("locations")
def locations(
    push: Annotated[
        str | None,
        typer.Option(
            metavar="LOCATION",
            help="Send pushes here (name or id); the previous one keeps counting.",
        ),
    ] = None,
    count: Annotated[
        list[str] | None,
        typer.Option(
            metavar="LOCATION",
            help="Count this location's stock too (repeatable).",
        ),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option(
            metavar="LOCATION",
            help="Stop counting this location's stock (repeatable).",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Move the pushes even to a location that does not stock every "
            "linked item (their pushes are refused until it does).",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Read Shopify and say what the change would do; save nothing.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show or change which locations count and which receives the pushes.

    What Shopify holds for a listing is its available units summed over the counting
    locations. A change reads every linked listing again and queues a push for each
    one that holds other than its target. --push refuses a location that does not
    stock every linked item, unless --force.

    Example: stackknack shopify locations --count "Shop floor" --ignore "Pop-up"
    """
    from stackknack_cli.channels import registry, shopify_locations
    from stackknack_cli.engine.locations import change_locations, unstocked_line

    shopify_locations.require_names("--push", [] if push is None else [push])
    shopify_locations.require_names("--count", count or ())
    shopify_locations.require_names("--ignore", ignore or ())
    with (
        opened_store(create=False) as store,
        registry.connected_channels(store, ["shopify"]) as channels,
    ):
        channel: Any = channels["shopify"]
        settings = dict(registry.load(store)["shopify"].settings)
        active = channel.list_locations()
        if push is not None or count or ignore:
            plan, dropped = shopify_locations.plan_change(
                active, settings, push=push, count=count or (), ignore=ignore or ()
            )
            for name in dropped:
                console.warn(f"{name} is no longer active; it stops counting")
            moved = plan.push.id != settings.get("location_id")
            change = change_locations(
                store,
                channel,
                plan,
                refuse_unstocked=moved and not force and not dry_run,
                dry_run=dry_run,
            )
            if dry_run:
                _preview(change)
                return
            settings.update(plan.settings())
            console.info(
                f"{change.listings} listing(s) read again, {change.changed} "
                f"changed, {change.queued} push(es) queued for the next sync"
            )
            if change.unstocked:
                line = unstocked_line(change.unstocked, plan.push.name)
                console.warn(
                    f"{line}; their pushes are refused until they are stocked there"
                )
    _show(active, settings, as_json)


def _preview(change: Any) -> None:
    """Say what a location change would do, writing nothing."""
    from stackknack_cli.engine.locations import unstocked_line

    console.out.print(
        f"dry run: {change.plan.describe()}; {change.listings} listing(s) read, "
        f"{change.changed} would change; nothing saved"
    )
    for sku, holds, target in change.off_target:
        verb = "lower" if holds > target else "raise"
        console.out.print(
            f"  {console.escape(sku)}: Shopify would hold {holds}, its target is "
            f"{target}; the next sync would {verb} the push location"
        )
    if change.unstocked:
        console.warn(unstocked_line(change.unstocked, change.plan.push.name))


def _show(active: list[Location], settings: dict[str, Any], as_json: bool) -> None:
    from rich.table import Table

    from stackknack_cli.channels import shopify_locations

    push_id = settings.get("location_id")
    counting = {push_id, *shopify_locations.count_ids(settings)}
    rows: list[dict[str, Any]] = [
        {
            "id": loc.id,
            "name": loc.name,
            "counts": loc.id in counting,
            "receives_pushes": loc.id == push_id,
            "active": True,
        }
        for loc in active
    ]
    known = {loc.id for loc in active}
    names = {e.get("id"): e.get("name") for e in settings.get("count_locations") or []}
    names[push_id] = settings.get("location_name")
    rows += [
        {
            "id": ref,
            "name": names.get(ref) or ref,
            "counts": True,
            "receives_pushes": ref == push_id,
            "active": False,
        }
        for ref in sorted(ref for ref in counting if ref and ref not in known)
    ]
    if as_json:
        console.print_json({"locations": rows})
        return
    table = Table("location", "id", "counts", "receives pushes")
    for row in rows:
        name = console.escape(row["name"])
        table.add_row(
            name if row["active"] else f"{name} (not active)",
            row["id"],
            "yes" if row["counts"] else "-",
            "yes" if row["receives_pushes"] else "-",
        )
    console.out.print(table)
