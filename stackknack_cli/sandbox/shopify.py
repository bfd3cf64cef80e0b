"""A local imitation of one shop's Shopify Admin GraphQL API (2026-04 semantics).

Serve ``ShopifySimulator().app`` with ``SimServer``. It authenticates like Shopify
(custom-app token or client-credentials grant), validates documents against the
published schema when ``../shared`` is present, executes them against the subset schema,
charges the calculated query cost to a leaky bucket per app, and fails on request
(statuses, dropped connections, delays, outages). ``/_sandbox/...`` routes seed and
inspect the shop; they are not Shopify paths.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from graphql import GraphQLError, GraphQLSchema, execute, parse
from graphql.error import GraphQLSyntaxError
from graphql.execution.values import get_variable_values
from graphql.language import FragmentDefinitionNode, OperationDefinitionNode
from graphql.utilities import get_operation_ast

from stackknack_cli.sandbox import shopify_schema
from stackknack_cli.sandbox.server import Request, Response
from stackknack_cli.sandbox.shopify_control import ControlRoutes
from stackknack_cli.sandbox.shopify_cost import MAX_SINGLE_QUERY_COST, CostCalculator
from stackknack_cli.sandbox.shopify_faults import FaultPlan
from stackknack_cli.sandbox.shopify_graph import Context, root_value
from stackknack_cli.sandbox.shopify_shop import (
    Level,
    SaleRefusedError,
    Shop,
    Variant,
    gid,
    parse_gid,
)

log = logging.getLogger(__name__)

SERVED_FROM = "2026-04"
TOKEN_LIFETIME = 86399
DEFAULT_SCOPES = (
    "read_products",
    "read_inventory",
    "write_inventory",
    "read_locations",
    "read_orders",
)
# Restore rates are Shopify's published figures; bucket sizes assume the long-standing
# ratio of 20 seconds of restore (Standard was 1000 points at 50/s before the doubling).
PLANS = {
    "standard": (2000.0, 100.0),
    "advanced": (4000.0, 200.0),
    "plus": (20000.0, 1000.0),
    "enterprise": (40000.0, 2000.0),
}
INVALID_TOKEN = (
    "[API] Invalid API key or access token (unrecognized login or wrong password)"
)
_GRAPHQL_PATH = re.compile(r"^/admin/api/([^/]+)/graphql\.json$")
_VERSION = re.compile(r"^(\d{4})-(01|04|07|10)$")


@dataclass
class _Token:
    app: str
    scopes: tuple[str, ...]
    expires_at: float | None


class _Bucket:
    """Shopify's leaky bucket: ``available`` refills at ``rate`` up to ``size``."""

    def __init__(self, size: float, rate: float, now: float) -> None:
        self.size, self.rate = size, rate
        self.available, self.at = size, now

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.at)
        self.available = min(self.size, self.available + elapsed * self.rate)
        self.at = now

    def status(self) -> dict[str, float | int]:
        return {
            "maximumAvailable": self.size,
            "currentlyAvailable": int(self.available),
            "restoreRate": self.rate,
        }


