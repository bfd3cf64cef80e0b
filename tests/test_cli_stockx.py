"""The CLI against the StockX simulator: connect, link by style and size, sync."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from stackknack_cli.sandbox.server import SimServer
from stackknack_cli.sandbox.stockx import StockXSimulator


@pytest.fixture
def stockx() -> Iterator[tuple[StockXSimulator, str, dict[str, str]]]:
    # The adapter's pacer is tested on its own; here the simulator's per-second
    # limit is raised so that the test does not wait a second per call.
    sim = StockXSimulator(seed=2, per_second=1000, operation_delay=0.05)
    variants = sim.seed_product(
        'Nike Dunk Low "Panda"', "DD1391-100", sizes=["9", "10"]
    )
    sim.seed_listings(variants["9"], "120", quantity=2)
    sim.seed_listings(variants["10"], "130", quantity=1)
    server = SimServer(sim.app).start()
    try:
        yield sim, server.base_url, variants
    finally:
        server.stop()


def _connect(cli, sim: StockXSimulator, url: str):
    return cli(
        "connect", "stockx", "--client-id", sim.client_id,
        "--redirect-uri", sim.redirect_uri, "--base-url", url,
        stdin=f"{sim.api_key}\n{sim.client_secret}\n{sim.auth_code}\n",
    )  # fmt: skip


def _sync_until_settled(cli, rounds: int = 40):
    for _ in range(rounds):
        result = cli("sync", "--json")
        if result.code != 3:
            return result
        time.sleep(0.05)  # the simulator finishes operations after operation_delay
    return result


def test_connect_keeps_api_key_and_tokens_in_the_keyring(
    cli, stockx, memory_keyring, tmp_path
) -> None:
    sim, url, _ = stockx
    result = _connect(cli, sim, url)
    assert result.code == 0, result.err
    assert "accounts" not in result.out
    database = (tmp_path / "home" / "stackknack.db").read_bytes()
    assert sim.api_key.encode() not in database
    assert sim.api_key in memory_keyring.secrets.values()


def test_variants_link_by_style_and_size_and_quantity_is_listing_count(
    cli, stockx, tmp_path
) -> None:
    sim, url, variants = stockx
    catalog = tmp_path / "c.csv"
    catalog.write_text(
        "sku,quantity,title\n"
        "DD1391-100-9,2,Dunk / US 9\n"
        "DD1391-100-10,1,Dunk / US M 10\n"
    )
    cli("import", "csv", str(catalog))
    _connect(cli, sim, url)

    linked = cli("import", "stockx", "--json").json()

    assert linked["linked"] == 2
    stock = {row["sku"]: row for row in cli("stock", "--json").json()}
    assert stock["DD1391-100-9"]["channels"]["stockx"]["quantity"] == 2
    assert stock["DD1391-100-10"]["channels"]["stockx"]["ref"] == variants["10"]


def test_sale_on_stockx_is_applied_and_a_csv_change_deletes_one_listing(
    cli, stockx, tmp_path
) -> None:
    sim, url, variants = stockx
    catalog = tmp_path / "c.csv"
    catalog.write_text("sku,quantity\nDD1391-100-9,2\nDD1391-100-10,1\n")
    cli("import", "csv", str(catalog))
    _connect(cli, sim, url)
    cli("import", "stockx")

    sim.sell(variants["10"])
    first = cli("sync", "--json").json()
    assert first["channels"]["stockx"]["applied"] == 1
    assert first["channels"]["stockx"]["budget"]["day_limit"] == 25_000
    assert cli("stock", "DD1391-100-10", "--json").json()[0]["available"] == 0

    change = tmp_path / "d.csv"
    change.write_text("sku,quantity\nDD1391-100-9,1\n")
    cli("import", "csv", str(change))
    settled = _sync_until_settled(cli)

    assert settled.code == 0, settled.out
    assert sim.active_count(variants["9"]) == 1
    assert cli("outbox", "--json").json() == []


def test_restock_after_zero_relists_at_the_last_ask(cli, stockx, tmp_path) -> None:
    sim, url, variants = stockx
    catalog = tmp_path / "c.csv"
    catalog.write_text("sku,quantity\nDD1391-100-9,2\n")
    cli("import", "csv", str(catalog))
    _connect(cli, sim, url)
    cli("import", "stockx")

    for count in ("0", "3"):
        change = tmp_path / f"{count}.csv"
        change.write_text(f"sku,quantity\nDD1391-100-9,{count}\n")
        cli("import", "csv", str(change))
        assert _sync_until_settled(cli).code == 0
        assert sim.active_count(variants["9"]) == int(count)

    asks = {
        listing["amount"]
        for listing in sim.state()["listings"]
        if listing["variant"]["variantId"] == variants["9"]
        and listing["status"] == "ACTIVE"
    }
    assert asks == {"120"}


def test_many_variants_change_in_one_batch_call(cli, stockx, tmp_path) -> None:
    sim, url, variants = stockx
    catalog = tmp_path / "c.csv"
    catalog.write_text("sku,quantity\nDD1391-100-9,2\nDD1391-100-10,1\n")
    cli("import", "csv", str(catalog))
    _connect(cli, sim, url)
    cli("import", "stockx")
    before = len(sim.requests)

    change = tmp_path / "d.csv"
    change.write_text("sku,quantity\nDD1391-100-9,0\nDD1391-100-10,0\n")
    cli("import", "csv", str(change))
    assert _sync_until_settled(cli).code == 0

    writes = [r for r in sim.requests[before:] if r[0] in ("POST", "DELETE")]
    assert [(method, path) for method, path, _ in writes] == [
        ("POST", "/v2/selling/batch/delete-listing")
    ]
    assert sim.active_count(variants["9"]) == sim.active_count(variants["10"]) == 0


def test_link_report_names_unmatched_variants_and_missing_skus_apart(
    cli, stockx, tmp_path
) -> None:
    sim, url, _ = stockx
    catalog = tmp_path / "c.csv"
    catalog.write_text("sku,quantity\nDD1391-100-9,2\nB75806-8,1\n")
    cli("import", "csv", str(catalog))
    _connect(cli, sim, url)

    linked = cli("import", "stockx", "--json").json()

    assert linked["linked"] == 1
    assert linked["unmatched"] == ["DD1391-100 10"]  # a StockX variant, no SKU
    assert linked["missing"] == ["B75806-8"]  # an inventory SKU, not on StockX


@pytest.mark.parametrize("between_syncs", [(), ("doctor",)])
def test_two_sync_runs_draw_on_one_daily_budget(
    cli, stockx, tmp_path, between_syncs: tuple[str, ...]
) -> None:
    sim, url, _ = stockx
    catalog = tmp_path / "c.csv"
    catalog.write_text("sku,quantity\nDD1391-100-9,2\n")
    cli("import", "csv", str(catalog))
    _connect(cli, sim, url)
    cli("import", "stockx")

    def paced_calls() -> int:
        # Every paced call carries the API key; token renewals do not.
        return sum(1 for _, _, headers in sim.requests if headers["x-api-key"])

    before = paced_calls()
    first = cli("sync", "--json").json()["channels"]["stockx"]["budget"]
    between = paced_calls()
    if between_syncs:  # doctor's checks draw on the same budget
        cli(*between_syncs)
    second = cli("sync", "--json").json()["channels"]["stockx"]["budget"]

    assert between > before
    assert second["day_used"] == first["day_used"] + paced_calls() - between
    assert second["day_left"] == 25_000 - second["day_used"]
