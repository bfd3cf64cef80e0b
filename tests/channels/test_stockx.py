"""The StockX adapter alone, against httpx_mock: headers, pacing, pushes, tokens."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from pytest_httpx import HTTPXMock

from stackknack_cli.channels.base import Push, PushStatus
from stackknack_cli.channels.http import RetryPolicy
from stackknack_cli.channels.stockx import StockXChannel
from stackknack_cli.channels.stockx_auth import (
    API_KEY_FIELD,
    CHANNEL,
    OAUTH_FIELD,
    StockXTokens,
    authorize_url,
    exchange_code,
)
from stackknack_cli.channels.stockx_pacer import DailyPacer
from stackknack_cli.credentials import Credentials
from stackknack_cli.errors import ChannelUnavailableError, CredentialError

BASE = "https://api.stockx.com/v2"
TOKEN_URL = "https://accounts.stockx.com/oauth/token"
NOW = 1_760_000_000.0
API_KEY = "key-123"
LIFETIME = 30 * 86_400


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


@pytest.fixture
def store() -> RecordingStore:
    return RecordingStore()


@pytest.fixture
def credentials(store: RecordingStore) -> Credentials:
    creds = Credentials("install", store)
    creds.set(CHANNEL, API_KEY_FIELD, API_KEY)
    creds.set_json(
        CHANNEL,
        OAUTH_FIELD,
        {
            "client_id": "cid",
            "client_secret": "csecret",
            "access_token": "access-1",
            "refresh_token": "refresh-1",
            "expires_at": int(NOW + LIFETIME),
        },
    )
    store.writes.clear()
    return creds


def make_channel(
    client: httpx.Client, clock: FakeClock, credentials: Credentials, **options: Any
) -> StockXChannel:
    policy = RetryPolicy(attempts=3, sleep=clock.sleep)
    tokens = StockXTokens(credentials, client, clock=clock, policy=policy)
    pacer = options.pop("pacer", None) or DailyPacer(clock=clock, sleep=clock.sleep)
    return StockXChannel(
        client,
        tokens=tokens,
        base_url=BASE,
        policy=policy,
        pacer=pacer,
        clock=clock,
        **options,
    )


def query(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.url.query.decode())


def listing(
    listing_id: str,
    variant: str = "v10",
    *,
    status: str = "ACTIVE",
    kind: str = "STANDARD",
    amount: str = "180",
    created: str = "2025-01-01T00:00:00.000Z",
) -> dict[str, Any]:
    return {
        "listingId": listing_id,
        "status": status,
        "amount": amount,
        "currencyCode": "USD",
        "inventoryType": kind,
        "createdAt": created,
        "updatedAt": created,
        "product": {
            "productId": "p1",
            "productName": "AJ1 Chicago",
            "styleId": "DZ5485-612",
        },
        "variant": {"variantId": variant, "variantName": "x", "variantValue": "10"},
    }


def page(
    rows: list[dict[str, Any]], *, more: bool = False, key: str = "listings"
) -> dict[str, Any]:
    return {
        "count": len(rows),
        "pageSize": 100,
        "pageNumber": 1,
        "hasNextPage": more,
        key: rows,
    }


def operation(status: str = "PENDING", error: str | None = None) -> dict[str, Any]:
    return {
        "listingId": "L9",
        "operationId": "op-1",
        "operationStatus": status,
        "error": error,
    }


def push(target: int, *, expected: int | None = None, **extra: Any) -> Push:
    details = extra.pop("details", {"ask": "199", "currency": "USD"})
    return Push(1, "v10", target, expected, "key-1", details=details, **extra)


def test_every_call_carries_api_key_and_bearer_token(
    httpx_mock: HTTPXMock,
    client: httpx.Client,
    clock: FakeClock,
    credentials: Credentials,
) -> None:
    httpx_mock.add_response(json=page([listing("L1")]), is_reusable=True)
    channel = make_channel(client, clock, credentials)

    channel.check()
    list(channel.fetch_listings())
    channel.read_quantities(["v10"])

    requests = httpx_mock.get_requests()
    assert len(requests) == 3
    for request in requests:
        assert request.headers["x-api-key"] == API_KEY
        assert request.headers["Authorization"] == "Bearer access-1"


def test_listings_page_from_one_with_100_per_page(
    httpx_mock: HTTPXMock,
    client: httpx.Client,
    clock: FakeClock,
    credentials: Credentials,
) -> None:
    pages = {
        "1": page([listing("L1"), listing("L2", kind="FLEX")], more=True),
        "2": page([listing("L3", status="INACTIVE"), listing("L4", "v11")]),
    }

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=pages[query(request)["pageNumber"][0]])

    httpx_mock.add_callback(answer, is_reusable=True)

    found = {
        x.channel_ref: x
        for x in make_channel(client, clock, credentials).fetch_listings()
    }

    sent = [query(r) for r in httpx_mock.get_requests()]
    assert [(q["pageNumber"], q["pageSize"]) for q in sent] == [
        (["1"], ["100"]),
        (["2"], ["100"]),
    ]
    assert sent[0]["listingStatuses"] == ["ACTIVE,INACTIVE"]
    # FLEX stock sits at StockX and an INACTIVE ask sells nothing: neither counts.
    assert found["v10"].quantity == 1
    assert found["v10"].details["flex"] == 1
    assert found["v10"].details["inactive"] == 1
    assert found["v10"].sku is None
    assert found["v10"].title == "AJ1 Chicago / US 10"
    assert found["v10"].details["ask"] == "180"
    assert found["v11"].quantity == 1


def test_read_quantities_counts_active_standard_listings_only(
    httpx_mock: HTTPXMock,
    client: httpx.Client,
    clock: FakeClock,
    credentials: Credentials,
) -> None:
    rows = [listing("L1"), listing("L2"), listing("L3", kind="FLEX")]
    httpx_mock.add_response(json=page(rows))

    counts = make_channel(client, clock, credentials).read_quantities(["v10", "v99"])

    assert counts == {"v10": 2, "v99": 0}
    sent = query(httpx_mock.get_requests()[0])
    assert sent["variantIds"] == ["v10,v99"]
    assert sent["listingStatuses"] == ["ACTIVE"]
    assert sent["inventoryTypes"] == ["STANDARD"]


def test_pacer_spaces_calls_a_second_apart_and_counts_the_day(
    httpx_mock: HTTPXMock,
    client: httpx.Client,
    clock: FakeClock,
    credentials: Credentials,
) -> None:
    starts: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        starts.append(clock())
        return httpx.Response(200, json=page([]))

    httpx_mock.add_callback(answer, is_reusable=True)
    pacer = DailyPacer(daily_limit=4, clock=clock, sleep=clock.sleep)
    channel = make_channel(client, clock, credentials, pacer=pacer)

    for _ in range(4):
        channel.check()

    assert all(b - a >= 1.0 for a, b in zip(starts, starts[1:], strict=False))
    assert channel.budget()["day_left"] == 0
    assert channel.budget()["reset_in"] == pytest.approx(86_400 - NOW % 86_400, abs=10)
    with pytest.raises(ChannelUnavailableError, match="daily allowance"):
        channel.check()
    assert len(starts) == 4

    clock.now += channel.budget()["reset_in"] + 1
    channel.check()
    assert channel.budget()["day_left"] == 3


def test_restock_to_three_creates_three_listings_in_one_batch_at_the_stored_ask(
    httpx_mock: HTTPXMock,
    client: httpx.Client,
    clock: FakeClock,
    credentials: Credentials,
) -> None:
    httpx_mock.add_response(method="GET", json=page([]))
    httpx_mock.add_response(
        method="POST",
        url=f"{BASE}/selling/batch/create-listing",
        json={"batchId": "b-1", "status": "QUEUED", "itemStatuses": {"queued": 3}},
    )

    [result] = make_channel(client, clock, credentials).push([push(3, expected=0)])

    assert result.status is PushStatus.PENDING
    assert result.operation == "create:b-1"
    body = json.loads(httpx_mock.get_requests()[-1].content)
    assert len(body["items"]) == 3
    assert all(
        item
        == {
            "variantId": "v10",
            "amount": "199",
            "currencyCode": "USD",
            "quantity": 1,
            "active": True,
        }
        for item in body["items"]
    )


def test_one_more_unit_is_one_single_create(
    httpx_mock: HTTPXMock,
    client: httpx.Client,
    clock: FakeClock,
    credentials: Credentials,
) -> None:
    httpx_mock.add_response(method="GET", json=page([listing("L1")]))
    httpx_mock.add_response(
        method="POST", url=f"{BASE}/selling/listings", json=operation()
    )

    [result] = make_channel(client, clock, credentials).push(
        [push(2, expected=1, details={})]
    )

    assert result.operation == "listing:L9:op-1"
    body = json.loads(httpx_mock.get_requests()[-1].content)
    # Without a stored ask the price of the variant's live listing is kept.
    assert body == {
        "variantId": "v10",
        "amount": "180",
        "currencyCode": "USD",
        "active": True,
    }


def test_restock_without_any_known_ask_is_refused_for_good(
    httpx_mock: HTTPXMock,
    client: httpx.Client,
    clock: FakeClock,
    credentials: Credentials,
) -> None:
    httpx_mock.add_response(method="GET", json=page([]))

    [result] = make_channel(client, clock, credentials).push([push(1, details={})])

    assert result.status is PushStatus.REFUSED
    assert result.permanent
    assert "no ask price" in result.reason


def test_decrement_deletes_exactly_one_listing_the_newest(
    httpx_mock: HTTPXMock,
    client: httpx.Client,
    clock: FakeClock,
    credentials: Credentials,
) -> None:
    rows = [
        listing("OLD", created="2025-01-01T00:00:00.000Z"),
        listing("NEW", created="2025-03-01T00:00:00.000Z"),
        listing("MID", created="2025-02-01T00:00:00.000Z"),
    ]
    httpx_mock.add_response(method="GET", json=page(rows))
    httpx_mock.add_response(
        method="DELETE", url=f"{BASE}/selling/listings/NEW", json=operation()
    )

    [result] = make_channel(client, clock, credentials).push([push(2, expected=3)])

    assert result.status is PushStatus.PENDING
    assert result.operation == "listing:NEW:op-1"
    assert [r.method for r in httpx_mock.get_requests()] == ["GET", "DELETE"]


def test_zero_deletes_every_active_listing_in_one_batch(
    httpx_mock: HTTPXMock,
    client: httpx.Client,
    clock: FakeClock,
    credentials: Credentials,
) -> None:
    httpx_mock.add_response(
        method="GET", json=page([listing("A"), listing("B"), listing("C")])
    )
    httpx_mock.add_response(
        method="POST",
        url=f"{BASE}/selling/batch/delete-listing",
        json={"batchId": "d-1", "status": "QUEUED"},
    )

    [result] = make_channel(client, clock, credentials).push([push(0, expected=3)])

    assert result.operation == "delete:d-1"
    body = json.loads(httpx_mock.get_requests()[-1].content)
    assert sorted(item["listingId"] for item in body["items"]) == ["A", "B", "C"]


def test_a_count_other_than_expected_is_a_mismatch_and_writes_nothing(
    httpx_mock: HTTPXMock,
    client: httpx.Client,
    clock: FakeClock,
    credentials: Credentials,
) -> None:
    httpx_mock.add_response(method="GET", json=page([listing("A")]))

    [result] = make_channel(client, clock, credentials).push([push(3, expected=2)])

    assert (result.status, result.holds) == (PushStatus.MISMATCH, 1)
    assert len(httpx_mock.get_requests()) == 1


def test_pending_operation_is_checked_not_written_again_until_it_succeeds(
    httpx_mock: HTTPXMock,
    client: httpx.Client,
    clock: FakeClock,
    credentials: Credentials,
) -> None:
    op_url = f"{BASE}/selling/listings/L9/operations/op-1"
    httpx_mock.add_response(url=op_url, json=operation("PENDING"))
    httpx_mock.add_response(url=op_url, json=operation("SUCCEEDED"))
    httpx_mock.add_response(method="GET", json=page([listing("L1"), listing("L9")]))
    channel = make_channel(client, clock, credentials)
    waiting = push(2, expected=1, operation="listing:L9:op-1")

    [first] = channel.push([waiting])
    [second] = channel.push([waiting])

    assert (first.status, first.operation) == (PushStatus.PENDING, "listing:L9:op-1")
    assert (second.status, second.holds) == (PushStatus.DONE, 2)
    assert all(r.method == "GET" for r in httpx_mock.get_requests())


def test_failed_operation_surfaces_stockx_reason(
    httpx_mock: HTTPXMock,
    client: httpx.Client,
    clock: FakeClock,
    credentials: Credentials,
) -> None:
    httpx_mock.add_response(json=operation("FAILED", "Ask amount is below the minimum"))
    httpx_mock.add_response(
        url=f"{BASE}/selling/listings?listingStatuses=ACTIVE&variantIds=v10"
        "&inventoryTypes=STANDARD&pageNumber=1&pageSize=100",
        json=page([listing("L1")]),
    )

    [result] = make_channel(client, clock, credentials).push(
        [push(2, operation="listing:L9:op-1")]
    )

    assert result.status is PushStatus.REFUSED
    assert not result.permanent
    assert result.reason == "Ask amount is below the minimum"
    assert result.holds == 1  # what StockX holds after the failure: the next base


def test_batch_with_failed_items_reports_their_reasons(
    httpx_mock: HTTPXMock,
    client: httpx.Client,
    clock: FakeClock,
    credentials: Credentials,
) -> None:
    httpx_mock.add_response(
        url=f"{BASE}/selling/batch/create-listing/b-1",
        json={
            "batchId": "b-1",
            "status": "COMPLETED",
            "completedAt": "2025-01-01T00:00:00Z",
            "itemStatuses": {"completed": 2, "failed": 1},
        },
    )
    httpx_mock.add_response(
        url=f"{BASE}/selling/batch/create-listing/b-1/items?status=FAILED",
        json={
            "items": [
                {"itemId": "i3", "status": "FAILED", "error": "Variant is locked"}
            ]
        },
    )

    httpx_mock.add_response(
        url=f"{BASE}/selling/listings?listingStatuses=ACTIVE&variantIds=v10"
        "&inventoryTypes=STANDARD&pageNumber=1&pageSize=100",
        json=page([listing("L1"), listing("L2")]),
    )

    [result] = make_channel(client, clock, credentials).push(
        [push(3, operation="create:b-1")]
    )

    assert result.status is PushStatus.REFUSED
    assert result.reason == "1 of the batch failed: Variant is locked"
    assert result.holds == 2  # two of the three landed: the next try starts there


def test_sales_come_from_standard_active_orders_deduped_by_order_number(
    httpx_mock: HTTPXMock,
    client: httpx.Client,
    clock: FakeClock,
    credentials: Credentials,
) -> None:
    def order(
        number: str, kind: str = "STANDARD", created: str = "2025-10-09T10:00:00Z"
    ) -> dict[str, Any]:
        return {
            "orderNumber": number,
            "listingId": "L1",
            "askId": "a",
            "amount": "180",
            "status": "CREATED",
            "createdAt": created,
            "updatedAt": created,
            "inventoryType": kind,
            "variant": {"variantId": "v10"},
            "product": {"styleId": "DZ5485-612"},
        }

    rows = [
        order("111-222"),
        order("111-222"),
        order("02-FLEXFLEX", kind="FLEX"),
        order("333-444", created="2025-01-01T00:00:00Z"),
    ]
    httpx_mock.add_response(json=page(rows, key="orders"))
    for _ in range(4):  # one history read per status that ends an order
        httpx_mock.add_response(json=page([], key="orders"))
    since = datetime.fromtimestamp(NOW - 600, tz=UTC)

    batch = make_channel(client, clock, credentials).fetch_sales(since)

    assert [
        (x.order_id, x.line_id, x.quantity, x.channel_ref) for x in batch.lines
    ] == [("111-222", "111-222", 1, "v10")]
    assert batch.newest == datetime(2025, 10, 9, 10, tzinfo=UTC)
    sent = query(httpx_mock.get_requests()[0])
    assert sent["inventoryTypes"] == ["STANDARD"]
    assert httpx_mock.get_requests()[0].url.path == "/v2/selling/orders/active"
    history = httpx_mock.get_requests()[1:]
    assert {h.url.path for h in history} == {"/v2/selling/orders/history"}
    assert [query(h)["orderStatus"] for h in history] == [
        ["CANCELED"], ["DIDNOTSHIP"], ["AUTHFAILED"], ["RETURNED"],
    ]  # fmt: skip


def test_expired_token_is_refreshed_and_stored_in_one_write(
    httpx_mock: HTTPXMock,
    client: httpx.Client,
    clock: FakeClock,
    credentials: Credentials,
    store: RecordingStore,
) -> None:
    clock.now = NOW + LIFETIME
    httpx_mock.add_response(
        url=TOKEN_URL, json={"access_token": "access-2", "expires_in": 43200}
    )
    httpx_mock.add_response(
        url=f"{BASE}/selling/listings?pageNumber=1&pageSize=1", json=page([])
    )

    make_channel(client, clock, credentials).check()

    token_request, api_request = httpx_mock.get_requests()
    form = parse_qs(token_request.content.decode())
    assert form["grant_type"] == ["refresh_token"]
    assert form["refresh_token"] == ["refresh-1"]
    assert form["audience"] == ["gateway.stockx.com"]
    assert api_request.headers["Authorization"] == "Bearer access-2"
    assert len(store.writes) == 1
    saved = json.loads(store.writes[0][1])
    # No new refresh token in the answer: the stored one is kept, in the same entry.
    assert saved["access_token"] == "access-2"
    assert saved["refresh_token"] == "refresh-1"
    assert saved["expires_at"] == int(clock.now + 43200)


def test_a_401_renews_once_then_a_second_401_asks_to_reconnect(
    httpx_mock: HTTPXMock,
    client: httpx.Client,
    clock: FakeClock,
    credentials: Credentials,
) -> None:
    httpx_mock.add_response(
        url=TOKEN_URL, json={"access_token": "access-2", "refresh_token": "refresh-2"}
    )
    httpx_mock.add_response(
        status_code=401, json={"statusCode": 401, "message": "no"}, is_reusable=True
    )

    with pytest.raises(CredentialError, match="connect stockx"):
        make_channel(client, clock, credentials).check()

    saved = credentials.get_json(CHANNEL, OAUTH_FIELD)
    assert saved is not None
    assert saved["refresh_token"] == "refresh-2"


def test_authorize_url_and_code_exchange(
    httpx_mock: HTTPXMock, client: httpx.Client, clock: FakeClock, store: RecordingStore
) -> None:
    url = authorize_url("cid", "http://127.0.0.1:8765/callback", "s1")
    query_of = parse_qs(url.split("?", 1)[1])
    assert url.startswith("https://accounts.stockx.com/authorize?")
    assert query_of["scope"] == ["offline_access openid"]
    assert query_of["audience"] == ["gateway.stockx.com"]
    httpx_mock.add_response(
        url=TOKEN_URL,
        json={"access_token": "a", "refresh_token": "r", "expires_in": 100},
    )
    creds = Credentials("install", store)

    exchange_code(
        client,
        "http://127.0.0.1:8765/callback?code=THE-CODE&state=s1",
        client_id="cid",
        client_secret="sec",
        redirect_uri="http://127.0.0.1:8765/callback",
        credentials=creds,
        token_url=TOKEN_URL,
        state="s1",
        clock=clock,
    )

    form = parse_qs(httpx_mock.get_requests()[0].content.decode())
    assert form["code"] == ["THE-CODE"]
    assert form["grant_type"] == ["authorization_code"]
    assert creds.get_json(CHANNEL, OAUTH_FIELD) == {
        "client_id": "cid",
        "client_secret": "sec",
        "access_token": "a",
        "refresh_token": "r",
        "expires_at": int(NOW + 100),
    }
