"""Shopify's counting and push locations: the choice, and the adapter against the
simulator (sums read, pushes landing at the push location only, query cost)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from stackknack_cli.channels import shopify_locations as sl
from stackknack_cli.channels import shopify_queries as q
from stackknack_cli.channels.base import Push, PushStatus
from stackknack_cli.channels.http import RetryPolicy
from stackknack_cli.channels.shopify import Location, ShopifyChannel
from stackknack_cli.channels.shopify_auth import StaticToken
from stackknack_cli.errors import ConfigError
from stackknack_cli.sandbox.server import SimServer
from stackknack_cli.sandbox.shopify import ShopifySimulator

WAREHOUSE = Location("gid://shopify/Location/1", "Warehouse")
FLOOR = Location("gid://shopify/Location/2", "Shop floor")
POPUP = Location("gid://shopify/Location/3", "Pop-up")
ACTIVE = [WAREHOUSE, FLOOR, POPUP]


def settings(push: Location, *others: Location) -> dict[str, object]:
    return sl.LocationPlan(push, others).settings()


def test_unknown_location_error_names_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        sl.plan_change(ACTIVE, settings(WAREHOUSE), count=["Attic"])

    message = str(caught.value)
    assert "'Attic' (--count)" in message
    assert "Warehouse (gid://shopify/Location/1)" in message
    assert "Pop-up (gid://shopify/Location/3)" in message
    assert "\n" not in message


def test_locations_are_found_by_name_gid_or_number() -> None:
    plan, dropped = sl.plan_change(
        ACTIVE, settings(WAREHOUSE), count=["shop FLOOR", "3"]
    )

    assert plan.counting == (WAREHOUSE, FLOOR, POPUP)
    assert dropped == []


def test_new_push_location_keeps_the_old_one_counting() -> None:
    plan, _ = sl.plan_change(ACTIVE, settings(WAREHOUSE, FLOOR), push="Pop-up")

    assert plan.push == POPUP
    assert set(plan.others) == {WAREHOUSE, FLOOR}


def test_ignore_removes_and_push_location_cannot_be_ignored() -> None:
    plan, _ = sl.plan_change(ACTIVE, settings(WAREHOUSE, FLOOR), ignore=["Shop floor"])
    assert plan.counting == (WAREHOUSE,)

    with pytest.raises(ConfigError, match="receives the pushes"):
        sl.plan_change(ACTIVE, settings(WAREHOUSE), ignore=["Warehouse"])
    with pytest.raises(ConfigError, match="both --count and --ignore"):
        sl.plan_change(ACTIVE, settings(WAREHOUSE), count=["Pop-up"], ignore=["3"])


def test_counting_location_no_longer_active_is_dropped_and_named() -> None:
    stored = settings(WAREHOUSE, FLOOR, POPUP)

    plan, dropped = sl.plan_change([WAREHOUSE, FLOOR], stored, count=["Shop floor"])
    kept, missing = sl.stored_plan([WAREHOUSE, FLOOR], stored)

    assert (plan.counting, dropped) == ((WAREHOUSE, FLOOR), ["Pop-up"])
    assert kept is not None
    assert kept.counting == (WAREHOUSE, FLOOR)
    assert missing == [POPUP.id]


def test_connect_keeps_counting_locations_unless_given_new_ones() -> None:
    before = settings(WAREHOUSE, FLOOR)

    kept, _ = sl.plan_for_connect(ACTIVE, WAREHOUSE, count=(), previous=before)
    replaced, _ = sl.plan_for_connect(
        ACTIVE, WAREHOUSE, count=["Pop-up"], previous=before
    )

    assert kept.counting == (WAREHOUSE, FLOOR)
    assert replaced.counting == (WAREHOUSE, POPUP)
    with pytest.raises(ConfigError, match="--count-location"):
        sl.plan_for_connect(ACTIVE, WAREHOUSE, count=["Attic"], previous=None)


def test_too_many_counting_locations_are_refused() -> None:
    many = [Location(f"gid://shopify/Location/{n}", f"L{n}") for n in range(10, 62)]

    names = [loc.name for loc in many]

    with pytest.raises(ConfigError, match="at most 50"):
        sl.plan_change([WAREHOUSE, *many], settings(WAREHOUSE), count=names)


def test_page_sizes_with_the_most_counting_locations_stay_under_the_cap() -> None:
    others = sl.MAX_COUNT_LOCATIONS
    variant = q.variant_node_cost(others)
    level = q.level_node_cost(others)

    assert q.connection_cost(q.fit_page(variant), variant) <= q.MAX_QUERY_COST
    assert q.fit_page(level) * level <= q.MAX_QUERY_COST


# Against the simulator.


@pytest.fixture
def shop() -> Iterator[tuple[ShopifySimulator, str]]:
    sim = ShopifySimulator(seed=5)
    sim.add_location("Warehouse")
    sim.add_location("Shop floor")
    sim.add_location("Consignment")
    sim.seed(
        "DD1391-100-9",
        title="Dunk Low Panda",
        quantities={"Warehouse": 2, "Shop floor": 1, "Consignment": 5},
    )
    sim.seed("HQ6316-10", title="Yeezy 350 Bone", quantities={"Warehouse": 1})
    server = SimServer(sim.app).start()
    try:
        yield sim, server.base_url
    finally:
        server.stop()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0, trust_env=False) as opened:
        yield opened


def location_id(sim: ShopifySimulator, name: str) -> str:
    found = sim.shop.location_named(name)
    assert found is not None
    return f"gid://shopify/Location/{found.id}"


def channel_for(
    sim: ShopifySimulator,
    url: str,
    client: httpx.Client,
    *counting: str,
    policy: RetryPolicy | None = None,
) -> ShopifyChannel:
    return ShopifyChannel(
        client,
        url,
        location_id(sim, "Warehouse"),
        tokens=StaticToken(sim.access_token),
        policy=policy or RetryPolicy(attempts=2, base_wait=0.0),
        count_location_ids=[location_id(sim, name) for name in counting],
    )


def item_of(sim: ShopifySimulator, sku: str) -> str:
    variant = sim.shop.variant_by_sku(sku)
    assert variant is not None
    return f"gid://shopify/InventoryItem/{variant.item_id}"


def push(entry_id: int, ref: str, target: int, expected: int | None) -> Push:
    return Push(entry_id, ref, target, expected, key=f"entry-{entry_id}")


def test_listings_and_quantities_sum_the_counting_locations_only(shop, client) -> None:
    sim, url = shop
    channel = channel_for(sim, url, client, "Shop floor")
    panda = item_of(sim, "DD1391-100-9")
    bone = item_of(sim, "HQ6316-10")

    listings = {listing.sku: listing.quantity for listing in channel.fetch_listings()}
    live = channel.read_quantities([panda, bone])

    # Consignment's 5 do not count; the Bone is not stocked at the Shop floor.
    assert listings == {"DD1391-100-9": 3, "HQ6316-10": 1}
    assert live == {panda: 3, bone: 1}


def test_push_lands_at_the_push_location_only(shop, client) -> None:
    sim, url = shop
    channel = channel_for(sim, url, client, "Shop floor")

    [result] = channel.push([push(1, item_of(sim, "DD1391-100-9"), 6, 3)])

    assert (result.status, result.holds) == (PushStatus.DONE, 6)
    assert sim.available("DD1391-100-9", "Warehouse") == 5
    assert sim.available("DD1391-100-9", "Shop floor") == 1
    assert sim.available("DD1391-100-9", "Consignment") == 5


def test_other_locations_holding_more_than_the_target_zero_the_push_location(
    shop, client
) -> None:
    sim, url = shop
    sim.set_available("DD1391-100-9", 4, location="Shop floor")
    channel = channel_for(sim, url, client, "Shop floor")

    [result] = channel.push([push(1, item_of(sim, "DD1391-100-9"), 3, 6)])

    # The listing is reported as holding 4, more than 3: the engine sees the excess.
    assert (result.status, result.holds) == (PushStatus.DONE, 4)
    assert sim.available("DD1391-100-9", "Warehouse") == 0
    assert sim.available("DD1391-100-9", "Shop floor") == 4


def test_sum_other_than_expected_is_a_mismatch_with_nothing_written(
    shop, client
) -> None:
    sim, url = shop
    channel = channel_for(sim, url, client, "Shop floor")
    sim.sell("DD1391-100-9", 1, location="Shop floor")

    [result] = channel.push([push(1, item_of(sim, "DD1391-100-9"), 5, 3)])

    assert (result.status, result.holds) == (PushStatus.MISMATCH, 2)
    assert sim.available("DD1391-100-9", "Warehouse") == 2
    assert sim.shop.groups == {}


def test_push_location_changed_under_the_push_is_a_compare_mismatch(
    shop, client, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim, url = shop
    channel = channel_for(sim, url, client, "Shop floor")
    read = channel.read_levels

    def read_then_someone_types(refs):  # type: ignore[no-untyped-def]
        found = read(refs)
        sim.set_available("DD1391-100-9", 9, location="Warehouse")
        return found

    monkeypatch.setattr(channel, "read_levels", read_then_someone_types)
    [result] = channel.push([push(1, item_of(sim, "DD1391-100-9"), 5, 3)])

    # changeFromQuantity guarded the push location: 9 was not overwritten.
    assert result.status is PushStatus.MISMATCH
    assert sim.available("DD1391-100-9", "Warehouse") == 9


class Clock:
    """The simulator's time, moved on only by the adapter's waits."""

    def __init__(self) -> None:
        self.now = 1_780_000_000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def test_many_counting_locations_are_read_within_the_query_cost_cap(client) -> None:
    clock = Clock()
    sim = ShopifySimulator(seed=6, clock=clock, sleep=clock.sleep)
    names = [f"Store {n}" for n in range(12)]
    for name in ["Warehouse", *names]:
        sim.add_location(name)
    for n in range(300):
        sim.seed(f"SKU-{n}", quantities={"Warehouse": 1, "Store 3": 2})
    policy = RetryPolicy(attempts=5, sleep=clock.sleep)
    with SimServer(sim.app) as server:
        channel = channel_for(sim, server.base_url, client, *names, policy=policy)
        listings = list(channel.fetch_listings())
        live = channel.read_quantities([listing.channel_ref for listing in listings])

    # No query asked for more than 1,000 points (the simulator refuses those), and
    # the reads waited for the bucket instead of failing when it ran dry.
    assert len(listings) == 300
    assert set(live.values()) == {3}
    assert clock.waits
    assert max(clock.waits) <= 10
