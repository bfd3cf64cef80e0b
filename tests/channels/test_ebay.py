"""The eBay adapter alone, against httpx_mock: request shapes, tokens, results."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from pytest_httpx import HTTPXMock

from stackknack_cli.channels.base import Push, PushStatus
from stackknack_cli.channels.ebay import EbayChannel
from stackknack_cli.channels.ebay_auth import (
    CHANNEL,
    OAUTH_FIELD,
    EbayTokens,
    ReconsentRequiredError,
    consent_url,
    exchange_code,
    needs_reconsent_soon,
    refresh_days_left,
)
from stackknack_cli.channels.ebay_writes import RevisionLedger
from stackknack_cli.channels.http import RetryPolicy
from stackknack_cli.credentials import Credentials
from stackknack_cli.errors import CredentialError

BASE = "https://api.ebay.com"
TOKEN_URL = f"{BASE}/identity/v1/oauth2/token"
IDENTITY_URL = "https://apiz.ebay.com/commerce/identity/v1/user/"
INV = f"{BASE}/sell/inventory/v1"
NOW = 1_760_000_000.0
DAY = 86400.0


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


@pytest.fixture
def store() -> RecordingStore:
    return RecordingStore()


@pytest.fixture
def credentials(store: RecordingStore) -> Credentials:
    creds = Credentials("test", store)
    creds.set_json(
        CHANNEL,
        OAUTH_FIELD,
        {
            "client_id": "app-id",
            "client_secret": "app-secret",
            "ru_name": "App-RuName",
            "token_url": TOKEN_URL,
            "scopes": ["s1", "s2"],
            "access_token": "live-access",
            "access_token_expires_at": NOW + 7200,
            "refresh_token": "the-refresh",
            "refresh_token_expires_at": NOW + 500 * DAY,
        },
    )
    store.writes.clear()
    return creds


def make_channel(
    client: httpx.Client,
    clock: FakeClock,
    credentials: Credentials,
    **options: Any,
) -> EbayChannel:
    policy = RetryPolicy(attempts=3, sleep=clock.sleep)
    tokens = EbayTokens(credentials, client, policy=policy, clock=clock)
    return EbayChannel(
        client, tokens=tokens, base_url=BASE, policy=policy, clock=clock, **options
    )


def query(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.url.query.decode())


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# Consent and tokens


def test_consent_url_names_the_runame_and_space_separated_scopes() -> None:
    url = consent_url("app-id", "App-RuName", ["a/x", "b/y"], sandbox=True)

    parsed = httpx.URL(url)
    assert parsed.host == "auth.sandbox.ebay.com"
    assert parsed.params["redirect_uri"] == "App-RuName"
    assert parsed.params["response_type"] == "code"
    assert parsed.params["scope"] == "a/x b/y"
    assert "%20" in url


def test_exchange_code_reads_the_redirect_url_and_stores_both_expiries(
    httpx_mock: HTTPXMock, client: httpx.Client, clock: FakeClock
) -> None:
    store = RecordingStore()
    creds = Credentials("test", store)
    httpx_mock.add_response(
        url=TOKEN_URL,
        json={
            "access_token": "a1",
            "expires_in": 7200,
            "refresh_token": "r1",
            "refresh_token_expires_in": 47304000,
        },
    )
    redirect = "https://example.com/ok?state=x&code=v%5E1.1%23i%5E1&expires_in=299"

    exchange_code(
        client,
        redirect,
        client_id="app-id",
        client_secret="app-secret",
        ru_name="App-RuName",
        credentials=creds,
        token_url=TOKEN_URL,
        clock=clock,
    )

    request = httpx_mock.get_request()
    assert request is not None
    assert request.headers["Authorization"] == basic("app-id", "app-secret")
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form(request) == {
        "grant_type": "authorization_code",
        "code": "v^1.1#i^1",
        "redirect_uri": "App-RuName",
    }
    assert len(store.writes) == 1
    entry = creds.get_json(CHANNEL, OAUTH_FIELD)
    assert entry is not None
    assert entry["access_token_expires_at"] == NOW + 7200
    assert entry["refresh_token_expires_at"] == NOW + 47304000


def test_expired_access_token_is_refreshed_and_stored_in_one_write(
    httpx_mock: HTTPXMock,
    client: httpx.Client,
    clock: FakeClock,
    credentials: Credentials,
    store: RecordingStore,
) -> None:
    clock.now += 7200
    httpx_mock.add_response(
        url=TOKEN_URL, json={"access_token": "fresh", "expires_in": 7200}
    )
    httpx_mock.add_response(url=IDENTITY_URL, json={"username": "kicks"})

    name = make_channel(client, clock, credentials).check()

    token_call, api_call = httpx_mock.get_requests()
    assert name == "kicks"
    assert token_call.headers["Authorization"] == basic("app-id", "app-secret")
    assert form(token_call) == {
        "grant_type": "refresh_token",
        "refresh_token": "the-refresh",
        "scope": "s1 s2",
    }
    assert api_call.headers["Authorization"] == "Bearer fresh"
    assert len(store.writes) == 1
    entry = json.loads(store.writes[0][1])
    assert entry["access_token"] == "fresh"
    assert entry["access_token_expires_at"] == clock.now + 7200
    assert entry["refresh_token"] == "the-refresh"


def test_429_from_the_token_endpoint_is_retried(
    httpx_mock: HTTPXMock, client: httpx.Client, clock: FakeClock, credentials: Any
) -> None:
    clock.now += 7200
    httpx_mock.add_response(url=TOKEN_URL, status_code=429)
    httpx_mock.add_response(
        url=TOKEN_URL, json={"access_token": "t", "expires_in": 7200}
    )
    httpx_mock.add_response(url=IDENTITY_URL, json={"userId": "U1"})

    assert make_channel(client, clock, credentials).check() == "U1"

    calls = [r.url.path for r in httpx_mock.get_requests()]
    assert calls.count("/identity/v1/oauth2/token") == 2
    assert len(clock.sleeps) == 1


def test_invalid_grant_requires_reconsent_and_stops_every_later_call(
    httpx_mock: HTTPXMock, client: httpx.Client, clock: FakeClock, credentials: Any
) -> None:
    clock.now += 7200
    httpx_mock.add_response(
        url=TOKEN_URL,
        status_code=400,
        json={"error": "invalid_grant", "error_description": "revoked"},
    )
    channel = make_channel(client, clock, credentials)

    with pytest.raises(ReconsentRequiredError, match="connect ebay"):
        channel.fetch_sales(datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ReconsentRequiredError):
        channel.push([Push(1, "SKU-1", 3, 2, "k1")])
    # A fresh process reads the mark from the credentials store.
    with pytest.raises(ReconsentRequiredError):
        list(make_channel(client, clock, credentials).fetch_listings())

    assert len(httpx_mock.get_requests()) == 1
    assert issubclass(ReconsentRequiredError, CredentialError)


def test_refresh_days_left_warns_within_30_days(
    credentials: Credentials, clock: FakeClock
) -> None:
    assert refresh_days_left(credentials, clock=clock) == 500
    assert not needs_reconsent_soon(500)

    clock.now += 471 * DAY

    assert refresh_days_left(credentials, clock=clock) == 29
    assert needs_reconsent_soon(29)


# Listings and sales


def inventory_page(skus: list[str], *, more: bool) -> dict[str, Any]:
    page: dict[str, Any] = {
        "total": 3,
        "inventoryItems": [
            {
                "sku": sku,
                "product": {"title": f"Shoe {sku}"},
                "availability": {"shipToLocationAvailability": {"quantity": 4}},
            }
            for sku in skus
        ],
    }
    if more:
        page["next"] = "next-page"
    return page


def offer(offer_id: str, sku: str, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "offerId": offer_id,
        "sku": sku,
        "format": "FIXED_PRICE",
        "status": "PUBLISHED",
        "availableQuantity": 4,
        "listing": {"listingId": f"L{offer_id}", "listingStatus": "ACTIVE"},
    }
    data.update(fields)
    return data


def test_fetch_listings_pages_by_page_index_and_reads_offers(
    httpx_mock: HTTPXMock, client: httpx.Client, clock: FakeClock, credentials: Any
) -> None:
    pages = [inventory_page(["A", "B"], more=True), inventory_page(["C"], more=False)]

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/inventory_item"):
            return httpx.Response(200, json=pages[int(query(request)["offset"][0])])
        sku = query(request)["sku"][0]
        if sku == "C":
            return httpx.Response(404, json={"errors": [{"errorId": 25713}]})
        return httpx.Response(200, json={"offers": [offer(f"O{sku}", sku)]})

    httpx_mock.add_callback(answer, is_reusable=True)

    channel = make_channel(client, clock, credentials, page_size=2)
    listings = list(channel.fetch_listings())

    item_calls = [
        query(r) for r in httpx_mock.get_requests() if "inventory_item" in r.url.path
    ]
    assert [(q["limit"], q["offset"]) for q in item_calls] == [
        (["2"], ["0"]),
        (["2"], ["1"]),
    ]
    assert [(x.channel_ref, x.quantity, x.active) for x in listings] == [
        ("A", 4, True),
        ("B", 4, True),
        ("C", 4, False),
    ]
    assert listings[0].details["offers"][0]["listing_id"] == "LOA"
    assert channel.listing_ids == {"LOA", "LOB"}


def test_default_inventory_page_size_is_200(
    httpx_mock: HTTPXMock, client: httpx.Client, clock: FakeClock, credentials: Any
) -> None:
    httpx_mock.add_response(json={"total": 0, "inventoryItems": []})

    assert list(make_channel(client, clock, credentials).fetch_listings()) == []

    assert query(httpx_mock.get_requests()[0])["limit"] == ["200"]


def order(order_id: str, modified: str, *, cancel: str = "NONE_REQUESTED") -> dict:
    return {
        "orderId": order_id,
        "creationDate": "2026-05-01T10:00:00.000Z",
        "lastModifiedDate": modified,
        "cancelStatus": {"cancelState": cancel, "cancelRequests": []},
        "lineItems": [
            {
                "lineItemId": f"{order_id}-1",
                "sku": "SKU-1",
                "legacyItemId": "111",
                "quantity": 2,
            }
        ],
    }


def test_fetch_sales_encodes_brackets_pages_by_record_offset_and_skips_cancelled(
    httpx_mock: HTTPXMock, client: httpx.Client, clock: FakeClock, credentials: Any
) -> None:
    orders = [
        order("01", "2026-05-01T10:00:00.000Z"),
        order("02", "2026-05-02T10:00:00.000Z", cancel="CANCELED"),
        order("03", "2026-05-03T10:00:00.000Z"),
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        offset = int(query(request)["offset"][0])
        return httpx.Response(200, json={"total": 3, "orders": orders[offset:][:2]})

    httpx_mock.add_callback(answer, is_reusable=True)

    batch = make_channel(client, clock, credentials).fetch_sales(
        datetime(2026, 4, 30, 8, 25, 43, 511000, tzinfo=UTC)
    )

    requests = [r for r in httpx_mock.get_requests() if r.url.path.endswith("/order")]
    raw = requests[0].url.raw_path.decode()
    assert "%5B2026-04-30T08%3A25%3A43.511Z..%5D" in raw
    assert "[" not in raw
    assert "]" not in raw
    assert [query(r)["offset"] for r in requests] == [["0"], ["2"]]
    assert all(int(query(r)["limit"][0]) <= 200 for r in requests)
    assert [(line.order_id, line.line_id, line.quantity) for line in batch.lines] == [
        ("01", "01-1", 2),
        ("03", "03-1", 2),
    ]
    assert batch.lines[0].channel_ref == "SKU-1"
    assert batch.newest == datetime(2026, 5, 3, 10, tzinfo=UTC)


def test_polls_do_not_ask_for_the_offers_of_orders_read_again(
    httpx_mock: HTTPXMock, client: httpx.Client, clock: FakeClock, credentials: Any
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/offer"):
            offers = [{"offerId": "O1", "listing": {"listingId": "111"}}]
            return httpx.Response(200, json={"offers": offers})
        orders = [order("01", "2026-05-01T10:00:00.000Z")]
        return httpx.Response(200, json={"total": 1, "orders": orders})

    httpx_mock.add_callback(answer, is_reusable=True)
    channel = make_channel(client, clock, credentials)
    since = datetime(2026, 4, 30, tzinfo=UTC)

    def offer_reads() -> int:
        return sum(r.url.path.endswith("/offer") for r in httpx_mock.get_requests())

    first = channel.fetch_sales(since)
    channel.fetch_sales(since)  # the overlap window re-reads the same order
    assert offer_reads() == 1
    clock.now += 901  # remembered for 15 minutes, then asked again
    channel.fetch_sales(since)

    assert offer_reads() == 2
    assert first.lines[0].counted_by_channel


# Pushes


class FakeEbay:
    """Just enough of eBay's inventory routes to follow the adapter's writes."""

    def __init__(self, quantities: dict[str, int], offers: dict[str, list]) -> None:
        self.quantities = quantities
        self.offers = offers
        self.bulk_bodies: list[dict[str, Any]] = []
        self.posts: list[str] = []
        self.item_errors: dict[str, dict[str, Any]] = {}
        self.oos = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/sell/inventory/v1")
        if path.endswith("/oauth2/token"):
            return httpx.Response(200, json={"access_token": "t2", "expires_in": 7200})
        body = json.loads(request.content) if request.content else {}
        if path == "/bulk_get_inventory_item":
            return httpx.Response(
                200,
                json={"responses": [self._item(r["sku"]) for r in body["requests"]]},
            )
        if path == "/offer":
            return httpx.Response(
                200, json={"offers": self.offers[query(request)["sku"][0]]}
            )
        if path.endswith("get_opted_in_programs"):
            programs = [{"programType": "OUT_OF_STOCK_CONTROL"}] if self.oos else []
            return httpx.Response(200, json={"programs": programs})
        self.posts.append(path)
        if path == "/bulk_update_price_quantity":
            self.bulk_bodies.append(body)
            return httpx.Response(
                207, json={"responses": [self._result(r) for r in body["requests"]]}
            )
        if path.endswith("/publish"):
            return httpx.Response(200, json={"listingId": "NEW-LISTING"})
        return httpx.Response(200, json={"listingId": "OLD"})

    def _item(self, sku: str) -> dict[str, Any]:
        if sku not in self.quantities:
            return {"sku": sku, "statusCode": 404, "errors": [{"errorId": 25702}]}
        item = {
            "availability": {
                "shipToLocationAvailability": {"quantity": self.quantities[sku]}
            }
        }
        return {"sku": sku, "statusCode": 200, "inventoryItem": item}

    def _result(self, element: dict[str, Any]) -> dict[str, Any]:
        sku = element["sku"]
        return self.item_errors.get(sku) or {"sku": sku, "statusCode": 200}


@pytest.fixture
def fake_ebay(httpx_mock: HTTPXMock) -> Callable[..., FakeEbay]:
    def install(quantities: dict[str, int], offers: dict[str, list]) -> FakeEbay:
        fake = FakeEbay(quantities, offers)
        httpx_mock.add_callback(fake, is_reusable=True)
        return fake

    return install


def test_pushes_go_in_one_bulk_call_of_25_with_per_item_results(
    fake_ebay: Callable[..., FakeEbay],
    client: httpx.Client,
    clock: FakeClock,
    credentials: Any,
) -> None:
    skus = [f"S{i:02d}" for i in range(25)]
    fake = fake_ebay(
        {sku: 5 for sku in skus}, {sku: [offer(f"O{sku}", sku)] for sku in skus}
    )
    fake.item_errors["S03"] = {
        "sku": "S03",
        "statusCode": 400,
        "errors": [{"errorId": 25709, "message": "Invalid value for quantity"}],
    }
    fake.item_errors["S04"] = {"sku": "S04", "statusCode": 500, "errors": []}
    channel = make_channel(client, clock, credentials)
    pushes = [Push(i, sku, 7, 5, f"key-{i}") for i, sku in enumerate(skus)]

    results = channel.push(pushes)

    assert channel.batch_size == 25
    assert len(fake.bulk_bodies) == 1
    requests = fake.bulk_bodies[0]["requests"]
    assert len(requests) == 25
    assert requests[0] == {
        "sku": "S00",
        "shipToLocationAvailability": {"quantity": 7},
        "offers": [{"offerId": "OS00", "availableQuantity": 7}],
    }
    statuses = {r.entry_id: (r.status, r.permanent) for r in results}
    assert statuses[3] == (PushStatus.REFUSED, True)
    assert statuses[4] == (PushStatus.RETRY, False)
    assert statuses[0] == (PushStatus.DONE, False)
    assert [r.holds for r in results if r.entry_id == 0] == [7]


def test_a_permanent_refusal_is_never_sent_again(
    fake_ebay: Callable[..., FakeEbay],
    client: httpx.Client,
    clock: FakeClock,
    credentials: Any,
) -> None:
    fake = fake_ebay({"A": 5}, {"A": [offer("OA", "A")]})
    fake.item_errors["A"] = {
        "sku": "A",
        "statusCode": 400,
        "errors": [{"errorId": 25709}],
    }
    channel = make_channel(client, clock, credentials)
    push = Push(1, "A", 7, 5, "same-key")

    first = channel.push([push])
    second = channel.push([push])

    assert first[0].status is PushStatus.REFUSED
    assert first[0].permanent
    assert second[0].status is PushStatus.REFUSED
    assert second[0].permanent
    assert len(fake.bulk_bodies) == 1


def test_compare_and_set_mismatch_writes_nothing(
    fake_ebay: Callable[..., FakeEbay],
    client: httpx.Client,
    clock: FakeClock,
    credentials: Any,
) -> None:
    fake = fake_ebay({"A": 2}, {"A": [offer("OA", "A")]})

    results = make_channel(client, clock, credentials).push([Push(1, "A", 7, 5, "k")])

    assert (results[0].status, results[0].holds) == (PushStatus.MISMATCH, 2)
    assert fake.posts == []


def test_zero_without_out_of_stock_control_withdraws_the_offer(
    fake_ebay: Callable[..., FakeEbay],
    client: httpx.Client,
    clock: FakeClock,
    credentials: Any,
) -> None:
    fake = fake_ebay({"A": 1}, {"A": [offer("OA", "A")]})
    channel = make_channel(client, clock, credentials)

    results = channel.push([Push(1, "A", 0, 1, "k")])

    assert results[0].status is PushStatus.DONE
    assert fake.posts == ["/offer/OA/withdraw", "/bulk_update_price_quantity"]
    assert fake.bulk_bodies[0]["requests"] == [
        {"sku": "A", "shipToLocationAvailability": {"quantity": 0}}
    ]

    # The restock publishes the withdrawn offer again.
    fake.quantities["A"] = 0
    fake.offers["A"] = [
        offer("OA", "A", status="UNPUBLISHED", listing=None, availableQuantity=1)
    ]
    results = channel.push([Push(2, "A", 3, 0, "k2")])

    assert results[0].status is PushStatus.DONE
    assert fake.posts[2:] == [
        "/bulk_update_price_quantity",
        "/offer/OA/publish",
        "/bulk_update_price_quantity",
    ]
    assert fake.bulk_bodies[-1]["requests"] == [
        {"sku": "A", "offers": [{"offerId": "OA", "availableQuantity": 3}]}
    ]


def test_zero_with_out_of_stock_control_is_sent_as_zero(
    fake_ebay: Callable[..., FakeEbay],
    client: httpx.Client,
    clock: FakeClock,
    credentials: Any,
) -> None:
    fake = fake_ebay({"A": 1}, {"A": [offer("OA", "A")]})
    fake.oos = True

    results = make_channel(client, clock, credentials).push([Push(1, "A", 0, 1, "k")])

    assert results[0].status is PushStatus.DONE
    assert fake.posts == ["/bulk_update_price_quantity"]
    assert fake.bulk_bodies[0]["requests"][0]["offers"] == [
        {"offerId": "OA", "availableQuantity": 0}
    ]


def test_revision_cap_holds_the_push_with_a_reason_and_resets_next_utc_day(
    fake_ebay: Callable[..., FakeEbay],
    client: httpx.Client,
    clock: FakeClock,
    credentials: Any,
) -> None:
    fake = fake_ebay({"A": 5}, {"A": [offer("OA", "A")]})
    ledger = RevisionLedger(cap=2, clock=clock)
    channel = make_channel(client, clock, credentials, revisions=ledger)

    outcomes = [channel.push([Push(i, "A", 5, 5, f"k{i}")])[0] for i in range(3)]

    assert [o.status for o in outcomes] == [
        PushStatus.DONE,
        PushStatus.DONE,
        PushStatus.RETRY,  # held, never counted towards the dead letter
    ]
    assert "LOA" in outcomes[2].reason
    assert "250" not in outcomes[2].reason
    assert not outcomes[2].permanent
    assert len(fake.bulk_bodies) == 2

    clock.now += DAY
    assert channel.push([Push(9, "A", 5, 5, "k9")])[0].status is PushStatus.DONE
