"""The Clover POS channel, over Clover's REST v3 API.

A listing is one Clover inventory item (``channel_ref`` = item id); its quantity is the
item's ``itemStock.quantity``, a decimal Clover lets go negative, floored here. SKU is
the item's ``sku``, or its product ``code`` when ``sku`` is blank and
``use_code_as_sku`` holds (many merchants only scan a barcode into ``code``).

A sale is a line item of an order whose ``paymentState`` is ``PAID`` or
``PARTIALLY_REFUNDED``: open tabs are skipped until paid (paying them changes their
``modifiedTime``, so a later read finds them), and refunded or exchanged line items are
not sales. Clover's register rings each unit as its own line item; a line priced per
unit carries ``unitQty`` in thousandths and counts as ``floor(unitQty / 1000)`` units.

Stock is written one item per call: ``item_stocks`` takes one absolute quantity and
Clover's bulk item update cannot change stock. The live stock each write is compared
with is read for a whole batch at once (``filter=id in (...)``), so a batch of ``n``
pushes costs ``n`` writes and one read.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from stackknack_cli.channels.base import (
    Push,
    PushResult,
    PushStatus,
    RemoteListing,
    ReturnLine,
    SaleLine,
    SalesBatch,
)
from stackknack_cli.channels.clover_tokens import RECONNECT, TokenProvider
from stackknack_cli.channels.http import (
    RetryPolicy,
    raise_for_retry,
    send_with_token,
)
from stackknack_cli.errors import ChannelError, ChannelUnavailableError, CredentialError

log = logging.getLogger(__name__)

REGIONS: dict[str, str] = {
    "na": "https://api.clover.com",
    "eu": "https://api.eu.clover.com",
    "la": "https://api.la.clover.com",
    "sandbox": "https://apisandbox.dev.clover.com",
}

ORDER_WINDOW = timedelta(days=90)
"""Clover refuses order queries spanning more than 90 days."""
WINDOW_SLACK = timedelta(minutes=5)
"""Kept off the 90-day limit so our clock running behind Clover's stays inside it."""
NESTED_CAP = 100
"""Clover cuts an expanded collection (an order's line items) at 100 elements."""
PAID_STATES = frozenset({"PAID", "PARTIALLY_REFUNDED", "REFUNDED"})
"""Payment states of an order whose lines were sold (and may have come back)."""
UNIT_QTY_SCALE = 1000
REQUESTS_PER_SECOND = 15
"""One under Clover's 16 per token, so network jitter cannot bunch us over it."""
READ_BATCH = 100
"""Items read in one ``id in (...)`` list call: the most Clover recommends per query."""


