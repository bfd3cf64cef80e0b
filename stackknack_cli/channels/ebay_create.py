"""Stage a SKU on eBay: an inventory item and an UNPUBLISHED fixed-price offer.

createOrReplaceInventoryItem is keyed by SKU and replaces the whole record, so it is
sent only when eBay has no item of that SKU: a seller's own record is never
overwritten, and a run cut off after the item was made goes on to the offer. eBay
refuses a second offer for one SKU, marketplace and format (error 25002, "Offer entity
already exists", naming the offer), which makes offer creation safe to repeat too.

The offer is left unpublished: it lacks the category, business policies and location
eBay needs to list it; the seller adds them and publishes in Seller Hub.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from stackknack_cli.channels.ebay import EbayChannel
from stackknack_cli.channels.ebay_api import INVENTORY, describe, errors_of
from stackknack_cli.errors import ChannelError

log = logging.getLogger(__name__)

TITLE_LIMIT = 80
"""eBay's longest listing title."""
OFFER_EXISTS = 25002

MARKETPLACE_CURRENCY = {
    "EBAY_US": "USD",
    "EBAY_MOTORS_US": "USD",
    "EBAY_CA": "CAD",
    "EBAY_GB": "GBP",
    "EBAY_AU": "AUD",
    "EBAY_DE": "EUR",
    "EBAY_FR": "EUR",
    "EBAY_IT": "EUR",
    "EBAY_ES": "EUR",
    "EBAY_AT": "EUR",
    "EBAY_BE": "EUR",
    "EBAY_NL": "EUR",
    "EBAY_IE": "EUR",
    "EBAY_CH": "CHF",
    "EBAY_PL": "PLN",
}
"""The currency each eBay marketplace lists in."""


@dataclass(frozen=True)
class StagedOffer:
    """The offer a SKU now has on eBay, and what stackknack had to make for it."""

    offer_id: str
    quantity: int
    created_item: bool
    created_offer: bool


def _json(response: Any) -> object:
    try:
        return response.json() if response.content else None
    except ValueError:
        return None


def _existing_offer(response: Any) -> str | None:
    """Return the offer id eBay names when it refuses a duplicate offer."""
    for error in errors_of(_json(response)):
        if error.get("errorId") != OFFER_EXISTS:
            continue
        for parameter in error.get("parameters") or []:
            if isinstance(parameter, dict) and parameter.get("name") == "offerId":
                return str(parameter.get("value"))
    return None


def stage_offer(
    channel: EbayChannel,
    *,
    sku: str,
    title: str,
    quantity: int,
    price: str,
    currency: str,
) -> StagedOffer:
    """Make sure ``sku`` has an inventory item and an unpublished offer; return it.

    Makes two or three calls. Raises ``ChannelError`` with eBay's reason when it
    refuses, ``ChannelUnavailableError`` when it cannot be reached.
    """
    api = channel.api
    path = f"{INVENTORY}/inventory_item/{quote(sku, safe='')}"
    existing = api.get(path)
    created_item = existing is None
    held = quantity
    if existing is None:
        body = {
            "product": {"title": title[:TITLE_LIMIT]},
            "availability": {"shipToLocationAvailability": {"quantity": quantity}},
        }
        api.expect(api.send("PUT", path, body=body), "PUT", path)
        log.info("ebay: created inventory item %s", sku)
    else:
        ship = (existing.get("availability") or {}).get("shipToLocationAvailability")
        count = (ship or {}).get("quantity")
        held = count if isinstance(count, int) else 0

    # No availableQuantity: it would override the inventory item's quantity, which
    # is what stackknack keeps current (an unpublished offer is not revised), so
    # the offer shows today's count whenever the seller publishes it.
    offer = {
        "sku": sku,
        "marketplaceId": api.marketplace_id,
        "format": "FIXED_PRICE",
        "pricingSummary": {"price": {"value": price, "currency": currency}},
    }
    response = api.post(f"{INVENTORY}/offer", offer)
    if response.status_code == 400 and (found := _existing_offer(response)):
        return StagedOffer(found, held, created_item, created_offer=False)
    if response.status_code >= 400:
        raise ChannelError(
            f"ebay refused the offer for {sku} (HTTP {response.status_code}): "
            f"{describe(errors_of(_json(response)), response.reason_phrase)}"
        )
    offer_id = str(api.expect(response, "POST", f"{INVENTORY}/offer").get("offerId"))
    log.info("ebay: created unpublished offer %s for %s", offer_id, sku)
    return StagedOffer(offer_id, held, created_item, created_offer=True)
