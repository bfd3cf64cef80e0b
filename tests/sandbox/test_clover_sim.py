"""The Clover simulator alone, and the Clover adapter against it over loopback HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from stackknack_cli.channels.base import Push, PushStatus
from stackknack_cli.channels.clover import CloverChannel, RequestPacer
from stackknack_cli.channels.clover_tokens import OAuthTokens, StaticToken
from stackknack_cli.channels.http import RetryPolicy
from stackknack_cli.credentials import Credentials
from stackknack_cli.sandbox.clover import CloverSimulator
from stackknack_cli.sandbox.server import Request, Response, SimServer

NOW = 1_760_000_000.0
DAY_MS = 24 * 3600 * 1000


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
def sim(clock: FakeClock) -> CloverSimulator:
    return CloverSimulator(seed=7, clock=clock, sleep=clock.sleep)


def call(
    sim: CloverSimulator,
    method: str,
    path: str,
    *,
    token: str | None = "api",
    query: dict[str, list[str]] | None = None,
    body: Any = None,
) -> Response:
    headers = {}
    if token is not None:
        value = sim.api_token if token == "api" else token
        headers["authorization"] = f"Bearer {value}"
    raw = json.dumps(body).encode() if body is not None else b""
    return sim.app(Request(method, path, query or {}, headers, raw))


def payload(response: Response) -> Any:
    return json.loads(response.body)


def test_requests_without_a_valid_token_get_401_with_a_message(
    sim: CloverSimulator,
) -> None:
    path = f"/v3/merchants/{sim.merchant_id}"
    other = sim.add_merchant("Elsewhere")

    missing = call(sim, "GET", path, token=None)
    wrong = call(sim, "GET", path, token="nope")
    foreign = call(sim, "GET", f"/v3/merchants/{other}")
    unknown = call(sim, "GET", "/v3/merchants/NOSUCHMERCHNT")

    assert (missing.status, wrong.status, foreign.status) == (401, 401, 401)
    assert "message" in payload(missing)
    assert unknown.status == 404
    assert payload(call(sim, "GET", path))["name"] == "Sandbox Sneakers"


def test_access_tokens_expire_by_the_clock(
    sim: CloverSimulator, clock: FakeClock
) -> None:
    path = f"/v3/merchants/{sim.merchant_id}"
    assert call(sim, "GET", path, token=sim.access_token).status == 200

    clock.now = float(sim.token_response["access_token_expiration"])  # type: ignore[arg-type]

    assert call(sim, "GET", path, token=sim.access_token).status == 401
    assert call(sim, "GET", path).status == 200  # the static API token never expires


def test_refresh_token_works_once(sim: CloverSimulator) -> None:
    body = {"client_id": sim.client_id, "refresh_token": sim.refresh_token}

    first = call(sim, "POST", "/oauth/v2/refresh", token=None, body=body)
    again = call(sim, "POST", "/oauth/v2/refresh", token=None, body=body)

    pair = payload(first)
    assert first.status == 200
    assert set(pair) == {
        "access_token",
        "access_token_expiration",
        "refresh_token",
        "refresh_token_expiration",
    }
    assert again.status == 401
    path = f"/v3/merchants/{sim.merchant_id}"
    assert call(sim, "GET", path, token=pair["access_token"]).status == 200


def test_items_page_by_limit_and_offset_with_clover_defaults(
    sim: CloverSimulator,
) -> None:
    for n in range(150):
        sim.seed(name=f"Shoe {n}", sku=f"S{n:03}", quantity=n)
    path = f"/v3/merchants/{sim.merchant_id}/items"

    default = payload(call(sim, "GET", path))["elements"]
    second = payload(call(sim, "GET", path, query={"offset": ["100"]}))["elements"]
    huge = payload(call(sim, "GET", path, query={"limit": ["5000"]}))["elements"]

    assert len(default) == 100
    assert len(second) == 50
    assert len(huge) == 150
    assert "itemStock" not in default[0]
    assert all(len(e["id"]) == 13 and e["id"].isupper() for e in default if e["id"])


def test_item_filters_on_sku_and_modified_time(
    sim: CloverSimulator, clock: FakeClock
) -> None:
    sim.seed(name="Old", sku="OLD-1", quantity=1)
    clock.now += 60
    sim.seed(name="New", sku="NEW-1", quantity=2)
    path = f"/v3/merchants/{sim.merchant_id}/items"
    since = f"modifiedTime>={int(clock.now * 1000)}"

    by_sku = call(sim, "GET", path, query={"filter": ["sku=OLD-1"]})
    by_time = call(sim, "GET", path, query={"filter": [since]})
    bad = call(sim, "GET", path, query={"filter": ["colour=red"]})

    assert [e["name"] for e in payload(by_sku)["elements"]] == ["Old"]
    assert [e["name"] for e in payload(by_time)["elements"]] == ["New"]
    assert bad.status == 400


def test_item_stock_is_absolute_decimal_with_rounded_stock_count(
    sim: CloverSimulator,
) -> None:
    item_id = sim.seed(name="Shoe", sku="S1", quantity=3)
    path = f"/v3/merchants/{sim.merchant_id}/item_stocks/{item_id}"

    written = payload(call(sim, "POST", path, body={"quantity": 160.5}))
    negative = payload(call(sim, "POST", path, body={"quantity": -2}))

    assert written == {"item": {"id": item_id}, "stockCount": 161, "quantity": 160.5}
    assert negative["quantity"] == -2
    assert call(sim, "GET", path + "X").status == 404


def test_seventeenth_request_in_one_second_gets_a_bare_429(
    sim: CloverSimulator, clock: FakeClock
) -> None:
    path = f"/v3/merchants/{sim.merchant_id}"

    statuses = [call(sim, "GET", path).status for _ in range(17)]
    other_token = call(sim, "GET", path, token=sim.access_token).status
    clock.now += 1.0
    later = call(sim, "GET", path).status

    assert statuses == [200] * 16 + [429]
    assert other_token == 200  # the limit is per token
    assert later == 200
    throttled = call_many_throttled(sim, path)
    assert "Retry-After" not in throttled.headers


def call_many_throttled(sim: CloverSimulator, path: str) -> Response:
    response = call(sim, "GET", path)
    while response.status != 429:
        response = call(sim, "GET", path)
    return response


def test_sale_takes_stock_down_and_auto_manage_marks_item_unavailable(
    sim: CloverSimulator,
) -> None:
    sim.seed(name="Jordan 1", sku="J1", quantity=2, price=15000, auto_manage=True)
    sim.seed(name="Dunk", sku="D1", quantity=1, price=11000)

    order_id = sim.sell("J1", 2)
    sim.sell("D1", 3)

    assert sim.stock("J1") == 0
    assert sim.item("J1").available is False
    assert sim.stock("D1") == -2  # Clover lets stock go negative
    assert sim.item("D1").available is True
    order = sim.merchants[sim.merchant_id].orders[order_id]
    assert (order.state, order.payment_state, order.total) == ("locked", "PAID", 30000)
    assert len(order.line_items) == 2


def test_order_queries_over_90_days_are_refused(
    sim: CloverSimulator, clock: FakeClock
) -> None:
    path = f"/v3/merchants/{sim.merchant_id}/orders"
    now = int(clock.now * 1000)

    wide = call(
        sim, "GET", path, query={"filter": [f"modifiedTime>={now - 91 * DAY_MS}"]}
    )
    ok = call(
        sim, "GET", path, query={"filter": [f"modifiedTime>={now - 89 * DAY_MS}"]}
    )

    assert wide.status == 400
    assert "90 days" in payload(wide)["message"]
    assert ok.status == 200


def test_expanded_line_items_stop_at_100_and_line_items_route_pages(
    sim: CloverSimulator,
) -> None:
    sim.seed(name="Sock", sku="SOCK", quantity=500)
    order_id = sim.sell("SOCK", 130)
    base = f"/v3/merchants/{sim.merchant_id}/orders"

    listed = payload(call(sim, "GET", base, query={"expand": ["lineItems"]}))
    rest = call(sim, "GET", f"{base}/{order_id}/line_items", query={"offset": ["100"]})

    assert len(listed["elements"][0]["lineItems"]["elements"]) == 100
    assert len(payload(rest)["elements"]) == 30


def test_injected_faults_fail_drop_and_take_the_service_down(
    sim: CloverSimulator,
) -> None:
    path = f"/v3/merchants/{sim.merchant_id}"
    sim.faults.fail_next(1, status=502)
    sim.faults.drop_next(1)

    failed = call(sim, "GET", path)
    dropped = call(sim, "GET", path)
    sim.faults.configure({"down": True})
    down = call(sim, "GET", path)
    sim.faults.clear()

    assert failed.status == 502
    assert dropped.drop is True
    assert down.status == 503
    assert call(sim, "GET", path).status == 200


def test_fail_rate_uses_the_seeded_rng(clock: FakeClock) -> None:
    def run() -> list[int]:
        sim = CloverSimulator(seed=3, clock=clock, sleep=clock.sleep)
        sim.faults.set_fail_rate(0.5)
        statuses = []
        for _ in range(12):
            clock.now += 1.0
            statuses.append(call(sim, "GET", f"/v3/merchants/{sim.merchant_id}").status)
        return statuses

    first, second = run(), run()

    assert first == second
    assert set(first) == {200, 503}


def test_control_routes_seed_sell_and_report_state(sim: CloverSimulator) -> None:
    seeded = call(
        sim,
        "POST",
        "/_sandbox/items",
        token=None,
        body={"name": "Box", "sku": "BX", "quantity": 4},
    )
    sold = call(
        sim, "POST", "/_sandbox/sell", token=None, body={"sku": "BX", "quantity": 1}
    )
    state = payload(call(sim, "GET", "/_sandbox/state", token=None))

    assert seeded.status == sold.status == 200
    merchant = state["merchants"][sim.merchant_id]
    assert merchant["items"][0]["itemStock"]["quantity"] == 3
    assert merchant["orders"][0]["paymentState"] == "PAID"


@pytest.fixture
def served(sim: CloverSimulator) -> Iterator[str]:
    server = SimServer(sim.app).start()
    try:
        yield server.base_url
    finally:
        server.stop()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as opened:
        yield opened


def channel_for(
    sim: CloverSimulator,
    base_url: str,
    client: httpx.Client,
    clock: FakeClock,
    tokens: Any = None,
) -> CloverChannel:
    return CloverChannel(
        client,
        merchant_id=sim.merchant_id,
        tokens=tokens or StaticToken(sim.api_token),
        base_url=base_url,
        policy=RetryPolicy(attempts=4, sleep=clock.sleep),
        pacer=RequestPacer(clock=clock, sleep=clock.sleep),
        clock=clock,
    )


def test_adapter_reads_listings_and_sales_from_the_simulator(
    sim: CloverSimulator, served: str, client: httpx.Client, clock: FakeClock
) -> None:
    sim.seed(name="Jordan 1", sku="J1", quantity=5.5)
    sim.seed(name="Tee", sku="", code="0042", quantity=2, hidden=True)
    channel = channel_for(sim, served, client, clock)
    sim.sell("J1", 1)
    clock.now += 10
    since = datetime.fromtimestamp(clock.now, tz=UTC)
    sold = sim.sell("J1", 2)
    sim.sell("J1", 1, paid=False)

    listings = {x.sku: x for x in channel.fetch_listings()}
    batch = channel.fetch_sales(since)

    assert listings["J1"].quantity == 2  # 5.5 less 3 paid units, floored
    assert listings["0042"].active is False
    # Only the order paid since ``since`` counts; the open tab is no sale.
    assert [(s.order_id, s.sku, s.quantity) for s in batch.lines] == [
        (sold, "J1", 1),
        (sold, "J1", 1),
    ]
    assert len({s.line_id for s in batch.lines}) == 2
    assert batch.newest == since


def test_adapter_push_detects_mismatch_deactivates_and_reactivates(
    sim: CloverSimulator, served: str, client: httpx.Client, clock: FakeClock
) -> None:
    ref = sim.seed(name="Dunk", sku="D1", quantity=3)
    channel = channel_for(sim, served, client, clock)
    sim.sell("D1", 1)  # the till sells one we have not heard of yet

    stale = channel.push([Push(1, ref, 0, 3, key="a")])
    emptied = channel.push([Push(2, ref, 0, 2, key="b")])
    off = sim.item("D1").available
    restocked = channel.push([Push(3, ref, 4, 0, key="c")])

    assert (stale[0].status, stale[0].holds) == (PushStatus.MISMATCH, 2)
    assert emptied[0].status is PushStatus.DONE
    assert off is False
    assert restocked[0].status is PushStatus.DONE
    assert sim.stock("D1") == 4
    assert sim.item("D1").available is True


def test_bulk_push_stays_under_the_rate_limit_and_survives_faults(
    sim: CloverSimulator, served: str, client: httpx.Client, clock: FakeClock
) -> None:
    refs = [sim.seed(name=f"S{n}", sku=f"S{n}", quantity=1) for n in range(25)]
    channel = channel_for(sim, served, client, clock)
    sim.faults.fail_next(2, status=503)
    sim.faults.drop_next(1)

    results = channel.push(
        [Push(n, ref, 2, 1, key=str(n)) for n, ref in enumerate(refs)]
    )

    assert all(r.status is PushStatus.DONE for r in results)
    assert sim.throttled == 0
    assert all(sim.stock(f"S{n}") == 2 for n in range(25))


def test_adapter_refreshes_oauth_tokens_against_the_simulator(
    sim: CloverSimulator, served: str, client: httpx.Client, clock: FakeClock
) -> None:
    credentials = Credentials("install")
    entry: dict[str, object] = {"client_id": sim.client_id, **sim.token_response}
    credentials.set_json("clover", "oauth", entry)
    tokens = OAuthTokens(credentials, client, oauth_base=served, clock=clock)
    channel = channel_for(sim, served, client, clock, tokens=tokens)

    assert channel.check() == "Sandbox Sneakers"
    clock.now += 7 * 3600  # past the access token's life
    assert channel.check() == "Sandbox Sneakers"
    clock.now += 7 * 3600
    assert channel.check() == "Sandbox Sneakers"

    stored = credentials.get_json("clover", "oauth")
    assert stored is not None
    assert stored["refresh_token"] != sim.refresh_token
    assert stored["refresh_token"] in sim.refresh_grants
    assert len(sim.refresh_grants) == 1  # each used refresh token died
