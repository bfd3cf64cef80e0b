"""What the eBay simulator holds: inventory items, offers, outside listings, orders.

Times are ISO 8601 UTC strings with milliseconds, as eBay writes them; the clock is the
caller's (Unix seconds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

LIVE = ("ACTIVE", "OUT_OF_STOCK")


def stamp(clock: Callable[[], float]) -> str:
    moment = datetime.fromtimestamp(clock(), tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class InventoryItem:
    sku: str
    quantity: int
    title: str = ""
    condition: str = "NEW"

    def to_json(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "locale": "en_US",
            "product": {"title": self.title},
            "condition": self.condition,
            "availability": {"shipToLocationAvailability": {"quantity": self.quantity}},
        }


@dataclass
class Offer:
    offer_id: str
    sku: str
    price: str = "100.00"
    available: int | None = None
    status: str = "UNPUBLISHED"
    listing_id: str | None = None
    listing_status: str | None = None
    sold: int = 0
    format: str = "FIXED_PRICE"
    marketplace: str = "EBAY_US"
    currency: str = "USD"

    @property
    def is_live(self) -> bool:
        return self.status == "PUBLISHED" and self.listing_status in LIVE

    def to_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "offerId": self.offer_id,
            "sku": self.sku,
            "marketplaceId": self.marketplace,
            "format": self.format,
            "status": self.status,
            "pricingSummary": {
                "price": {"value": self.price, "currency": self.currency}
            },
        }
        if self.available is not None:
            payload["availableQuantity"] = self.available
        if self.status == "PUBLISHED" and self.listing_id:
            payload["listing"] = {
                "listingId": self.listing_id,
                "listingStatus": self.listing_status,
                "soldQuantity": self.sold,
            }
        return payload


@dataclass
class OutsideListing:
    """A listing made in Seller Hub or the Trading API: no inventory item, no offer."""

    listing_id: str
    sku: str
    quantity: int
    title: str = ""
    status: str = "ACTIVE"


@dataclass
class LineItem:
    line_item_id: str
    sku: str
    legacy_item_id: str
    quantity: int
    title: str = ""

    def to_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "lineItemId": self.line_item_id,
            "legacyItemId": self.legacy_item_id,
            "title": self.title,
            "quantity": self.quantity,
            "soldFormat": "FIXED_PRICE",
            "lineItemFulfillmentStatus": "NOT_STARTED",
            "listingMarketplaceId": "EBAY_US",
            "refunds": [],
        }
        if self.sku:
            payload["sku"] = self.sku
        return payload


@dataclass
class Order:
    order_id: str
    created: str
    modified: str
    seller_id: str
    cancel_state: str = "NONE_REQUESTED"
    line_items: list[LineItem] = field(default_factory=list)
    cancelled_date: str | None = None

    def to_json(self) -> dict[str, Any]:
        cancelled = self.cancel_state == "CANCELED"
        return {
            "orderId": self.order_id,
            "creationDate": self.created,
            "lastModifiedDate": self.modified,
            "orderFulfillmentStatus": "NOT_STARTED",
            "orderPaymentStatus": "FULLY_REFUNDED" if cancelled else "PAID",
            "sellerId": self.seller_id,
            "cancelStatus": self._cancel_status(),
            "lineItems": [line.to_json() for line in self.line_items],
        }

    def _cancel_status(self) -> dict[str, Any]:
        # getOrders always returns cancelRequests empty; cancelledDate only once the
        # order is cancelled.
        status: dict[str, Any] = {
            "cancelState": self.cancel_state,
            "cancelRequests": [],
        }
        if self.cancelled_date is not None:
            status["cancelledDate"] = self.cancelled_date
        return status


@dataclass
class Grant:
    """One issued token and until when it works (Unix seconds)."""

    expires_at: float
    scopes: tuple[str, ...] = ()
    revoked: bool = False
