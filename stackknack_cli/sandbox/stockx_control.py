"""The StockX simulator's ``/_sandbox/`` routes: seed, sell, inspect, inject faults.

``POST products`` {title, style_id, brand, sizes}; ``POST listings`` {variant_id or
style_id and size, amount, quantity, inventory_type, status}; ``POST sell`` {variant_id
or style_id and size, inventory_type}; ``POST complete`` {order_number, status};
``POST operations`` {delay, fail_next, error}; ``POST faults`` (see
``shopify_faults.FaultPlan.configure``); ``POST code``; ``POST expire-tokens``;
``GET state``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from stackknack_cli.sandbox.server import Request, Response

if TYPE_CHECKING:
    from stackknack_cli.sandbox.stockx import StockXSimulator


def _error(status: int, message: str) -> Response:
    return Response.json({"statusCode": status, "message": message}, status)


def control(sim: StockXSimulator, request: Request) -> Response:
    action = request.path.removeprefix("/_sandbox/")
    if request.method == "GET" and action == "state":
        return Response.json(sim.state())
    body = json.loads(request.body) if request.body else {}
    if request.method != "POST":
        return _error(404, "Not Found")
    if action == "products":
        sizes = [str(size) for size in body["sizes"]]
        found = sim.seed_product(
            body["title"],
            body["style_id"],
            brand=body.get("brand", "Nike"),
            sizes=sizes,
        )
        return Response.json(found)
    if action == "listings":
        ids = sim.seed_listings(
            sim._variant_of(body),
            str(body["amount"]),
            quantity=int(body.get("quantity", 1)),
            inventory_type=str(body.get("inventory_type", "STANDARD")),
            status=str(body.get("status", "ACTIVE")),
        )
        return Response.json({"listing_ids": ids})
    if action == "sell":
        number = sim.sell(
            sim._variant_of(body), inventory_type=body.get("inventory_type")
        )
        return Response.json({"order_number": number})
    if action == "complete":
        with sim._lock:
            order = sim.market.complete(
                body["order_number"], body.get("status", "COMPLETED")
            )
        return Response.json({"order_number": order.number, "status": order.status})
    if action == "operations":
        with sim._lock:
            if "delay" in body:
                sim.market.delay = float(body["delay"])
            if body.get("fail_next"):
                error = str(body.get("error", "Listing failed"))
                sim.market.fail_next(int(body["fail_next"]), error=error)
        return Response.json({"delay": sim.market.delay})
    if action == "faults":
        sim.faults.configure(body)
        return Response.json({"down": sim.faults.is_down})
    if action == "code":
        return Response.json({"code": sim.issue_code()})
    if action == "expire-tokens":
        sim.expire_access_tokens()
        return Response.json({"expired": True})
    return _error(404, "Not Found")
