"""Plan StockX creations: find each SKU's variant, and the ask to list it at.

StockX has no seller SKU and no free-form listings: a unit is listed against a
catalogue variant. The SKU (or its title) gives the style id and size; the variant is
looked for first among the seller's own StockX listings (then the SKU is only linked),
then in the catalogue (two paced calls per style). The ask is ``--stockx-ask`` when
given, else the price the source channel sells the SKU at; with neither the SKU is
skipped, since StockX cannot list a unit without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from stackknack_cli.channels.prices import parse_amount
from stackknack_cli.channels.sizes import SizeError
from stackknack_cli.channels.stockx_catalog import (
    CatalogLookup,
    match_listing,
    sku_style_size,
)
from stackknack_cli.engine.crosslist import (
    STOCKX_CURRENCY,
    Candidate,
    Creation,
    published,
)
from stackknack_cli.store.db import Store

if TYPE_CHECKING:
    from stackknack_cli.channels.base import Channel, RemoteListing

NO_ASK = (
    "no ask price: give --stockx-ask, or import from a channel that has a price "
    "for this SKU"
)


def plan_stockx(
    store: Store,
    channel: Channel,
    todo: Sequence[Candidate],
    *,
    stockx_ask: Decimal | None,
) -> list[Creation]:
    """Return one planned creation (or skip, with its reason) per candidate.

    Reads the seller's StockX listings once, then the catalogue per style.
    """
    if not todo:
        return []
    listings = list(channel.fetch_listings())
    by_ref = {listing.channel_ref: listing for listing in listings}
    lookup = CatalogLookup(channel)  # type: ignore[arg-type]
    taken = {
        row["channel_ref"]: row["sku"]
        for row in store.query(
            "SELECT channel_ref, sku FROM listings WHERE channel = 'stockx'"
        )
    }
    return [
        _plan_one(store, candidate, by_ref, lookup, taken, stockx_ask)
        for candidate in todo
    ]


def _plan_one(
    store: Store,
    candidate: Candidate,
    by_ref: dict[str, RemoteListing],
    lookup: CatalogLookup,
    taken: dict[str, str],
    stockx_ask: Decimal | None,
) -> Creation:
    quantity = published(store, "stockx", candidate.sku, candidate.available)
    item = Creation("stockx", candidate.sku, "create", quantity=quantity)
    parts = sku_style_size(candidate.sku, candidate.title)
    if parts is None:
        reason = "no style id and size in the SKU or its title"
        return replace(item, status="skipped", reason=reason)
    style, size = parts

    try:
        variant = match_listing(style, size, by_ref.values())
        own = by_ref[variant] if variant is not None else None
        ask, currency = _ask(candidate, own, stockx_ask)
        if own is None and ask is not None:
            variant = lookup.find(style, size)
    except SizeError as exc:
        return replace(item, status="skipped", reason=str(exc))
    if own is None and ask is None:
        return replace(item, status="skipped", reason=NO_ASK)
    if variant is None:
        reason = f"no StockX catalogue variant of style {style} in size {size}"
        return replace(item, status="skipped", reason=reason)
    if taken.get(variant, candidate.sku) != candidate.sku:
        reason = f"StockX variant {variant} is linked to SKU {taken[variant]}"
        return replace(item, status="skipped", reason=reason)

    details: dict[str, Any] = {"style_id": style, "size": size, "live": 0}
    if own is not None:
        details.update(own.details)
        details["live"] = own.quantity
    if ask is not None:
        details["ask"], details["currency"] = _amount(ask), currency
    return replace(
        item,
        status="link" if own is not None else "create",
        title=candidate.title,
        price=details.get("ask"),
        currency=details.get("currency"),
        ref=variant,
        details=details,
    )


def _ask(
    candidate: Candidate, own: RemoteListing | None, stockx_ask: Decimal | None
) -> tuple[Decimal | None, str]:
    """Return the ask and its currency: the one given, the seller's own on StockX,
    else the source channel's price."""
    if stockx_ask is not None:
        return stockx_ask, STOCKX_CURRENCY
    if own is not None and (amount := parse_amount(own.details.get("ask"))):
        return amount, str(own.details.get("currency") or STOCKX_CURRENCY)
    if candidate.price is not None:
        return candidate.price.amount, candidate.price.currency or STOCKX_CURRENCY
    return None, STOCKX_CURRENCY


def _amount(value: Decimal) -> str:
    """Write an ask as StockX does: major units, no trailing zeros after a point."""
    if value == value.to_integral():
        return str(value.quantize(Decimal(1)))
    return str(value.normalize())
