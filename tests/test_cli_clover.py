"""The CLI against the Clover simulator: connect, import, sync, exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from stackknack_cli.sandbox.clover import CloverSimulator
from stackknack_cli.sandbox.server import SimServer


@pytest.fixture
def clover() -> Iterator[tuple[CloverSimulator, str]]:
    sim = CloverSimulator(seed=7)
    sim.seed(name="Dunk Low Panda / US 9", sku="DD1391-100-9", quantity=2)
    sim.seed(name="Samba OG / US 8", sku="B75806-8", quantity=1)
    server = SimServer(sim.app).start()
    try:
        yield sim, server.base_url
    finally:
        server.stop()


def _connect(cli, sim: CloverSimulator, url: str):
    return cli(
        "connect",
        "clover",
        "--merchant",
        sim.merchant_id,
        "--base-url",
        url,
        stdin=sim.api_token + "\n",
    )


def test_connect_checks_the_token_and_keeps_it_out_of_the_database(
    cli, clover, memory_keyring, tmp_path
) -> None:
    sim, url = clover
    result = _connect(cli, sim, url)

    assert result.code == 0, result.err
    assert "Sandbox Sneakers" in result.out
    assert sim.api_token in memory_keyring.secrets.values()
    database = (tmp_path / "home" / "stackknack.db").read_bytes()
    assert sim.api_token.encode() not in database
    assert sim.api_token not in result.out + result.err


def test_refused_token_is_one_line_and_stores_nothing(
    cli, clover, memory_keyring
) -> None:
    sim, url = clover
    result = cli(
        "connect",
        "clover",
        "--merchant",
        sim.merchant_id,
        "--base-url",
        url,
        stdin="not-a-token\n",
    )
    assert result.code == 1
    assert result.err.count("\n") == 1
    assert "connect clover" in result.err
    assert "not-a-token" not in result.err
    assert memory_keyring.secrets == {}
    assert cli("stock", "--json").json() == []


def test_oauth_connect_exchanges_the_single_use_refresh_token(
    cli, clover, memory_keyring
) -> None:
    sim, url = clover
    result = cli(
        "connect",
        "clover",
        "--merchant",
        sim.merchant_id,
        "--base-url",
        url,
        "--client-id",
        sim.client_id,
        stdin=sim.refresh_token + "\n",
    )
    assert result.code == 0, result.err
    stored = [json.loads(v) for v in memory_keyring.secrets.values() if "{" in v]
    assert len(stored) == 1
    assert stored[0]["refresh_token"] != sim.refresh_token  # the old one was used up


def test_import_links_by_sku_and_sync_pushes_a_csv_change(
    cli, clover, tmp_path
) -> None:
    sim, url = clover
    assert _connect(cli, sim, url).code == 0
    planned = cli("import", "clover", "--dry-run")
    assert "would link 2 by SKU" in planned.out
    assert "queued" not in planned.out.replace("would be queued", "")
    linked = cli("import", "clover", "--json").json()
    assert (linked["linked"], linked["created"]) == (2, 2)

    stock_file = tmp_path / "stock.csv"
    stock_file.write_text("sku,quantity\nDD1391-100-9,0\n")
    assert cli("import", "csv", str(stock_file)).code == 0
    outbox = cli("outbox", "--json").json()
    assert [(e["sku"], e["target"]) for e in outbox] == [("DD1391-100-9", 0)]

    result = cli("sync", "--json")
    assert result.code == 0, result.err
    assert result.json()["channels"]["clover"]["pushed"] == 1
    assert sim.stock("DD1391-100-9") == 0
    assert sim.item("DD1391-100-9").available is False
    assert cli("outbox", "--json").json() == []


def test_sale_at_the_till_is_applied_once_across_two_syncs(cli, clover) -> None:
    sim, url = clover
    _connect(cli, sim, url)
    cli("import", "clover")
    sim.sell("DD1391-100-9", 1)

    first = cli("sync", "--json").json()
    second = cli("sync", "--json").json()

    assert first["channels"]["clover"]["applied"] == 1
    assert second["channels"]["clover"]["applied"] == 0
    assert cli("stock", "DD1391-100-9", "--json").json()[0]["available"] == 1


def test_sync_exit_codes_for_oversell_and_for_queued_pushes(cli, clover, tmp_path):
    sim, url = clover
    _connect(cli, sim, url)
    cli("import", "clover")
    # The central count says 0 while the till still sells one: an oversell.
    zero = tmp_path / "zero.csv"
    zero.write_text("sku,quantity\nB75806-8,0\n")
    cli("import", "csv", str(zero))
    sim.sell("B75806-8", 1)

    oversold = cli("sync")
    assert oversold.code == 4
    assert "OVERSELL" in oversold.out
    assert cli("oversells", "--json").json()[0]["sku"] == "B75806-8"
    sim.faults.down = True

    queued_file = tmp_path / "q.csv"
    queued_file.write_text("sku,quantity\nDD1391-100-9,1\n")
    cli("import", "csv", str(queued_file))
    down = cli("sync", "--json")
    assert down.code == 1
    assert down.json()["queued"] >= 1

    sim.faults.down = False
    assert cli("sync").code == 0
    assert sim.stock("DD1391-100-9") == 1


def test_last_unit_sold_at_the_till_makes_the_item_unavailable(cli, clover) -> None:
    sim, url = clover
    _connect(cli, sim, url)
    cli("import", "clover")
    sim.sell("B75806-8", 1)

    assert cli("sync").code == 0

    assert sim.stock("B75806-8") == 0
    assert sim.item("B75806-8").available is False
    assert cli("outbox", "--json").json() == []


def test_failed_reconnect_keeps_the_working_credentials(cli, clover, memory_keyring):
    sim, url = clover
    assert _connect(cli, sim, url).code == 0
    kept = dict(memory_keyring.secrets)

    bad = cli(
        "connect", "clover", "--merchant", sim.merchant_id, "--base-url", url,
        "--client-id", sim.client_id, stdin="WRONG-REFRESH\n",
    )  # fmt: skip

    assert bad.code == 1
    assert memory_keyring.secrets == kept
    assert cli("doctor", "--json").json()["ok"] is True


def test_sale_of_a_sku_not_in_the_inventory_is_listed_for_the_reseller(
    cli, clover
) -> None:
    sim, url = clover
    _connect(cli, sim, url)
    cli("import", "clover", "--link-only")  # nothing in the inventory: nothing linked
    sim.sell("B75806-8", 1)

    result = cli("sync")

    assert "1 sale(s) of SKUs not in the inventory" in result.out
    listed = cli("sales", "--unknown", "--json").json()
    assert [(s["sku"], s["status"], s["applied"]) for s in listed] == [
        ("B75806-8", "unknown_sku", 0)
    ]
