"""The Clover adapter alone, against httpx_mock: request shapes, tokens, results."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from pytest_httpx import HTTPXMock

from stackknack_cli.channels.base import Push, PushStatus
from stackknack_cli.channels.clover import CloverChannel, RequestPacer
from stackknack_cli.channels.clover_tokens import OAuthTokens, StaticToken
from stackknack_cli.channels.http import RetryPolicy
from stackknack_cli.credentials import Credentials
from stackknack_cli.errors import CredentialError

BASE = "https://api.clover.com"
MID = "TC4DGCJW1K4EW"
NOW = 1_760_000_000.0
TOKEN = "static-secret-token-123"


class FakeClock:
    def __init__(self, start: float = NOW) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)


class RecordingStore:
    """A secret store that remembers every write."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.writes: list[tuple[str, str]] = []

    def get(self, name: str) -> str | None:
        return self.data.get(name)

    def set(self, name: str, value: str) -> None:
        self.writes.append((name, value))
        self.data[name] = value

    def delete(self, name: str) -> None:
        self.data.pop(name, None)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as opened:
        yield opened


def make_channel(
    client: httpx.Client, clock: FakeClock, tokens: Any = None, **options: Any
) -> CloverChannel:
    policy = RetryPolicy(attempts=3, sleep=clock.sleep)
    return CloverChannel(
        client,
        merchant_id=MID,
        tokens=tokens or StaticToken(TOKEN),
        base_url=BASE,
        policy=policy,
        pacer=RequestPacer(clock=clock, sleep=clock.sleep),
        clock=clock,
        **options,
    )


def query(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.url.query.decode())


def item(item_id: str, *, quantity: float | None = 3, **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": item_id,
        "name": f"Item {item_id}",
        "sku": f"SKU-{item_id}",
        "available": True,
        "hidden": False,
    }
    payload.update(fields)
    if quantity is not None:
        payload["itemStock"] = {"item": {"id": item_id}, "quantity": quantity}
    return payload


