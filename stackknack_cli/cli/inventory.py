"""``adjust``, ``explain``, ``reconcile`` and ``rules``: a careful reseller's tools."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from stackknack_cli import console
from stackknack_cli.cli.state import opened_store
from stackknack_cli.errors import InputError, StackknackError, UnknownSkuError

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
EXIT_DRIFT = 6
CHANGE = re.compile(r"^([+=-])([0-9]+)$")


def adjust(
    sku: Annotated[str, typer.Argument(help="The SKU to change.")],
    change: Annotated[str, typer.Argument(help="+N to add, -N to remove, =N to set.")],
    reason: Annotated[str, typer.Option(help="Why; kept in the journal.")],
    as_json: JsonOption = False,
) -> None:
    """Change a central count by hand; the change is journalled and pushed.

    Example: stackknack adjust DZ5485-612-10 -1 --reason "damaged box"
    """
    from stackknack_cli.store import inventory

    match = CHANGE.match(change.strip())
    if match is None:
        raise InputError(f"change {change!r} must look like +2, -1 or =5")
    sign, amount = match.group(1), int(match.group(2))
    if not reason.strip():
        raise InputError("--reason is empty: say why, it is kept in the journal")
    cause = f"adjust: {reason}"
    with opened_store(create=False) as store:
        before = store.scalar("SELECT available FROM items WHERE sku = ?", (sku,))
        if before is None:
            raise UnknownSkuError(f"unknown SKU {sku!r}; import it first")
        if sign == "=":
            record = inventory.ItemRecord(sku, amount)
            inventory.set_quantities(store, [record], cause=cause)
            after = amount
        else:
            after = inventory.adjust(
                store, sku, amount if sign == "+" else -amount, cause=cause
            )
    if as_json:
        console.print_json({"sku": sku, "before": before, "after": after})
        return
    console.out.print(f"{console.escape(sku)}: {before} -> {after}")
    if sign == "-" and amount > int(before):
        console.warn(f"{sku}: only {before} on hand, so {before} removed, not {amount}")


def explain(
    sku: Annotated[str, typer.Argument(help="The SKU to explain.")],
    live: Annotated[
        bool, typer.Option("--live", help="Also read what each channel shows now.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Show every change of a SKU's count with its cause, every push with its result,
    and what each channel holds."""
    with opened_store(create=False) as store:
        story = _story(store, sku)
        if live:
            story["live"] = _live(store, sku)
    if as_json:
        console.print_json(story)
        return
    _print_story(story)


def _story(store: Any, sku: str) -> dict[str, Any]:
    item = store.query("SELECT sku, title, available FROM items WHERE sku = ?", (sku,))
    if not item:
        raise UnknownSkuError(f"unknown SKU {sku!r}")
    channels = store.query(
        "SELECT t.channel, l.channel_ref, t.channel_quantity AS holds, t.target,"
        " l.active FROM listing_targets t JOIN listings l ON l.id = t.listing_id"
        " WHERE t.sku = ? ORDER BY t.channel",
        (sku,),
    )
    for row in channels:
        row["active"] = bool(row["active"])  # as stock --json says it
    return {
        "item": item[0],
        "changes": store.query(
            "SELECT created_at, delta, available_after, cause, channel, reference"
            " FROM journal WHERE sku = ? ORDER BY id",
            (sku,),
        ),
        "pushes": store.query(
            "SELECT o.id, o.channel, o.target, o.status, o.attempts, o.last_error,"
            " o.cause, o.created_at, o.updated_at FROM outbox o"
            " JOIN listings l ON l.id = o.listing_id WHERE l.sku = ? ORDER BY o.id",
            (sku,),
        ),
        "channels": channels,
    }


def _live(store: Any, sku: str) -> dict[str, int | None]:
    from stackknack_cli.channels import registry

    refs = {
        row["channel"]: row["channel_ref"]
        for row in store.query(
            "SELECT channel, channel_ref FROM listings WHERE sku = ?", (sku,)
        )
    }
    found: dict[str, int | None] = {}
    with registry.connected_channels(store, sorted(refs)) as channels:
        for name, channel in channels.items():
            try:
                found[name] = channel.read_quantities([refs[name]]).get(refs[name])
            except StackknackError as exc:  # one channel down: show the others
                console.warn(f"{name}: cannot read it now: {exc}")
                found[name] = None
    return found


