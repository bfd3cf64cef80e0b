"""Changing Shopify's push and counting locations after listings are linked, and the
cases a change can leave behind (stock above the target, items not stocked at the
push location), through the CLI and the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from stackknack_cli.sandbox.server import SimServer
from stackknack_cli.sandbox.shopify import ShopifySimulator

PANDA = "DD1391-100-9"
BONE = "HQ6316-10"
PLACES = ("Warehouse", "Shop floor", "Consignment")


@pytest.fixture
def shop() -> Iterator[tuple[ShopifySimulator, str]]:
    sim = ShopifySimulator(seed=8)
    for place in PLACES:
        sim.add_location(place)
    sim.seed(
        PANDA,
        title="Dunk Low Panda",
        quantities={"Warehouse": 2, "Shop floor": 1, "Consignment": 5},
    )
    sim.seed(BONE, title="Yeezy 350 Bone", quantities={"Warehouse": 1})
    server = SimServer(sim.app).start()
    try:
        yield sim, server.base_url
    finally:
        server.stop()


def _connect(cli: Any, sim: ShopifySimulator, url: str, *extra: str) -> Any:
    return cli(
        "connect",
        "shopify",
        "--shop",
        "sandbox",
        "--base-url",
        url,
        *extra,
        stdin=sim.access_token + "\n",
    )


def _listing(cli: Any, sku: str) -> dict[str, Any]:
    return dict(cli("stock", sku, "--json").json()[0]["channels"]["shopify"])


def _checks(cli: Any) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in cli("doctor", "--json").json()["checks"]}


def _pushes_to(cli: Any, channel: str) -> int:
    return sum(1 for e in cli("outbox", "--json").json() if e["channel"] == channel)


def test_moving_the_push_location_queues_a_push_for_a_listing_above_its_target(
    cli,
) -> None:
    sim = ShopifySimulator(seed=9)
    sim.add_location("Shop location")
    sim.add_location("Warehouse")
    sim.seed("P-1", quantities={"Shop location": 0, "Warehouse": 5})
    with SimServer(sim.app) as server:
        url = server.base_url
        _connect(
            cli, sim, url, "--location", "Shop location",
            "--count-location", "Warehouse",
        )  # fmt: skip
        cli("import", "shopify")
        cli("adjust", "P-1", "=2", "--reason", "recount")
        cli("sync")
        assert _listing(cli, "P-1")["quantity"] == 5

        moved = cli("shopify", "locations", "--push", "Warehouse")
        synced = cli("sync")

    # Nothing changed in what Shopify holds (5), but 5 is not the target (2).
    assert moved.code == 0, moved.err
    assert "1 push(es) queued" in moved.err
    assert synced.code == 0, synced.err
    assert sim.available("P-1", "Warehouse") == 2
    assert _listing(cli, "P-1")["quantity"] == 2


def test_reconnect_with_other_counting_locations_reads_the_listings_again(
    cli, shop
) -> None:
    sim, url = shop
    _connect(cli, sim, url, "--location", "Warehouse")
    cli("import", "shopify")
    assert _listing(cli, PANDA)["quantity"] == 2

    again = _connect(
        cli, sim, url, "--location", "Warehouse", "--count-location", "Shop floor"
    )

    assert again.code == 0, again.err
    assert "1 changed, 1 push(es) queued" in again.err
    # The Shop floor's unit counts now: 3 held where 2 should show.
    assert _listing(cli, PANDA)["quantity"] == 3
    assert _pushes_to(cli, "shopify") == 1
    assert cli("sync").code == 0
    assert sim.available(PANDA, "Warehouse") == 1
    assert _listing(cli, PANDA)["quantity"] == 2


def test_reconnect_with_the_same_choice_reads_nothing_again(cli, shop) -> None:
    sim, url = shop
    _connect(cli, sim, url, "--location", "Warehouse")
    cli("import", "shopify")

    again = _connect(cli, sim, url, "--location", "Warehouse")

    assert again.code == 0, again.err
    assert "read again" not in again.err
    assert _pushes_to(cli, "shopify") == 0


def _above_target(cli: Any, sim: ShopifySimulator, url: str) -> None:
    """Leave the Panda at 4 held (all on the Shop floor) where 2 should show."""
    _connect(cli, sim, url, "--location", "Warehouse", "--count-location", "Shop floor")
    cli("import", "shopify")
    sim.set_available(PANDA, 4, location="Shop floor")
    cli("adjust", PANDA, "=2", "--reason", "two left, says the count")
    assert cli("sync").code == 0
    assert sim.available(PANDA, "Warehouse") == 0


def test_reconcile_fix_does_not_call_a_listing_still_above_its_target_fixed(
    cli, shop
) -> None:
    sim, url = shop
    _above_target(cli, sim, url)

    result = cli("reconcile", "--fix", "--json")
    table = cli("reconcile", "--fix")

    assert result.code == 6, result.err
    [drift] = result.json()["drift"]
    assert (drift["sku"], drift["live"], drift["target"]) == (PANDA, 4, 2)
    assert drift["fixed"] is False
    assert "other counting locations" in drift["reason"]
    assert table.code == 6
    assert "fixed" not in table.out.replace("not fixed", "")


def test_stock_shows_shopify_above_its_target(cli, shop) -> None:
    sim, url = shop
    _above_target(cli, sim, url)

    listing = _listing(cli, PANDA)
    table = cli("stock", PANDA)

    assert (listing["quantity"], listing["target"]) == (4, 2)
    assert listing["above_target"] is True
    assert "4 (above 2)" in table.out
    bone = _listing(cli, BONE)
    assert (bone["above_target"], bone["target"]) == (False, 1)


def test_doctor_flags_shopify_above_its_target_with_the_fix(cli, shop) -> None:
    sim, url = shop
    _connect(cli, sim, url, "--location", "Warehouse", "--count-location", "Shop floor")
    cli("import", "shopify")
    assert _checks(cli)["shopify above target"]["ok"] is True

    sim.set_available(PANDA, 4, location="Shop floor")
    cli("adjust", PANDA, "=2", "--reason", "two left, says the count")
    cli("sync")
    check = _checks(cli)["shopify above target"]

    assert check["ok"] is False
    assert PANDA in check["detail"]
    assert "Shop floor 4" in check["detail"]
    assert "Warehouse" in check["fix"]
    assert "--ignore 'Shop floor'" in check["fix"]


def test_push_to_a_location_missing_linked_items_is_refused_without_force(
    cli, shop
) -> None:
    sim, url = shop
    _connect(cli, sim, url, "--location", "Warehouse")
    cli("import", "shopify")

    refused = cli("shopify", "locations", "--push", "Shop floor")
    rows = cli("shopify", "locations", "--json").json()["locations"]

    # The Bone is stocked in the Warehouse only.
    assert refused.code == 1
    assert refused.err.count("\n") == 1
    assert BONE in refused.err
    assert "--force" in refused.err
    assert {r["name"] for r in rows if r["receives_pushes"]} == {"Warehouse"}

    forced = cli("shopify", "locations", "--push", "Shop floor", "--force")

    assert forced.code == 0, forced.err
    assert f"1 linked item(s) not stocked at Shop floor: {BONE}" in forced.err
    check = _checks(cli)["shopify push location"]
    assert check["ok"] is False
    assert BONE in check["detail"]
    assert "Shop floor" in check["fix"]


def test_reconnect_keeps_the_stored_push_location(cli, shop) -> None:
    sim, url = shop
    _connect(cli, sim, url, "--location", "Shop floor")

    again = _connect(cli, sim, url)

    assert again.code == 0, again.err
    assert "location Shop floor" in again.out


def test_reconnect_asks_again_when_the_stored_push_location_is_closed(
    cli, shop
) -> None:
    sim, url = shop
    _connect(cli, sim, url, "--location", "Shop floor")
    floor = sim.shop.location_named("Shop floor")
    assert floor is not None
    floor.is_active = False

    again = _connect(cli, sim, url)

    assert again.code == 1
    assert "--location" in again.err
    assert "Traceback" not in again.err


def test_unknown_ignored_location_names_each_known_one_once(cli, shop) -> None:
    sim, url = shop
    _connect(cli, sim, url, "--location", "Warehouse", "--count-location", "Shop floor")

    result = cli("shopify", "locations", "--ignore", "Nowhere")

    assert result.code == 1
    for place in PLACES:
        assert result.err.count(f"{place} (") == 1


@pytest.mark.parametrize(
    "args",
    [
        ("shopify", "locations", "--push", ""),
        ("shopify", "locations", "--count", " "),
        ("shopify", "locations", "--ignore", ""),
    ],
)
def test_empty_location_name_is_refused(cli, shop, args) -> None:
    sim, url = shop
    _connect(cli, sim, url, "--location", "Warehouse")

    result = cli(*args)

    assert result.code == 1
    assert result.err.count("\n") == 1
    assert args[2] in result.err
    assert "Traceback" not in result.err


def test_empty_location_at_connect_is_refused(cli, shop) -> None:
    sim, url = shop

    result = _connect(cli, sim, url, "--location", "")

    assert result.code == 1
    assert "--location" in result.err
    assert result.err.count("\n") == 1


def test_dry_run_names_what_a_new_counting_location_would_lower_and_saves_nothing(
    cli, shop
) -> None:
    sim, url = shop
    _connect(cli, sim, url, "--location", "Warehouse")
    cli("import", "shopify")  # central: Panda 2, Bone 1 (the Warehouse alone)

    dry = cli("shopify", "locations", "--count", "Consignment", "--dry-run")

    assert dry.code == 0, dry.err
    assert "nothing saved" in dry.out
    assert f"{PANDA}: Shopify would hold 7, its target is 2" in dry.out
    assert "lower the push location" in dry.out
    assert BONE not in dry.out
    assert _pushes_to(cli, "shopify") == 0
    shown = cli("shopify", "locations", "--json").json()["locations"]
    assert [row["name"] for row in shown if row["counts"]] == ["Warehouse"]
