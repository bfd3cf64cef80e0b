"""The CLI with a multi-location Shopify store: counting locations chosen at connect and
changed with ``stackknack shopify locations``, through the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stackknack_cli.sandbox.server import SimServer
from stackknack_cli.sandbox.shopify import ShopifySimulator

PANDA = "DD1391-100-9"
BONE = "HQ6316-10"


@pytest.fixture
def shop() -> Iterator[tuple[ShopifySimulator, str]]:
    sim = ShopifySimulator(seed=4)
    sim.add_location("Warehouse")
    sim.add_location("Shop floor")
    sim.add_location("Consignment")
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


def _connect(cli, sim: ShopifySimulator, url: str, *extra: str):
    return cli(
        "connect",
        "shopify",
        "--shop",
        "sandbox",
        "--base-url",
        url,
        "--location",
        "Warehouse",
        *extra,
        stdin=sim.access_token + "\n",
    )


def _central(cli, sku: str) -> int:
    return int(cli("stock", sku, "--json").json()[0]["available"])


def _held(cli, sku: str) -> int:
    return int(cli("stock", sku, "--json").json()[0]["channels"]["shopify"]["quantity"])


def test_import_counts_the_counting_locations_and_ignores_the_rest(cli, shop) -> None:
    sim, url = shop
    connected = _connect(cli, sim, url, "--count-location", "Shop floor")
    assert connected.code == 0, connected.err
    assert "also counting Shop floor" in connected.out

    assert cli("import", "shopify", "--json").json()["linked"] == 2

    # 2 in the Warehouse and 1 on the Shop floor; Consignment's 5 are not ours.
    assert _central(cli, PANDA) == 3
    assert _held(cli, PANDA) == 3


def test_restock_is_pushed_to_the_push_location_only(cli, shop, tmp_path) -> None:
    sim, url = shop
    _connect(cli, sim, url, "--count-location", "Shop floor")
    cli("import", "shopify")
    restock = tmp_path / "r.csv"
    restock.write_text(f"sku,quantity\n{PANDA},6\n")
    cli("import", "csv", str(restock))

    result = cli("sync", "--json")

    assert result.code == 0, result.err
    assert result.json()["channels"]["shopify"]["pushed"] == 1
    levels = {
        place: sim.available(PANDA, place)
        for place in ("Warehouse", "Shop floor", "Consignment")
    }
    assert levels == {"Warehouse": 5, "Shop floor": 1, "Consignment": 5}
    assert _held(cli, PANDA) == 6


def test_sale_at_a_counting_location_is_applied_once(cli, shop) -> None:
    sim, url = shop
    _connect(cli, sim, url, "--count-location", "Shop floor")
    cli("import", "shopify")
    sim.sell(PANDA, 1, location="Shop floor")

    first = cli("sync", "--json").json()["channels"]["shopify"]
    second = cli("sync", "--json").json()["channels"]["shopify"]

    assert (first["applied"], first["pushed"], second["applied"]) == (1, 0, 0)
    assert _central(cli, PANDA) == 2
    assert sim.available(PANDA, "Warehouse") == 2


def test_stock_elsewhere_above_the_target_zeroes_the_push_location(cli, shop) -> None:
    sim, url = shop
    _connect(cli, sim, url, "--count-location", "Shop floor")
    cli("import", "shopify")
    sim.set_available(PANDA, 4, location="Shop floor")
    adjusted = cli("adjust", PANDA, "=2", "--reason", "two left, says the count")
    assert adjusted.code == 0, adjusted.err

    result = cli("sync", "--json")

    # The typed 4 made the compare fail (6 held, 3 expected); the push went on from
    # the real number and emptied the Warehouse.
    assert result.code == 0, result.err
    assert result.json()["channels"]["shopify"]["mismatches"] == 1
    assert sim.available(PANDA, "Warehouse") == 0
    assert sim.available(PANDA, "Shop floor") == 4
    # What Shopify holds (4) stays above the 2 it should show, for all to see.
    assert _held(cli, PANDA) == 4
    drift = cli("reconcile", "--json").json()["drift"]
    assert [(d["sku"], d["live"], d["target"]) for d in drift] == [(PANDA, 4, 2)]


def test_locations_lists_which_count_and_which_receives(cli, shop) -> None:
    sim, url = shop
    _connect(cli, sim, url, "--count-location", "Shop floor")

    rows = cli("shopify", "locations", "--json").json()["locations"]
    table = cli("shopify", "locations")

    flags = {r["name"]: (r["counts"], r["receives_pushes"]) for r in rows}
    assert flags == {
        "Warehouse": (True, True),
        "Shop floor": (True, False),
        "Consignment": (False, False),
    }
    assert table.code == 0, table.err
    assert "receives pushes" in table.out


def test_changed_locations_persist_and_relisted_quantities_are_read_again(
    cli, shop
) -> None:
    sim, url = shop
    _connect(cli, sim, url)
    cli("import", "shopify")
    assert _held(cli, PANDA) == 2

    changed = cli("shopify", "locations", "--count", "Consignment", "--json")

    assert changed.code == 0, changed.err
    assert "1 changed" in changed.err
    counted = {r["name"] for r in changed.json()["locations"] if r["counts"]}
    assert counted == {"Warehouse", "Consignment"}
    # A new process reads the new choice from the database: 2 + 5 are held now,
    # 3 more than the central count, so the Warehouse is brought down to 0.
    assert _held(cli, PANDA) == 7
    assert cli("sync").code == 0
    assert sim.available(PANDA, "Warehouse") == 0

    cli("shopify", "locations", "--ignore", "Consignment")
    again = _connect(cli, sim, url)
    assert again.code == 0, again.err
    rows = cli("shopify", "locations", "--json").json()["locations"]
    assert {r["name"] for r in rows if r["counts"]} == {"Warehouse"}


def test_reconnect_keeps_the_counting_locations(cli, shop) -> None:
    sim, url = shop
    _connect(cli, sim, url, "--count-location", "Shop floor")

    again = _connect(cli, sim, url)

    assert "also counting Shop floor" in again.out
    rows = cli("shopify", "locations", "--json").json()["locations"]
    assert {r["name"] for r in rows if r["counts"]} == {"Warehouse", "Shop floor"}


def test_moving_the_push_location_keeps_the_old_one_counting(cli, shop) -> None:
    sim, url = shop
    _connect(cli, sim, url)

    result = cli("shopify", "locations", "--push", "Shop floor", "--json")

    assert result.code == 0, result.err
    flags = {
        r["name"]: (r["counts"], r["receives_pushes"])
        for r in result.json()["locations"]
    }
    assert flags["Shop floor"] == (True, True)
    assert flags["Warehouse"] == (True, False)


@pytest.mark.parametrize(
    "args",
    [
        ("shopify", "locations", "--count", "Attic"),
        ("shopify", "locations", "--push", "Attic"),
    ],
)
def test_unknown_location_is_one_line_naming_the_known_ones(
    cli, shop, args, tmp_path: Path
) -> None:
    sim, url = shop
    _connect(cli, sim, url)

    result = cli(*args)

    assert result.code == 1
    assert result.err.count("\n") == 1
    assert "'Attic'" in result.err
    for name in ("Warehouse", "Shop floor", "Consignment"):
        assert name in result.err
    assert "Traceback" not in result.err


def test_unknown_count_location_at_connect_keeps_nothing(
    cli, shop, memory_keyring
) -> None:
    sim, url = shop

    result = _connect(cli, sim, url, "--count-location", "Attic")

    assert result.code == 1
    assert result.err.count("\n") == 1
    assert "--count-location" in result.err
    assert "Consignment" in result.err
    assert memory_keyring.secrets == {}


def test_ignoring_the_push_location_is_refused(cli, shop) -> None:
    sim, url = shop
    _connect(cli, sim, url)

    result = cli("shopify", "locations", "--ignore", "Warehouse")

    assert result.code == 1
    assert "receives the pushes" in result.err


def test_locations_without_shopify_connected_says_how_to_connect(cli, tmp_path) -> None:
    cli("import", "csv", str(_csv(tmp_path)))

    result = cli("shopify", "locations")

    assert result.code == 1
    assert "stackknack connect shopify" in result.err


def test_doctor_names_the_locations_and_flags_one_gone(cli, shop) -> None:
    sim, url = shop
    _connect(cli, sim, url, "--count-location", "Shop floor")

    fine = _checks(cli)["shopify locations"]
    floor = sim.shop.location_named("Shop floor")
    assert floor is not None
    floor.is_active = False
    gone = _checks(cli)["shopify locations"]

    assert fine["ok"] is True
    assert fine["detail"] == "pushes go to Warehouse; counting: Warehouse, Shop floor"
    assert gone["ok"] is False
    assert "no longer active" in gone["detail"]
    assert gone["fix"].startswith("stackknack shopify locations --ignore ")

    fixed = cli("shopify", "locations", "--ignore", gone["fix"].rsplit(" ", 1)[1])
    assert fixed.code == 0, fixed.err
    assert _checks(cli)["shopify locations"]["ok"] is True


def _checks(cli) -> dict[str, dict[str, object]]:
    return {c["name"]: c for c in cli("doctor", "--json").json()["checks"]}


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "items.csv"
    path.write_text(f"sku,quantity\n{PANDA},1\n")
    return path
