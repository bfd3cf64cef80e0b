"""Link a channel's listings to central items by SKU (``import shopify|clover``).

One-way: a SKU the channel has and the inventory lacks is created with the channel's
quantity (unless ``create_missing`` is off); a SKU both have keeps the central count,
and the channel is queued a push when it shows something else. Duplicate and blank SKUs
on the channel cannot be linked and are reported.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from stackknack_cli.channels.base import Channel, RemoteListing
from stackknack_cli.store import inventory, outbox
from stackknack_cli.store.db import Store, iso, utcnow
from stackknack_cli.store.inventory import ItemRecord


@dataclass
class LinkReport:
    channel: str
    listings: int = 0
    linked: int = 0
    created: int = 0
    pushes: int = 0
    no_sku: int = 0
    duplicates: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    """SKUs on the channel that are not in the inventory (with create_missing off)."""
    missing: list[str] = field(default_factory=list)
    """Inventory SKUs with no listing on this channel."""
    linked_listings: list[RemoteListing] = field(default_factory=list, repr=False)
    """The listings linked (or, in a dry run, that would be), with their SKUs; what
    ``crosslist`` creates on other channels. Not part of the JSON summary."""

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "linked_listings"}


class _DryRun(Exception):
    pass


def link_channel(
    store: Store,
    channel: Channel,
    *,
    create_missing: bool = True,
    dry_run: bool = False,
    use_catalog: bool = False,
) -> LinkReport:
    """Read every listing of ``channel`` and link it by SKU, in one transaction.

    StockX has no seller SKU: its variants are matched to inventory SKUs by style id
    and size (from the SKU or the title), and with ``use_catalog`` SKUs with no
    StockX listing are looked up in its catalogue (one paced call each).
    """
    report = LinkReport(channel.name)
    listings = list(channel.fetch_listings())
    if channel.name == "stockx":
        listings = _matched_by_style(store, channel, listings, report, use_catalog)
        create_missing = False
    report.listings = len(listings)
    counts = Counter(listing.sku for listing in listings if listing.sku)
    report.duplicates = sorted(sku for sku, n in counts.items() if n > 1)
    report.no_sku = sum(1 for listing in listings if not listing.sku)
    usable = [
        listing for listing in listings if listing.sku and counts[listing.sku] == 1
    ]

    try:
        with store.transaction() as conn:
            for listing in usable:
                _link_one(conn, channel.name, listing, report, create_missing)
            seen = {listing.sku for listing in usable}
            report.missing = [
                row[0]
                for row in conn.execute("SELECT sku FROM items ORDER BY sku")
                if row[0] not in seen
            ]
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return report


def _link_one(
    conn: Any,
    channel: str,
    listing: RemoteListing,
    report: LinkReport,
    create_missing: bool,
) -> None:
    assert listing.sku is not None
    exists = conn.execute(
        "SELECT 1 FROM items WHERE sku = ?", (listing.sku,)
    ).fetchone()
    if not exists:
        if not create_missing:
            report.unmatched.append(listing.sku)
            return
        record = ItemRecord(listing.sku, max(listing.quantity, 0), listing.title)
        inventory.set_item(conn, record, cause=f"import {channel}", now=iso(utcnow()))
        report.created += 1

    inventory.link_listing(
        conn,
        channel,
        listing.sku,
        listing.channel_ref,
        quantity=listing.quantity,
        active=listing.active,
        details=listing.details,
    )
    report.linked += 1
    report.linked_listings.append(listing)
    report.pushes += outbox.enqueue_for_sku(
        conn, listing.sku, cause=f"link {channel}", only_changed=True
    )


def _matched_by_style(
    store: Store,
    channel: Channel,
    listings: list[RemoteListing],
    report: LinkReport,
    use_catalog: bool,
) -> list[RemoteListing]:
    """Give StockX variants the inventory SKU whose style id and size they match."""
    from stackknack_cli.channels import stockx_catalog

    items = [
        (row["sku"], row["title"])
        for row in store.query("SELECT sku, title FROM items")
    ]
    catalog = channel if use_catalog else None
    proposals = stockx_catalog.propose_links(items, listings, channel=catalog)  # type: ignore[arg-type]
    by_ref = {listing.channel_ref: listing for listing in listings}
    matched = []
    for proposal in proposals:
        if proposal.variant_id is None:
            continue
        found = by_ref.get(proposal.variant_id)
        matched.append(
            replace(found, sku=proposal.sku)
            if found is not None
            else RemoteListing(proposal.variant_id, proposal.sku, 0, active=False)
        )
    # Variants no inventory SKU matched; inventory SKUs with no variant are the
    # report's ``missing``, as on other channels.
    linked = {p.variant_id for p in proposals if p.variant_id}
    report.unmatched = sorted(
        f"{listing.details.get('style_id') or listing.title} "
        f"{listing.details.get('size') or ''}".strip()
        for listing in listings
        if listing.channel_ref not in linked
    )
    return matched
