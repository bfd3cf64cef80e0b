"""The eBay simulator's creation routes: createOrReplaceInventoryItem and createOffer.

Both need ``Content-Language`` (the Inventory API documents it as a required header on
every call with a body). createOrReplaceInventoryItem replaces the whole record, so a
field left out of the body is gone afterwards. createOffer stages an UNPUBLISHED offer;
eBay refuses a second offer for one SKU, marketplace and format with error 25002
("Offer entity already exists"), naming the existing offer in ``parameters``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from stackknack_cli.sandbox.ebay_routes import ApiError
from stackknack_cli.sandbox.ebay_state import InventoryItem, Offer
from stackknack_cli.sandbox.server import Request, Response

if TYPE_CHECKING:
    from stackknack_cli.sandbox.ebay import EbaySimulator

SKU_LIMIT = 50
FORMATS = ("FIXED_PRICE", "AUCTION")


def _require_language(request: Request) -> None:
    if not request.header("content-language"):
        raise ApiError(400, 25709, "Invalid value for header Content-Language")


def _json_body(request: Request) -> Any:
    try:
        return request.json()
    except ValueError:
        raise ApiError(400, 25709, "Invalid value for body. Not JSON") from None


def put_item(sim: EbaySimulator, request: Request, sku: str) -> Response:
    """createOrReplaceInventoryItem: 204 whether the record was new or replaced."""
    _require_language(request)
    if len(sku) > SKU_LIMIT:
        raise ApiError(
            400, 25709, f"Invalid value for SKU. It exceeds {SKU_LIMIT} characters"
        )
    body = _json_body(request)
    problems = sim.spec.problems("/inventory_item/{sku}", "PUT", body)
    if problems:
        raise ApiError(400, 25709, f"Invalid value for {problems[0]}")

    ship = (body.get("availability") or {}).get("shipToLocationAvailability") or {}
    quantity = ship.get("quantity", 0)
    if not isinstance(quantity, int) or quantity < 0:
        raise ApiError(400, 25709, "Invalid value for quantity")
    title = str((body.get("product") or {}).get("title") or "")
    sim.items[sku] = InventoryItem(sku, quantity, title, str(body.get("condition", "")))
    for offer in sim.offers.values():
        if offer.sku == sku:
            sim._settle(offer)
    return Response(204)


def _price(body: dict[str, Any]) -> str:
    price = (body.get("pricingSummary") or {}).get("price") or {}
    value = price.get("value")
    if value is None:
        return "0.00"
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        amount = Decimal(-1)
    if not amount.is_finite() or amount < 0 or not price.get("currency"):
        raise ApiError(400, 25709, "Invalid value for price")
    return str(value)


def create_offer(sim: EbaySimulator, request: Request) -> Response:
    """createOffer: 201 with the new offer id, the offer left UNPUBLISHED."""
    _require_language(request)
    body = _json_body(request)
    problems = sim.spec.problems("/offer", "POST", body)
    if problems:
        raise ApiError(400, 25709, f"Invalid value for {problems[0]}")
    for name in ("sku", "marketplaceId", "format"):
        if not body.get(name):
            raise ApiError(400, 25709, f"Invalid value for {name}. It is required")
    sku, marketplace, kind = body["sku"], body["marketplaceId"], body["format"]
    if kind not in FORMATS:
        raise ApiError(400, 25709, "Invalid value for format")
    if sku not in sim.items:
        raise ApiError(
            400, 25702, f"{sku} could not be found or is not available in the system."
        )
    quantity = body.get("availableQuantity")
    if quantity is not None and (not isinstance(quantity, int) or quantity < 0):
        raise ApiError(400, 25709, "Invalid value for availableQuantity")
    price = _price(body)

    for offer in sim.offers.values():
        if (offer.sku, offer.marketplace, offer.format) == (sku, marketplace, kind):
            failure = ApiError(
                400, 25002, "A user error has occurred. Offer entity already exists."
            )
            failure.error["parameters"] = [{"name": "offerId", "value": offer.offer_id}]
            raise failure
    offer = Offer(sim._digits(10), sku, price, quantity, format=kind)
    offer.marketplace = marketplace
    offer.currency = str(
        ((body.get("pricingSummary") or {}).get("price") or {}).get("currency") or "USD"
    )
    sim.offers[offer.offer_id] = offer
    return Response.json({"offerId": offer.offer_id, "warnings": []}, 201)
