"""Create a channel's listings on other channels (``import CHANNEL --create-on``).

One-way: each SKU just linked on the source channel that a target channel has no
listing for is created there and linked, so that later syncs push its count:

- Clover: an item (name, price in cents, SKU), then its stock;
- eBay: an inventory item and an UNPUBLISHED fixed-price offer, for the seller to
  complete (category, policies) and publish in Seller Hub;
- StockX: the catalogue variant of the SKU's style id and size, listed through the
  outbox (one listing per unit, asynchronous) at an explicit ask or the source price.

The count sent is the central count after the target's publishing rules; the title is
the inventory's; the price is read from the source channel (see ``prices``). A SKU
already linked on a target is skipped, and so is one lacking what the target needs,
with the reason. Each item is created and linked on its own: a refusal is reported and
the next item goes on; a channel that cannot be reached fails its remaining items.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from stackknack_cli.channels.base import Channel, RemoteListing
from stackknack_cli.channels.prices import Price, source_prices
from stackknack_cli.errors import (
    ChannelError,
    ChannelUnavailableError,
    CredentialError,
    StackknackError,
)
from stackknack_cli.store import inventory, outbox
from stackknack_cli.store.db import Store

log = logging.getLogger(__name__)

TARGETS = ("clover", "ebay", "stockx")
"""Channels stackknack can create listings on (Shopify products are not created)."""
CLOVER_NAME_LIMIT = 127
EBAY_TITLE_LIMIT = 80
STOCKX_CURRENCY = "USD"


@dataclass
class Creation:
    """One SKU on one target channel: what is planned or what happened, and why.

    Planned: ``create``, ``link`` (StockX: a variant the seller already lists) or
    ``skipped``. After a run: ``created``, ``linked``, ``queued`` (StockX asks waiting
    in the outbox or at StockX), ``skipped`` or ``failed``.
    """

    channel: str
    sku: str
    status: str
    title: str = ""
    quantity: int | None = None
    price: str | None = None
    currency: str | None = None
    ref: str | None = None
    """Clover item id, eBay offer id or StockX variant id."""
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict, repr=False)
    """What the new listing is linked with (StockX style, size and ask)."""

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "details"}


@dataclass
class CrosslistReport:
    source: str
    dry_run: bool
    items: list[Creation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        """Return how many items of each status, per target channel."""
        counts: dict[str, Counter[str]] = {}
        for item in self.items:
            counts.setdefault(item.channel, Counter())[item.status] += 1
        return {name: dict(sorted(c.items())) for name, c in sorted(counts.items())}

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "counts": self.counts(),
            "items": [item.as_dict() for item in self.items],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Candidate:
    """A SKU of the source channel, with what the inventory knows of it."""

    sku: str
    title: str
    available: int
    price: Price | None


def create_on(
    store: Store,
    source: Channel,
    listings: Sequence[RemoteListing],
    targets: Mapping[str, Channel],
    *,
    dry_run: bool = False,
    stockx_ask: Decimal | None = None,
) -> CrosslistReport:
    """Create on each target the source listings it has no listing for, and link them.

    ``listings`` are the source's linked listings (``LinkReport.linked_listings``).
    Network calls: prices from the source, StockX catalogue searches (also in a dry
    run), and with ``dry_run`` off the creations. Never raises for one item.
    """
    report = CrosslistReport(source.name, dry_run)
    linked = {
        name: {row["sku"] for row in store.query(_LINKED, (name,))} for name in targets
    }
    with_sku = [listing for listing in listings if listing.sku]
    # A draft, hidden or sold-out listing of the source is not offered elsewhere.
    needed = [
        listing
        for listing in with_sku
        if listing.active and any(listing.sku not in linked[n] for n in targets)
    ]
    prices, price_problem = _read_prices(source, needed)
    candidates = _candidates(store, needed, prices)

    for name, channel in targets.items():
        for listing in with_sku:
            reason = ""
            if listing.sku in linked[name]:
                reason = f"already linked on {name}"
            elif not listing.active:
                reason = f"not on sale on {source.name}"
            if reason:
                skip = Creation(name, str(listing.sku), "skipped", reason=reason)
                report.items.append(skip)
        todo = [c for c in candidates if c.sku not in linked[name]]
        missing_price = price_problem or f"no price on {source.name}"
        planned = _plan(store, name, channel, todo, missing_price, stockx_ask)
        if not dry_run:
            planned = _run(store, name, channel, planned, report)
        report.items.extend(planned)
    return report


_LINKED = "SELECT sku FROM listings WHERE channel = ?"


def _read_prices(
    source: Channel, listings: Sequence[RemoteListing]
) -> tuple[dict[str, Price], str]:
    if not listings:
        return {}, ""
    try:
        return source_prices(source, listings), ""
    except StackknackError as exc:
        log.warning("%s: prices not read: %s", source.name, exc)
        return {}, f"prices could not be read from {source.name}: {exc}"


def _candidates(
    store: Store, listings: Sequence[RemoteListing], prices: Mapping[str, Price]
) -> list[Candidate]:
    # In a dry run a new SKU is not in the inventory: it would get the listing's
    # title and count, as linking gives it.
    items = {
        row["sku"]: row
        for row in store.query("SELECT sku, title, available FROM items")
    }
    found = []
    for listing in listings:
        sku = str(listing.sku)
        row = items.get(sku)
        title = str(row["title"] if row else "") or listing.title
        available = int(row["available"]) if row else max(listing.quantity, 0)
        found.append(Candidate(sku, title.strip(), available, prices.get(sku)))
    return found


def published(store: Store, channel: str, sku: str, available: int) -> int:
    """Return what ``channel`` should show of ``available`` units after its rules
    (the ``listing_targets`` view, for a SKU not linked there yet)."""
    buffer, cap, zero_below = store.conn.execute(
        "SELECT coalesce(sr.buffer, cr.buffer, 0), coalesce(sr.max_quantity,"
        " cr.max_quantity), coalesce(sr.zero_below, cr.zero_below) FROM (SELECT 1)"
        " LEFT JOIN rules cr ON cr.channel = :channel AND cr.sku = ''"
        " LEFT JOIN rules sr ON sr.channel = :channel AND sr.sku = :sku",
        {"channel": channel, "sku": sku},
    ).fetchone()
    if zero_below is not None and available < zero_below:
        return 0
    shown = max(available - int(buffer), 0)
    return min(shown, int(cap)) if cap is not None else shown


def _plan(
    store: Store,
    name: str,
    channel: Channel,
    todo: Sequence[Candidate],
    missing_price: str,
    stockx_ask: Decimal | None,
) -> list[Creation]:
    if name == "stockx":
        from stackknack_cli.engine.crosslist_stockx import plan_stockx

        return plan_stockx(store, channel, todo, stockx_ask=stockx_ask)
    marketplace = str(getattr(getattr(channel, "api", None), "marketplace_id", ""))
    planned = []
    for candidate in todo:
        quantity = published(store, name, candidate.sku, candidate.available)
        item = Creation(name, candidate.sku, "create", quantity=quantity)
        if not candidate.title:
            item = replace(item, status="skipped", reason="no title in the inventory")
        elif candidate.price is None:
            item = replace(item, status="skipped", reason=missing_price)
        elif name == "clover":
            item = replace(
                item,
                title=candidate.title[:CLOVER_NAME_LIMIT],
                price=candidate.price.text(),
                currency=candidate.price.currency,
            )
        else:
            item = _plan_ebay(item, candidate, candidate.price, marketplace)
        planned.append(item)
    return planned


def _plan_ebay(
    item: Creation, candidate: Candidate, price: Price, marketplace: str
) -> Creation:
    from stackknack_cli.channels.ebay_create import MARKETPLACE_CURRENCY

    currency = MARKETPLACE_CURRENCY.get(marketplace)
    if currency is None:
        reason = f"no currency known for eBay marketplace {marketplace}"
        return replace(item, status="skipped", reason=reason)
    if price.currency and price.currency != currency:
        reason = (
            f"price is in {price.currency}; eBay {marketplace} lists in {currency} "
            "(stackknack does not convert currencies)"
        )
        return replace(item, status="skipped", reason=reason)
    return replace(
        item,
        title=candidate.title[:EBAY_TITLE_LIMIT],
        price=price.text(),
        currency=currency,
    )


def _run(
    store: Store,
    name: str,
    channel: Channel,
    planned: Sequence[Creation],
    report: CrosslistReport,
) -> list[Creation]:
    """Create and link each planned item; a refusal fails only its own item."""
    done: list[Creation] = []
    unreachable = ""
    for item in planned:
        if item.status not in ("create", "link"):
            done.append(item)
            continue
        if unreachable:
            done.append(replace(item, status="failed", reason=unreachable))
            continue
        try:
            done.append(_create_one(store, name, channel, item))
        except (ChannelUnavailableError, CredentialError) as exc:
            unreachable = f"not tried: {name} failed earlier: {exc}"
            done.append(replace(item, status="failed", reason=str(exc)))
        except ChannelError as exc:
            done.append(replace(item, status="failed", reason=str(exc)))
        except sqlite3.IntegrityError:
            reason = f"the {name} listing {item.ref} is linked to another SKU"
            done.append(replace(item, status="failed", reason=reason))
    if name == "stockx" and any(item.status == "queued" for item in done):
        _send_queued(store, channel, report)
    return done


def _create_one(store: Store, name: str, channel: Channel, item: Creation) -> Creation:
    if name == "clover":
        from stackknack_cli.channels.clover_create import create_item

        assert item.price is not None
        assert item.quantity is not None
        made = create_item(
            channel,  # type: ignore[arg-type]
            sku=item.sku,
            name=item.title,
            price_cents=int(Decimal(item.price) * 100),
            quantity=item.quantity,
        )
        details = {"code": None, "auto_manage": False, "has_stock": True}
        _link(store, name, item.sku, made.item_id, made.quantity, True, details)
        if made.created:
            return replace(item, status="created", ref=made.item_id)
        reason = "Clover already had an item with this SKU; linked it"
        return replace(item, status="linked", ref=made.item_id, reason=reason)

    if name == "ebay":
        return _create_ebay(store, channel, item)

    assert item.ref is not None
    assert item.quantity is not None
    held = int(item.details.get("live", 0))
    details = {k: v for k, v in item.details.items() if k != "live"}
    _link(store, name, item.sku, item.ref, held, held > 0, details)
    if item.status == "link" or item.quantity <= held:
        return replace(item, status="linked")
    return replace(item, status="queued")


def _create_ebay(store: Store, channel: Any, item: Creation) -> Creation:
    from stackknack_cli.channels.ebay_create import stage_offer

    assert item.price is not None
    assert item.currency is not None
    staged = stage_offer(
        channel,
        sku=item.sku,
        title=item.title,
        quantity=item.quantity or 0,
        price=item.price,
        currency=item.currency,
    )
    offers = channel.offers(item.sku)
    details = {"offers": [offer.as_details() for offer in offers]}
    live = any(offer.is_live for offer in offers)
    _link(store, "ebay", item.sku, item.sku, staged.quantity, live, details)
    if staged.created_offer:
        return replace(item, status="created", ref=staged.offer_id)
    reason = "eBay already had an offer for this SKU; linked it"
    return replace(item, status="linked", ref=staged.offer_id, reason=reason)


def _link(
    store: Store,
    channel: str,
    sku: str,
    ref: str,
    quantity: int,
    active: bool,
    details: Mapping[str, Any],
) -> int:
    """Link the new listing and queue the push its count calls for, in one
    transaction; return how many pushes were queued."""
    with store.transaction() as conn:
        inventory.link_listing(
            conn, channel, sku, ref, quantity=quantity, active=active, details=details
        )
        return outbox.enqueue_for_sku(conn, sku, cause=f"create {channel}")


def _send_queued(store: Store, channel: Channel, report: CrosslistReport) -> None:
    """Start the queued StockX writes now; a later sync follows them up."""
    from stackknack_cli.engine.sync import ChannelReport, drain

    sent = ChannelReport()
    try:
        drain(store, channel, sent, purpose="import")
    except StackknackError as exc:
        report.notes.append(f"stockx: asks stay queued for the next sync: {exc}")
        return
    if sent.deferred:
        report.notes.append(f"stockx: asks queued; {sent.deferred} sends them")
    else:
        report.notes.append(
            f"stockx: writes started for {sent.pending + sent.pushed} variants; "
            "StockX confirms them asynchronously and stackknack sync follows them up"
        )
