"""A local StockX simulator: API v2 under ``/v2``, the accounts token endpoint, limits.

Serve ``StockXSimulator().app`` with ``SimServer``. Every ``/v2`` call needs the API
key (``x-api-key``, 403 without it) and a bearer token (401 without a live one); each
API key may make ``per_second`` calls a second and ``daily_limit`` a UTC day (429
past either). Writes are asynchronous (see ``stockx_market``). Bodies and query
parameters are checked against StockX's published OpenAPI file when it is present.

The token endpoint (``POST /oauth/token``, form-encoded) takes the authorization code
grant and the refresh token grant. Whether StockX rotates refresh tokens is not
documented; this simulator keeps them unless ``rotate_refresh_tokens`` is set.
``/_sandbox/`` routes seed the catalogue and listings, let a buyer match an ask, and
inject faults.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stackknack_cli.sandbox import stockx_views as views
from stackknack_cli.sandbox.server import Request, Response
from stackknack_cli.sandbox.shopify_faults import FaultPlan
from stackknack_cli.sandbox.stockx_accounts import Accounts
from stackknack_cli.sandbox.stockx_control import control
from stackknack_cli.sandbox.stockx_market import DAY, Listing, Market, amount_error
from stackknack_cli.sandbox.stockx_spec import DEFAULT_SPEC, SpecValidator

PER_SECOND = 1
DAILY_LIMIT = 25_000
BATCH_LIMIT = 100
LISTING = re.compile(r"^/selling/listings/([^/]+)(?:/(activate|deactivate))?$")
OPERATION = re.compile(r"^/selling/listings/([^/]+)/operations(?:/([^/]+))?$")
BATCH = re.compile(
    r"^/selling/batch/(create|update|delete)-listing(?:/([^/]+))?(/items)?$"
)
VARIANTS = re.compile(r"^/catalog/products/([^/]+)(?:/variants(?:/([^/]+))?)?$")


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(
    status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    return Response.json({"statusCode": status, "message": message}, status, headers)


def _int_arg(request: Request, name: str, default: int) -> int:
    try:
        return int(request.arg(name) or default)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer") from None


def _created_within(request: Request, created_at: float) -> bool:
    """Apply the history's ``fromDate``/``toDate`` (YYYY-MM-DD, creation day, UTC)."""
    day = datetime.fromtimestamp(created_at, tz=UTC).date().isoformat()
    start, end = request.arg("fromDate"), request.arg("toDate")
    for value in (start, end):
        if value is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ApiError(400, f"Invalid date {value!r}; expected YYYY-MM-DD")
    return (start is None or day >= start) and (end is None or day <= end)


def _csv(request: Request, name: str) -> set[str] | None:
    raw = request.arg(name)
    return {part.strip() for part in raw.split(",") if part.strip()} if raw else None


