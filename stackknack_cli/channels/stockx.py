"""The StockX channel, over StockX's public API v2.

StockX has no quantity: a listing is one ask for one unit, so a variant holds as many
units as it has ACTIVE listings of inventory type STANDARD. FLEX listings are stock
already in StockX's warehouse, not on our shelf: they are never counted, and FLEX
orders are never sales of shelf stock. ``channel_ref`` is the variant id and ``sku`` is
``None`` (StockX has no seller SKU; see ``stockx_catalog`` for linking by style and
size).

Sales are read by polling active orders (StockX has no webhooks); an order is one
unit, and its ``orderNumber`` is both the order and the line id. Orders that ended
without a sale (CANCELED, and DIDNOTSHIP, AUTHFAILED and RETURNED, whose pair is not
counted back) are read from the order history at most every ``CANCEL_EVERY`` seconds,
as returns of their sale. Every write is
asynchronous: pushes return PENDING with the operation or batch id until StockX
reports the outcome (see ``stockx_push``). All calls go through ``DailyPacer``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from stackknack_cli.channels.base import (
    Push,
    PushResult,
    RemoteListing,
    ReturnLine,
    SaleLine,
    SalesBatch,
)
from stackknack_cli.channels.http import (
    RetryPolicy,
    raise_for_retry,
    send_with_token,
)
from stackknack_cli.channels.stockx_auth import RECONNECT, StockXTokens
from stackknack_cli.channels.stockx_pacer import DailyPacer
from stackknack_cli.errors import ChannelError, CredentialError
from stackknack_cli.store.usage import DailyUsage
from stackknack_cli.times import parse_time

log = logging.getLogger(__name__)

API_URL = "https://api.stockx.com/v2"
PAGE_SIZE = 100
"""StockX's largest page for listings and orders."""
SHELF = "STANDARD"
HELD_STATUSES = ("ACTIVE", "INACTIVE")
HISTORY_AFTER = timedelta(days=1)
"""Read order history too when ``since`` is older than this (a first sync)."""
SALE_HISTORY_STATUSES = frozenset({"COMPLETED"})
CANCEL_LOOKBACK = timedelta(days=30)
"""How far back (by creation date) cancelled orders are read."""
KEPT_AWAY = {
    "DIDNOTSHIP": "did not ship",
    "AUTHFAILED": "failed authentication",
    "RETURNED": "returned",
}
"""History statuses whose pair may be lost, failed or damaged: recorded as returns
that put nothing back (the reseller counts the pair by hand), with the cause the
journal shows."""
CANCEL_EVERY = 600.0
"""Seconds between two reads of cancelled orders by one adapter: a long-running
``watch`` keeps its polls to about one request each, as its pacing assumes."""

Params = Sequence[tuple[str, str | int]]


def message_of(response: httpx.Response) -> str:
    """Return StockX's error ``message`` (``PublicApiError``), cut short."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])[:200]
    return response.reason_phrase


def size_title(product_name: str, size: str) -> str:
    """Return a listing title in the catalogue's form, ending in ``/ US <size>``."""
    return f"{product_name} / US {size}" if size else product_name