class ShopifySimulator:
    """One shop's Admin API; thread-safe, clock and randomness injected."""

    def __init__(
        self,
        *,
        shop_name: str = "stackknack sandbox",
        handle: str = "stackknack-sandbox",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        seed: int = 0,
        plan: str = "standard",
        scopes: tuple[str, ...] = DEFAULT_SCOPES,
        schema_path: Path = shopify_schema.PUBLISHED_SCHEMA,
    ) -> None:
        self.clock, self.sleep = clock, sleep
        self.rng = random.Random(seed)
        self.lock = threading.RLock()
        self.shop = Shop(shop_name, f"{handle}.myshopify.com", clock)
        self.faults = FaultPlan(self.rng)
        self.bucket_size, self.restore_rate = PLANS[plan]
        self.scopes = scopes
        self.schema_path = schema_path
        self.access_token = "shpat_" + self._hex(32)
        """The fixed token of an admin-created custom app; never expires."""
        self.client_id = self._hex(32)
        self.client_secret = "shpss_" + self._hex(32)
        self._tokens = {self.access_token: _Token("custom-app", scopes, None)}
        self._buckets: dict[str, _Bucket] = {}
        self._idempotency: dict[tuple[str, str], tuple[str, Any]] = {}
        self.control = ControlRoutes(self)

    def _hex(self, length: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(length))

    def app(self, request: Request) -> Response:
        """Answer one HTTP request (the callable ``SimServer`` serves)."""
        if request.path.startswith("/_sandbox/"):
            return self.control.handle(request)
        fault = self.faults.take()
        if fault is not None and fault.kind == "delay":
            self.sleep(fault.seconds)
        elif fault is not None:
            return fault.response()
        if request.method == "POST" and request.path == "/admin/oauth/access_token":
            return self._grant_token(request)
        match = _GRAPHQL_PATH.match(request.path)
        if match is None or request.method != "POST":
            return Response.json({"errors": "Not Found"}, 404)
        return self._graphql(request, match.group(1))

    def issue_token(self, *, lifetime: int = TOKEN_LIFETIME) -> str:
        """Mint a client-credentials token directly (what the OAuth route does)."""
        token = "shpat_" + self._hex(32)
        with self.lock:
            expires = self.clock() + lifetime
            self._tokens[token] = _Token(self.client_id, self.scopes, expires)
        return token

    def credentials(self) -> dict[str, str]:
        """Return what a client needs to connect (for ``stackknack sandbox``)."""
        return {
            "shop": self.shop.domain,
            "access_token": self.access_token,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "api_version": SERVED_FROM,
        }

    def add_location(self, name: str, *, active: bool = True) -> str:
        """Add a location and return its GID."""
        with self.lock:
            return gid("Location", self.shop.add_location(name, active=active).id)

    def seed(
        self,
        sku: str,
        *,
        title: str | None = None,
        quantity: int = 0,
        location: str | None = None,
        quantities: dict[str, int] | None = None,
        policy: str = "DENY",
        tracked: bool = True,
        bundle: bool = False,
        price: str = "0.00",
    ) -> Variant:
        """Create a product with one variant, stocked per location name.

        ``quantities`` maps location names to available units; otherwise ``quantity``
        goes to ``location`` (default: the first location, created if none exists).
        Unknown location names are created. A ``bundle`` refuses API writes as Shopify
        does for items whose stock it computes.
        """
        if policy not in ("DENY", "CONTINUE"):
            raise ValueError("policy must be DENY or CONTINUE")
        with self.lock:
            shop = self.shop
            if quantities is None:
                default = next(iter(shop.locations.values()), None)
                name = location or (default.name if default else "Shop location")
                quantities = {name: quantity}
            stocked = {}
            for name, units in quantities.items():
                found = shop.location_named(name) or shop.add_location(name)
                stocked[found.id] = int(units)
            return shop.add_variant(
                sku,
                product_title=title or sku,
                quantities=stocked,
                policy=policy,
                tracked=tracked,
                mutable=not bundle,
                price=price,
            )

    def sell(self, sku: str, quantity: int = 1, *, location: str | None = None) -> str:
        """Place a shopper's order and return its GID; raises SaleRefusedError."""
        with self.lock:
            return gid("Order", self.shop.sell(sku, quantity, location).id)

    def cancel_order(self, order_id: int | str, *, restock: bool = True) -> None:
        with self.lock:
            self.shop.cancel_order(_number(order_id), restock=restock)

    def refund(
        self,
        order_id: int | str,
        sku: str,
        quantity: int = 1,
        *,
        restock_type: str = "RETURN",
        location: str | None = None,
    ) -> str:
        """Refund ``quantity`` units of the order's ``sku`` line as ``refundCreate``
        does (RETURN, CANCEL or NO_RESTOCK; restocked at ``location`` or where the
        line was assigned); return the refund's GID. Raises SaleRefusedError."""
        with self.lock:
            shop = self.shop
            order = shop.orders.get(_number(order_id))
            line = None
            if order is not None:
                line = next((li for li in order.line_items if li.sku == sku), None)
            if order is None or line is None:
                raise SaleRefusedError(f"order {order_id} has no line of {sku!r}")
            place = None if location is None else shop.location_named(location)
            if location is not None and place is None:
                raise SaleRefusedError(f"no location {location!r}")
            refund = shop.refund(
                order.id,
                {line.id: quantity},
                restock_type,
                location_id=None if place is None else place.id,
            )
            return gid("Refund", refund.id)

    def reduce_line_item(self, order_id: int | str, sku: str, by: int) -> None:
        """Edit an order to remove ``by`` units of ``sku`` (currentQuantity drops)."""
        with self.lock:
            self.shop.reduce_line_item(_number(order_id), sku, by)

    def fulfill_order(self, order_id: int | str) -> None:
        with self.lock:
            self.shop.fulfill_order(_number(order_id))

    def available(self, sku: str, location: str | None = None) -> int:
        """Return available units of ``sku`` (one location, or all of them)."""
        return self.quantity(sku, "available", location)

    def set_available(self, sku: str, quantity: int, *, location: str) -> None:
        """Type ``quantity`` as ``sku``'s available units at ``location`` in Shopify's
        admin, stocking the item there first if it was not (unknown names are
        created). Raises SaleRefusedError for an unknown SKU."""
        with self.lock:
            shop = self.shop
            variant = shop.variant_by_sku(sku)
            if variant is None:
                raise SaleRefusedError(f"no variant with SKU {sku!r}")
            place = shop.location_named(location) or shop.add_location(location)
            level = shop.levels.get((variant.item_id, place.id))
            if level is None:
                level = Level(shop.next_id("level"), variant.item_id, place.id, 0.0)
                shop.levels[(variant.item_id, place.id)] = level
            level.states["available"] = int(quantity)
            level.updated_at = self.clock()

    def quantity(self, sku: str, name: str, location: str | None = None) -> int:
        with self.lock:
            variant = self.shop.variant_by_sku(sku)
            if variant is None:
                raise SaleRefusedError(f"no variant with SKU {sku!r}")
            chosen = None if location is None else self.shop.location_named(location)
            return sum(
                lv.quantity(name)
                for lv in self.shop.levels_of(variant.item_id)
                if chosen is None or lv.location_id == chosen.id
            )

    def _grant_token(self, request: Request) -> Response:
        form = _form_or_json(request)
        if form.get("grant_type") != "client_credentials":
            return Response.json(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant_type must be client_credentials",
                },
                400,
            )
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return Response.json(
                {
                    "error": "invalid_client",
                    "error_description": "Client authentication failed.",
                },
                401,
            )
        token = self.issue_token()
        return Response.json(
            {
                "access_token": token,
                "scope": ",".join(self.scopes),
                "expires_in": TOKEN_LIFETIME,
            }
        )

    def _authenticate(self, request: Request) -> _Token | None:
        token = self._tokens.get(request.header("x-shopify-access-token") or "")
        if token is None:
            return None
        if token.expires_at is not None and self.clock() >= token.expires_at:
            return None
        return token

    def _graphql(self, request: Request, version: str) -> Response:
        token = self._authenticate(request)
        if token is None:
            return Response.json({"errors": INVALID_TOKEN}, 401)
        served = _served_version(version)
        if served is None:
            return Response.json({"errors": "Not Found"}, 404)
        headers = {"X-Shopify-API-Version": served}
        try:
            body = request.json()
            query = body["query"]
            assert isinstance(query, str)
        except (ValueError, KeyError, TypeError, AssertionError):
            missing = {"errors": {"query": "Required parameter missing or invalid"}}
            return Response.json(missing, 400, headers)
        payload = self._run(
            token, query, body.get("variables") or {}, body.get("operationName")
        )
        return Response.json(payload, 200, headers)

    def _run(
        self,
        token: _Token,
        query: str,
        variables: dict[str, Any],
        operation_name: str | None,
    ) -> dict[str, Any]:
        try:
            document = parse(query)
        except GraphQLSyntaxError as exc:
            return {"errors": [exc.formatted]}
        published = shopify_schema.published_schema(self.schema_path)
        subset = shopify_schema.subset_schema()
        if published is not None:
            errors = shopify_schema.check_document(
                published, document, operation_name, variables
            )
            if errors:
                return {"errors": [shopify_schema.shopify_error(e) for e in errors]}
        errors = shopify_schema.check_document(
            subset, document, operation_name, variables
        )
        if errors:
            return {"errors": [_not_simulated(e, published) for e in errors]}
        operation = get_operation_ast(document, operation_name)
        assert isinstance(operation, OperationDefinitionNode)
        fragments = {
            d.name.value: d
            for d in document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        coerced = get_variable_values(
            subset, operation.variable_definitions or (), variables
        )
        assert not isinstance(coerced, list)
        cost = CostCalculator(subset, operation, fragments, coerced)
        requested = cost.requested()
        if cost.errors:
            return {"errors": [e.formatted for e in cost.errors]}
        if requested > MAX_SINGLE_QUERY_COST:
            return {"errors": [_max_cost_error(requested)]}
        with self.lock:
            return self._execute(
                token, subset, document, operation_name, variables, cost, requested
            )

    def _execute(
        self,
        token: _Token,
        schema: GraphQLSchema,
        document: Any,
        operation_name: str | None,
        variables: dict[str, Any],
        cost: CostCalculator,
        requested: int,
    ) -> dict[str, Any]:
        bucket = self._bucket(token.app)
        bucket.refill(self.clock())
        if requested > bucket.available:
            return {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {
                            "code": "THROTTLED",
                            "documentation": "https://shopify.dev/api/usage/rate-limits",
                        },
                    }
                ],
                "extensions": {"cost": _cost(requested, None, bucket)},
            }
        bucket.available -= requested
        ctx = Context(self.shop, token.app, frozenset(token.scopes), self._idempotency)
        result = execute(
            schema,
            document,
            root_value=root_value(ctx),
            variable_values=variables,
            operation_name=operation_name,
        )
        assert not hasattr(result, "__await__")
        actual = min(requested, cost.actual(result.data))
        bucket.available += requested - actual
        payload: dict[str, Any] = {}
        if result.errors:
            payload["errors"] = [e.formatted for e in result.errors]
        payload["data"] = result.data
        payload["extensions"] = {"cost": _cost(requested, actual, bucket)}
        if ctx.search_warnings:
            payload["extensions"]["search"] = ctx.search_warnings
        return payload

    def _bucket(self, app: str) -> _Bucket:
        if app not in self._buckets:
            self._buckets[app] = _Bucket(
                self.bucket_size, self.restore_rate, self.clock()
            )
        return self._buckets[app]

    def throttle_status(self, app: str = "custom-app") -> dict[str, float | int]:
        """Return the bucket of ``app`` as Shopify reports it, refilled to now."""
        with self.lock:
            bucket = self._bucket(app)
            bucket.refill(self.clock())
            return bucket.status()


