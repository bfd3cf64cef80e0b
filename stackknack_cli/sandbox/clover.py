"""A local Clover REST v3 simulator: inventory, item stock, orders, OAuth and limits.

Serve ``CloverSimulator().app`` with ``SimServer``. It answers Clover's own paths with
Clover's shapes (``{"elements": [...]}`` lists, ``{"message": ...}`` errors), enforces
16 requests per second and 5 at once per token with a bare 429 (Clover documents no
``Retry-After``), refuses order queries spanning more than 90 days, and cuts expanded
line items at 100. Routes under ``/_sandbox/`` seed and inspect it, and ring POS sales.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from stackknack_cli.sandbox.clover_faults import FaultPlan
from stackknack_cli.sandbox.clover_state import (
    Grant,
    Item,
    LineItem,
    Merchant,
    Order,
    new_id,
    now_ms,
)
from stackknack_cli.sandbox.server import Request, Response

PER_SECOND = 16
CONCURRENT = 5
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
NESTED_CAP = 100
ORDER_WINDOW_MS = 90 * 24 * 3600 * 1000
ACCESS_LIFETIME = 6 * 3600.0
REFRESH_LIFETIME = 365 * 24 * 3600.0
ITEM_FILTERS = ("id", "sku", "code", "name", "modifiedTime", "available", "hidden")
ORDER_FILTERS = ("id", "modifiedTime", "createdTime", "state", "paymentState")
FILTER = re.compile(r"^([A-Za-z.]+)\s*(>=|<=|!=|=|>|<)\s*(.*)$")
IN_FILTER = re.compile(r"^([A-Za-z.]+)\s+in\s*\((.*)\)$")
"""Clover's ``filter=id in ('A','B')``: many objects in one list call."""
ITEM_NAME_LIMIT = 127
"""Clover's item name column length."""
MERCHANT_PATH = re.compile(r"^/v3/merchants/([^/]+)(/.*)?$")


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if left is None:
        return False
    outcome = {
        ">=": left >= right,
        "<=": left <= right,
        ">": left > right,
        "<": left < right,
    }[op]
    return bool(outcome)


def _parse_filters(
    request: Request, allowed: tuple[str, ...]
) -> list[tuple[str, str, str]]:
    filters = []
    for raw in request.query.get("filter", []):
        match = IN_FILTER.match(raw) or FILTER.match(raw)
        if match is None:
            raise ApiError(400, f"Invalid filter: {raw}")
        if match.re is IN_FILTER:
            name, value = match.groups()
            op = "in"
        else:
            name, op, value = match.groups()
        if name not in allowed and name != "itemStock.quantity":
            raise ApiError(400, f"Invalid filter field: {name}")
        filters.append((name, op, value))
    return filters


def _typed(sample: Any, value: str) -> Any:
    if isinstance(sample, bool):
        return value.lower() == "true"
    if isinstance(sample, int | float):
        try:
            return float(value)
        except ValueError:
            raise ApiError(400, f"Invalid filter value: {value}") from None
    return value


def _page(request: Request, rows: list[Any]) -> list[Any]:
    try:
        limit = int(request.arg("limit") or DEFAULT_LIMIT)
        offset = int(request.arg("offset") or 0)
    except ValueError:
        raise ApiError(400, "limit and offset must be integers") from None
    limit = max(1, min(limit, MAX_LIMIT))
    return rows[max(offset, 0) : max(offset, 0) + limit]


def _expands(request: Request, name: str) -> bool:
    return any(name in value.split(",") for value in request.query.get("expand", []))