class StockXChannel:
    """One StockX seller account, read and written through the public API v2.

    Every method makes network calls (see ``Channel``), each after ``pacer.wait()``.
    ``base_url`` is ``API_URL`` or a simulator's ``/v2`` address; the caller owns
    ``client``. ``usage`` keeps the day's count and the last call's time (this
    process's own when ``None``).
    """

    name = "stockx"
    batch_size = 10
    """Pushes per call: each costs a second or two of the one-a-second allowance."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        tokens: StockXTokens,
        base_url: str = API_URL,
        policy: RetryPolicy | None = None,
        pacer: DailyPacer | None = None,
        usage: DailyUsage | None = None,
        clock: Callable[[], float] = time.time,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.client = client
        self.tokens = tokens
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.pacer = pacer or DailyPacer(
            clock=clock, sleep=self.policy.sleep, usage=usage
        )
        self.clock = clock
        self.page_size = page_size
        self._cancels_read_at: float | None = None

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Params = (),
        body: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """Make one paced call with both credentials; renew the token once on 401."""
        url = f"{self.base_url}{path}"
        api_key = self.tokens.api_key()

        def attempt(token: str) -> httpx.Response:
            self.pacer.wait()
            headers = {
                "x-api-key": api_key,
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
            }
            response = self.client.request(
                method, url, params=list(params), json=body, headers=headers
            )
            return raise_for_retry(response)

        response = send_with_token(self.name, self.tokens, attempt, self.policy)
        if response.status_code in (401, 403):
            what = "API key" if response.status_code == 403 else "user token"
            raise CredentialError(
                f"stockx refused the stored {what} (HTTP {response.status_code}); "
                f"{RECONNECT}"
            )
        return response

    def get_json(self, path: str, params: Params = ()) -> Any:
        """GET ``path`` and return its JSON; ``None`` on 404; other errors raise."""
        response = self.send("GET", path, params=params)
        if response.status_code == 404:
            return None
        self.expect_ok(response, "GET", path)
        try:
            return response.json()
        except ValueError:
            raise ChannelError(f"stockx answered GET {path} with no JSON") from None

    def expect_ok(self, response: httpx.Response, method: str, path: str) -> None:
        if response.status_code >= 400:
            raise ChannelError(
                f"stockx answered {method} {path} with HTTP {response.status_code}: "
                f"{message_of(response)}"
            )

    def pages(
        self, path: str, key: str, params: Params = ()
    ) -> Iterator[dict[str, Any]]:
        """Yield the ``key`` rows of every page (``pageNumber`` counts from 1)."""
        number = 1
        while True:
            page_params = [
                *params,
                ("pageNumber", number),
                ("pageSize", self.page_size),
            ]
            payload = self.get_json(path, page_params)
            if not isinstance(payload, dict):
                raise ChannelError(f"stockx answered GET {path} with no page")
            yield from payload.get(key) or []
            if not payload.get("hasNextPage"):
                return
            number += 1

    def check(self) -> str:
        payload = self.get_json(
            "/selling/listings", [("pageNumber", 1), ("pageSize", 1)]
        )
        if not isinstance(payload, dict):
            raise ChannelError("stockx answered the listings check with no page")
        return f"StockX seller ({int(payload.get('count') or 0)} listings)"

    def listings(
        self,
        *,
        variant_ids: Sequence[str] = (),
        statuses: Sequence[str] = HELD_STATUSES,
        inventory_types: Sequence[str] = (),
    ) -> Iterator[dict[str, Any]]:
        """Yield raw listings, filtered as StockX allows (comma-separated lists)."""
        params: list[tuple[str, str | int]] = [("listingStatuses", ",".join(statuses))]
        if variant_ids:
            params.append(("variantIds", ",".join(variant_ids)))
        if inventory_types:
            params.append(("inventoryTypes", ",".join(inventory_types)))
        yield from self.pages("/selling/listings", "listings", params)

    def fetch_listings(self) -> Iterator[RemoteListing]:
        by_variant: dict[str, list[dict[str, Any]]] = {}
        for listing in self.listings():
            variant_id = (listing.get("variant") or {}).get("variantId")
            if variant_id:
                by_variant.setdefault(str(variant_id), []).append(listing)
        for variant_id, rows in by_variant.items():
            yield variant_listing(variant_id, rows)

    def read_quantities(self, refs: Sequence[str]) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for start in range(0, len(refs), self.page_size):
            chunk = list(refs[start : start + self.page_size])
            for listing in self.listings(
                variant_ids=chunk, statuses=("ACTIVE",), inventory_types=(SHELF,)
            ):
                if is_shelf_ask(listing):
                    counts[str(listing["variant"]["variantId"])] += 1
        # A variant with no active listing holds 0; StockX cannot tell it is gone.
        return {ref: counts[ref] for ref in refs}

    def _orders(self, path: str, params: Params) -> Iterator[dict[str, Any]]:
        yield from self.pages(path, "orders", [*params, ("inventoryTypes", SHELF)])

    def fetch_sales(self, since: datetime) -> SalesBatch:
        now = datetime.fromtimestamp(self.clock(), tz=UTC)
        orders = list(
            self._orders("/selling/orders/active", [("sortOrder", "CREATEDAT")])
        )
        if since < now - HISTORY_AFTER:
            history = self._orders(
                "/selling/orders/history", [("fromDate", since.date().isoformat())]
            )
            orders += [
                order
                for order in history
                if str(order.get("status")) in SALE_HISTORY_STATUSES
            ]
        ended: list[dict[str, Any]] = []
        last = self._cancels_read_at
        if last is None or self.clock() - last >= CANCEL_EVERY:
            ended = self._ended_orders(min(since, now - CANCEL_LOOKBACK))
            self._cancels_read_at = self.clock()
        returns = [back for back in map(order_return, ended) if back is not None]
        cancelled = {back.order_id for back in returns if back.restocked}
        # An order that ended away from the shelf was still a sale: one not read
        # while active is read here, and its return is recorded after it.
        orders += [o for o in ended if str(o.get("status")) in KEPT_AWAY]
        lines: dict[str, SaleLine] = {}
        newest: datetime | None = None
        for order in orders:
            line = sale_line(order)
            # An order cancelled between the two reads is not a sale in this batch.
            if line is None or line.order_id in lines or line.order_id in cancelled:
                continue
            if line.occurred_at is not None and line.occurred_at < since:
                continue
            lines[line.order_id] = line
            # The creation time, not updatedAt: a status change on an old order must
            # not move the cursor past a newer order StockX has yet to show.
            stamp = line.occurred_at
            if stamp is not None and (newest is None or stamp > newest):
                newest = stamp
        log.info(
            "stockx: read %d sales from %d orders, %d ended without a sale",
            len(lines),
            len(orders),
            len(returns),
        )
        return SalesBatch(lines=list(lines.values()), newest=newest, returns=returns)

    def _ended_orders(self, since: datetime) -> list[dict[str, Any]]:
        """Return the orders created since ``since`` that ended without a sale.

        One request per status (StockX filters the history by one status at a
        time), usually one page each. Only CANCELED is read as the unit staying with
        the seller: DIDNOTSHIP, AUTHFAILED and RETURNED orders may leave the pair
        lost, failed or damaged, so the reseller counts those by hand.
        """
        found: dict[str, dict[str, Any]] = {}
        for status in ("CANCELED", *KEPT_AWAY):
            params = [("fromDate", since.date().isoformat()), ("orderStatus", status)]
            for order in self._orders("/selling/orders/history", params):
                if str(order.get("status")) == status:
                    found.setdefault(str(order.get("orderNumber")), order)
        return list(found.values())

    def push(self, pushes: Sequence[Push]) -> list[PushResult]:
        from stackknack_cli.channels.stockx_push import push_all

        return push_all(self, pushes)

    def budget(self) -> Mapping[str, Any]:
        return self.pacer.remaining()

    def search_catalog(self, query: str, *, limit: int = 50) -> list[dict[str, Any]]:
        """Return catalogue products matching a keyword, GTIN or style id (one page)."""
        payload = self.get_json(
            "/catalog/search",
            [("query", query[:100]), ("pageNumber", 1), ("pageSize", min(limit, 50))],
        )
        products = payload.get("products") if isinstance(payload, dict) else None
        return [p for p in products or [] if isinstance(p, dict)]

    def product_variants(self, product_id: str) -> list[dict[str, Any]]:
        """Return a catalogue product's variants (sizes); empty when unknown."""
        payload = self.get_json(f"/catalog/products/{product_id}/variants")
        return [v for v in payload or [] if isinstance(v, dict)]


