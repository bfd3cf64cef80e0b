"""A local eBay simulator: OAuth, Sell Inventory, Fulfillment orders, and limits.

Serve ``EbaySimulator().app`` with ``SimServer``. It answers eBay's own paths with
eBay's shapes (``{"errors": [{"errorId", "message", ...}]}``), enforces Bearer tokens
that expire after 2 hours, the 250 revisions per listing per day, and ends a
fixed-price listing at quantity 0 unless out-of-stock control is on. Request bodies
are checked against eBay's OpenAPI documents when they are present. Routes under
``/_sandbox/`` seed and inspect it, ring buyer checkouts and inject faults.
"""

from __future__ import annotations

import base64
import random
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from stackknack_cli.sandbox.ebay_routes import ApiError, InventoryRoutes
from stackknack_cli.sandbox.ebay_spec import (
    DEFAULT_SPEC_DIR,
    INVENTORY_SPEC,
    SpecValidator,
)
from stackknack_cli.sandbox.ebay_state import (
    Grant,
    InventoryItem,
    LineItem,
    Offer,
    Order,
    OutsideListing,
    stamp,
)
from stackknack_cli.sandbox.server import Request, Response
from stackknack_cli.sandbox.shopify_faults import FaultPlan

ACCESS_LIFETIME = 7200
REFRESH_LIFETIME = 47_304_000
PER_SECOND = 40
DAILY_REVISIONS = 250
TOKEN_PATH = "/identity/v1/oauth2/token"
AUTHORIZE_PATH = "/oauth2/authorize"
"""The consent page (auth.ebay.com in production; served here on the same port)."""
ACCEPTED_PATH = "/_consent/accepted"
"""Where the consent page sends the browser: the RuName's accept URL."""


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return Response.json({"error": error, "error_description": description}, status)


