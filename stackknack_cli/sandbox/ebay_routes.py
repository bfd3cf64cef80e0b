"""The eBay simulator's API routes: inventory, offers, orders, account, identity.

A mixin over the simulator's state (see ``EbaySimulator``); every route runs under
the simulator's lock and answers eBay's JSON shapes.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from stackknack_cli.sandbox.ebay_spec import SpecValidator
from stackknack_cli.sandbox.ebay_state import (
    InventoryItem,
    Offer,
    Order,
    OutsideListing,
)
from stackknack_cli.sandbox.server import Request, Response

INVENTORY = "/sell/inventory/v1"
FULFILLMENT = "/sell/fulfillment/v1"
BULK_LIMIT = 25
MIGRATE_LIMIT = 5
MAX_LIMIT = 200
DAILY_REVISIONS = 250
ORDER_FILTER = re.compile(r"(\w+):\[([^\]]*)\]")


class ApiError(Exception):
    """An eBay error answer: HTTP status plus one ``errors`` element."""

    def __init__(
        self, status: int, error_id: int, message: str, *, domain: str = "API_INVENTORY"
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error(error_id, message, domain=domain)

    def response(self) -> Response:
        return Response.json({"errors": [self.error]}, self.status)


def error(
    error_id: int, message: str, *, domain: str = "API_INVENTORY"
) -> dict[str, Any]:
    category = "REQUEST" if error_id != 25001 else "APPLICATION"
    return {
        "errorId": error_id,
        "domain": domain,
        "category": category,
        "message": message,
    }


def _int_arg(request: Request, name: str, default: int, error_id: int) -> int:
    raw = request.arg(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, error_id, f"Invalid {name}: {raw}") from None


def _parse_time(text: str) -> datetime:
    try:
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        raise ApiError(
            400, 30810, "Invalid date format", domain="API_FULFILLMENT"
        ) from None
    return moment.replace(tzinfo=UTC)


class InventoryRoutes:
    """The routes; the state they work on comes from ``EbaySimulator``."""

    rng: random.Random
    clock: Callable[[], float]
    items: dict[str, InventoryItem]
    offers: dict[str, Offer]
    outside: dict[str, OutsideListing]
    orders: dict[str, Order]
    revisions: dict[tuple[str, str], int]
    spec: SpecValidator
    out_of_stock_control: bool
    user_name: str

    def _digits(self, size: int) -> str:
        raise NotImplementedError

    def listed_quantity(self, offer: Offer) -> int:
        raise NotImplementedError

    def _settle(self, offer: Offer) -> None:
        raise NotImplementedError

    def day(self) -> str:
        raise NotImplementedError

    def route(self, request: Request) -> Response:
        path, method = request.path, request.method
        if path.startswith(INVENTORY):
            return self._inventory(request, path.removeprefix(INVENTORY), method)
        if path == f"{FULFILLMENT}/order" and method == "GET":
            return Response.json(self._get_orders(request))
        if path == "/sell/account/v1/program/get_opted_in_programs" and method == "GET":
            programs = [{"programType": "SELLING_POLICY_MANAGEMENT"}]
            if self.out_of_stock_control:
                programs.append({"programType": "OUT_OF_STOCK_CONTROL"})
            return Response.json({"programs": programs})
        if path.rstrip("/") == "/commerce/identity/v1/user" and method == "GET":
            return Response.json({"userId": "SIMUSER01", "username": self.user_name})
        raise ApiError(404, 2002, "Resource not found", domain="API")

    def _body(self, request: Request, template: str) -> Any:
        try:
            body = request.json()
        except ValueError:
            raise ApiError(400, 25709, "Invalid value for body. Not JSON") from None
        problems = self.spec.problems(template, "POST", body)
        if problems:
            raise ApiError(400, 25709, f"Invalid value for {problems[0]}")
        return body

    def _inventory(self, request: Request, rest: str, method: str) -> Response:
        parts = [part for part in rest.split("/") if part]
        if parts == ["inventory_item"] and method == "GET":
            return Response.json(self._list_items(request))
        if len(parts) == 2 and parts[0] == "inventory_item" and method == "GET":
            item = self.items.get(parts[1])
            if item is None:
                raise ApiError(404, 25702, f"{parts[1]} could not be found")
            return Response.json(item.to_json())
        if parts == ["bulk_get_inventory_item"] and method == "POST":
            return self._bulk_get(self._body(request, "/bulk_get_inventory_item"))
        if parts == ["offer"] and method == "GET":
            return self._get_offers(request)
        if parts == ["bulk_update_price_quantity"] and method == "POST":
            body = self._body(request, "/bulk_update_price_quantity")
            return self._bulk_update(body)
        if len(parts) == 2 and parts[0] == "offer" and method in ("GET", "PUT"):
            offer = self.offers.get(parts[1])
            if offer is None:
                raise ApiError(404, 25713, f"This Offer is not available : {parts[1]}")
            if method == "PUT":
                self._replace_offer(offer, self._body(request, "/offer/{offerId}"))
            return Response.json(offer.to_json())
        if len(parts) == 3 and parts[0] == "offer" and method == "POST":
            offer = self.offers.get(parts[1])
            if offer is None:
                raise ApiError(404, 25713, f"This Offer is not available : {parts[1]}")
            if parts[2] == "withdraw":
                return Response.json(self._withdraw(offer))
            if parts[2] == "publish":
                return Response.json(self._publish(offer))
        if parts == ["bulk_migrate_listing"] and method == "POST":
            return self._migrate(self._body(request, "/bulk_migrate_listing"))
        if len(parts) == 2 and parts[0] == "inventory_item" and method == "PUT":
            from stackknack_cli.sandbox import ebay_create

            return ebay_create.put_item(self, request, parts[1])  # type: ignore[arg-type]
        if parts == ["offer"] and method == "POST":
            from stackknack_cli.sandbox import ebay_create

            return ebay_create.create_offer(self, request)  # type: ignore[arg-type]
        raise ApiError(404, 2002, "Resource not found", domain="API")

    def _list_items(self, request: Request) -> dict[str, Any]:
        limit = _int_arg(request, "limit", 25, 25706)
        page = _int_arg(request, "offset", 0, 25706)
        if not 1 <= limit <= MAX_LIMIT or page < 0:
            raise ApiError(
                400, 25706, "You have provided invalid pagination values. limit 1-200"
            )
        rows = sorted(self.items.values(), key=lambda item: item.sku)
        # eBay reads offset as a page number here.
        chunk = rows[page * limit : (page + 1) * limit]
        pages = (len(rows) + limit - 1) // limit
        base = f"{INVENTORY}/inventory_item?limit={limit}"
        payload: dict[str, Any] = {
            "href": f"{base}&offset={page}",
            "limit": limit,
            "size": pages,
            "total": len(rows),
            "inventoryItems": [item.to_json() for item in chunk],
        }
        if page + 1 < pages:
            payload["next"] = f"{base}&offset={page + 1}"
        if page > 0:
            payload["prev"] = f"{base}&offset={page - 1}"
        return payload

    def _bulk_get(self, body: Any) -> Response:
        requests = body.get("requests") or []
        if not 1 <= len(requests) <= BULK_LIMIT:
            raise ApiError(400, 25709, "Invalid value for requests. 1 to 25 SKUs")
        answers = []
        for element in requests:
            sku = str(element.get("sku") or "")
            item = self.items.get(sku)
            if item is None:
                missing = error(25702, f"{sku} could not be found")
                answers.append({"sku": sku, "statusCode": 404, "errors": [missing]})
            else:
                answers.append(
                    {"sku": sku, "statusCode": 200, "inventoryItem": item.to_json()}
                )
        return _multi(answers)

    def _get_offers(self, request: Request) -> Response:
        sku = request.arg("sku")
        if not sku:
            raise ApiError(400, 25709, "Invalid value for sku")
        found = [offer for offer in self.offers.values() if offer.sku == sku]
        if sku not in self.items or not found:
            raise ApiError(404, 25713, f"This Offer is not available : {sku}")
        payload = {
            "href": f"{INVENTORY}/offer?sku={sku}",
            "limit": 100,
            "size": len(found),
            "total": len(found),
            "offers": [offer.to_json() for offer in found],
        }
        return Response.json(payload)

    def _revise(self, listing_id: str) -> None:
        key = (listing_id, self.day())
        if self.revisions[key] >= DAILY_REVISIONS:
            raise ApiError(
                400,
                25002,
                f"A user error has occurred. Listing {listing_id} reached the limit "
                f"of {DAILY_REVISIONS} revisions today",
            )
        self.revisions[key] += 1

    def _bulk_update(self, body: Any) -> Response:
        requests = body.get("requests") or []
        if not 1 <= len(requests) <= BULK_LIMIT:
            raise ApiError(400, 25709, "Invalid value for requests. 1 to 25 items")
        answers: list[dict[str, Any]] = []
        for element in requests:
            answers.extend(self._update_one(element))
        return _multi(answers)

    def _update_one(self, element: dict[str, Any]) -> list[dict[str, Any]]:
        sku = str(element.get("sku") or "")
        item = self.items.get(sku)
        changes = element.get("offers") or []
        if item is None:
            fail = error(25702, f"{sku} could not be found or is not available")
            return [{"sku": sku, "statusCode": 400, "errors": [fail]}]
        try:
            targets = [self._offer_for(sku, change) for change in changes]
            ship = element.get("shipToLocationAvailability")
            quantity = ship.get("quantity") if isinstance(ship, dict) else None
            if quantity is not None and quantity < 0:
                raise ApiError(400, 25709, "Invalid value for quantity")
            touched = {o.offer_id: o for o in targets}
            if quantity is not None:
                touched.update(
                    {
                        o.offer_id: o
                        for o in self.offers.values()
                        if o.sku == sku and o.is_live
                    }
                )
            for offer in touched.values():
                self._revise(str(offer.listing_id))
        except ApiError as exc:
            return [{"sku": sku, "statusCode": exc.status, "errors": [exc.error]}]

        if quantity is not None:
            item.quantity = quantity
        for offer, change in zip(targets, changes, strict=True):
            if "availableQuantity" in change:
                offer.available = int(change["availableQuantity"])
        for offer in touched.values():
            self._settle(offer)
        if not targets:
            return [{"sku": sku, "statusCode": 200}]
        return [{"sku": sku, "offerId": o.offer_id, "statusCode": 200} for o in targets]

    def _offer_for(self, sku: str, change: dict[str, Any]) -> Offer:
        offer = self.offers.get(str(change.get("offerId")))
        if offer is None or offer.sku != sku:
            raise ApiError(
                400, 25713, f"This Offer is not available : {change.get('offerId')}"
            )
        if not offer.is_live:
            # eBay revises only published offers with a live listing.
            raise ApiError(
                400,
                25713,
                f"This Offer is not available : {offer.offer_id} is not live",
            )
        quantity = change.get("availableQuantity")
        if quantity is not None and (not isinstance(quantity, int) or quantity < 0):
            raise ApiError(400, 25709, "Invalid value for availableQuantity")
        return offer

    def _withdraw(self, offer: Offer) -> dict[str, Any]:
        if not offer.is_live:
            raise ApiError(
                400, 25713, f"This Offer is not available : {offer.offer_id}"
            )
        listing_id = offer.listing_id
        offer.status, offer.listing_id, offer.listing_status = "UNPUBLISHED", None, None
        return {"listingId": listing_id, "warnings": []}

    def _replace_offer(self, offer: Offer, body: Any) -> None:
        """updateOffer: a full replace; what stackknack keeps is the quantity."""
        if not isinstance(body, dict) or body.get("sku") != offer.sku:
            raise ApiError(400, 25709, "Invalid value for sku")
        quantity = body.get("availableQuantity")
        if quantity is not None and (not isinstance(quantity, int) or quantity < 0):
            raise ApiError(400, 25709, "Invalid value for availableQuantity")
        offer.available = quantity
        price = ((body.get("pricingSummary") or {}).get("price") or {}).get("value")
        if price:
            offer.price = str(price)

    def _publish(self, offer: Offer) -> dict[str, Any]:
        if offer.is_live:
            self._revise(str(offer.listing_id))
            return {"listingId": offer.listing_id, "warnings": []}
        if offer.status == "PUBLISHED" and offer.listing_status != "ENDED":
            raise ApiError(
                400,
                25002,
                f"A user error has occurred. {offer.offer_id} cannot be relisted",
            )
        if self.listed_quantity(offer) <= 0 and not self.out_of_stock_control:
            raise ApiError(
                400,
                25004,
                "The unpublished offer has an invalid quantity. It must be above 0",
            )
        offer.status = "PUBLISHED"
        offer.listing_id = self._digits(12)
        offer.listing_status = "ACTIVE"
        self._revise(offer.listing_id)
        self._settle(offer)
        return {"listingId": offer.listing_id, "warnings": []}

    def _migrate(self, body: Any) -> Response:
        requests = body.get("requests") or []
        if not 1 <= len(requests) <= MIGRATE_LIMIT:
            raise ApiError(400, 25709, "Invalid value for requests. 1 to 5 listings")
        answers = []
        for element in requests:
            listing_id = str(element.get("listingId"))
            listing = self.outside.get(listing_id)
            if listing is None or not listing.sku or listing.sku in self.items:
                why = (
                    "no SKU" if listing is not None and not listing.sku else "not found"
                )
                fail = error(25718, f"Cannot migrate listing. {listing_id}: {why}")
                answers.append(
                    {"listingId": listing_id, "statusCode": 400, "errors": [fail]}
                )
                continue
            del self.outside[listing_id]
            self.items[listing.sku] = InventoryItem(
                listing.sku, listing.quantity, listing.title
            )
            offer = Offer(self._digits(10), listing.sku, status="PUBLISHED")
            offer.listing_id, offer.listing_status = listing_id, listing.status
            self.offers[offer.offer_id] = offer
            answers.append(
                {
                    "listingId": listing_id,
                    "marketplaceId": "EBAY_US",
                    "statusCode": 200,
                    "inventoryItems": [{"sku": listing.sku, "offerId": offer.offer_id}],
                }
            )
        return _multi(answers)

    def _get_orders(self, request: Request) -> dict[str, Any]:
        limit = _int_arg(request, "limit", 50, 31100)
        offset = _int_arg(request, "offset", 0, 31000)
        if not 1 <= limit <= MAX_LIMIT:
            raise ApiError(
                400, 31100, f"Invalid limit: {limit}", domain="API_FULFILLMENT"
            )
        if offset < 0:
            raise ApiError(
                400, 31000, f"Invalid offset: {offset}", domain="API_FULFILLMENT"
            )
        ranges = dict(ORDER_FILTER.findall(request.arg("filter") or ""))
        for name in ranges:
            if name not in ("creationdate", "lastmodifieddate"):
                raise ApiError(
                    400, 30700, f"Invalid filter name: {name}", domain="API_FULFILLMENT"
                )
        # eBay uses creationdate alone when both date filters are given.
        field = "creationdate" if "creationdate" in ranges else "lastmodifieddate"
        rows = sorted(self.orders.values(), key=lambda order: order.created)
        if field in ranges:
            start, _, end = ranges[field].partition("..")
            if not start:
                raise ApiError(
                    400, 30820, "Start date is missing", domain="API_FULFILLMENT"
                )
            low = _parse_time(start)
            high = _parse_time(end) if end else None
            attr = "created" if field == "creationdate" else "modified"

            def inside(order: Order) -> bool:
                moment = _parse_time(getattr(order, attr))
                return moment >= low and (high is None or moment <= high)

            rows = [order for order in rows if inside(order)]
        page = rows[offset : offset + limit]
        payload: dict[str, Any] = {
            "href": f"{FULFILLMENT}/order?limit={limit}&offset={offset}",
            "limit": limit,
            "offset": offset,
            "total": len(rows),
            "orders": [order.to_json() for order in page],
        }
        if offset + limit < len(rows):
            payload["next"] = (
                f"{FULFILLMENT}/order?limit={limit}&offset={offset + limit}"
            )
        return payload


def _multi(answers: list[dict[str, Any]]) -> Response:
    """Answer 200 when every element worked, else eBay's 207 Multi-Status."""
    ok = all(answer.get("statusCode") == 200 for answer in answers)
    return Response.json({"responses": answers}, 200 if ok else 207)