def is_shelf_ask(listing: Mapping[str, Any]) -> bool:
    """Tell whether a listing is one of our units for sale: ACTIVE and STANDARD."""
    kind = listing.get("inventoryType") or SHELF
    return listing.get("status") == "ACTIVE" and kind == SHELF


def variant_listing(
    variant_id: str, rows: Sequence[Mapping[str, Any]]
) -> RemoteListing:
    """Fold one variant's listings into a ``RemoteListing`` (FLEX counted apart)."""
    first = rows[0]
    product = first.get("product") or {}
    variant = first.get("variant") or {}
    shelf = [row for row in rows if is_shelf_ask(row)]
    flex = [row for row in rows if row.get("inventoryType") == "FLEX"]
    priced = sorted(
        (
            row
            for row in rows
            if row.get("inventoryType") != "FLEX" and row.get("amount")
        ),
        key=lambda row: str(row.get("updatedAt") or ""),
    )
    size = str(variant.get("variantValue") or "")
    details: dict[str, Any] = {
        "style_id": product.get("styleId"),
        "size": size,
        "product_id": product.get("productId"),
        "variant_name": variant.get("variantName"),
        "flex": sum(1 for row in flex if row.get("status") == "ACTIVE"),
        "inactive": sum(1 for row in rows if row.get("status") == "INACTIVE"),
    }
    if priced:
        details["ask"] = str(priced[-1]["amount"])
        details["currency"] = str(priced[-1].get("currencyCode") or "USD")
    return RemoteListing(
        channel_ref=variant_id,
        sku=None,
        quantity=len(shelf),
        title=size_title(str(product.get("productName") or ""), size),
        active=bool(shelf),
        details=details,
    )


def sale_line(order: Mapping[str, Any]) -> SaleLine | None:
    """Return the one-unit sale of a STANDARD order; ``None`` for FLEX or odd rows."""
    number = order.get("orderNumber")
    if not number or (order.get("inventoryType") or SHELF) != SHELF:
        return None
    variant_id = (order.get("variant") or {}).get("variantId")
    return SaleLine(
        order_id=str(number),
        line_id=str(number),
        quantity=1,
        sku=None,
        channel_ref=str(variant_id) if variant_id else None,
        occurred_at=parse_time(order.get("createdAt")),
    )


def order_return(order: Mapping[str, Any]) -> ReturnLine | None:
    """Return how a STANDARD order that ended without a sale gave its unit back.

    A CANCELED order's pair is back on the shelf; StockX closes the order's listing
    rather than reopening its ask, so the variant is pushed the new count like any
    other listing. A ``KEPT_AWAY`` status is recorded as a return that is not
    restocked.
    """
    status = str(order.get("status"))
    if status != "CANCELED" and status not in KEPT_AWAY:
        return None
    line = sale_line(order)
    if line is None:
        return None
    restocked = status == "CANCELED"
    return ReturnLine(
        key=f"{line.order_id}/{'cancel' if restocked else status.lower()}",
        order_id=line.order_id,
        line_id=line.line_id,
        quantity=1,
        cause="cancel" if restocked else KEPT_AWAY[status],
        restocked=restocked,
        occurred_at=parse_time(order.get("updatedAt")),
    )