def _print_story(story: dict[str, Any]) -> None:
    from rich.table import Table

    item = story["item"]
    console.out.print(
        f"{console.escape(item['sku'])} {console.escape(item['title'])}: "
        f"{item['available']} available"
    )
    changes = Table("when", "change", "after", "cause", "channel", "reference")
    for row in story["changes"]:
        changes.add_row(
            row["created_at"],
            f"{row['delta']:+d}",
            str(row["available_after"]),
            console.escape(row["cause"]),
            row["channel"] or "",
            console.escape(row["reference"] or ""),
        )
    console.out.print(changes)
    pushes = Table("push", "channel", "target", "status", "tries", "error", "cause")
    for row in story["pushes"]:
        pushes.add_row(
            str(row["id"]),
            row["channel"],
            str(row["target"]),
            row["status"],
            str(row["attempts"]),
            console.escape(row["last_error"] or ""),
            console.escape(row["cause"]),
        )
    console.out.print(pushes)
    live = story.get("live", {})
    holds = Table("channel", "listing", "holds (known)", "should show", "live")
    for row in story["channels"]:
        known = "?" if row["holds"] is None else str(row["holds"])
        shown = live.get(row["channel"], "-") if live else "-"
        holds.add_row(
            row["channel"],
            console.escape(row["channel_ref"]),
            known,
            str(row["target"]),
            str(shown),
        )
    console.out.print(holds)


def reconcile(
    fix: Annotated[
        bool, typer.Option("--fix", help="Queue and send the corrections.")
    ] = False,
    raise_low: Annotated[
        bool,
        typer.Option(
            "--raise-low",
            help="Also raise channels showing less than they should (a sale there "
            "may not be readable yet).",
        ),
    ] = False,
    channel: Annotated[
        list[str] | None,
        typer.Option("--channel", "-c", help="Only these channels (repeatable)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Compare every linked listing's live quantity with what it should show.

    Without --fix nothing is changed. A listing a correction cannot bring down (a
    Shopify location other than the push location holding more) is not fixed, and
    says why. Exit codes: 0 no drift (or all of it fixed); 6 drift left; 1 a channel
    could not be read.
    """
    from stackknack_cli.channels import registry
    from stackknack_cli.engine.reconcile import reconcile as run

    with (
        opened_store(create=False) as store,
        registry.connected_channels(store, channel) as chans,
    ):
        report = run(store, chans, fix=fix, raise_low=raise_low)
    if as_json:
        console.print_json(report.as_dict())
    else:
        _print_drift(report)
    if report.errors:
        raise typer.Exit(1)
    if report.left:
        raise typer.Exit(EXIT_DRIFT)


def _print_drift(report: Any) -> None:
    from rich.table import Table

    if not report.drifts:
        console.out.print(f"no drift: {report.checked} listings show what they should")
    else:
        table = Table("SKU", "channel", "shows", "should show", "central", "done")
        for drift in report.drifts:
            done = (
                "fixed"
                if drift in report.fixed
                else "not fixed"
                if drift in report.reasons
                else ("left (lower: use --raise-low)" if not drift.high else "left")
            )
            table.add_row(
                console.escape(drift.sku),
                drift.channel,
                "gone" if drift.live is None else str(drift.live),
                str(drift.target),
                str(drift.central),
                done,
            )
        console.out.print(table)
    for drift, reason in report.reasons.items():
        console.warn(f"{drift.sku} on {drift.channel} is not fixed: {reason}")
    for name, error in report.errors.items():
        console.warn(f"{name}: {error}")


rules_app = typer.Typer(help="Publishing rules: buffers, maximums, zero below N.")


@rules_app.command("set")
def rules_set(
    channel: Annotated[str, typer.Argument(help="The channel the rule is for.")],
    sku: Annotated[str, typer.Option(help="Only this SKU (default: every SKU).")] = "",
    buffer: Annotated[
        int | None, typer.Option(min=0, help="Publish the count minus N.")
    ] = None,
    maximum: Annotated[
        int | None, typer.Option("--max", min=0, help="Never publish more than N.")
    ] = None,
    zero_below: Annotated[
        int | None, typer.Option(min=0, help="Publish 0 while the count is below N.")
    ] = None,
) -> None:
    """Set a publishing rule; the pushes it causes are queued for the next sync.

    Example: stackknack rules set ebay --buffer 1
    """
    from stackknack_cli.store import rules

    with opened_store(create=False) as store:
        queued = rules.set_rule(
            store, channel, sku, buffer=buffer, max_quantity=maximum,
            zero_below=zero_below,
        )  # fmt: skip
    console.out.print(f"rule set; {queued} push(es) queued")


@rules_app.command("clear")
def rules_clear(
    channel: Annotated[str, typer.Argument(help="The channel the rule is for.")],
    sku: Annotated[str, typer.Option(help="Only this SKU's rule.")] = "",
) -> None:
    """Remove a publishing rule."""
    from stackknack_cli.store import rules

    with opened_store(create=False) as store:
        queued = rules.clear_rule(store, channel, sku)
    console.out.print(f"rule cleared; {queued} push(es) queued")


@rules_app.command("list")
def rules_list(as_json: JsonOption = False) -> None:
    """List the publishing rules."""
    from rich.table import Table

    from stackknack_cli.store import rules

    with opened_store(create=False) as store:
        rows = rules.list_rules(store)
    if as_json:
        console.print_json(rows)
        return
    table = Table("channel", "SKU", "buffer", "max", "zero below")
    for row in rows:
        table.add_row(
            row["channel"],
            console.escape(row["sku"] or "(all)"),
            *("-" if row[k] is None else str(row[k]) for k in rules.FIELDS),
        )
    console.out.print(table)
