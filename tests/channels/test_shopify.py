"""The Shopify adapter against mocked Admin GraphQL answers (pytest-httpx)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from pytest_httpx import HTTPXMock

from stackknack_cli.channels import shopify_queries as q
from stackknack_cli.channels.base import Push, PushStatus
from stackknack_cli.channels.http import RetryPolicy
from stackknack_cli.channels.shopify import (
    Location,
    ShopifyChannel,
    choose_location,
    orders_query,
)
from stackknack_cli.channels.shopify_auth import (
    FIELD_GRANTED_TOKEN,
    ClientCredentialsToken,
    StaticToken,
    TokenProvider,
)
from stackknack_cli.credentials import Credentials, MemoryStore
from stackknack_cli.errors import (
    ChannelError,
    ChannelUnavailableError,
    ConfigError,
    CredentialError,
)

SHOP = "https://test-shop.myshopify.com"
ENDPOINT = f"{SHOP}/admin/api/2026-04/graphql.json"
TOKEN_URL = f"{SHOP}/admin/oauth/access_token"
LOCATION = "gid://shopify/Location/1"
TOKEN = "shpat_static_secret_value"


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def policy(sleeps: list[float]) -> RetryPolicy:
    return RetryPolicy(attempts=3, base_wait=0.5, max_wait=5.0, sleep=sleeps.append)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as opened:
        yield opened


def make_channel(
    client: httpx.Client,
    policy: RetryPolicy,
    tokens: TokenProvider | None = None,
) -> ShopifyChannel:
    return ShopifyChannel(
        client,
        SHOP,
        LOCATION,
        tokens=tokens or StaticToken(TOKEN),
        policy=policy,
    )


@pytest.fixture
def channel(client: httpx.Client, policy: RetryPolicy) -> ShopifyChannel:
    return make_channel(client, policy)


def data(payload: dict[str, Any]) -> dict[str, Any]:
    return {"data": payload}


def body(request: httpx.Request) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(request.content)
    return parsed


def variant(
    number: int, sku: str | None, available: int | None, title: str = "Default Title"
) -> dict[str, Any]:
    level = None
    if available is not None:
        level = {"quantities": [{"name": "available", "quantity": available}]}
    return {
        "id": f"gid://shopify/ProductVariant/{number}",
        "sku": sku,
        "title": title,
        "product": {
            "id": "gid://shopify/Product/9",
            "title": "Tee",
            "status": "ACTIVE",
        },
        "inventoryItem": {
            "id": f"gid://shopify/InventoryItem/{number}",
            "inventoryLevel": level,
        },
    }


def page(key: str, nodes: list[Any], cursor: str | None) -> dict[str, Any]:
    info = {"hasNextPage": cursor is not None, "endCursor": cursor}
    return data({key: {"pageInfo": info, "nodes": nodes}})


def push(entry_id: int, item: int, target: int, expected: int | None) -> Push:
    return Push(
        entry_id=entry_id,
        channel_ref=f"gid://shopify/InventoryItem/{item}",
        target=target,
        expected=expected,
        key=f"outbox-{entry_id}",
    )


def set_ok() -> dict[str, Any]:
    group = {"id": "gid://shopify/InventoryAdjustmentGroup/1"}
    return data(
        {
            "inventorySetQuantities": {
                "inventoryAdjustmentGroup": group,
                "userErrors": [],
            }
        }
    )


def set_failed(errors: list[dict[str, Any]]) -> dict[str, Any]:
    return data(
        {
            "inventorySetQuantities": {
                "inventoryAdjustmentGroup": None,
                "userErrors": errors,
            }
        }
    )


def levels(quantities: dict[int, int]) -> dict[str, Any]:
    nodes = [
        {
            "id": f"gid://shopify/InventoryItem/{item}",
            "inventoryLevel": {"quantities": [{"name": "available", "quantity": n}]},
        }
        for item, n in quantities.items()
    ]
    return data({"nodes": nodes})


def throttled(requested: int, available: float, rate: float) -> dict[str, Any]:
    return {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": None,
                "throttleStatus": {
                    "maximumAvailable": 1000.0,
                    "currentlyAvailable": available,
                    "restoreRate": rate,
                },
            }
        },
    }


def test_check_returns_shop_name_and_sends_token_header(
    httpx_mock: HTTPXMock, channel: ShopifyChannel
) -> None:
    httpx_mock.add_response(url=ENDPOINT, json=data({"shop": {"name": "Test Shop"}}))

    assert channel.check() == "Test Shop"

    request = httpx_mock.get_request()
    assert request is not None
    assert request.method == "POST"
    assert request.headers["X-Shopify-Access-Token"] == TOKEN
    assert "shop { name }" in body(request)["query"]


def test_fetch_listings_follows_cursor_over_two_pages(
    httpx_mock: HTTPXMock, channel: ShopifyChannel
) -> None:
    httpx_mock.add_response(
        url=ENDPOINT,
        json=page("productVariants", [variant(1, "TEE-S", 4, "S")], "cursor-1"),
    )
    httpx_mock.add_response(
        url=ENDPOINT,
        json=page(
            "productVariants", [variant(2, "  ", 7), variant(3, "CAP", None)], None
        ),
    )

    listings = list(channel.fetch_listings())

    assert [x.channel_ref for x in listings] == [
        "gid://shopify/InventoryItem/1",
        "gid://shopify/InventoryItem/2",
        "gid://shopify/InventoryItem/3",
    ]
    first, blank, unstocked = listings
    assert (first.sku, first.quantity, first.title) == ("TEE-S", 4, "Tee - S")
    assert first.details["variant_id"] == "gid://shopify/ProductVariant/1"
    assert first.details["product_title"] == "Tee"
    assert first.details["stocked"] is True
    assert blank.sku is None
    assert (unstocked.quantity, unstocked.details["stocked"]) == (0, False)

    requests = httpx_mock.get_requests()
    assert [body(r)["variables"]["after"] for r in requests] == [None, "cursor-1"]
    variables = body(requests[0])["variables"]
    assert variables["location"] == LOCATION
    assert q.connection_cost(variables["first"], q.VARIANT_NODE_COST) <= 1000


def test_page_sizes_stay_within_shopifys_query_cost_cap() -> None:
    assert (
        q.connection_cost(q.fit_page(q.VARIANT_NODE_COST), q.VARIANT_NODE_COST) <= 1000
    )
    assert q.connection_cost(q.fit_page(q.ORDER_NODE_COST), q.ORDER_NODE_COST) <= 1000
    assert q.fit_page(q.LEVEL_NODE_COST) == 250


def test_orders_query_formats_since_as_utc_seconds() -> None:
    since = datetime(2026, 5, 15, 8, 25, 43, 511000, tzinfo=UTC)

    assert orders_query(since) == "updated_at:>='2026-05-15T08:25:43Z'"
    assert orders_query(since.replace(tzinfo=None)) == orders_query(since)


def order(
    number: int,
    updated: str,
    lines: list[tuple[int, str | None, int]],
    *,
    cancelled: str | None = None,
    more_lines: str | None = None,
) -> dict[str, Any]:
    return {
        "id": f"gid://shopify/Order/{number}",
        "createdAt": "2026-05-15T08:00:00Z",
        "updatedAt": updated,
        "cancelledAt": cancelled,
        "lineItems": {
            "pageInfo": {
                "hasNextPage": more_lines is not None,
                "endCursor": more_lines,
            },
            "nodes": [line(n, sku, qty) for n, sku, qty in lines],
        },
    }


def line(number: int, sku: str | None, quantity: int) -> dict[str, Any]:
    return {
        "id": f"gid://shopify/LineItem/{number}",
        "sku": sku,
        "currentQuantity": quantity,
        "variant": {
            "id": f"gid://shopify/ProductVariant/{number}",
            "inventoryItem": {"id": f"gid://shopify/InventoryItem/{number}"},
        },
    }


def test_fetch_sales_counts_current_quantity_and_skips_cancelled(
    httpx_mock: HTTPXMock, channel: ShopifyChannel
) -> None:
    orders = [
        order(1, "2026-05-15T09:00:00Z", [(11, "TEE-S", 2), (12, "CAP", 0)]),
        order(
            2, "2026-05-15T11:00:00Z", [(21, "TEE-S", 1)], cancelled="2026-05-15T11:00Z"
        ),
        order(3, "2026-05-15T10:00:00Z", [(31, "", 1)], more_lines="lines-1"),
    ]
    httpx_mock.add_response(url=ENDPOINT, json=page("orders", orders, None))
    more = {"pageInfo": {"hasNextPage": False}, "nodes": [line(32, "MUG", 3)]}
    httpx_mock.add_response(url=ENDPOINT, json=data({"node": {"lineItems": more}}))
    since = datetime(2026, 5, 15, 8, 0, tzinfo=UTC)

    batch = channel.fetch_sales(since)

    assert [(x.line_id, x.quantity, x.sku) for x in batch.lines] == [
        ("gid://shopify/LineItem/11", 2, "TEE-S"),
        ("gid://shopify/LineItem/31", 1, None),
        ("gid://shopify/LineItem/32", 3, "MUG"),
    ]
    assert batch.lines[0].order_id == "gid://shopify/Order/1"
    assert batch.lines[0].channel_ref == "gid://shopify/InventoryItem/11"
    assert batch.newest == datetime(2026, 5, 15, 11, 0, tzinfo=UTC)

    orders_request, lines_request = httpx_mock.get_requests()
    sent = body(orders_request)
    assert "sortKey: UPDATED_AT" in sent["query"]
    assert sent["variables"]["query"] == "updated_at:>='2026-05-15T08:00:00Z'"
    assert body(lines_request)["variables"]["id"] == "gid://shopify/Order/3"
    assert body(lines_request)["variables"]["after"] == "lines-1"


def test_fetch_sales_keeps_units_refunded_without_restock_in_the_sale(
    httpx_mock: HTTPXMock, channel: ShopifyChannel
) -> None:
    # Both orders sold 3; each gave one unit back to stock and kept one away.
    def refund(number: int, line_id: int, restock: str) -> dict[str, Any]:
        node = {
            "id": f"gid://shopify/RefundLineItem/{number}",
            "quantity": 1,
            "restockType": restock,
            "location": None,
            "lineItem": {"id": f"gid://shopify/LineItem/{line_id}"},
        }
        return {
            "id": f"gid://shopify/Refund/{number}",
            "createdAt": "2026-05-15T09:00:00Z",
            "refundLineItems": {"pageInfo": {"hasNextPage": False}, "nodes": [node]},
        }

    open_order = order(1, "2026-05-15T09:00:00Z", [(11, "TEE-S", 1)])
    open_order["lineItems"]["nodes"][0]["quantity"] = 3
    open_order["refunds"] = [refund(1, 11, "CANCEL"), refund(2, 11, "NO_RESTOCK")]
    cancelled = order(
        2, "2026-05-15T10:00:00Z", [(21, "CAP", 0)], cancelled="2026-05-15T10:00Z"
    )
    cancelled["lineItems"]["nodes"][0]["quantity"] = 3
    cancelled["refunds"] = [refund(3, 21, "CANCEL"), refund(4, 21, "NO_RESTOCK")]
    httpx_mock.add_response(
        url=ENDPOINT, json=page("orders", [open_order, cancelled], None)
    )

    batch = channel.fetch_sales(datetime(2026, 5, 15, 8, 0, tzinfo=UTC))

    assert [(x.sku, x.quantity) for x in batch.lines] == [("TEE-S", 2), ("CAP", 2)]
    assert [(x.cause, x.restocked) for x in batch.returns] == [
        ("cancel", True),
        ("refund", False),
        ("cancel", True),
        ("refund", False),
    ]


def test_push_sets_available_with_compare_and_idempotency_key(
    httpx_mock: HTTPXMock, channel: ShopifyChannel
) -> None:
    httpx_mock.add_response(url=ENDPOINT, json=set_ok())

    results = channel.push([push(7, 1, target=3, expected=5)])

    assert [(r.entry_id, r.status, r.holds) for r in results] == [
        (7, PushStatus.DONE, 3)
    ]
    sent = body(httpx_mock.get_requests()[0])
    assert "@idempotent(key: $key)" in sent["query"]
    assert sent["variables"]["key"]
    assert sent["variables"]["input"] == {
        "name": "available",
        "reason": "correction",
        "referenceDocumentUri": "gid://stackknack/OutboxEntry/7",
        "quantities": [
            {
                "inventoryItemId": "gid://shopify/InventoryItem/1",
                "locationId": LOCATION,
                "quantity": 3,
                "changeFromQuantity": 5,
            }
        ],
    }


def test_push_with_unknown_expected_compares_against_live_quantity(
    httpx_mock: HTTPXMock, channel: ShopifyChannel
) -> None:
    httpx_mock.add_response(url=ENDPOINT, json=levels({1: 9}))
    httpx_mock.add_response(url=ENDPOINT, json=set_ok())

    results = channel.push([push(7, 1, target=0, expected=None)])

    assert results[0].status is PushStatus.DONE
    read, write = httpx_mock.get_requests()
    assert body(read)["variables"]["ids"] == ["gid://shopify/InventoryItem/1"]
    quantity = body(write)["variables"]["input"]["quantities"][0]
    assert quantity["changeFromQuantity"] == 9
    assert quantity["quantity"] == 0


def test_push_mismatch_reports_live_quantity_and_writes_nothing_more(
    httpx_mock: HTTPXMock, channel: ShopifyChannel
) -> None:
    stale = {
        "code": "CHANGE_FROM_QUANTITY_STALE",
        "field": ["input", "quantities", "0", "changeFromQuantity"],
        "message": "stale compare",
    }
    httpx_mock.add_response(url=ENDPOINT, json=set_failed([stale]))
    httpx_mock.add_response(url=ENDPOINT, json=levels({1: 2}))

    results = channel.push([push(7, 1, target=3, expected=5)])

    assert [(r.status, r.holds) for r in results] == [(PushStatus.MISMATCH, 2)]
    mutations = [r for r in httpx_mock.get_requests() if "mutation" in body(r)["query"]]
    assert len(mutations) == 1


def test_one_refused_item_does_not_block_the_rest(
    httpx_mock: HTTPXMock, channel: ShopifyChannel
) -> None:
    refusal = {
        "code": "NON_MUTABLE_INVENTORY_ITEM",
        "field": ["input", "quantities", "1", "inventoryItemId"],
        "message": "bundle parents cannot be set",
    }
    httpx_mock.add_response(url=ENDPOINT, json=set_failed([refusal]))
    httpx_mock.add_response(url=ENDPOINT, json=set_ok())
    pushes = [push(1, 1, 3, 4), push(2, 2, 5, 6), push(3, 3, 0, 1)]

    results = {r.entry_id: r for r in channel.push(pushes)}

    assert results[1].status is PushStatus.DONE
    assert results[3].status is PushStatus.DONE
    assert results[2].status is PushStatus.REFUSED
    assert results[2].reason.startswith("NON_MUTABLE_INVENTORY_ITEM: ")
    first, second = (body(r)["variables"] for r in httpx_mock.get_requests())
    resent = [x["inventoryItemId"] for x in second["input"]["quantities"]]
    assert resent == ["gid://shopify/InventoryItem/1", "gid://shopify/InventoryItem/3"]
    assert first["key"] != second["key"]


def test_failed_previous_attempt_is_resent_once_under_a_new_key(
    httpx_mock: HTTPXMock, channel: ShopifyChannel
) -> None:
    failed = {
        "code": "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED",
        "field": None,
        "message": "a previous request with this key failed",
    }
    httpx_mock.add_response(url=ENDPOINT, json=set_failed([failed]))
    httpx_mock.add_response(url=ENDPOINT, json=set_ok())

    results = channel.push([push(4, 1, target=0, expected=1)])

    assert [r.status for r in results] == [PushStatus.DONE]
    first, second = (body(r)["variables"] for r in httpx_mock.get_requests())
    assert first["key"] != second["key"]
    assert first["input"] == second["input"]


def test_throttled_answer_waits_for_the_bucket_then_succeeds(
    httpx_mock: HTTPXMock, channel: ShopifyChannel, sleeps: list[float]
) -> None:
    httpx_mock.add_response(url=ENDPOINT, json=throttled(752, 666.0, 50.0))
    httpx_mock.add_response(url=ENDPOINT, json=data({"shop": {"name": "Test Shop"}}))

    assert channel.check() == "Test Shop"

    assert sleeps == [pytest.approx((752 - 666) / 50)]


def test_429_waits_retry_after_and_reuses_the_idempotency_key(
    httpx_mock: HTTPXMock, channel: ShopifyChannel, sleeps: list[float]
) -> None:
    httpx_mock.add_response(
        url=ENDPOINT, status_code=429, headers={"Retry-After": "1.5"}
    )
    httpx_mock.add_response(url=ENDPOINT, json=set_ok())

    results = channel.push([push(7, 1, target=3, expected=5)])

    assert results[0].status is PushStatus.DONE
    assert sleeps == [1.5]
    keys = [body(r)["variables"]["key"] for r in httpx_mock.get_requests()]
    assert len(keys) == 2
    assert keys[0] == keys[1]


def test_server_errors_past_retries_raise_channel_unavailable(
    httpx_mock: HTTPXMock, channel: ShopifyChannel, sleeps: list[float]
) -> None:
    httpx_mock.add_response(url=ENDPOINT, status_code=503, is_reusable=True)

    with pytest.raises(ChannelUnavailableError, match="shopify"):
        channel.check()

    assert len(httpx_mock.get_requests()) == 3
    assert len(sleeps) == 2


def test_graphql_error_raises_channel_error_with_message_only(
    httpx_mock: HTTPXMock, channel: ShopifyChannel
) -> None:
    answer = {"errors": [{"message": "Field 'nope' doesn't exist", "locations": []}]}
    httpx_mock.add_response(url=ENDPOINT, json=answer)

    with pytest.raises(ChannelError) as caught:
        channel.check()

    assert str(caught.value) == "shopify: Field 'nope' doesn't exist"


def test_static_token_refused_raises_credential_error_without_token(
    httpx_mock: HTTPXMock, channel: ShopifyChannel
) -> None:
    httpx_mock.add_response(url=ENDPOINT, status_code=401)

    with pytest.raises(CredentialError) as caught:
        channel.check()

    assert "stackknack connect shopify" in str(caught.value)
    assert TOKEN not in str(caught.value)


def grant(token: str, expires_in: int = 86399) -> dict[str, Any]:
    return {"access_token": token, "scope": "write_inventory", "expires_in": expires_in}


@pytest.fixture
def credentials() -> Credentials:
    return Credentials("install-1", store=MemoryStore())


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def granted_tokens(
    client: httpx.Client, credentials: Credentials, policy: RetryPolicy, clock: Clock
) -> ClientCredentialsToken:
    return ClientCredentialsToken(
        client,
        SHOP,
        client_id="app-id",
        client_secret="app-secret",
        credentials=credentials,
        policy=policy,
        clock=clock,
    )


def test_client_credentials_token_is_fetched_cached_and_renewed_on_expiry(
    httpx_mock: HTTPXMock,
    client: httpx.Client,
    credentials: Credentials,
    policy: RetryPolicy,
) -> None:
    clock = Clock()
    httpx_mock.add_response(url=TOKEN_URL, json=grant("shpat_first"))
    httpx_mock.add_response(url=TOKEN_URL, json=grant("shpat_second"))
    shop = data({"shop": {"name": "Test Shop"}})
    httpx_mock.add_response(url=ENDPOINT, json=shop, is_reusable=True)

    make_channel(
        client, policy, granted_tokens(client, credentials, policy, clock)
    ).check()
    # A new process finds the token in the credentials store.
    make_channel(
        client, policy, granted_tokens(client, credentials, policy, clock)
    ).check()
    clock.now += 86399
    make_channel(
        client, policy, granted_tokens(client, credentials, policy, clock)
    ).check()

    grants = httpx_mock.get_requests(url=TOKEN_URL)
    assert len(grants) == 2
    form = parse_qs(grants[0].content.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["app-id"],
        "client_secret": ["app-secret"],
    }
    sent = [
        r.headers["X-Shopify-Access-Token"]
        for r in httpx_mock.get_requests(url=ENDPOINT)
    ]
    assert sent == ["shpat_first", "shpat_first", "shpat_second"]
    cached = credentials.get_json("shopify", FIELD_GRANTED_TOKEN)
    assert cached == {"token": "shpat_second", "expires_at": clock.now + 86399}


def test_401_renews_the_token_once_then_raises_credential_error(
    httpx_mock: HTTPXMock,
    client: httpx.Client,
    credentials: Credentials,
    policy: RetryPolicy,
) -> None:
    httpx_mock.add_response(url=TOKEN_URL, json=grant("shpat_first"))
    httpx_mock.add_response(url=TOKEN_URL, json=grant("shpat_second"))
    httpx_mock.add_response(url=ENDPOINT, status_code=401, is_reusable=True)
    tokens = granted_tokens(client, credentials, policy, Clock())

    with pytest.raises(CredentialError) as caught:
        make_channel(client, policy, tokens).check()

    sent = [
        r.headers["X-Shopify-Access-Token"]
        for r in httpx_mock.get_requests(url=ENDPOINT)
    ]
    assert sent == ["shpat_first", "shpat_second"]
    message = str(caught.value)
    assert "run: stackknack connect shopify" in message
    assert "shpat_" not in message
    assert "app-secret" not in message


def test_401_then_success_after_renewal(
    httpx_mock: HTTPXMock,
    client: httpx.Client,
    credentials: Credentials,
    policy: RetryPolicy,
) -> None:
    httpx_mock.add_response(url=TOKEN_URL, json=grant("shpat_first"))
    httpx_mock.add_response(url=TOKEN_URL, json=grant("shpat_second"))
    httpx_mock.add_response(url=ENDPOINT, status_code=401)
    httpx_mock.add_response(url=ENDPOINT, json=data({"shop": {"name": "Test Shop"}}))
    tokens = granted_tokens(client, credentials, policy, Clock())

    assert make_channel(client, policy, tokens).check() == "Test Shop"


def test_refused_client_secret_raises_credential_error(
    httpx_mock: HTTPXMock,
    client: httpx.Client,
    credentials: Credentials,
    policy: RetryPolicy,
) -> None:
    httpx_mock.add_response(url=TOKEN_URL, status_code=400, json={"error": "bad"})
    tokens = granted_tokens(client, credentials, policy, Clock())

    with pytest.raises(
        CredentialError, match="run: stackknack connect shopify"
    ) as caught:
        make_channel(client, policy, tokens).check()

    assert "app-secret" not in str(caught.value)


def test_list_locations_keeps_active_ones(
    httpx_mock: HTTPXMock, channel: ShopifyChannel
) -> None:
    nodes = [
        {"id": "gid://shopify/Location/1", "name": "Shop floor", "isActive": True},
        {"id": "gid://shopify/Location/2", "name": "Old store", "isActive": False},
    ]
    httpx_mock.add_response(url=ENDPOINT, json=page("locations", nodes, None))

    assert channel.list_locations() == [
        Location("gid://shopify/Location/1", "Shop floor")
    ]


def test_choose_location_asks_when_several_and_none_chosen() -> None:
    locations = [
        Location("gid://shopify/Location/1", "Shop floor"),
        Location("gid://shopify/Location/2", "Warehouse"),
    ]

    with pytest.raises(ConfigError, match="--location") as caught:
        choose_location(locations, None)

    assert "gid://shopify/Location/2 (Warehouse)" in str(caught.value)
    assert choose_location(locations, "2") == locations[1]
    assert choose_location(locations, "shop floor") == locations[0]
    assert choose_location(locations[:1], None) == locations[0]


def test_plain_http_shop_url_is_refused_off_loopback(
    client: httpx.Client, policy: RetryPolicy
) -> None:
    with pytest.raises(ConfigError, match="https://"):
        ShopifyChannel(
            client,
            "http://test-shop.myshopify.com",
            LOCATION,
            tokens=StaticToken(TOKEN),
            policy=policy,
        )

    local = ShopifyChannel(
        client,
        "http://127.0.0.1:8123/",
        LOCATION,
        tokens=StaticToken(TOKEN),
        policy=policy,
    )
    assert local.endpoint == "http://127.0.0.1:8123/admin/api/2026-04/graphql.json"


def test_listings_without_location_raise_config_error(
    client: httpx.Client, policy: RetryPolicy
) -> None:
    channel = ShopifyChannel(
        client, SHOP, None, tokens=StaticToken(TOKEN), policy=policy
    )

    with pytest.raises(ConfigError, match="--location"):
        list(channel.fetch_listings())
