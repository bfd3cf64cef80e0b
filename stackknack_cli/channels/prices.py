"""Read what a channel sells its listings at, for creating them on other channels.

The central store keeps counts, not prices, so a price is read from the channel the
listings are imported from, only for the SKUs about to be created elsewhere: a
Shopify variant's ``price`` (in the shop's currency), a Clover item's ``price`` (cents,
currency unknown), the price of an eBay SKU's fixed-price offer, or the ask StockX
last showed for a variant. A price of 0 or less is no price.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from stackknack_cli.channels.base import Channel, RemoteListing

log = logging.getLogger(__name__)

SHOPIFY_NODES_LIMIT = 250
"""The most ids Shopify's ``nodes`` field takes at once."""

SHOPIFY_PRICES = """
query Prices($ids: [ID!]!) {
  shop { currencyCode }
  nodes(ids: $ids) { ... on ProductVariant { id price } }
}
"""

CENTS = Decimal(100)


@dataclass(frozen=True)
class Price:
    """An amount in major units; ``currency`` is ``None`` when the channel does not
    say (Clover prices carry none)."""

    amount: Decimal
    currency: str | None = None

    def text(self) -> str:
        """Return the amount with two decimals, as eBay and people write it."""
        return f"{self.amount.quantize(Decimal('0.01'))}"


def parse_amount(value: object) -> Decimal | None:
    """Return a positive finite amount read from ``value``, else ``None``."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and amount > 0 else None


def source_prices(
    channel: Channel, listings: Sequence[RemoteListing]
) -> dict[str, Price]:
    """Return the price of each listing (by SKU) that has one on ``channel``.

    Makes network calls for Shopify (one per 250 variants), Clover (one per 100
    items) and eBay (one per SKU); StockX's ask is already in the listing.
    """
    with_sku = [listing for listing in listings if listing.sku]
    if channel.name == "shopify":
        return _shopify(channel, with_sku)
    if channel.name == "clover":
        return _clover(channel, with_sku)
    if channel.name == "ebay":
        return _ebay(channel, with_sku)
    if channel.name == "stockx":
        return _stockx(with_sku)
    return {}


def _stockx(listings: Sequence[RemoteListing]) -> dict[str, Price]:
    found = {}
    for listing in listings:
        amount = parse_amount(listing.details.get("ask"))
        if amount is not None and listing.sku:
            currency = str(listing.details.get("currency") or "USD")
            found[listing.sku] = Price(amount, currency)
    return found


def _shopify(channel: Any, listings: Sequence[RemoteListing]) -> dict[str, Price]:
    by_variant = {
        str(listing.details["variant_id"]): str(listing.sku)
        for listing in listings
        if listing.details.get("variant_id")
    }
    ids = list(by_variant)
    found: dict[str, Price] = {}
    for start in range(0, len(ids), SHOPIFY_NODES_LIMIT):
        chunk = ids[start : start + SHOPIFY_NODES_LIMIT]
        data = channel.graphql.query(SHOPIFY_PRICES, {"ids": chunk})
        currency = (data.get("shop") or {}).get("currencyCode")
        for node in data.get("nodes") or []:
            if not isinstance(node, Mapping) or node.get("id") not in by_variant:
                continue
            amount = parse_amount(node.get("price"))
            if amount is not None:
                found[by_variant[node["id"]]] = Price(amount, currency)
    return found


def _clover(channel: Any, listings: Sequence[RemoteListing]) -> dict[str, Price]:
    by_item = {listing.channel_ref: str(listing.sku) for listing in listings}
    items: Mapping[str, Mapping[str, Any]] = channel._read_items(list(by_item))
    found = {}
    for item_id, item in items.items():
        cents = item.get("price")
        if item_id in by_item and isinstance(cents, int) and cents > 0:
            found[by_item[item_id]] = Price(Decimal(cents) / CENTS)
    return found


def _ebay(channel: Any, listings: Sequence[RemoteListing]) -> dict[str, Price]:
    from stackknack_cli.channels.ebay_api import INVENTORY

    found = {}
    for listing in listings:
        sku = str(listing.sku)
        payload = channel.api.get(f"{INVENTORY}/offer", [("sku", sku)]) or {}
        for offer in payload.get("offers") or []:
            price = (offer.get("pricingSummary") or {}).get("price") or {}
            amount = parse_amount(price.get("value"))
            if offer.get("format", "FIXED_PRICE") == "FIXED_PRICE" and amount:
                found[sku] = Price(amount, price.get("currency"))
                break
    return found