def test_check_sends_bearer_token_and_returns_merchant_name(
    httpx_mock: HTTPXMock, client: httpx.Client, clock: FakeClock
) -> None:
    httpx_mock.add_response(
        url=f"{BASE}/v3/merchants/{MID}", json={"id": MID, "name": "Kicks Shop"}
    )

    name = make_channel(client, clock).check()

    assert name == "Kicks Shop"
    request = httpx_mock.get_requests()[0]
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_fetch_listings_pages_by_offset_until_a_short_page(
    httpx_mock: HTTPXMock, client: httpx.Client, clock: FakeClock
) -> None:
    pages = [
        [item("A", quantity=2.7), item("B", quantity=None)],
        [item("C", sku="", code="0123456789", available=False)],
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        offset = int(query(request)["offset"][0])
        return httpx.Response(200, json={"elements": pages[offset // 2]})

    httpx_mock.add_callback(answer, is_reusable=True)

    listings = list(make_channel(client, clock, page_size=2).fetch_listings())

    sent = [query(request) for request in httpx_mock.get_requests()]
    assert [(q["limit"], q["offset"]) for q in sent] == [(["2"], ["0"]), (["2"], ["2"])]
    assert all(q["expand"] == ["itemStock"] for q in sent)
    assert [(x.channel_ref, x.sku, x.quantity, x.active) for x in listings] == [
        ("A", "SKU-A", 2, True),
        ("B", "SKU-B", 0, True),
        ("C", "0123456789", 3, False),
    ]


def test_blank_sku_is_none_when_code_fallback_is_off(
    httpx_mock: HTTPXMock, client: httpx.Client, clock: FakeClock
) -> None:
    httpx_mock.add_response(json={"elements": [item("A", sku=" ", code="999")]})

    channel = make_channel(client, clock, use_code_as_sku=False)
    listings = list(channel.fetch_listings())

    assert listings[0].sku is None


def order(
    order_id: str,
    lines: list[dict[str, Any]],
    *,
    modified: int,
    payment: str = "PAID",
) -> dict[str, Any]:
    return {
        "id": order_id,
        "state": "locked" if payment != "OPEN" else "open",
        "paymentState": payment,
        "createdTime": modified - 1000,
        "modifiedTime": modified,
        "lineItems": {"elements": lines},
    }


def line(line_id: str, item_id: str | None, **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"id": line_id, "name": "x", "price": 100}
    if item_id is not None:
        payload["item"] = {"id": item_id}
    payload.update(fields)
    return payload


def fake_clover(
    orders: list[dict[str, Any]], items: dict[str, dict[str, Any]]
) -> Callable[[httpx.Request], httpx.Response]:
    many = {o["id"]: o.pop("all_lines") for o in orders if "all_lines" in o}

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        offset = int(query(request).get("offset", ["0"])[0])
        limit = int(query(request).get("limit", ["100"])[0])
        if path.endswith("/orders"):
            return httpx.Response(200, json={"elements": orders[offset:][:limit]})
        if path.endswith("/line_items"):
            lines = many[path.split("/")[-2]]
            return httpx.Response(200, json={"elements": lines[offset:][:limit]})
        item_id = path.rsplit("/", 1)[-1]
        if item_id in items:
            return httpx.Response(200, json=items[item_id])
        return httpx.Response(404, json={"message": "Not Found"})

    return answer


def test_fetch_sales_counts_paid_lines_and_filters_in_milliseconds(
    httpx_mock: HTTPXMock, client: httpx.Client, clock: FakeClock
) -> None:
    base = int(NOW * 1000) - 60_000
    orders = [
        order(
            "O1",
            [
                line("L1", "A"),
                line("L2", "A"),
                line("L3", "B", refunded=True),
                line("L4", None),
                line("L5", "B", unitQty=2000),
            ],
            modified=base + 5,
            payment="PARTIALLY_REFUNDED",
        ),
        order("O2", [line("L6", "A")], modified=base + 9, payment="OPEN"),
    ]
    items = {"A": item("A"), "B": item("B")}
    httpx_mock.add_callback(fake_clover(orders, items), is_reusable=True)

    since = datetime.fromtimestamp(NOW - 3600, tz=UTC)
    batch = make_channel(client, clock).fetch_sales(since)

    first = query(httpx_mock.get_requests()[0])
    assert first["filter"] == [
        f"modifiedTime>={int((NOW - 3600) * 1000)}",
        f"modifiedTime<={int(NOW * 1000)}",
    ]
    assert first["expand"] == ["lineItems"]
    assert [(s.order_id, s.line_id, s.quantity, s.sku) for s in batch.lines] == [
        ("O1", "L1", 1, "SKU-A"),
        ("O1", "L2", 1, "SKU-A"),
        ("O1", "L5", 2, "SKU-B"),
    ]
    assert batch.newest == datetime.fromtimestamp((base + 9) / 1000, tz=UTC)


def test_fetch_sales_first_reading_counts_what_a_later_one_keeps_sold(
    httpx_mock: HTTPXMock, client: httpx.Client, clock: FakeClock
) -> None:
    # Read after the sale, neither a refund of money that flags no line nor an
    # exchange gives the unit back; read for the first time, both are still sales.
    base = int(NOW * 1000) - 60_000
    orders = [
        order(
            "O1",
            [line("L1", "A"), line("L2", "B", refunded=True)],
            modified=base + 5,
            payment="REFUNDED",
        ),
        order("O2", [line("L3", "B", exchanged=True)], modified=base + 9),
    ]
    httpx_mock.add_callback(
        fake_clover(orders, {"A": item("A"), "B": item("B")}), is_reusable=True
    )

    batch = make_channel(client, clock).fetch_sales(
        datetime.fromtimestamp(NOW - 3600, tz=UTC)
    )

    assert [(s.line_id, s.sku) for s in batch.lines] == [
        ("L1", "SKU-A"),
        ("L3", "SKU-B"),
    ]
    assert [r.line_id for r in batch.returns] == ["L2"]


def test_fetch_sales_clamps_the_start_to_ninety_days_and_says_so(
    httpx_mock: HTTPXMock,
    client: httpx.Client,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    httpx_mock.add_response(json={"elements": []})

    since = datetime.fromtimestamp(NOW, tz=UTC) - timedelta(days=400)
    with caplog.at_level(logging.WARNING):
        batch = make_channel(client, clock).fetch_sales(since)

    requests = httpx_mock.get_requests()
    assert len(requests) == 1
    low, high = (int(f.split("=")[1]) for f in query(requests[0])["filter"])
    assert high - low <= 90 * 24 * 3600 * 1000
    assert high == int(NOW * 1000)
    assert "older than 90 days" in caplog.text
    assert batch.lines == []
    assert batch.newest is None


def test_orders_with_over_100_lines_are_read_through_line_items(
    httpx_mock: HTTPXMock, client: httpx.Client, clock: FakeClock
) -> None:
    all_lines = [line(f"L{n}", "A") for n in range(130)]
    big = order("O1", all_lines[:100], modified=int(NOW * 1000) - 10)
    big["all_lines"] = all_lines
    httpx_mock.add_callback(fake_clover([big], {"A": item("A")}), is_reusable=True)

    channel = make_channel(client, clock, page_size=100)
    batch = channel.fetch_sales(datetime.fromtimestamp(NOW - 60, tz=UTC))

    assert len(batch.lines) == 130
    paths = [r.url.path for r in httpx_mock.get_requests()]
    assert paths.count(f"/v3/merchants/{MID}/orders/O1/line_items") == 2


def stock_server(
    items: dict[str, dict[str, Any]], writes: list[tuple[str, Any]]
) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/items"):  # filter=id in ('A','B')
            wanted = re.findall(r"'([^']*)'", request.url.params["filter"])
            found = [items[ref] for ref in wanted if ref in items]
            return httpx.Response(200, json={"elements": found})
        kind, item_id = request.url.path.split("/")[-2:]
        if item_id not in items:
            return httpx.Response(404, json={"message": "Item not found"})
        if request.method == "GET":
            return httpx.Response(200, json=items[item_id])
        body = json.loads(request.content)
        writes.append((kind, item_id, body))  # type: ignore[arg-type]
        if kind == "item_stocks":
            items[item_id]["itemStock"]["quantity"] = body["quantity"]
            return httpx.Response(200, json=items[item_id]["itemStock"])
        items[item_id].update(body)
        return httpx.Response(200, json=items[item_id])

    return answer


def push(entry: int, ref: str, target: int, expected: int | None) -> Push:
    return Push(entry, ref, target, expected, key=f"k{entry}")


def test_push_reports_mismatch_and_writes_nothing_for_that_item(
    httpx_mock: HTTPXMock, client: httpx.Client, clock: FakeClock
) -> None:
    items = {"A": item("A", quantity=4), "B": item("B", quantity=5)}
    writes: list[tuple[str, Any]] = []
    httpx_mock.add_callback(stock_server(items, writes), is_reusable=True)

    results = make_channel(client, clock).push(
        [push(1, "A", 2, 3), push(2, "B", 7, 5), push(3, "GONE", 1, None)]
    )

    by_entry = {r.entry_id: r for r in results}
    assert by_entry[1].status is PushStatus.MISMATCH
    assert by_entry[1].holds == 4
    assert by_entry[2].status is PushStatus.DONE
    assert by_entry[2].holds == 7
    assert by_entry[3].status is PushStatus.REFUSED
    assert writes == [("item_stocks", "B", {"quantity": 7})]


def test_push_to_zero_makes_item_unavailable_and_back_when_restocked(
    httpx_mock: HTTPXMock, client: httpx.Client, clock: FakeClock
) -> None:
    items = {"A": item("A", quantity=1)}
    writes: list[tuple[str, Any]] = []
    httpx_mock.add_callback(stock_server(items, writes), is_reusable=True)
    channel = make_channel(client, clock)

    channel.push([push(1, "A", 0, 1)])
    channel.push([push(2, "A", 3, 0)])

    assert writes == [
        ("items", "A", {"available": False}),  # the till stops selling first
        ("item_stocks", "A", {"quantity": 0}),
        ("item_stocks", "A", {"quantity": 3}),  # stock is there before it is offered
        ("items", "A", {"available": True}),
    ]


def test_push_leaves_an_item_the_merchant_switched_off_with_stock_alone(
    httpx_mock: HTTPXMock, client: httpx.Client, clock: FakeClock
) -> None:
    items = {"A": item("A", quantity=2, available=False)}
    writes: list[tuple[str, Any]] = []
    httpx_mock.add_callback(stock_server(items, writes), is_reusable=True)

    make_channel(client, clock).push([push(1, "A", 5, 2)])

    assert writes == [("item_stocks", "A", {"quantity": 5})]


def test_throttled_item_is_retried_then_deferred_without_blocking_others(
    httpx_mock: HTTPXMock, client: httpx.Client, clock: FakeClock
) -> None:
    items = {"A": item("A", quantity=0), "B": item("B", quantity=1)}
    writes: list[tuple[str, Any]] = []
    serve = stock_server(items, writes)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/A"):
            return httpx.Response(429, json={"message": "Too Many Requests"})
        return serve(request)

    httpx_mock.add_callback(answer, is_reusable=True)

    results = make_channel(client, clock).push(
        [push(1, "A", 1, None), push(2, "B", 2, 1)]
    )

    assert [r.status for r in results] == [PushStatus.RETRY, PushStatus.DONE]
    assert len(clock.sleeps) == 2  # three attempts at A, backing off between them
    assert "secret" not in results[0].reason


def test_pacer_keeps_calls_under_the_per_token_rate(clock: FakeClock) -> None:
    pacer = RequestPacer(15, clock=clock, sleep=clock.sleep)
    starts = []

    for _ in range(40):
        pacer.wait()
        starts.append(clock.now)

    for index in range(len(starts) - 15):
        assert starts[index + 15] - starts[index] >= 1.0


def oauth_entry(clock: FakeClock, *, expires_in: float) -> dict[str, object]:
    return {
        "client_id": "APP1",
        "access_token": "old-access",
        "access_token_expiration": int(clock.now + expires_in),
        "refresh_token": "old-refresh",
        "refresh_token_expiration": int(clock.now + 86400 * 300),
    }


def test_expiring_token_is_refreshed_and_stored_as_one_entry_before_use(
    httpx_mock: HTTPXMock, client: httpx.Client, clock: FakeClock
) -> None:
    store = RecordingStore()
    credentials = Credentials("install", store=store)
    credentials.set_json("clover", "oauth", oauth_entry(clock, expires_in=60))
    store.writes.clear()
    new_pair = {
        "access_token": "new-access",
        "access_token_expiration": int(NOW + 3600),
        "refresh_token": "new-refresh",
        "refresh_token_expiration": int(NOW + 86400 * 365),
    }
    httpx_mock.add_response(url=f"{BASE}/oauth/v2/refresh", json=new_pair)
    httpx_mock.add_response(url=f"{BASE}/v3/merchants/{MID}", json={"name": "Shop"})
    tokens = OAuthTokens(credentials, client, oauth_base=BASE, clock=clock)

    make_channel(client, clock, tokens=tokens).check()

    refresh, merchant = httpx_mock.get_requests()
    assert json.loads(refresh.content) == {
        "client_id": "APP1",
        "refresh_token": "old-refresh",
    }
    assert merchant.headers["Authorization"] == "Bearer new-access"
    assert len(store.writes) == 1
    stored = json.loads(store.writes[0][1])
    assert stored["access_token"] == "new-access"
    assert stored["refresh_token"] == "new-refresh"
    assert stored["refresh_token_expiration"] == new_pair["refresh_token_expiration"]


def test_401_refreshes_once_with_the_newest_refresh_token_only(
    httpx_mock: HTTPXMock, client: httpx.Client, clock: FakeClock
) -> None:
    credentials = Credentials("install", store=RecordingStore())
    credentials.set_json("clover", "oauth", oauth_entry(clock, expires_in=3600))
    refreshes: list[dict[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/v2/refresh":
            body = json.loads(request.content)
            refreshes.append(body)
            n = len(refreshes)
            return httpx.Response(
                200,
                json={
                    "access_token": f"access-{n}",
                    "access_token_expiration": int(NOW + 3600),
                    "refresh_token": f"refresh-{n}",
                    "refresh_token_expiration": int(NOW + 86400),
                },
            )
        if request.headers["Authorization"] == "Bearer old-access":
            return httpx.Response(401, json={"message": "401 Unauthorized"})
        return httpx.Response(200, json={"name": "Shop"})

    httpx_mock.add_callback(answer, is_reusable=True)
    tokens = OAuthTokens(credentials, client, oauth_base=BASE, clock=clock)
    channel = make_channel(client, clock, tokens=tokens)

    channel.check()
    clock.now += 3500  # the renewed access token is now about to expire
    channel.check()

    assert [r["refresh_token"] for r in refreshes] == ["old-refresh", "refresh-1"]


def test_refused_refresh_raises_credential_error_without_the_token(
    httpx_mock: HTTPXMock, client: httpx.Client, clock: FakeClock
) -> None:
    credentials = Credentials("install", store=RecordingStore())
    credentials.set_json("clover", "oauth", oauth_entry(clock, expires_in=0))
    httpx_mock.add_response(
        url=f"{BASE}/oauth/v2/refresh",
        status_code=401,
        json={"message": "invalid refresh token old-refresh"},
    )
    tokens = OAuthTokens(credentials, client, oauth_base=BASE, clock=clock)

    with pytest.raises(CredentialError) as caught:
        make_channel(client, clock, tokens=tokens).check()

    message = str(caught.value)
    assert "clover" in message
    assert "run: stackknack connect clover" in message
    assert "old-refresh" not in message
    assert "old-access" not in message


def test_static_token_refused_raises_credential_error(
    httpx_mock: HTTPXMock, client: httpx.Client, clock: FakeClock
) -> None:
    httpx_mock.add_response(status_code=401, json={"message": "401 Unauthorized"})

    with pytest.raises(CredentialError, match="stackknack connect clover") as caught:
        make_channel(client, clock).check()

    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(StaticToken(TOKEN))
