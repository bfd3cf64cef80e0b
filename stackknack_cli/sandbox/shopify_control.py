"""The ``/_sandbox/`` routes of the Shopify simulator: seed, sell, inspect, break.

These are not Shopify paths. They need no token but answer only requests addressed to a
loopback host name, so a page in a browser cannot reach them by DNS rebinding.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from stackknack_cli.sandbox.server import Request, Response
from stackknack_cli.sandbox.shopify_shop import SaleRefusedError, gid, iso, parse_gid

if TYPE_CHECKING:
    from stackknack_cli.sandbox.shopify import ShopifySimulator

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


class ControlRoutes:
    """Dispatch ``/_sandbox/...`` requests to the simulator's plain methods."""

    def __init__(self, sim: ShopifySimulator) -> None:
        self.sim = sim

    def handle(self, request: Request) -> Response:
        host = (request.header("host") or "").rsplit(":", 1)[0]
        if host not in LOOPBACK_HOSTS:
            return Response.json({"error": "sandbox routes answer loopback only"}, 403)
        route = (request.method, request.path.rstrip("/"))
        try:
            body = request.json() if request.body else {}
            if route == ("GET", "/_sandbox/state"):
                return Response.json(self.state())
            if route == ("POST", "/_sandbox/products"):
                return Response.json({"variants": self.seed_all(body)}, 201)
            if route == ("POST", "/_sandbox/sell"):
                return self._sell(body)
            if route == ("POST", "/_sandbox/orders/cancel"):
                order_id = _order_id(body["order_id"])
                self.sim.cancel_order(order_id, restock=_flag(body, "restock"))
                return Response.json({"order": self.order_state(order_id)})
            if route == ("POST", "/_sandbox/orders/fulfill"):
                order_id = _order_id(body["order_id"])
                self.sim.fulfill_order(order_id)
                return Response.json({"order": self.order_state(order_id)})
            if route == ("POST", "/_sandbox/orders/refund"):
                order_id = _order_id(body["order_id"])
                self.sim.refund(
                    order_id,
                    body["sku"],
                    int(body.get("quantity", 1)),
                    restock_type=str(body.get("restock_type", "RETURN")),
                    location=body.get("location"),
                )
                return Response.json({"order": self.order_state(order_id)})
            if route == ("POST", "/_sandbox/orders/edit"):
                order_id = _order_id(body["order_id"])
                self.sim.reduce_line_item(order_id, body["sku"], int(body["by"]))
                return Response.json({"order": self.order_state(order_id)})
            if route == ("POST", "/_sandbox/faults"):
                self.sim.faults.configure(body)
                return Response.json({"down": self.sim.faults.is_down})
            if route == ("GET", "/_sandbox/credentials"):
                return Response.json(self.sim.credentials())
        except SaleRefusedError as exc:
            return Response.json({"errors": [str(exc)]}, 422)
        except (ValueError, KeyError, TypeError) as exc:
            return Response.json({"errors": [f"bad request: {exc}"]}, 400)
        return Response.json({"errors": ["no such sandbox route"]}, 404)

    def seed_all(self, body: Any) -> list[dict[str, Any]]:
        items = body.get("products", [body]) if isinstance(body, dict) else body
        seeded = []
        for item in items:
            variant = self.sim.seed(
                item["sku"],
                title=item.get("title"),
                quantity=int(item.get("quantity", 0)),
                location=item.get("location"),
                quantities=item.get("quantities"),
                policy=item.get("policy", "DENY"),
                tracked=bool(item.get("tracked", True)),
                bundle=bool(item.get("bundle", False)),
                price=_price(item.get("price")),
            )
            seeded.append(self.variant_state(variant.id))
        return seeded

    def _sell(self, body: dict[str, Any]) -> Response:
        order = self.sim.sell(
            body["sku"], int(body.get("quantity", 1)), location=body.get("location")
        )
        return Response.json({"order": self.order_state(_order_id(order))}, 201)

    def state(self) -> dict[str, Any]:
        """Return every location, variant (quantities per location) and order."""
        with self.sim.lock:
            shop = self.sim.shop
            return {
                "shop": {"name": shop.name, "myshopifyDomain": shop.domain},
                "locations": [
                    {"id": gid("Location", loc.id), "name": loc.name}
                    for loc in shop.locations.values()
                ],
                "variants": [self.variant_state(v) for v in shop.variants],
                "orders": [self.order_state(o) for o in shop.orders],
            }

    def variant_state(self, variant_id: int) -> dict[str, Any]:
        with self.sim.lock:
            shop = self.sim.shop
            variant = shop.variants[variant_id]
            levels = {
                shop.locations[lv.location_id].name: {
                    name: lv.quantity(name)
                    for name in ("available", "committed", "on_hand")
                }
                for lv in shop.levels_of(variant.item_id)
            }
            return {
                "id": gid("ProductVariant", variant.id),
                "inventoryItemId": gid("InventoryItem", variant.item_id),
                "sku": variant.sku,
                "title": variant.display_name,
                "policy": variant.policy,
                "bundle": not variant.mutable,
                "levels": levels,
            }

    def order_state(self, order_id: int) -> dict[str, Any]:
        with self.sim.lock:
            order = self.sim.shop.orders[order_id]
            return {
                "id": gid("Order", order.id),
                "name": order.name,
                "createdAt": iso(order.created_at),
                "updatedAt": iso(order.updated_at),
                "cancelledAt": order.cancelled_at and iso(order.cancelled_at),
                "lineItems": [
                    {
                        "id": gid("LineItem", line.id),
                        "sku": line.sku,
                        "quantity": line.quantity,
                        "currentQuantity": line.current_quantity,
                        "fulfilled": line.fulfilled,
                    }
                    for line in order.line_items
                ],
                "refunds": [
                    {
                        "id": gid("Refund", refund.id),
                        "refundLineItems": [
                            {
                                "id": gid("RefundLineItem", item.id),
                                "lineItem": gid("LineItem", item.line_id),
                                "quantity": item.quantity,
                                "restockType": item.restock_type,
                            }
                            for item in refund.lines
                        ],
                    }
                    for refund in order.refunds
                ],
            }


def _flag(body: dict[str, Any], name: str, default: bool = True) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, not {value!r}")
    return value


def _price(value: Any) -> str:
    """Return a seeded price as Shopify's decimal string; 0.00 when left out."""
    if value is None:
        return "0.00"
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"price must be a number, not {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"price must be 0 or more, not {value!r}")
    return f"{amount.quantize(Decimal('0.01'))}"


def _order_id(value: Any) -> int:
    if isinstance(value, int):
        return value
    number = parse_gid(value, "Order")
    if number is None:
        raise ValueError(f"not an order ID: {value!r}")
    return number