def _served_version(version: str) -> str | None:
    # Older versions fall forward to the oldest one simulated, as Shopify does for
    # versions past support; newer ones keep 2026-04 semantics. Others are not routes.
    if version == "unstable":
        return version
    if _VERSION.match(version) is None:
        return None
    return max(version, SERVED_FROM)


def _number(order_id: int | str) -> int:
    number = order_id if isinstance(order_id, int) else parse_gid(order_id, "Order")
    if number is None:
        raise ValueError(f"not an order ID: {order_id!r}")
    return number


def _form_or_json(request: Request) -> dict[str, str]:
    kind = request.header("content-type") or ""
    try:
        if "json" in kind:
            data = request.json()
            return {str(k): str(v) for k, v in data.items()}
        parsed = parse_qs(request.body.decode("utf-8"))
    except (ValueError, AttributeError):
        return {}
    return {k: v[0] for k, v in parsed.items()}


def _cost(requested: int, actual: int | None, bucket: _Bucket) -> dict[str, Any]:
    return {
        "requestedQueryCost": requested,
        "actualQueryCost": actual,
        "throttleStatus": bucket.status(),
    }


def _max_cost_error(requested: int) -> dict[str, Any]:
    return {
        "message": (
            f"Query cost is {requested}, which exceeds the single query max cost "
            f"limit ({MAX_SINGLE_QUERY_COST})."
        ),
        "extensions": {
            "code": "MAX_COST_EXCEEDED",
            "cost": requested,
            "maxCost": MAX_SINGLE_QUERY_COST,
        },
    }


def _not_simulated(error: GraphQLError, published: GraphQLSchema | None) -> Any:
    formatted = shopify_schema.shopify_error(error)
    if published is not None:
        # The published schema accepted it, so this is a gap in the simulator.
        formatted["message"] = f"not simulated: {error.message}"
        formatted["extensions"] = {"code": "NOT_SIMULATED"}
    return formatted
