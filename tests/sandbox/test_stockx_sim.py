"""The StockX simulator on its own, then the StockX adapter against it end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from stackknack_cli.channels.base import Push, PushStatus
from stackknack_cli.channels.http import RetryPolicy
from stackknack_cli.channels.stockx import StockXChannel
from stackknack_cli.channels.stockx_auth import (
    StockXTokens,
    exchange_code,
    store_api_key,
)
from stackknack_cli.channels.stockx_catalog import propose_links
from stackknack_cli.channels.stockx_pacer import DailyPacer
from stackknack_cli.credentials import Credentials
from stackknack_cli.sandbox.server import Request, Response, SimServer
from stackknack_cli.sandbox.stockx import StockXSimulator
from tests.conftest import shared_path

NOW = 1_760_000_000.0


class FakeClock:
    def __init__(self, start: float = NOW) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> StockXSimulator:
    return StockXSimulator(seed=7, clock=clock, sleep=clock.sleep, spec_path=None)


def call(
    sim: StockXSimulator,
    method: str,
    path: str,
    *,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    clock: FakeClock | None = None,
) -> Response:
    if clock is not None:
        clock.now += 1.0
    sent = (
        {"x-api-key": sim.api_key, "authorization": f"Bearer {sim.access_token}"}
        if headers is None
        else headers
    )
    return sim.app(
        Request(
            method,
            path,
            {k: [v] for k, v in (query or {}).items()},
            sent,
            json.dumps(body).encode() if body is not None else b"",
        )
    )


def payload(response: Response) -> Any:
    return json.loads(response.body)


def seed(sim: StockXSimulator) -> dict[str, str]:
    return sim.seed_product(
        'Air Jordan 1 Retro High OG "Chicago"',
        "DZ5485-612",
        brand="Jordan",
        sizes=["9.5", "10", "10W"],
    )


def test_api_key_and_bearer_token_are_both_required(
    sim: StockXSimulator, clock: FakeClock
) -> None:
    no_key = call(
        sim,
        "GET",
        "/v2/selling/listings",
        headers={"authorization": f"Bearer {sim.access_token}"},
    )
    clock.now += 2
    no_token = call(
        sim, "GET", "/v2/selling/listings", headers={"x-api-key": sim.api_key}
    )
    clock.now += 2
    both = call(sim, "GET", "/v2/selling/listings")

    assert (no_key.status, payload(no_key)["message"]) == (403, "Forbidden")
    assert no_token.status == 401
    assert both.status == 200


def test_one_request_a_second_and_the_daily_limit_answer_429(clock: FakeClock) -> None:
    sim = StockXSimulator(clock=clock, sleep=clock.sleep, daily_limit=3, spec_path=None)

    first = call(sim, "GET", "/v2/selling/listings")
    too_soon = call(sim, "GET", "/v2/selling/listings")
    clock.now += 1.0
    second = call(sim, "GET", "/v2/selling/listings", clock=clock)
    third = call(sim, "GET", "/v2/selling/listings", clock=clock)
    over_day = call(sim, "GET", "/v2/selling/listings", clock=clock)

    assert [r.status for r in (first, too_soon, second, third, over_day)] == [
        200,
        429,
        200,
        200,
        429,
    ]
    assert too_soon.headers["Retry-After"] == "1"
    assert int(over_day.headers["Retry-After"]) > 1
    assert sim.throttled == 2


def test_single_create_stays_pending_then_succeeds_by_the_clock(
    sim: StockXSimulator, clock: FakeClock
) -> None:
    variant = seed(sim)["10"]

    created = call(
        sim,
        "POST",
        "/v2/selling/listings",
        body={"amount": "180", "variantId": variant},
    )
    op = payload(created)
    path = f"/v2/selling/listings/{op['listingId']}/operations/{op['operationId']}"
    early = payload(call(sim, "GET", path, clock=clock))
    clock.now += 2
    late = payload(call(sim, "GET", path, clock=clock))

    assert created.status == 201
    assert (op["operationType"], op["operationStatus"]) == ("CREATE", "PENDING")
    assert early["operationStatus"] == "PENDING"
    assert late["operationStatus"] == "SUCCEEDED"
    assert sim.active_count(variant) == 1


def test_injected_operation_failure_carries_an_error(
    sim: StockXSimulator, clock: FakeClock
) -> None:
    variant = seed(sim)["10"]
    [listing_id] = sim.seed_listings(variant, "180")
    call(
        sim,
        "POST",
        "/_sandbox/operations",
        body={"fail_next": 1, "error": "Ask locked"},
    )

    op = payload(call(sim, "DELETE", f"/v2/selling/listings/{listing_id}"))
    clock.now += 3
    path = f"/v2/selling/listings/{listing_id}/operations/{op['operationId']}"
    settled = payload(call(sim, "GET", path, clock=clock))

    assert (settled["operationStatus"], settled["error"]) == ("FAILED", "Ask locked")
    assert sim.active_count(variant) == 1


def test_batch_create_reports_item_statuses_and_failed_items(
    sim: StockXSimulator, clock: FakeClock
) -> None:
    variant = seed(sim)["9.5"]
    sim.market.fail_next(1, error="Price too low")
    item = {"variantId": variant, "amount": "200", "quantity": 3}

    started = payload(
        call(sim, "POST", "/v2/selling/batch/create-listing", body={"items": [item]})
    )
    clock.now += 3
    done = payload(
        call(
            sim,
            "GET",
            f"/v2/selling/batch/create-listing/{started['batchId']}",
            clock=clock,
        )
    )
    failed = payload(
        call(
            sim,
            "GET",
            f"/v2/selling/batch/create-listing/{started['batchId']}/items",
            query={"status": "FAILED"},
            clock=clock,
        )
    )

    assert started["status"] == "QUEUED"
    assert done["status"] == "COMPLETED"
    assert done["itemStatuses"] == {"failed": 1, "completed": 2}
    assert [i["error"] for i in failed["items"]] == ["Price too low"]
    assert sim.active_count(variant) == 2


def test_batches_over_100_items_are_refused(sim: StockXSimulator) -> None:
    items = [{"listingId": f"L{n}"} for n in range(101)]

    answer = call(
        sim, "POST", "/v2/selling/batch/delete-listing", body={"items": items}
    )

    assert answer.status == 400


def test_a_buyer_matches_the_lowest_ask_and_an_active_order_appears(
    sim: StockXSimulator, clock: FakeClock
) -> None:
    variant = seed(sim)["10"]
    sim.seed_listings(variant, "250")
    [cheap] = sim.seed_listings(variant, "190")
    sim.seed_listings(variant, "150", inventory_type="FLEX")

    sold = payload(
        call(
            sim,
            "POST",
            "/_sandbox/sell",
            body={
                "style_id": "dz5485-612",
                "size": "US M 10",
                "inventory_type": "STANDARD",
            },
        )
    )
    flex = sim.sell(variant, inventory_type="FLEX")
    orders = payload(
        call(
            sim,
            "GET",
            "/v2/selling/orders/active",
            query={"inventoryTypes": "STANDARD", "pageSize": "10"},
        )
    )

    assert [o["orderNumber"] for o in orders["orders"]] == [sold["order_number"]]
    assert orders["orders"][0]["listingId"] == cheap
    assert sim.market.listings[cheap].status == "MATCHED"
    assert flex.startswith("02-")


def test_listings_page_from_one(sim: StockXSimulator, clock: FakeClock) -> None:
    variant = seed(sim)["10"]
    sim.seed_listings(variant, "180", quantity=5)

    first = payload(
        call(
            sim,
            "GET",
            "/v2/selling/listings",
            query={"pageNumber": "1", "pageSize": "2"},
        )
    )
    last = payload(
        call(
            sim,
            "GET",
            "/v2/selling/listings",
            query={"pageNumber": "3", "pageSize": "2"},
            clock=clock,
        )
    )

    assert (first["count"], first["hasNextPage"], len(first["listings"])) == (
        5,
        True,
        2,
    )
    assert (last["hasNextPage"], len(last["listings"])) == (False, 1)


def test_requests_are_checked_against_the_published_spec(clock: FakeClock) -> None:
    spec = shared_path("specs", "stockx", "stockx.json")
    sim = StockXSimulator(clock=clock, sleep=clock.sleep, spec_path=spec)

    big_page = call(sim, "GET", "/v2/selling/listings", query={"pageSize": "500"})
    odd_body = call(
        sim,
        "POST",
        "/v2/selling/listings",
        body={"amount": 180, "variantId": "x", "colour": "red"},
        clock=clock,
    )

    assert big_page.status == 400
    assert "pageSize must be at most 100" in payload(big_page)["message"]
    message = payload(odd_body)["message"]
    assert "body.amount must be of type string" in message
    assert "body.colour is not allowed" in message


def test_codes_are_single_use_and_refresh_tokens_do_not_rotate(
    sim: StockXSimulator,
) -> None:
    form = {
        "grant_type": "authorization_code",
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
        "code": sim.auth_code,
        "redirect_uri": sim.redirect_uri,
    }

    def token(fields: dict[str, str]) -> Response:
        body = urlencode(fields).encode()
        return sim.app(Request("POST", "/oauth/token", {}, {}, body))

    first, again = token(form), token(form)
    refresh = {
        **form,
        "grant_type": "refresh_token",
        "refresh_token": sim.refresh_token,
    }
    renewed, renewed_again = token(refresh), token(refresh)

    assert first.status == 200
    assert "refresh_token" in payload(first)
    assert again.status == 403
    assert renewed.status == 200
    assert "refresh_token" not in payload(renewed)
    assert renewed_again.status == 200


@pytest.fixture
def served(sim: StockXSimulator) -> Iterator[str]:
    server = SimServer(sim.app).start()
    try:
        yield server.base_url
    finally:
        server.stop()


@pytest.fixture
def channel(
    sim: StockXSimulator, served: str, clock: FakeClock, memory_keyring: Any
) -> Iterator[StockXChannel]:
    credentials = Credentials("e2e")
    with httpx.Client(trust_env=False) as client:
        store_api_key(credentials, sim.api_key)
        exchange_code(
            client,
            f"{sim.redirect_uri}?code={sim.auth_code}&state=s",
            client_id=sim.client_id,
            client_secret=sim.client_secret,
            redirect_uri=sim.redirect_uri,
            credentials=credentials,
            token_url=f"{served}/oauth/token",
            state="s",
            clock=clock,
        )
        policy = RetryPolicy(attempts=3, sleep=clock.sleep)
        tokens = StockXTokens(
            credentials,
            client,
            token_url=f"{served}/oauth/token",
            clock=clock,
            policy=policy,
        )
        yield StockXChannel(
            client,
            tokens=tokens,
            base_url=f"{served}/v2",
            policy=policy,
            pacer=DailyPacer(clock=clock, sleep=clock.sleep),
            clock=clock,
        )


def settle(channel: StockXChannel, push: Push, clock: FakeClock) -> list[PushStatus]:
    seen = []
    for _ in range(6):
        [result] = channel.push([push])
        seen.append(result.status)
        if result.status is not PushStatus.PENDING:
            return seen
        clock.now += 2.5
        push = Push(
            push.entry_id,
            push.channel_ref,
            push.target,
            None,
            push.key,
            details=push.details,
            operation=result.operation,
        )
    return seen


def test_adapter_against_the_simulator_end_to_end(
    sim: StockXSimulator, channel: StockXChannel, clock: FakeClock
) -> None:
    variants = seed(sim)
    variant = variants["10"]
    sim.seed_listings(variant, "175", inventory_type="FLEX")
    ask = {"ask": "199", "currency": "USD"}

    up = settle(channel, Push(1, variant, 3, 0, "k1", details=ask), clock)
    assert up[0] is PushStatus.PENDING
    assert up[-1] is PushStatus.DONE
    assert channel.read_quantities([variant]) == {variant: 3}

    listed = {x.channel_ref: x for x in channel.fetch_listings()}
    assert listed[variant].quantity == 3
    assert listed[variant].details["flex"] == 1
    proposals = propose_links(
        [("DZ5485-612-9.5", ""), ("DZ5485-612-10", "")],
        list(listed.values()),
        channel=channel,
    )
    assert [(p.variant_id, p.source) for p in proposals] == [
        (variants["9.5"], "catalog"),
        (variant, "listings"),
    ]

    since = datetime.fromtimestamp(clock() - 1, tz=UTC)
    order = sim.sell(variant, inventory_type="STANDARD")
    sim.sell(variant, inventory_type="FLEX")
    sales = channel.fetch_sales(since)
    assert [line.order_id for line in sales.lines] == [order]

    down = settle(channel, Push(2, variant, 1, 2, "k2", details=ask), clock)
    assert down[-1] is PushStatus.DONE
    assert sim.active_count(variant) == 1

    sim.expire_access_tokens()
    gone = settle(channel, Push(3, variant, 0, 1, "k3", details=ask), clock)
    assert gone[-1] is PushStatus.DONE
    assert sim.active_count(variant) == 0

    back = settle(channel, Push(4, variant, 2, 0, "k4", details=ask), clock)
    assert back[-1] is PushStatus.DONE
    prices = {
        x.amount
        for x in sim.market.listings.values()
        if x.variant.id == variant
        and x.status == "ACTIVE"
        and x.inventory_type == "STANDARD"
    }
    assert prices == {"199"}
    assert sim.throttled == 0
    assert {h["x-api-key"] for _, _, h in sim.requests} == {sim.api_key}


def test_order_history_filters_by_status_and_creation_day(
    sim: StockXSimulator, clock: FakeClock
) -> None:
    variant = seed(sim)["10"]
    sim.seed_listings(variant, "190", quantity=2)
    old = sim.sell(variant)
    new = sim.sell(variant)
    sim.market.orders[old].created_at -= 3 * 86_400  # placed three days ago
    for number in (old, new):
        sim.market.complete(number, "CANCELED")
    today = datetime.fromtimestamp(clock.now, tz=UTC).date().isoformat()

    def history(**query: str) -> list[str]:
        path = "/v2/selling/orders/history"
        query["pageSize"] = "10"
        found = payload(call(sim, "GET", path, query=query, clock=clock))
        return [row["orderNumber"] for row in found["orders"]]

    assert history(orderStatus="CANCELED") == [old, new]
    assert history(orderStatus="CANCELED", fromDate=today) == [new]
    assert history(orderStatus="COMPLETED") == []
    refused = call(
        sim,
        "GET",
        "/v2/selling/orders/history",
        query={"fromDate": "yesterday"},
        clock=clock,
    )
    assert refused.status == 400