class StockXSimulator:
    """Thread-safe StockX state with the API v2, OAuth and control routes over it.

    ``clock`` gives Unix seconds and ``sleep`` waits (both injectable); ``seed`` fixes
    ids and random faults. The accepted credentials are attributes: ``api_key``,
    ``client_id``, ``client_secret``, ``redirect_uri``, ``auth_code`` (single use;
    ``issue_code`` makes more), ``access_token`` and ``refresh_token``.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        per_second: int = PER_SECOND,
        daily_limit: int = DAILY_LIMIT,
        operation_delay: float = 2.0,
        rotate_refresh_tokens: bool = False,
        spec_path: Path | None = DEFAULT_SPEC,
    ) -> None:
        self.rng = random.Random(seed)
        self.clock = clock
        self.sleep = sleep
        self.per_second = per_second
        self.daily_limit = daily_limit
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.market = Market(self.rng, clock)
        self.market.delay = operation_delay
        self.faults = FaultPlan(self.rng)
        self.validator = SpecValidator(spec_path)
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.throttled = 0
        self._starts: dict[str, deque[float]] = defaultdict(deque)
        self._days: dict[str, tuple[int, int]] = {}
        self._lock = threading.RLock()

        self.accounts = Accounts(self.rng, clock, rotate=rotate_refresh_tokens)
        self.api_key = self.accounts.secret(32)
        self.client_id = self.accounts.client_id
        self.client_secret = self.accounts.client_secret
        self.redirect_uri = self.accounts.redirect_uri
        self.auth_code = self.accounts.issue_code()
        pair = self.accounts.issue_tokens(with_refresh=True)
        self.access_token = str(pair["access_token"])
        self.refresh_token = str(pair["refresh_token"])

    def issue_code(self) -> str:
        """Return a new single-use authorization code for ``client_id``."""
        return self.accounts.issue_code()

    def expire_access_tokens(self) -> None:
        """Make every access token already issued expired (refresh tokens stay)."""
        self.accounts.expire_access_tokens()

    def app(self, request: Request) -> Response:
        if request.path.startswith("/_sandbox/"):
            try:
                return control(self, request)
            except (ApiError, KeyError, ValueError, TypeError) as exc:
                return _error(400, str(exc))
        if request.method == "POST" and request.path == "/oauth/token":
            return self.accounts.token(request)
        if request.method == "GET" and request.path == "/authorize":
            return self.accounts.authorize(request)
        if not request.path.startswith("/v2/"):
            return _error(404, "Not Found")
        with self._lock:
            headers = {"x-api-key": request.header("x-api-key") or ""}
            self.requests.append((request.method, request.path, headers))
        try:
            self._admit(request)
            fault = self.faults.take()
            if fault is not None and fault.kind == "delay":
                self.sleep(fault.seconds)
            elif fault is not None:
                return fault.response()
            return self._serve(request)
        except ApiError as exc:
            return _error(exc.status, exc.message)
        except _Throttled as exc:
            return _error(429, "Too Many Requests", {"Retry-After": str(exc.wait)})

    def _admit(self, request: Request) -> None:
        key = request.header("x-api-key") or ""
        header = request.header("authorization") or ""
        scheme, _, token = header.partition(" ")
        with self._lock:
            if key != self.api_key:
                raise ApiError(403, "Forbidden")
            now = self.clock()
            starts = self._starts[key]
            while starts and now - starts[0] >= 1.0:
                starts.popleft()
            day, used = self._days.get(key, (int(now // DAY), 0))
            if day != int(now // DAY):
                day, used = int(now // DAY), 0
            if used >= self.daily_limit:
                self.throttled += 1
                raise _Throttled(round((day + 1) * DAY - now))
            if len(starts) >= self.per_second:
                self.throttled += 1
                raise _Throttled(1)
            starts.append(now)
            self._days[key] = (day, used + 1)
            if scheme.lower() != "bearer" or not self.accounts.is_live(token):
                raise ApiError(401, "Unauthorized")

    def _serve(self, request: Request) -> Response:
        path = request.path.removeprefix("/v2")
        try:
            body = request.json() if request.body else None
        except ValueError:
            raise ApiError(400, "Request body is not JSON") from None
        problems = self.validator.problems(request.method, path, request.query, body)
        if problems:
            raise ApiError(400, "; ".join(problems[:5]))
        with self._lock:
            self.market.settle()
            status, payload = self._route(request, path, body)
        return Response.json(payload, status)

    def _route(self, request: Request, path: str, body: Any) -> tuple[int, Any]:
        method = request.method
        if path == "/selling/listings":
            if method == "POST":
                return 201, self._create(body)
            return 200, self._list_listings(request)
        if match := OPERATION.match(path):
            return 200, self._operations(match.group(1), match.group(2))
        if match := LISTING.match(path):
            return 200, self._listing_call(method, match.group(1), match.group(2), body)
        if match := BATCH.match(path):
            kind, batch_id, items = match.groups()
            return 200, self._batch_call(request, kind, batch_id, bool(items), body)
        if path.startswith("/selling/orders/"):
            return 200, self._orders(request, path.removeprefix("/selling/orders/"))
        if path == "/catalog/search":
            return 200, self._search(request)
        if match := VARIANTS.match(path):
            return 200, self._catalog(path, match.group(1), match.group(2))
        raise ApiError(404, "Not Found")

    def _listing(self, listing_id: str) -> Listing:
        listing = self.market.listings.get(listing_id)
        if listing is None:
            raise ApiError(404, f"Listing {listing_id} not found")
        return listing

    def _op(
        self, listing: Listing, kind: str, fields: dict[str, Any]
    ) -> dict[str, Any]:
        operation = self.market.start(
            listing.id, kind, lambda: self.market.change(listing, kind, fields)
        )
        return views.operation_json(operation, base_url="/v2")

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        variant = self.market.variants.get(str(body.get("variantId")))
        if variant is None:
            raise ApiError(400, f"Variant {body.get('variantId')} does not exist")
        listing = self.market.add_listing(
            variant,
            str(body["amount"]),
            currency=str(body.get("currencyCode") or "USD"),
            status="INACTIVE",
        )

        def apply() -> str | None:
            error = amount_error(listing.amount)
            if error:
                listing.status = "DELETED"
                return error
            return self.market.change(listing, "CREATE", body)

        operation = self.market.start(listing.id, "CREATE", apply)
        return views.operation_json(operation, base_url="/v2")

    def _listing_call(
        self, method: str, listing_id: str, action: str | None, body: Any
    ) -> dict[str, Any]:
        listing = self._listing(listing_id)
        if method == "GET" and action is None:
            return views.listing_json(self.market, listing)
        if method == "PUT" and action:
            return self._op(listing, action.upper(), dict(body or {}))
        if method == "PATCH" and action is None:
            return self._op(listing, "UPDATE", dict(body or {}))
        if method == "DELETE" and action is None:
            return self._op(listing, "DELETE", {})
        raise ApiError(405, "Method Not Allowed")

    def _operations(self, listing_id: str, operation_id: str | None) -> dict[str, Any]:
        self._listing(listing_id)
        if operation_id is None:
            rows = [
                views.operation_json(op, base_url="/v2")
                for op in self.market.operations.values()
                if op.listing_id == listing_id
            ]
            return {"operations": rows, "nextCursor": None}
        operation = self.market.operations.get(operation_id)
        if operation is None or operation.listing_id != listing_id:
            raise ApiError(404, f"Operation {operation_id} not found")
        body = views.operation_json(operation, base_url="/v2")
        body.pop("operationUrl")
        return body

    def _list_listings(self, request: Request) -> dict[str, Any]:
        statuses = _csv(request, "listingStatuses")
        kinds = _csv(request, "inventoryTypes")
        variants = _csv(request, "variantIds")
        products = _csv(request, "productIds")
        batches = _csv(request, "batchIds")
        rows = [
            views.listing_json(self.market, listing)
            for listing in self.market.listings.values()
            if (statuses is None or listing.status in statuses)
            and (kinds is None or listing.inventory_type in kinds)
            and (variants is None or listing.variant.id in variants)
            and (products is None or listing.variant.product_id in products)
            and (batches is None or listing.batch_id in batches)
        ]
        number = _int_arg(request, "pageNumber", 1)
        return views.page(rows, "listings", number, _int_arg(request, "pageSize", 1))

    def _batch_call(
        self, request: Request, kind: str, batch_id: str | None, items: bool, body: Any
    ) -> dict[str, Any]:
        if batch_id is None:
            if request.method != "POST":
                raise ApiError(405, "Method Not Allowed")
            rows = list((body or {}).get("items") or [])
            if not rows or len(rows) > BATCH_LIMIT:
                raise ApiError(400, f"items must hold 1 to {BATCH_LIMIT} entries")
            return views.batch_json(self.market.start_batch(kind, rows))
        batch = self.market.batches.get(batch_id)
        if batch is None or batch.kind != kind:
            raise ApiError(404, f"Batch {batch_id} not found")
        if items:
            return views.batch_items_json(self.market, batch, request.arg("status"))
        return views.batch_json(batch)

    def _orders(self, request: Request, rest: str) -> dict[str, Any]:
        if rest not in ("active", "history"):
            order = self.market.orders.get(rest)
            if order is None:
                raise ApiError(404, f"Order {rest} not found")
            return views.order_json(self.market, order)
        active = rest == "active"
        wanted = _csv(request, "orderStatus")
        kinds = _csv(request, "inventoryTypes")
        rows = [
            views.order_json(self.market, order)
            for order in sorted(self.market.orders.values(), key=lambda o: o.created_at)
            if (order.status in views.ACTIVE_ORDER_STATUSES) == active
            and (wanted is None or order.status in wanted)
            and (kinds is None or order.listing.inventory_type in kinds)
            and (request.arg("variantId") in (None, order.listing.variant.id))
            and (active or _created_within(request, order.created_at))
        ]
        number = _int_arg(request, "pageNumber", 1)
        return views.page(rows, "orders", number, _int_arg(request, "pageSize", 1))

    def _search(self, request: Request) -> dict[str, Any]:
        from stackknack_cli.channels.sizes import same_style

        query = (request.arg("query") or "").strip()
        words = query.lower().split()
        rows = [
            product.to_json()
            for product in self.market.products.values()
            if same_style(product.style_id, query)
            or all(word in f"{product.title} {product.brand}".lower() for word in words)
        ]
        number = _int_arg(request, "pageNumber", 1)
        return views.page(rows, "products", number, _int_arg(request, "pageSize", 1))

    def _catalog(self, path: str, product_id: str, variant_id: str | None) -> Any:
        product = self.market.products.get(product_id)
        if product is None:
            raise ApiError(404, f"Product {product_id} not found")
        if not path.endswith("/variants") and variant_id is None:
            return product.to_json()
        if variant_id is not None:
            variant = product.variants.get(variant_id)
            if variant is None:
                raise ApiError(404, f"Variant {variant_id} not found")
            return views.variant_json(variant)
        return [views.variant_json(variant) for variant in product.variants.values()]

    # Setup, inspection and the control routes.

    def seed_product(
        self, title: str, style_id: str, *, brand: str = "Nike", sizes: list[str]
    ) -> dict[str, str]:
        """Add a catalogue product; return ``{size: variant id, "product_id": id}``."""
        with self._lock:
            product = self.market.add_product(title, style_id, brand, sizes)
            found = {v.size: v.id for v in product.variants.values()}
            return {"product_id": product.id, **found}

    def seed_listings(
        self,
        variant_id: str,
        amount: str,
        *,
        quantity: int = 1,
        inventory_type: str = "STANDARD",
        status: str = "ACTIVE",
        currency: str = "USD",
    ) -> list[str]:
        """Add settled listings (no operation), e.g. FLEX stock already at StockX."""
        with self._lock:
            variant = self.market.variants[variant_id]
            return [
                self.market.add_listing(
                    variant,
                    amount,
                    currency=currency,
                    inventory_type=inventory_type,
                    status=status,
                ).id
                for _ in range(quantity)
            ]

    def _variant_of(self, spec: dict[str, Any]) -> str:
        if spec.get("variant_id"):
            return str(spec["variant_id"])
        return self.market.find_variant(str(spec["style_id"]), str(spec["size"])).id

    def sell(self, variant_id: str, *, inventory_type: str | None = None) -> str:
        """A buyer matches the lowest active ask; return the new order's number."""
        with self._lock:
            self.market.settle()
            variant = self.market.variants[variant_id]
            return self.market.sell(variant, inventory_type=inventory_type).number

    def active_count(self, variant_id: str) -> int:
        """Count ACTIVE STANDARD listings of a variant (what the adapter should see)."""
        with self._lock:
            self.market.settle()
            return sum(
                1
                for listing in self.market.listings.values()
                if listing.variant.id == variant_id
                and listing.status == "ACTIVE"
                and listing.inventory_type == "STANDARD"
            )

    def state(self) -> dict[str, Any]:
        with self._lock:
            self.market.settle()
            market = self.market
            return {
                "products": [p.to_json() for p in market.products.values()],
                "listings": [
                    views.listing_json(market, x) for x in market.listings.values()
                ],
                "orders": [views.order_json(market, o) for o in market.orders.values()],
                "batches": [views.batch_json(b) for b in market.batches.values()],
                "requests": len(self.requests),
                "throttled": self.throttled,
                "spec_checked": self.validator.active,
            }


class _Throttled(Exception):
    def __init__(self, wait: int) -> None:
        super().__init__("throttled")
        self.wait = wait