class CloverSimulator:
    """Thread-safe Clover state with the REST v3 routes over it.

    ``clock`` gives Unix seconds and ``sleep`` waits (both injectable, so tests never
    wait); ``seed`` fixes ids and random faults. One merchant exists from the start,
    reachable with ``api_token`` (a static merchant API token) or the OAuth pair
    ``access_token``/``refresh_token`` issued to ``client_id``.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        merchant_name: str = "Sandbox Sneakers",
        client_id: str = "SIMAPP0000001",
    ) -> None:
        self.rng = random.Random(seed)
        self.clock = clock
        self.sleep = sleep
        self.client_id = client_id
        self.faults = FaultPlan(self.rng)
        self.merchants: dict[str, Merchant] = {}
        self.grants: dict[str, Grant] = {}
        self.refresh_grants: dict[str, Grant] = {}
        self.requests: list[tuple[str, str]] = []
        self.throttled = 0
        self.refused_skus: dict[str, str] = {}
        """SKUs whose item creation is refused with the given message (a test's way
        to make Clover say no to one item)."""
        self._starts: dict[str, deque[float]] = defaultdict(deque)
        self._in_flight: dict[str, int] = defaultdict(int)
        self._lock = threading.RLock()

        self.merchant_id = self.add_merchant(merchant_name)
        self.api_token = self.issue_api_token(self.merchant_id)
        pair = self.issue_oauth_pair(self.merchant_id)
        self.access_token = str(pair["access_token"])
        self.refresh_token = str(pair["refresh_token"])
        self.token_response = pair

    # Setup and inspection, as plain Python calls.

    def add_merchant(self, name: str) -> str:
        with self._lock:
            merchant = Merchant(new_id(self.rng), name)
            self.merchants[merchant.id] = merchant
            return merchant.id

    def issue_api_token(self, merchant_id: str) -> str:
        with self._lock:
            token = f"{self.rng.getrandbits(128):032x}"
            self.grants[token] = Grant(merchant_id, expires_at=None)
            return token

    def issue_oauth_pair(self, merchant_id: str) -> dict[str, object]:
        """Issue a v2/OAuth pair as ``/oauth/v2/token`` would (expiries in seconds)."""
        with self._lock:
            now = self.clock()
            access = f"{self.rng.getrandbits(160):040x}"
            refresh = f"{self.rng.getrandbits(160):040x}"
            access_expiry = now + ACCESS_LIFETIME
            refresh_expiry = now + REFRESH_LIFETIME
            self.grants[access] = Grant(merchant_id, access_expiry, self.client_id)
            self.refresh_grants[refresh] = Grant(
                merchant_id, refresh_expiry, self.client_id
            )
            return {
                "access_token": access,
                "access_token_expiration": int(access_expiry),
                "refresh_token": refresh,
                "refresh_token_expiration": int(refresh_expiry),
            }

    def _merchant(self, merchant_id: str | None) -> Merchant:
        merchant = self.merchants.get(merchant_id or self.merchant_id)
        if merchant is None:
            raise ApiError(404, f"Merchant not found: {merchant_id}")
        return merchant

    def seed(
        self,
        *,
        name: str,
        sku: str = "",
        quantity: float | None = 0,
        price: int = 0,
        code: str = "",
        available: bool = True,
        hidden: bool = False,
        auto_manage: bool = False,
        merchant_id: str | None = None,
    ) -> str:
        """Create an item (with stock unless ``quantity`` is None); return its id."""
        with self._lock:
            merchant = self._merchant(merchant_id)
            item = Item(
                new_id(self.rng),
                name,
                price,
                sku=sku,
                code=code,
                available=available,
                hidden=hidden,
                auto_manage=auto_manage,
                quantity=quantity,
                modified_time=now_ms(self.clock),
            )
            merchant.items[item.id] = item
            return item.id

    def item(self, sku: str, *, merchant_id: str | None = None) -> Item:
        with self._lock:
            item = self._merchant(merchant_id).item_by_sku(sku)
            if item is None:
                raise KeyError(sku)
            return item

    def stock(self, sku: str, *, merchant_id: str | None = None) -> float | None:
        return self.item(sku, merchant_id=merchant_id).quantity

    def _set_stock(self, item: Item, quantity: float) -> None:
        item.quantity = quantity
        item.modified_time = now_ms(self.clock)
        if item.auto_manage:
            item.available = quantity > 0

    def sell(
        self,
        sku: str,
        quantity: int = 1,
        *,
        paid: bool = True,
        merchant_id: str | None = None,
    ) -> str:
        """Ring ``quantity`` units at the till, a line item each; return the order id.

        A paid sale locks the order and takes the stock down (below zero if need be,
        as Clover allows); with ``autoManage`` the item goes unavailable at zero. An
        unpaid one stays an open tab and leaves stock alone.
        """
        with self._lock:
            merchant = self._merchant(merchant_id)
            item = merchant.item_by_sku(sku)
            if item is None:
                raise ApiError(404, f"Item not found for sku {sku}")
            stamp = now_ms(self.clock)
            order = Order(
                new_id(self.rng),
                state="locked" if paid else "open",
                payment_state="PAID" if paid else "OPEN",
                total=item.price * quantity,
                created_time=stamp,
                modified_time=stamp,
            )
            for _ in range(quantity):
                line = LineItem(new_id(self.rng), item.id, item.name, item.price, stamp)
                order.line_items.append(line)
            merchant.orders[order.id] = order
            if paid and item.quantity is not None:
                self._set_stock(item, item.quantity - quantity)
            return order.id

    def pay(self, order_id: str, *, merchant_id: str | None = None) -> None:
        """Pay an open tab: lock it, take its stock, touch ``modifiedTime``."""
        with self._lock:
            merchant = self._merchant(merchant_id)
            order = merchant.orders[order_id]
            order.state, order.payment_state = "locked", "PAID"
            order.modified_time = now_ms(self.clock)
            for line in order.line_items:
                item = merchant.items.get(line.item_id or "")
                if item is not None and item.quantity is not None:
                    self._set_stock(item, item.quantity - 1)

    def refund(
        self,
        order_id: str,
        line_ids: list[str] | None = None,
        *,
        restock: bool = False,
        merchant_id: str | None = None,
    ) -> None:
        """Refund some (or all) lines of an order, optionally putting stock back."""
        with self._lock:
            merchant = self._merchant(merchant_id)
            order = merchant.orders[order_id]
            for line in order.line_items:
                if line_ids is None or line.id in line_ids:
                    line.refunded = True
                    item = merchant.items.get(line.item_id or "")
                    if restock and item is not None and item.quantity is not None:
                        self._set_stock(item, item.quantity + 1)
            every = all(line.refunded for line in order.line_items)
            order.payment_state = "REFUNDED" if every else "PARTIALLY_REFUNDED"
            order.modified_time = now_ms(self.clock)

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "merchants": {
                    merchant.id: {
                        "name": merchant.name,
                        "items": [
                            item.to_json(expand_stock=True)
                            for item in merchant.items.values()
                        ],
                        "orders": [
                            order.to_json(expand_lines=True, nested_cap=10**6)
                            for order in merchant.orders.values()
                        ],
                    }
                    for merchant in self.merchants.values()
                },
                "requests": len(self.requests),
                "throttled": self.throttled,
                "faults": self.faults.describe(),
            }

    # The HTTP face.

    def app(self, request: Request) -> Response:
        if request.path.startswith("/_sandbox/"):
            try:
                return self._control(request)
            except (ApiError, KeyError, ValueError) as exc:
                return Response.json({"message": str(exc)}, 400)
        with self._lock:
            self.requests.append((request.method, request.path))
        if self.faults.down:
            return Response.json({"message": "Service Unavailable"}, 503)
        try:
            if request.method == "POST" and request.path == "/oauth/v2/refresh":
                return self._refresh(request)
            token, grant = self._authenticate(request)
            self._admit(token)
            try:
                return self._serve(request, grant)
            finally:
                with self._lock:
                    self._in_flight[token] -= 1
        except ApiError as exc:
            return Response.json({"message": exc.message}, exc.status)

    def _authenticate(self, request: Request) -> tuple[str, Grant]:
        header = request.header("authorization") or ""
        scheme, _, token = header.partition(" ")
        with self._lock:
            grant = self.grants.get(token) if scheme.lower() == "bearer" else None
            if grant is None or (
                grant.expires_at is not None and self.clock() >= grant.expires_at
            ):
                raise ApiError(401, "401 Unauthorized")
            return token, grant

    def _admit(self, token: str) -> None:
        with self._lock:
            now = self.clock()
            starts = self._starts[token]
            while starts and now - starts[0] >= 1.0:
                starts.popleft()
            if len(starts) >= PER_SECOND or self._in_flight[token] >= CONCURRENT:
                self.throttled += 1
                raise ApiError(429, "Too Many Requests")
            starts.append(now)
            self._in_flight[token] += 1

    def _serve(self, request: Request, grant: Grant) -> Response:
        fault = self.faults.next()
        if fault is not None:
            if fault.delay:
                self.sleep(fault.delay)
            if fault.drop:
                return Response(drop=True)
            if fault.status is not None:
                return Response.json({"message": "Internal Server Error"}, fault.status)

        match = MERCHANT_PATH.match(request.path)
        if match is None:
            raise ApiError(404, "Not Found")
        merchant_id, rest = match.group(1), match.group(2) or ""
        with self._lock:
            if merchant_id not in self.merchants:
                raise ApiError(404, f"Merchant not found: {merchant_id}")
            # Clover answers 401 alike for a bad token and one for another merchant.
            if grant.merchant_id != merchant_id:
                raise ApiError(401, "401 Unauthorized")
            payload = self._route(request, self.merchants[merchant_id], rest)
        return Response.json(payload)

    def _route(self, request: Request, merchant: Merchant, rest: str) -> Any:
        parts = [part for part in rest.split("/") if part]
        method = request.method
        if not parts and method == "GET":
            return {"id": merchant.id, "name": merchant.name}
        if parts == ["items"] and method == "GET":
            return self._list_items(request, merchant)
        if parts == ["items"] and method == "POST":
            return self._create_item(merchant, request.json())
        if len(parts) == 2 and parts[0] == "items":
            item = self._find_item(merchant, parts[1])
            if method == "POST":
                self._update_item(item, request.json())
            return item.to_json(expand_stock=_expands(request, "itemStock"))
        if len(parts) == 2 and parts[0] == "item_stocks":
            item = self._find_item(merchant, parts[1])
            if method == "POST":
                self._post_stock(item, request.json())
            elif item.quantity is None:
                raise ApiError(404, f"No item stock for {item.id}")
            return item.stock_json()
        if parts == ["orders"] and method == "GET":
            return self._list_orders(request, merchant)
        if len(parts) >= 2 and parts[0] == "orders" and method == "GET":
            order = merchant.orders.get(parts[1])
            if order is None:
                raise ApiError(404, f"Order not found: {parts[1]}")
            if parts[2:] == ["line_items"]:
                lines = [line.to_json() for line in order.line_items]
                return {"elements": _page(request, lines)}
            if len(parts) == 2:
                expand = _expands(request, "lineItems")
                return order.to_json(expand_lines=expand, nested_cap=NESTED_CAP)
        raise ApiError(404 if method == "GET" else 405, "Not Found")

    def _find_item(self, merchant: Merchant, item_id: str) -> Item:
        item = merchant.items.get(item_id)
        if item is None:
            raise ApiError(404, f"Item not found: {item_id}")
        return item

    def _list_items(self, request: Request, merchant: Merchant) -> dict[str, Any]:
        filters = _parse_filters(request, ITEM_FILTERS)
        rows = []
        for item in merchant.items.values():
            payload = item.to_json(expand_stock=True)
            if all(self._matches(payload, f) for f in filters):
                rows.append(item.to_json(expand_stock=_expands(request, "itemStock")))
        return {"elements": _page(request, rows)}

    def _matches(self, payload: dict[str, Any], spec: tuple[str, str, str]) -> bool:
        name, op, raw = spec
        value: Any = payload
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if op == "in":
            wanted = {v.strip().strip("'\"") for v in raw.split(",")}
            return str(value) in wanted
        return _compare(value, op, _typed(value, raw) if value is not None else raw)

    def _update_item(self, item: Item, body: Any) -> None:
        if not isinstance(body, dict):
            raise ApiError(400, "Request body must be a JSON object")
        fields = {"name": "name", "sku": "sku", "code": "code", "price": "price"}
        for key, attr in fields.items():
            if key in body:
                setattr(item, attr, body[key])
        flags = {
            "available": "available",
            "hidden": "hidden",
            "autoManage": "auto_manage",
        }
        for key, attr in flags.items():
            if key in body:
                setattr(item, attr, bool(body[key]))
        # Clover ignores itemStock here: stock changes only through item_stocks.
        item.modified_time = now_ms(self.clock)

    def _create_item(self, merchant: Merchant, body: Any) -> dict[str, Any]:
        """Create an item as Clover does: a name and a price in cents are required,
        a SKU is not unique (two items may share one), and there is no stock until
        ``item_stocks`` first sets it."""
        if not isinstance(body, dict):
            raise ApiError(400, "Request body must be a JSON object")
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "Item name is required")
        if len(name) > ITEM_NAME_LIMIT:
            raise ApiError(400, f"Item name exceeds {ITEM_NAME_LIMIT} characters")
        price = body.get("price")
        if isinstance(price, bool) or not isinstance(price, int) or price < 0:
            raise ApiError(400, "price must be a whole number of cents")
        refusal = self.refused_skus.get(str(body.get("sku") or ""))
        if refusal:
            raise ApiError(400, refusal)
        item = Item(new_id(self.rng), name, price, modified_time=now_ms(self.clock))
        merchant.items[item.id] = item
        self._update_item(item, {k: v for k, v in body.items() if k != "price"})
        return item.to_json(expand_stock=False)

    def _post_stock(self, item: Item, body: Any) -> None:
        quantity = body.get("quantity") if isinstance(body, dict) else None
        if isinstance(quantity, bool) or not isinstance(quantity, int | float):
            raise ApiError(400, "quantity must be a number")
        self._set_stock(item, quantity)

    def _list_orders(self, request: Request, merchant: Merchant) -> dict[str, Any]:
        filters = _parse_filters(request, ORDER_FILTERS)
        now = now_ms(self.clock)
        lower = [float(v) for n, op, v in filters if n.endswith("Time") and ">" in op]
        upper = [float(v) for n, op, v in filters if n.endswith("Time") and "<" in op]
        start = max(lower) if lower else now - ORDER_WINDOW_MS
        end = min(upper) if upper else now
        if end - start > ORDER_WINDOW_MS:
            raise ApiError(
                400, "Time range exceeds the maximum of 90 days; add time filters"
            )
        expand = _expands(request, "lineItems")
        rows = []
        ordered = sorted(merchant.orders.values(), key=lambda o: -o.modified_time)
        for order in ordered:
            payload = order.to_json(expand_lines=False, nested_cap=NESTED_CAP)
            in_window = start <= order.created_time or bool(lower)
            if in_window and all(self._matches(payload, f) for f in filters):
                rows.append(order.to_json(expand_lines=expand, nested_cap=NESTED_CAP))
        return {"elements": _page(request, rows)}

    def _refresh(self, request: Request) -> Response:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ApiError(400, "Request body must be a JSON object")
        with self._lock:
            grant = self.refresh_grants.pop(str(body.get("refresh_token")), None)
            if grant is None or grant.client_id != body.get("client_id"):
                raise ApiError(401, "Invalid refresh token")
            if grant.expires_at is not None and self.clock() >= grant.expires_at:
                raise ApiError(401, "Refresh token expired")
            return Response.json(self.issue_oauth_pair(grant.merchant_id))

    def _control(self, request: Request) -> Response:
        action = request.path.removeprefix("/_sandbox/")
        if request.method == "GET" and action == "state":
            return Response.json(self.state())
        body = request.json() if request.body else {}
        if request.method == "POST" and action == "items":
            specs = body if isinstance(body, list) else [body]
            ids = [self.seed(**spec) for spec in specs]
            return Response.json({"ids": ids})
        if request.method == "POST" and action == "sell":
            order_id = self.sell(str(body["sku"]), int(body.get("quantity", 1)))
            return Response.json({"order_id": order_id})
        if request.method == "POST" and action == "refund":
            lines = body.get("line_ids")
            self.refund(
                str(body["order_id"]),
                None if lines is None else [str(x) for x in lines],
                restock=bool(body.get("restock", False)),
            )
            return Response.json({"order_id": body["order_id"]})
        if request.method == "POST" and action == "faults":
            self.faults.configure(body)
            return Response.json(self.faults.describe())
        return Response.json({"message": "Not Found"}, 404)