class RequestPacer:
    """Space calls so no more than ``per_second`` start within any one second."""

    def __init__(
        self,
        per_second: int = REQUESTS_PER_SECOND,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_second = per_second
        self.clock = clock
        self.sleep = sleep
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until one more call fits in the window, then count it."""
        with self._lock:
            now = self.clock()
            while self._starts and now - self._starts[0] >= 1.0:
                self._starts.popleft()
            if len(self._starts) >= self.per_second:
                slot = self._starts.popleft() + 1.0
                self.sleep(slot - now)
                now = max(self.clock(), slot)
            self._starts.append(now)


def _to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _from_ms(value: object) -> datetime | None:
    if not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def _floor(value: object) -> int:
    if isinstance(value, int | float) and math.isfinite(value):
        return math.floor(value)
    return 0


def _units(line: Mapping[str, Any]) -> int:
    """Return the units a line item sold: 1, or ``floor(unitQty / 1000)`` for a line
    priced per unit."""
    unit_qty = line.get("unitQty")
    if isinstance(unit_qty, int | float):
        return _floor(unit_qty / UNIT_QTY_SCALE)
    return 1


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])[:200]
    return response.reason_phrase


class CloverChannel:
    """One Clover merchant, read and written through the REST v3 API.

    Every method makes network calls (see ``Channel``). ``base_url`` is a value of
    ``REGIONS`` or a simulator's address; the caller owns ``client``.
    """

    name = "clover"
    batch_size = READ_BATCH

    def __init__(
        self,
        client: httpx.Client,
        *,
        merchant_id: str,
        tokens: TokenProvider,
        base_url: str = REGIONS["na"],
        policy: RetryPolicy | None = None,
        pacer: RequestPacer | None = None,
        clock: Callable[[], float] = time.time,
        page_size: int = 1000,
        use_code_as_sku: bool = True,
    ) -> None:
        self.client = client
        self.merchant_id = merchant_id
        self.tokens = tokens
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.pacer = pacer or RequestPacer(sleep=self.policy.sleep)
        self.clock = clock
        self.page_size = page_size
        self.use_code_as_sku = use_code_as_sku
        self._skus: dict[str, str | None] = {}

    @property
    def _merchant_path(self) -> str:
        return f"/v3/merchants/{self.merchant_id}"

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str | int]] = (),
        body: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """Make one call, retried, renewing the token once; return any non-401 reply."""
        url = f"{self.base_url}{path}"

        def attempt(token: str) -> httpx.Response:
            self.pacer.wait()
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            response = self.client.request(
                method, url, params=list(params), json=body, headers=headers
            )
            return raise_for_retry(response)

        response = send_with_token(self.name, self.tokens, attempt, self.policy)
        if response.status_code in (401, 403):
            raise CredentialError(
                f"clover refused the stored credentials for merchant "
                f"{self.merchant_id} (HTTP {response.status_code}); {RECONNECT}"
            )
        return response

    def _get_json(
        self, path: str, params: Sequence[tuple[str, str | int]] = ()
    ) -> dict[str, Any] | None:
        """GET ``path``: its JSON object, ``None`` on 404; other errors raise."""
        response = self._send("GET", path, params=params)
        if response.status_code == 404:
            return None
        self._expect_ok(response, "GET", path)
        payload = response.json()
        if not isinstance(payload, dict):
            raise ChannelError(f"clover answered GET {path} with no JSON object")
        return payload

    def _expect_ok(self, response: httpx.Response, method: str, path: str) -> None:
        if response.status_code >= 400:
            raise ChannelError(
                f"clover answered {method} {path} with HTTP {response.status_code}: "
                f"{_message(response)}"
            )

    def _pages(
        self, path: str, params: Sequence[tuple[str, str | int]], limit: int
    ) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            page_params = [*params, ("limit", limit), ("offset", offset)]
            payload = self._get_json(path, page_params)
            if payload is None:
                raise ChannelError(f"clover has no {path}; check the merchant id")
            elements = payload.get("elements") or []
            yield from elements
            if len(elements) < limit:
                return
            offset += len(elements)

    def check(self) -> str:
        payload = self._get_json(self._merchant_path)
        if payload is None:
            raise ChannelError(f"clover has no merchant {self.merchant_id}")
        return str(payload.get("name") or self.merchant_id)

    def _sku_of(self, item: Mapping[str, Any]) -> str | None:
        sku = str(item.get("sku") or "").strip()
        if not sku and self.use_code_as_sku:
            sku = str(item.get("code") or "").strip()
        return sku or None

    def _listing(self, item: Mapping[str, Any]) -> RemoteListing:
        stock = item.get("itemStock") or {}
        sku = self._sku_of(item)
        self._skus[str(item["id"])] = sku
        return RemoteListing(
            channel_ref=str(item["id"]),
            sku=sku,
            quantity=_floor(stock.get("quantity")),
            title=str(item.get("name") or ""),
            active=bool(item.get("available", True)) and not item.get("hidden", False),
            details={
                "code": item.get("code"),
                "auto_manage": bool(item.get("autoManage", False)),
                "has_stock": "quantity" in stock,
            },
        )

    def fetch_listings(self) -> Iterator[RemoteListing]:
        path = f"{self._merchant_path}/items"
        for item in self._pages(path, [("expand", "itemStock")], self.page_size):
            yield self._listing(item)

    def _windows(self, since: datetime) -> Iterator[tuple[datetime, datetime]]:
        end = datetime.fromtimestamp(self.clock(), tz=UTC)
        oldest = end - ORDER_WINDOW + WINDOW_SLACK
        start = since
        if start < oldest:
            log.warning(
                "clover: orders older than 90 days cannot be read; starting at %s "
                "instead of %s",
                oldest.isoformat(),
                since.isoformat(),
            )
            start = oldest
        width = ORDER_WINDOW - WINDOW_SLACK
        while start <= end:
            stop = min(start + width, end)
            yield start, stop
            if stop >= end:
                return
            start = stop

    def _line_items(self, order: Mapping[str, Any]) -> list[dict[str, Any]]:
        elements = list((order.get("lineItems") or {}).get("elements") or [])
        if len(elements) < NESTED_CAP:
            return elements
        path = f"{self._merchant_path}/orders/{order['id']}/line_items"
        return list(self._pages(path, [], self.page_size))

    def _sale_lines(
        self, order: Mapping[str, Any], items: Sequence[Mapping[str, Any]]
    ) -> list[SaleLine]:
        # A refunded order's lines that no refund flagged (a refund of money) and
        # exchanged lines are not counted back when read after the sale, so a first
        # reading counts them as sold too.
        if order.get("paymentState") not in PAID_STATES:
            return []
        occurred = _from_ms(order.get("createdTime"))
        lines = []
        for line in items:
            item_id = (line.get("item") or {}).get("id")
            if not item_id or line.get("refunded"):
                continue
            units = _units(line)
            if units <= 0:
                log.warning(
                    "clover: line %s sold a fraction of item %s; not counted",
                    line.get("id"),
                    item_id,
                )
                continue
            lines.append(
                SaleLine(
                    order_id=str(order["id"]),
                    line_id=str(line["id"]),
                    quantity=units,
                    sku=self._lookup_sku(str(item_id)),
                    channel_ref=str(item_id),
                    occurred_at=occurred,
                )
            )
        return lines

    def _returns(
        self, order: Mapping[str, Any], items: Sequence[Mapping[str, Any]]
    ) -> list[ReturnLine]:
        """Return the refunded line items of a paid order, one return each.

        A refund is read as the unit coming back. Clover's order does not say whether
        the refund also put the unit back on the item's stock, so the item is pushed
        the new count: if Clover did add it, the push finds more than expected and
        writes the central count, which already holds it.
        """
        if order.get("paymentState") not in PAID_STATES:
            return []
        occurred = _from_ms(order.get("modifiedTime"))
        found = []
        # TODO: exchanged line items are not counted back: no Clover doc says so
        for line in items:
            units = _units(line)
            if not line.get("refunded") or units <= 0:
                continue
            found.append(
                ReturnLine(
                    key=f"{line['id']}/refunded",
                    order_id=str(order["id"]),
                    line_id=str(line["id"]),
                    quantity=units,
                    occurred_at=occurred,
                )
            )
        return found

    def _lookup_sku(self, item_id: str) -> str | None:
        if item_id not in self._skus:
            item = self._get_json(f"{self._merchant_path}/items/{item_id}")
            self._skus[item_id] = self._sku_of(item) if item is not None else None
        return self._skus[item_id]

    def fetch_sales(self, since: datetime) -> SalesBatch:
        path = f"{self._merchant_path}/orders"
        seen: set[str] = set()
        lines: list[SaleLine] = []
        returns: list[ReturnLine] = []
        newest: int | None = None
        for start, stop in self._windows(since):
            params: list[tuple[str, str | int]] = [
                ("filter", f"modifiedTime>={_to_ms(start)}"),
                ("filter", f"modifiedTime<={_to_ms(stop)}"),
                ("expand", "lineItems"),
            ]
            for order in self._pages(path, params, NESTED_CAP):
                order_id = str(order["id"])
                modified = order.get("modifiedTime")
                if isinstance(modified, int) and (newest is None or modified > newest):
                    newest = modified
                if order_id in seen:
                    continue
                seen.add(order_id)
                items = self._line_items(order)
                lines.extend(self._sale_lines(order, items))
                returns.extend(self._returns(order, items))
        log.info(
            "clover: read %d sale lines and %d refunded lines from %d orders",
            len(lines),
            len(returns),
            len(seen),
        )
        return SalesBatch(lines=lines, newest=_from_ms(newest), returns=returns)

    def _read_item(self, item_id: str) -> dict[str, Any] | None:
        path = f"{self._merchant_path}/items/{item_id}"
        return self._get_json(path, [("expand", "itemStock")])

    def read_quantities(self, refs: Sequence[str]) -> dict[str, int]:
        quantities = {}
        for ref in refs:
            item = self._read_item(ref)
            if item is not None:
                quantities[ref] = _floor((item.get("itemStock") or {}).get("quantity"))
        return quantities

    def _post(self, path: str, body: Mapping[str, Any]) -> httpx.Response:
        return self._send("POST", path, body=body)

    def _read_items(self, refs: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Read many items with their stock in one list call per ``READ_BATCH``."""
        found: dict[str, dict[str, Any]] = {}
        path = f"{self._merchant_path}/items"
        for start in range(0, len(refs), READ_BATCH):
            chunk = refs[start : start + READ_BATCH]
            quoted = ",".join(f"'{ref}'" for ref in chunk)
            params = [("filter", f"id in ({quoted})"), ("expand", "itemStock")]
            for item in self._pages(path, params, READ_BATCH):
                found[str(item["id"])] = item
        return found

    def _push_one(self, push: Push, item: Mapping[str, Any] | None) -> PushResult:
        ref = push.channel_ref
        if item is None:
            return PushResult(push.entry_id, PushStatus.REFUSED, reason="no such item")
        live = _floor((item.get("itemStock") or {}).get("quantity"))
        if push.expected is not None and live != push.expected:
            return PushResult(push.entry_id, PushStatus.MISMATCH, holds=live)

        # An item made unavailable because it ran out is offered again when stock
        # returns; one the merchant switched off while it still had stock stays off.
        available = bool(item.get("available", True))
        wanted = available
        if push.target <= 0:
            wanted = False
        elif not available and live <= 0:
            wanted = True

        # Going to 0, the till stops selling first; coming back, the stock is there
        # before the item is offered. A failure between the two calls leaves the item
        # on the safe side, and the result says what landed.
        if not wanted and available:
            self._set_available(ref, False)
        path = f"{self._merchant_path}/item_stocks/{ref}"
        response = self._post(path, {"quantity": push.target})
        if response.status_code in (400, 404):
            return PushResult(
                push.entry_id, PushStatus.REFUSED, reason=_message(response)
            )
        self._expect_ok(response, "POST", path)
        holds = _floor(response.json().get("quantity", push.target))
        if wanted and not available:
            try:
                self._set_available(ref, True)
            except ChannelError as exc:
                return PushResult(
                    push.entry_id, PushStatus.RETRY, holds=holds, reason=str(exc)
                )
        return PushResult(push.entry_id, PushStatus.DONE, holds=holds)

    def _set_available(self, ref: str, available: bool) -> None:
        path = f"{self._merchant_path}/items/{ref}"
        reply = self._post(path, {"available": available})
        self._expect_ok(reply, "POST", path)

    def push(self, pushes: Sequence[Push]) -> list[PushResult]:
        try:
            items = self._read_items(list(dict.fromkeys(p.channel_ref for p in pushes)))
        except ChannelUnavailableError as exc:
            log.warning("clover: %d pushes deferred: %s", len(pushes), exc)
            return [
                PushResult(p.entry_id, PushStatus.RETRY, reason=str(exc))
                for p in pushes
            ]
        except ChannelError as exc:
            return [
                PushResult(p.entry_id, PushStatus.REFUSED, reason=str(exc))
                for p in pushes
            ]
        results = []
        for push in pushes:
            try:
                results.append(self._push_one(push, items.get(push.channel_ref)))
            except ChannelUnavailableError as exc:
                log.warning("clover: push to %s deferred: %s", push.channel_ref, exc)
                results.append(
                    PushResult(push.entry_id, PushStatus.RETRY, reason=str(exc))
                )
            except ChannelError as exc:
                # A CredentialError is no ChannelError: it stops the whole batch.
                results.append(
                    PushResult(push.entry_id, PushStatus.REFUSED, reason=str(exc))
                )
        return results