class EbaySimulator(InventoryRoutes):
    """Thread-safe eBay seller state with the REST routes over it.

    ``clock`` gives Unix seconds and ``sleep`` waits (both injectable); ``seed`` fixes
    ids and random faults. The accepted app keys are ``client_id``,
    ``client_secret`` and ``ru_name``; ``consent_code`` is a code the token endpoint
    takes once (``new_consent_code`` makes more); ``refresh_token`` and
    ``access_token`` are a ready pair. ``out_of_stock_control`` is the seller's
    setting.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        out_of_stock_control: bool = False,
        spec_dir: Path | None = DEFAULT_SPEC_DIR,
        per_second: int = PER_SECOND,
        user_name: str = "sandbox-sneakers",
    ) -> None:
        self.rng = random.Random(seed)
        self.clock = clock
        self.sleep = sleep
        self.out_of_stock_control = out_of_stock_control
        self.per_second = per_second
        self.user_name = user_name
        self.faults = FaultPlan(self.rng)
        self.token_faults = FaultPlan(self.rng)
        self.spec = SpecValidator((spec_dir or DEFAULT_SPEC_DIR) / INVENTORY_SPEC)

        self.items: dict[str, InventoryItem] = {}
        self.offers: dict[str, Offer] = {}
        self.outside: dict[str, OutsideListing] = {}
        self.orders: dict[str, Order] = {}
        self.revisions: dict[tuple[str, str], int] = defaultdict(int)
        self.requests: list[tuple[str, str]] = []
        self.throttled = 0
        self._starts: deque[float] = deque()
        self._lock = threading.RLock()

        self.client_id = "Sandbox-stackkna-SBX-" + self._hex(8)
        self.client_secret = "SBX-" + self._hex(24)
        self.ru_name = "Sandbox_Sneaker-Sandbox-stackk-" + self._hex(6)
        self.access_grants: dict[str, Grant] = {}
        self.refresh_grants: dict[str, Grant] = {}
        self.codes: set[str] = set()
        self.consent_code = self.new_consent_code()
        pair = self.issue_tokens()
        self.access_token = str(pair["access_token"])
        self.refresh_token = str(pair["refresh_token"])

    def _hex(self, size: int) -> str:
        return f"{self.rng.getrandbits(size * 4):0{size}x}"

    def _digits(self, size: int) -> str:
        return str(self.rng.randrange(10 ** (size - 1), 10**size))

    # Tokens.

    def new_consent_code(self) -> str:
        """Make a code as eBay's consent page would redirect with (single use)."""
        with self._lock:
            code = f"v^1.1#i^1#p^3#r^1#I^3#f^0#t^{self._hex(40)}"
            self.codes.add(code)
            return code

    def issue_tokens(self) -> dict[str, object]:
        """Issue an access and refresh token as a code exchange would."""
        with self._lock:
            now = self.clock()
            access = f"v^1.1#i^1#f^0#I^3#r^0#p^3#t^{self._hex(64)}"
            refresh = f"v^1.1#i^1#r^1#I^3#f^0#p^3#t^{self._hex(64)}"
            self.access_grants[access] = Grant(now + ACCESS_LIFETIME)
            self.refresh_grants[refresh] = Grant(now + REFRESH_LIFETIME)
            return {
                "access_token": access,
                "expires_in": ACCESS_LIFETIME,
                "refresh_token": refresh,
                "refresh_token_expires_in": REFRESH_LIFETIME,
                "token_type": "User Access Token",
            }

    def revoke(self, refresh_token: str | None = None) -> None:
        """Revoke a refresh token (default: the ready one), as a seller can."""
        with self._lock:
            self.refresh_grants[refresh_token or self.refresh_token].revoked = True

    def _token(self, request: Request) -> Response:
        fault = self.token_faults.take()
        if fault is not None:
            return fault.response()
        expected = f"{self.client_id}:{self.client_secret}".encode()
        header = request.header("authorization") or ""
        scheme, _, value = header.partition(" ")
        try:
            given = base64.b64decode(value, validate=True)
        except ValueError:
            given = b""
        if scheme.lower() != "basic" or given != expected:
            return _oauth_error("invalid_client", "client authentication failed", 401)
        kind = (request.header("content-type") or "").split(";")[0].strip()
        if kind != "application/x-www-form-urlencoded":
            return _oauth_error("invalid_request", "request is missing a form body")
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        grant_type = form.get("grant_type")
        with self._lock:
            if grant_type == "authorization_code":
                if form.get("redirect_uri") != self.ru_name:
                    return _oauth_error("invalid_grant", "redirect_uri does not match")
                if form.get("code") not in self.codes:
                    return _oauth_error(
                        "invalid_grant",
                        "the provided authorization grant code is invalid",
                    )
                self.codes.discard(form["code"])
                return Response.json(self.issue_tokens())
            if grant_type == "refresh_token":
                grant = self.refresh_grants.get(form.get("refresh_token", ""))
                if grant is None or grant.revoked or self.clock() >= grant.expires_at:
                    return _oauth_error(
                        "invalid_grant",
                        "the provided authorization refresh token is invalid or was "
                        "issued to another client",
                    )
                access = f"v^1.1#i^1#f^0#I^3#r^0#p^3#t^{self._hex(64)}"
                self.access_grants[access] = Grant(self.clock() + ACCESS_LIFETIME)
                payload = {
                    "access_token": access,
                    "expires_in": ACCESS_LIFETIME,
                    "token_type": "User Access Token",
                }
                return Response.json(payload)
        return _oauth_error("unsupported_grant_type", "grant type not supported")

    # Seeding and buyer actions, as plain Python calls.

    def seed(
        self,
        sku: str,
        *,
        quantity: int,
        title: str = "",
        published: bool = True,
        available: int | None = None,
        price: str = "100.00",
    ) -> str:
        """Create an inventory item and one fixed-price offer; return the offer id."""
        with self._lock:
            self.items[sku] = InventoryItem(sku, quantity, title or sku)
            offer = Offer(self._digits(10), sku, price, available)
            self.offers[offer.offer_id] = offer
            if published:
                self._publish(offer)
            return offer.offer_id

    def seed_outside(self, *, sku: str = "", quantity: int, title: str = "") -> str:
        """Add a listing made outside the Inventory API; return its listing id."""
        with self._lock:
            listing = OutsideListing(self._digits(12), sku, quantity, title)
            self.outside[listing.listing_id] = listing
            return listing.listing_id

    def offers_of(self, sku: str) -> list[Offer]:
        with self._lock:
            return [o for o in self.offers.values() if o.sku == sku]

    def listed_quantity(self, offer: Offer) -> int:
        item = self.items[offer.sku]
        if offer.available is None:
            return item.quantity
        return min(offer.available, item.quantity)

    def _settle(self, offer: Offer) -> None:
        """Apply eBay's rule at 0: end the listing, or keep it out of stock."""
        if not offer.is_live:
            return
        if self.listed_quantity(offer) > 0:
            offer.listing_status = "ACTIVE"
        elif self.out_of_stock_control:
            offer.listing_status = "OUT_OF_STOCK"
        else:
            offer.listing_status = "ENDED"

    def sell(self, sku: str, quantity: int = 1) -> str:
        """A buyer checks out ``quantity`` units of a SKU; return the order id.

        eBay takes the units off the item and the offer itself; the listing ends at 0
        unless out-of-stock control is on. ``sku`` may also be an outside listing id.
        """
        with self._lock:
            if sku in self.outside:
                return self._sell_outside(self.outside[sku], quantity)
            offer = next((o for o in self.offers_of(sku) if o.is_live), None)
            if offer is None or offer.listing_status != "ACTIVE":
                raise ApiError(400, 25713, f"No active listing for SKU {sku}")
            if self.listed_quantity(offer) < quantity:
                raise ApiError(400, 25002, f"Only {self.listed_quantity(offer)} left")
            self.items[sku].quantity -= quantity
            if offer.available is not None:
                offer.available -= quantity
            offer.sold += quantity
            listing_id = str(offer.listing_id)
            self._settle(offer)
            return self._order(sku, listing_id, quantity, self.items[sku].title)

    def _sell_outside(self, listing: OutsideListing, quantity: int) -> str:
        if listing.status != "ACTIVE" or listing.quantity < quantity:
            raise ApiError(400, 25002, f"Listing {listing.listing_id} cannot sell")
        listing.quantity -= quantity
        if listing.quantity == 0 and not self.out_of_stock_control:
            listing.status = "ENDED"
        return self._order(listing.sku, listing.listing_id, quantity, listing.title)

    def _order(self, sku: str, listing_id: str, quantity: int, title: str) -> str:
        now = stamp(self.clock)
        order_id = f"{self._digits(2)}-{self._digits(5)}-{self._digits(5)}"
        line = LineItem(self._digits(11), sku, listing_id, quantity, title)
        self.orders[order_id] = Order(
            order_id, now, now, self.user_name, line_items=[line]
        )
        return order_id

    def cancel(self, order_id: str) -> None:
        """Cancel an order (stock is not put back, as with a seller's cancellation)."""
        with self._lock:
            order = self.orders[order_id]
            order.cancel_state = "CANCELED"
            order.modified = order.cancelled_date = stamp(self.clock)

    def day(self) -> str:
        return datetime.fromtimestamp(self.clock(), tz=UTC).date().isoformat()

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "out_of_stock_control": self.out_of_stock_control,
                "items": [item.to_json() for item in self.items.values()],
                "offers": [offer.to_json() for offer in self.offers.values()],
                "outside": [vars(listing) for listing in self.outside.values()],
                "orders": [order.to_json() for order in self.orders.values()],
                "revisions": {
                    lid: n
                    for (lid, day), n in self.revisions.items()
                    if day == self.day()
                },
                "requests": len(self.requests),
                "throttled": self.throttled,
            }

    # The HTTP face.

    def app(self, request: Request) -> Response:
        if request.path.startswith("/_sandbox/"):
            try:
                return self._control(request)
            except (ApiError, KeyError, ValueError, TypeError) as exc:
                return Response.json({"message": str(exc)}, 400)
        with self._lock:
            self.requests.append((request.method, request.path))
        if request.method == "POST" and request.path == TOKEN_PATH:
            return self._token(request)
        if request.method == "GET" and request.path == AUTHORIZE_PATH:
            return self._consent(request)
        if request.method == "GET" and request.path == ACCEPTED_PATH:
            return Response(
                200,
                b"Consent granted. Paste this page's address into stackknack.\n",
                {"Content-Type": "text/plain; charset=utf-8"},
            )
        try:
            self._authenticate(request)
            self._admit()
            fault = self.faults.take()
            if fault is not None:
                if fault.kind == "delay":
                    self.sleep(fault.seconds)
                else:
                    return fault.response()
            with self._lock:
                return self.route(request)
        except ApiError as exc:
            return exc.response()

    def _consent(self, request: Request) -> Response:
        """The consent page, as if the seller signed in and agreed at once: a
        redirect to the RuName's accept URL with a single-use code."""
        if request.arg("client_id") != self.client_id:
            return _oauth_error("invalid_request", "unknown client_id")
        if request.arg("redirect_uri") != self.ru_name:
            return _oauth_error(
                "invalid_request", "redirect_uri is not the app's RuName"
            )
        if request.arg("response_type") != "code":
            return _oauth_error(
                "unsupported_response_type", "response_type must be code"
            )
        query = {"code": self.new_consent_code(), "expires_in": "299"}
        if request.arg("state") is not None:
            query = {"state": request.arg("state") or "", **query}
        location = f"{ACCEPTED_PATH}?{urlencode(query)}"
        return Response(302, b"", {"Location": location})

    def _authenticate(self, request: Request) -> None:
        header = request.header("authorization") or ""
        scheme, _, token = header.partition(" ")
        with self._lock:
            grant = (
                self.access_grants.get(token) if scheme.lower() == "bearer" else None
            )
            if grant is None or self.clock() >= grant.expires_at:
                raise ApiError(401, 1001, "Invalid access token", domain="OAuth")

    def _admit(self) -> None:
        with self._lock:
            now = self.clock()
            while self._starts and now - self._starts[0] >= 1.0:
                self._starts.popleft()
            if len(self._starts) >= self.per_second:
                self.throttled += 1
                raise ApiError(
                    429,
                    2001,
                    "Too many requests. The request limit has been reached.",
                    domain="ACCESS",
                )
            self._starts.append(now)

    def _control(self, request: Request) -> Response:
        action = request.path.removeprefix("/_sandbox/")
        if request.method == "GET" and action == "state":
            return Response.json(self.state())
        body = request.json() if request.body else {}
        if request.method != "POST":
            return Response.json({"message": "Not Found"}, 404)
        if action == "items":
            specs = body if isinstance(body, list) else [body]
            return Response.json({"offer_ids": [self.seed(**spec) for spec in specs]})
        if action == "outside":
            return Response.json({"listing_id": self.seed_outside(**body)})
        if action == "sell":
            order_id = self.sell(str(body["sku"]), int(body.get("quantity", 1)))
            return Response.json({"order_id": order_id})
        if action == "cancel":
            self.cancel(str(body["order_id"]))
            return Response.json({"order_id": body["order_id"]})
        if action == "settings":
            if "out_of_stock_control" in body:
                self.out_of_stock_control = bool(body["out_of_stock_control"])
            return Response.json({"out_of_stock_control": self.out_of_stock_control})
        if action == "revoke":
            self.revoke(body.get("refresh_token"))
            return Response.json({"revoked": True})
        if action in ("faults", "token_faults"):
            plan = self.faults if action == "faults" else self.token_faults
            plan.configure(body)
            return Response.json({"down": plan.is_down})
        return Response.json({"message": "Not Found"}, 404)
