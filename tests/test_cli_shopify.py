"""The CLI against the Shopify simulator: connect, import, sync, compare-and-set."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from stackknack_cli.sandbox.server import SimServer
from stackknack_cli.sandbox.shopify import ShopifySimulator


@pytest.fixture
def shop() -> Iterator[tuple[ShopifySimulator, str]]:
    sim = ShopifySimulator(seed=3)
    sim.seed("DD1391-100-9", title="Dunk Low Panda", quantity=3)
    sim.seed("HQ6316-10", title="Yeezy 350 Bone", quantity=1)
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
        *extra,
        stdin=sim.access_token + "\n",
    )


def test_connect_with_admin_token_names_shop_and_location(cli, shop) -> None:
    sim, url = shop
    result = _connect(cli, sim, url)
    assert result.code == 0, result.err
    assert "stackknack sandbox" in result.out
    assert sim.access_token not in result.out + result.err


def test_connect_refuses_to_guess_between_locations(cli, shop, memory_keyring) -> None:
    sim, url = shop
    sim.add_location("Warehouse")
    result = _connect(cli, sim, url)
    assert result.code == 1
    assert "--location" in result.err
    assert "Warehouse" in result.err
    assert memory_keyring.secrets == {}

    picked = _connect(cli, sim, url, "--location", "Warehouse")
    assert picked.code == 0, picked.err
    assert "Warehouse" in picked.out


def test_client_credentials_connect_keeps_the_secret_not_the_token_in_db(
    cli, shop, memory_keyring, tmp_path
) -> None:
    sim, url = shop
    result = cli(
        "connect",
        "shopify",
        "--shop",
        "sandbox",
        "--base-url",
        url,
        "--client-id",
        sim.client_id,
        stdin=sim.client_secret + "\n",
    )
    assert result.code == 0, result.err
    assert sim.client_secret in memory_keyring.secrets.values()
    database = (tmp_path / "home" / "stackknack.db").read_bytes()
    assert sim.client_secret.encode() not in database
    assert b"shpat_" not in database


def test_refused_token_is_one_clear_line(cli, shop, memory_keyring) -> None:
    sim, url = shop
    result = cli(
        "connect",
        "shopify",
        "--shop",
        "sandbox",
        "--base-url",
        url,
        stdin="shpat_wrong\n",
    )
    assert result.code == 1
    assert result.err.count("\n") == 1
    assert "shpat_wrong" not in result.err
    assert memory_keyring.secrets == {}


def test_web_sale_is_applied_once_and_not_pushed_back_to_shopify(cli, shop) -> None:
    sim, url = shop
    _connect(cli, sim, url)
    assert cli("import", "shopify", "--json").json()["linked"] == 2
    sim.sell("DD1391-100-9", 1)

    first = cli("sync", "--json").json()
    second = cli("sync", "--json").json()

    assert first["channels"]["shopify"]["applied"] == 1
    assert first["channels"]["shopify"]["pushed"] == 0
    assert second["channels"]["shopify"]["applied"] == 0
    assert sim.available("DD1391-100-9") == 2
    assert cli("stock", "DD1391-100-9", "--json").json()[0]["available"] == 2


def test_csv_restock_is_pushed_with_compare_and_set(cli, shop, tmp_path) -> None:
    sim, url = shop
    _connect(cli, sim, url)
    cli("import", "shopify")
    restock = tmp_path / "r.csv"
    restock.write_text("sku,quantity\nHQ6316-10,4\n")
    cli("import", "csv", str(restock))

    result = cli("sync", "--json")

    assert result.code == 0, result.err
    assert sim.available("HQ6316-10") == 4


def test_unseen_sale_is_never_overwritten_by_a_stale_count(cli, shop, tmp_path):
    sim, url = shop
    _connect(cli, sim, url)
    cli("import", "shopify")
    change = tmp_path / "c.csv"
    change.write_text("sku,quantity\nDD1391-100-9,2\n")
    cli("import", "csv", str(change))  # queues 3 -> 2 for Shopify
    sim.sell("DD1391-100-9", 2)  # meanwhile two sell on the web: Shopify has 1

    result = cli("sync", "--json").json()

    # The two web sales are read and applied; the queued 2 is never written over 1.
    assert result["channels"]["shopify"]["applied"] == 1
    assert cli("stock", "DD1391-100-9", "--json").json()[0]["available"] == 0
    assert sim.available("DD1391-100-9") == 0


def test_shopify_down_keeps_the_push_and_exits_non_zero(cli, shop, tmp_path) -> None:
    sim, url = shop
    _connect(cli, sim, url)
    cli("import", "shopify")
    change = tmp_path / "c.csv"
    change.write_text("sku,quantity\nHQ6316-10,0\n")
    cli("import", "csv", str(change))
    sim.faults.set_down(True)

    down = cli("sync")
    assert down.code == 1
    assert len(cli("outbox", "--json").json()) == 1

    sim.faults.set_down(False)
    assert cli("sync").code == 0
    assert sim.available("HQ6316-10") == 0


def test_bundle_shopify_refuses_is_dead_lettered_without_blocking_others(
    cli, shop, tmp_path
) -> None:
    sim, url = shop
    sim.seed("KIT-1", title="Cleaning kit bundle", quantity=2, bundle=True)
    _connect(cli, sim, url)
    cli("import", "shopify")
    change = tmp_path / "c.csv"
    change.write_text("sku,quantity\nKIT-1,1\nDD1391-100-9,1\n")
    cli("import", "csv", str(change))

    from stackknack_cli.store import open_store, outbox

    for _ in range(outbox.MAX_REFUSALS):
        cli("sync")
        database = open_store(tmp_path / "home" / "stackknack.db")
        database.conn.execute("UPDATE outbox SET next_attempt_at = '2000-01-01'")
        database.close()

    assert sim.available("DD1391-100-9") == 1
    dead = cli("outbox", "--dead", "--json").json()
    assert [(d["sku"], d["status"]) for d in dead] == [("KIT-1", "dead")]
    assert dead[0]["last_error"].startswith("NON_MUTABLE_INVENTORY_ITEM")
    assert cli("sync").code == 0


def test_webhook_subscriptions_are_created_once_and_checked_by_doctor(
    cli, shop
) -> None:
    sim, url = shop
    _connect(cli, sim, url)
    cli("webhooks", "set-secret", "shopify", stdin=sim.client_secret + "\n")
    missing = cli("doctor", "--json").json()
    check = next(c for c in missing["checks"] if c["name"] == "shopify webhooks")
    assert (check["ok"], check["fix"].split(" --")[0]) == (
        False,
        "stackknack webhooks subscribe shopify",
    )

    first = cli("webhooks", "subscribe", "shopify", "--url", "https://t.example")
    again = cli("webhooks", "subscribe", "shopify", "--url", "https://t.example")

    assert first.code == 0, first.err
    assert "4 created, 0 already there" in first.out
    assert "0 created, 4 already there" in again.out
    hooks = {(h.topic, h.callback_url) for h in sim.shop.webhooks.values()}
    assert ("ORDERS_CREATE", "https://t.example/webhooks/shopify") in hooks
    assert len(hooks) == 4
    ok = cli("doctor", "--json").json()
    assert next(c for c in ok["checks"] if c["name"] == "shopify webhooks")["ok"]


def test_webhook_subscription_needs_https(cli, shop) -> None:
    sim, url = shop
    _connect(cli, sim, url)
    result = cli("webhooks", "subscribe", "shopify", "--url", "http://t.example")
    assert result.code == 1
    assert "HTTPS" in result.err
    for odd in ("https://t.example/?x=1", "https://t.example/a b", "https://"):
        refused = cli("webhooks", "subscribe", "shopify", "--url", odd)
        assert (refused.code, "not a plain base URL" in refused.err) == (1, True)
    assert sim.shop.webhooks == {}


def test_doctor_names_the_scopes_the_app_lacks(cli) -> None:
    sim = ShopifySimulator(seed=3, scopes=("read_products", "read_locations"))
    sim.seed("A-1", quantity=1)
    with SimServer(sim.app) as server:
        _connect(cli, sim, server.base_url)
        checks = {c["name"]: c for c in cli("doctor", "--json").json()["checks"]}
    scopes = checks["shopify scopes"]
    assert scopes["ok"] is False
    assert scopes["detail"] == "missing: read_inventory, write_inventory, read_orders"


def test_doctor_is_happy_with_every_scope(cli, shop) -> None:
    sim, url = shop
    _connect(cli, sim, url)
    checks = {c["name"]: c for c in cli("doctor", "--json").json()["checks"]}
    assert checks["shopify scopes"] == {
        "name": "shopify scopes",
        "ok": True,
        "detail": "all granted",
        "fix": "",
    }


def test_watch_listen_address_it_cannot_use_is_one_clear_line(cli, shop) -> None:
    sim, url = shop
    _connect(cli, sim, url)
    cli("webhooks", "set-secret", "shopify", stdin=sim.client_secret + "\n")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = f"127.0.0.1:{busy.getsockname()[1]}"
        outcomes = {
            listen: cli("watch", "--plain", "--webhooks", "--listen", listen)
            for listen in (taken, "127.0.0.1:99999")
        }
    every = cli("watch", "--plain", "--every", "shopfy=10")
    # An address not on this machine (TEST-NET-1): warned as not loopback, then
    # refused by the bind; nothing is sent anywhere.
    foreign = cli("watch", "--plain", "--webhooks", "--listen", "192.0.2.1:8787")
    assert foreign.code == 1
    assert "not loopback" in foreign.err
    assert "cannot listen there" in foreign.err

    for listen, outcome in outcomes.items():
        assert outcome.code == 1, listen
        assert f"--listen {listen}" in outcome.err or "port 1-65535" in outcome.err
        assert "Traceback" not in outcome.err
    assert every.code == 1
    assert "unknown channel 'shopfy'" in every.err
