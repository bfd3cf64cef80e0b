"""The eBay simulator alone, and the eBay adapter against it over loopback HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from stackknack_cli.channels.base import Push, PushStatus
from stackknack_cli.channels.ebay import EbayChannel
from stackknack_cli.channels.ebay_auth import (
    EbayTokens,
    ReconsentRequiredError,
    exchange_code,
)
from stackknack_cli.channels.ebay_writes import RevisionLedger
from stackknack_cli.channels.http import RetryPolicy
from stackknack_cli.credentials import Credentials
from stackknack_cli.sandbox.ebay import EbaySimulator
from stackknack_cli.sandbox.server import Request, Response, SimServer
from stackknack_cli.store import open_store
from stackknack_cli.store.usage import SharedUsage
from tests.conftest import shared_path

NOW = 1_760_000_000.0
INV = "/sell/inventory/v1"


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
def sim(clock: FakeClock) -> EbaySimulator:
    return EbaySimulator(seed=3, clock=clock, sleep=clock.sleep)


def call(
    sim: EbaySimulator,
    method: str,
    path: str,
    *,
    token: str | None = "live",
    query: dict[str, list[str]] | None = None,
    body: Any = None,
) -> Response:
    headers = {}
    if token is not None:
        headers["authorization"] = (
            f"Bearer {sim.access_token if token == 'live' else token}"
        )
    raw = json.dumps(body).encode() if body is not None else b""
    return sim.app(Request(method, path, query or {}, headers, raw))


def payload(response: Response) -> Any:
    return json.loads(response.body)


# The simulator alone


def test_bearer_token_is_required_and_expires_after_two_hours(
    sim: EbaySimulator, clock: FakeClock
) -> None:
    path = f"{INV}/inventory_item"

    assert call(sim, "GET", path).status == 200
    assert call(sim, "GET", path, token=None).status == 401
    clock.now += 7200
    expired = call(sim, "GET", path)

    assert expired.status == 401
    assert payload(expired)["errors"][0]["errorId"] == 1001


def test_inventory_items_page_by_page_index_with_limit_up_to_200(
    sim: EbaySimulator,
) -> None:
    for number in range(5):
        sim.seed(f"S{number}", quantity=number + 1)
    path = f"{INV}/inventory_item"

    second = payload(call(sim, "GET", path, query={"limit": ["2"], "offset": ["1"]}))
    too_big = call(sim, "GET", path, query={"limit": ["201"]})

    assert [item["sku"] for item in second["inventoryItems"]] == ["S2", "S3"]
    assert (second["total"], second["size"]) == (5, 3)
    assert too_big.status == 400
    assert payload(too_big)["errors"][0]["errorId"] == 25706


def test_orders_use_a_record_offset_and_refuse_limits_over_200(
    sim: EbaySimulator, clock: FakeClock
) -> None:
    sim.seed("A", quantity=10)
    for _ in range(3):
        clock.now += 60
        sim.sell("A")
    path = "/sell/fulfillment/v1/order"
    flt = "lastmodifieddate:[2020-01-01T00:00:00.000Z..]"

    page = payload(
        call(sim, "GET", path, query={"filter": [flt], "limit": ["2"], "offset": ["1"]})
    )
    refused = call(sim, "GET", path, query={"limit": ["1000"]})

    assert page["total"] == 3
    assert len(page["orders"]) == 2
    assert refused.status == 400
    assert payload(refused)["errors"][0]["errorId"] == 31100


def test_bulk_update_body_is_checked_against_the_published_spec(
    sim: EbaySimulator,
) -> None:
    shared_path("specs", "ebay", "sell_inventory_v1_oas3.json")
    sim.seed("A", quantity=1)
    path = f"{INV}/bulk_update_price_quantity"

    wrong_type = call(sim, "POST", path, body={"requests": [{"sku": 5}]})
    unknown = call(sim, "POST", path, body={"requests": [{"sku": "A", "qty": 1}]})
    too_many = call(sim, "POST", path, body={"requests": [{"sku": "A"}] * 26})

    assert [r.status for r in (wrong_type, unknown, too_many)] == [400, 400, 400]
    assert "must be string" in payload(wrong_type)["errors"][0]["message"]


def test_a_sale_at_zero_ends_the_listing_without_out_of_stock_control(
    sim: EbaySimulator,
) -> None:
    offer_id = sim.seed("A", quantity=1)

    sim.sell("A")
    path = f"{INV}/bulk_update_price_quantity"
    body = {
        "requests": [
            {"sku": "A", "offers": [{"offerId": offer_id, "availableQuantity": 2}]}
        ]
    }
    revise = call(sim, "POST", path, body=body)

    assert sim.offers[offer_id].listing_status == "ENDED"
    assert sim.items["A"].quantity == 0
    assert revise.status == 207
    assert payload(revise)["responses"][0]["statusCode"] == 400


def test_revisions_stop_at_250_per_listing_per_day(
    sim: EbaySimulator, clock: FakeClock
) -> None:
    sim.seed("A", quantity=1)
    path = f"{INV}/bulk_update_price_quantity"
    body = {"requests": [{"sku": "A", "shipToLocationAvailability": {"quantity": 3}}]}

    answers = []
    for _ in range(250):
        clock.now += 1  # stay under the simulator's per-second limit
        answers.append(payload(call(sim, "POST", path, body=body)))
    clock.now += 86400
    sim.access_token = str(sim.issue_tokens()["access_token"])
    next_day = payload(call(sim, "POST", path, body=body))

    # Publishing at seed time was the first revision of the day.
    assert answers[-2]["responses"][0]["statusCode"] == 200
    assert answers[-1]["responses"][0]["statusCode"] == 400
    assert next_day["responses"][0]["statusCode"] == 200


def test_token_endpoint_takes_basic_auth_and_refuses_a_revoked_refresh_token(
    sim: EbaySimulator,
) -> None:
    import base64

    def token_call(form: str, secret: str | None = None) -> Response:
        pair = f"{sim.client_id}:{secret or sim.client_secret}".encode()
        headers = {
            "authorization": "Basic " + base64.b64encode(pair).decode(),
            "content-type": "application/x-www-form-urlencoded",
        }
        request = Request(
            "POST", "/identity/v1/oauth2/token", {}, headers, form.encode()
        )
        return sim.app(request)

    refresh = f"grant_type=refresh_token&refresh_token={sim.refresh_token}"
    assert token_call(refresh).status == 200
    assert token_call(refresh, secret="wrong").status == 401
    sim.revoke()
    refused = token_call(refresh)

    assert refused.status == 400
    assert payload(refused)["error"] == "invalid_grant"


# The adapter against the simulator over loopback


@pytest.fixture
def server(sim: EbaySimulator) -> Iterator[SimServer]:
    running = SimServer(sim.app).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10) as opened:
        yield opened


@pytest.fixture
def credentials(
    sim: EbaySimulator, server: SimServer, client: httpx.Client, clock: FakeClock
) -> Credentials:
    creds = Credentials("test")
    exchange_code(
        client,
        f"https://example.com/accepted?code={quote(sim.consent_code, safe='')}",
        client_id=sim.client_id,
        client_secret=sim.client_secret,
        ru_name=sim.ru_name,
        credentials=creds,
        token_url=f"{server.base_url}/identity/v1/oauth2/token",
        clock=clock,
    )
    return creds


def make_channel(
    server: SimServer,
    client: httpx.Client,
    credentials: Credentials,
    clock: FakeClock,
    **options: Any,
) -> EbayChannel:
    policy = RetryPolicy(attempts=3, sleep=clock.sleep)
    tokens = EbayTokens(credentials, client, policy=policy, clock=clock)
    return EbayChannel(
        client,
        tokens=tokens,
        base_url=server.base_url,
        policy=policy,
        clock=clock,
        **options,
    )


def test_adapter_reads_listings_and_sales_end_to_end(
    sim: EbaySimulator,
    server: SimServer,
    client: httpx.Client,
    credentials: Credentials,
    clock: FakeClock,
) -> None:
    for number in range(5):
        sim.seed(f"S{number}", quantity=3)
    start = datetime.fromtimestamp(clock.now, tz=UTC) - timedelta(minutes=1)
    clock.now += 60
    kept = sim.sell("S1", 2)
    cancelled = sim.sell("S2")
    sim.cancel(cancelled)
    channel = make_channel(server, client, credentials, clock, page_size=2)

    listings = list(channel.fetch_listings())
    batch = channel.fetch_sales(start)

    assert channel.check() == sim.user_name
    assert [(x.channel_ref, x.quantity) for x in listings] == [
        ("S0", 3),
        ("S1", 1),
        ("S2", 2),
        ("S3", 3),
        ("S4", 3),
    ]
    assert [(line.order_id, line.quantity, line.sku) for line in batch.lines] == [
        (kept, 2, "S1")
    ]
    [back] = batch.returns
    assert (back.order_id, back.quantity, back.cause) == (cancelled, 1, "cancel")
    assert back.counted_by_channel is False
    assert back.occurred_at is not None


def test_out_of_stock_control_off_withdraws_then_restock_relists(
    sim: EbaySimulator,
    server: SimServer,
    client: httpx.Client,
    credentials: Credentials,
    clock: FakeClock,
) -> None:
    offer_id = sim.seed("A", quantity=2)
    old_listing = sim.offers[offer_id].listing_id
    channel = make_channel(server, client, credentials, clock)

    to_zero = channel.push([Push(1, "A", 0, 2, "k1")])
    withdrawn = (sim.offers[offer_id].status, sim.items["A"].quantity)
    restock = channel.push([Push(2, "A", 4, 0, "k2")])

    assert to_zero[0].status is PushStatus.DONE
    assert withdrawn == ("UNPUBLISHED", 0)
    assert restock[0].status is PushStatus.DONE
    offer = sim.offers[offer_id]
    assert (offer.status, offer.listing_status) == ("PUBLISHED", "ACTIVE")
    assert offer.listing_id != old_listing
    assert sim.listed_quantity(offer) == 4
    listing = next(iter(channel.fetch_listings()))
    assert listing.details["offers"][0]["listing_id"] == offer.listing_id


def test_listing_ended_by_a_sale_is_relisted_on_restock(
    sim: EbaySimulator,
    server: SimServer,
    client: httpx.Client,
    credentials: Credentials,
    clock: FakeClock,
) -> None:
    offer_id = sim.seed("A", quantity=1)
    sim.sell("A")
    channel = make_channel(server, client, credentials, clock)

    results = channel.push([Push(1, "A", 5, 0, "k")])

    offer = sim.offers[offer_id]
    assert results[0].status is PushStatus.DONE
    assert offer.listing_status == "ACTIVE"
    assert sim.listed_quantity(offer) == 5


def test_out_of_stock_control_on_keeps_the_listing_at_zero(
    server: SimServer,
    client: httpx.Client,
    credentials: Credentials,
    clock: FakeClock,
    sim: EbaySimulator,
) -> None:
    sim.out_of_stock_control = True
    offer_id = sim.seed("A", quantity=2)
    listing_id = sim.offers[offer_id].listing_id
    channel = make_channel(server, client, credentials, clock)

    channel.push([Push(1, "A", 0, 2, "k1")])
    hidden = sim.offers[offer_id].listing_status
    channel.push([Push(2, "A", 3, 0, "k2")])

    assert hidden == "OUT_OF_STOCK"
    offer = sim.offers[offer_id]
    assert (offer.listing_status, offer.listing_id) == ("ACTIVE", listing_id)
    assert sim.listed_quantity(offer) == 3


def test_mismatch_and_unknown_sku_write_nothing(
    sim: EbaySimulator,
    server: SimServer,
    client: httpx.Client,
    credentials: Credentials,
    clock: FakeClock,
) -> None:
    sim.seed("A", quantity=2)
    sim.sell("A")
    channel = make_channel(server, client, credentials, clock)

    results = channel.push([Push(1, "A", 5, 2, "k1"), Push(2, "NOPE", 5, 0, "k2")])

    assert (results[0].status, results[0].holds) == (PushStatus.MISMATCH, 1)
    assert (results[1].status, results[1].permanent) == (PushStatus.REFUSED, True)
    assert sim.items["A"].quantity == 1
    assert channel.read_quantities(["A", "NOPE"]) == {"A": 1}


def test_revoked_consent_stops_the_adapter(
    sim: EbaySimulator,
    server: SimServer,
    client: httpx.Client,
    credentials: Credentials,
    clock: FakeClock,
) -> None:
    sim.seed("A", quantity=2)
    sim.revoke(str(credentials.get_json("ebay", "oauth")["refresh_token"]))  # type: ignore[index]
    clock.now += 7200
    channel = make_channel(server, client, credentials, clock)
    before = len(sim.requests)

    with pytest.raises(ReconsentRequiredError):
        channel.push([Push(1, "A", 1, 2, "k")])
    with pytest.raises(ReconsentRequiredError):
        channel.fetch_sales(datetime(2026, 1, 1, tzinfo=UTC))

    assert len(sim.requests) == before + 1
    assert sim.items["A"].quantity == 2


def test_token_endpoint_429_and_api_faults_are_retried(
    sim: EbaySimulator,
    server: SimServer,
    client: httpx.Client,
    credentials: Credentials,
    clock: FakeClock,
) -> None:
    sim.seed("A", quantity=2)
    sim.token_faults.fail_next(1, status=429)
    sim.faults.fail_next(1, status=503)
    clock.now += 7200
    channel = make_channel(server, client, credentials, clock)

    assert channel.read_quantities(["A"]) == {"A": 2}
    tokens = [p for _, p in sim.requests if p.endswith("/oauth2/token")]
    assert len(tokens) == 3  # the code exchange, the 429, the refresh


def test_outside_listings_are_detected_and_can_be_migrated(
    sim: EbaySimulator,
    server: SimServer,
    client: httpx.Client,
    credentials: Credentials,
    clock: FakeClock,
) -> None:
    sim.seed("A", quantity=2)
    labelled = sim.seed_outside(sku="OLD-1", quantity=3, title="Old shoe")
    blank = sim.seed_outside(quantity=2, title="No label")
    sim.sell(labelled)
    sim.sell(blank)
    clock.now += 60
    channel = make_channel(server, client, credentials, clock)

    outside = channel.outside_listings()
    migrated = channel.migrate_listings([labelled, blank])
    skus = [listing.channel_ref for listing in channel.fetch_listings()]

    assert outside == {labelled: "OLD-1", blank: None}
    assert migrated[labelled] == "ok"
    assert "no SKU" in migrated[blank]
    assert skus == ["A", "OLD-1"]


def test_revision_cap_holds_across_two_runs_sharing_one_database(
    sim: EbaySimulator,
    server: SimServer,
    client: httpx.Client,
    credentials: Credentials,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    sim.seed("A", quantity=1)
    database = open_store(tmp_path / "runs.db")
    outcomes = []
    for run, pushes in enumerate([[(2, 1), (3, 2)], [(4, 3)]]):
        # Each cron run builds its channel and its counter afresh.
        usage = SharedUsage(tmp_path / "runs.db")
        ledger = RevisionLedger(2, clock=clock, usage=usage)
        channel = make_channel(server, client, credentials, clock, revisions=ledger)
        for target, expected in pushes:
            clock.now += 1  # stay under the simulator's per-second limit
            key = f"run{run}-{target}"
            outcomes.append(channel.push([Push(target, "A", target, expected, key)]))
        usage.close()

    assert [o[0].status for o in outcomes] == [
        PushStatus.DONE,
        PushStatus.DONE,
        PushStatus.RETRY,
    ]
    assert "revised 2 times today" in outcomes[2][0].reason
    assert channel.read_quantities(["A"]) == {"A": 3}
    assert database.scalar("SELECT sum(count) FROM daily_usage") == 2
    database.close()
