"""Refunds, returns and cancellations through each platform's simulator: stock comes
back once, only when the platform says the unit came back, and never past the sale."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from stackknack_cli.channels import registry
from stackknack_cli.engine.listener import Listener
from stackknack_cli.engine.watch import Watcher
from stackknack_cli.engine.webhooks import shopify as shopify_hooks
from stackknack_cli.sandbox.clover import CloverSimulator
from stackknack_cli.sandbox.ebay import EbaySimulator
from stackknack_cli.sandbox.server import SimServer
from stackknack_cli.sandbox.shopify import ShopifySimulator
from stackknack_cli.sandbox.stockx import StockXSimulator
from tests.watch_helpers import sandbox_world

SKU = "DD1391-100-9"


def _central(cli, sku: str = SKU) -> int:
    return int(cli("stock", sku, "--json").json()[0]["available"])


def _causes(cli, sku: str = SKU) -> list[tuple[int, str]]:
    changes = cli("explain", sku, "--json").json()["changes"]
    return [(row["delta"], row["cause"]) for row in changes[1:]]


# Shopify


@pytest.fixture
def shop() -> Iterator[tuple[ShopifySimulator, str]]:
    sim = ShopifySimulator(seed=3)
    sim.seed(SKU, title="Dunk Low Panda", quantity=3)
    server = SimServer(sim.app).start()
    try:
        yield sim, server.base_url
    finally:
        server.stop()


def _shopify(cli, sim: ShopifySimulator, url: str) -> None:
    connected = cli(
        "connect", "shopify", "--shop", "sandbox", "--base-url", url,
        stdin=sim.access_token + "\n",
    )  # fmt: skip
    assert connected.code == 0, connected.err
    assert cli("import", "shopify", "--json").json()["linked"] == 1


def test_shopify_returned_pair_comes_back_once(cli, shop) -> None:
    sim, url = shop
    _shopify(cli, sim, url)
    order = sim.sell(SKU, 2)
    assert cli("sync").code == 0
    sim.fulfill_order(order)
    sim.refund(order, SKU, 1, restock_type="RETURN")

    first = cli("sync", "--json").json()["channels"]["shopify"]
    again = cli("sync", "--json").json()["channels"]["shopify"]

    assert (first["restocked"], again["restocked"]) == (1, 0)
    assert again["returns"] == 1  # read again, applied once
    assert _central(cli) == 2
    assert sim.available(SKU) == 2
    assert _causes(cli) == [(-2, "sale"), (1, "return")]
    assert cli("sales", "--json").json()[0]["returned"] == 1


def test_shopify_refund_without_restock_changes_nothing(cli, shop) -> None:
    sim, url = shop
    _shopify(cli, sim, url)
    order = sim.sell(SKU, 1)
    cli("sync")
    sim.refund(order, SKU, 1, restock_type="NO_RESTOCK")

    report = cli("sync", "--json").json()["channels"]["shopify"]

    assert (report["returns"], report["restocked"]) == (1, 0)
    assert _central(cli) == 2
    assert sim.available(SKU) == 2
    assert _causes(cli)[-1] == (0, "refund (not restocked)")


def test_shopify_cancelled_order_and_edited_line_come_back(cli, shop) -> None:
    sim, url = shop
    _shopify(cli, sim, url)
    cancelled = sim.sell(SKU, 2)
    cli("sync")
    sim.cancel_order(cancelled, restock=True)
    assert cli("sync").code == 0
    assert (_central(cli), sim.available(SKU)) == (3, 3)

    edited = sim.sell(SKU, 2)
    cli("sync")
    sim.reduce_line_item(edited, SKU, 1)
    result = cli("sync", "--json")

    assert result.code == 0, result.err
    assert (_central(cli), sim.available(SKU)) == (2, 2)
    assert [cause for _, cause in _causes(cli)] == [
        "sale", "cancel", "sale", "edit",
    ]  # fmt: skip
    assert cli("outbox", "--json").json() == []


def test_shopify_refunds_made_before_the_first_read_count_the_kept_unit(
    cli, shop
) -> None:
    # Read after the sale, these refunds give -2 +1 +0; read together with it, the
    # NO_RESTOCK unit must still leave the count.
    sim, url = shop
    _shopify(cli, sim, url)
    order = sim.sell(SKU, 2)
    sim.refund(order, SKU, 1, restock_type="CANCEL")
    sim.refund(order, SKU, 1, restock_type="NO_RESTOCK")

    result = cli("sync", "--json")

    assert result.code == 0, result.err
    assert result.json()["channels"]["shopify"]["mismatches"] == 0
    assert (_central(cli), sim.available(SKU)) == (2, 2)
    assert _causes(cli) == [(-1, "sale"), (0, "refund (not restocked)")]
    assert cli("outbox", "--json").json() == []


@pytest.mark.parametrize(("restock", "left"), [(False, 1), (True, 3)])
def test_shopify_order_cancelled_before_the_first_read_counts_what_stayed_out(
    cli, shop, restock: bool, left: int
) -> None:
    sim, url = shop
    _shopify(cli, sim, url)
    order = sim.sell(SKU, 2)
    sim.cancel_order(order, restock=restock)

    result = cli("sync", "--json")

    assert result.code == 0, result.err
    assert (_central(cli), sim.available(SKU)) == (left, left)
    assert cli("outbox", "--json").json() == []


def test_shopify_line_edited_before_the_first_read_is_not_a_sale(cli, shop) -> None:
    sim, url = shop
    _shopify(cli, sim, url)
    order = sim.sell(SKU, 2)
    sim.reduce_line_item(order, SKU, 1)  # Shopify restocks the removed unit

    result = cli("sync", "--json")

    assert result.code == 0, result.err
    assert (_central(cli), sim.available(SKU)) == (2, 2)
    assert _causes(cli) == [(-1, "sale")]


def test_shopify_cancelled_oversell_creates_no_stock(cli, shop) -> None:
    sim, url = shop
    _shopify(cli, sim, url)
    cli("adjust", SKU, "=0", "--reason", "sold at a fair")
    order = sim.sell(SKU, 1)  # before the 0 reached Shopify: nothing was left
    assert cli("sync").code == 4
    assert sim.available(SKU) == 0

    sim.cancel_order(order, restock=True)  # Shopify puts the pair back: 1
    result = cli("sync", "--json")

    assert result.code == 0, result.err
    assert result.json()["channels"]["shopify"]["restocked"] == 0
    assert _central(cli) == 0
    assert sim.available(SKU) == 0
    assert _causes(cli)[-1] == (0, "cancel (1 never taken: oversold)")


def test_oversell_leaves_the_list_once_its_order_is_cancelled(cli, shop) -> None:
    sim, url = shop
    _shopify(cli, sim, url)
    cli("adjust", SKU, "=0", "--reason", "sold at a fair")
    cancelled = sim.sell(SKU, 1)  # before the 0 reached Shopify
    kept = sim.sell(SKU, 1)
    assert cli("sync").code == 4
    sim.cancel_order(cancelled, restock=True)
    synced = cli("sync")

    still = cli("oversells", "--json").json()
    every = cli("oversells", "--all", "--json").json()
    table = cli("oversells", "--all")

    assert [row["order_id"] for row in still] == [kept]
    done = next(row for row in every if row["order_id"] == cancelled)
    assert done["acknowledged_at"] is not None
    assert done["resolution"].startswith(f"cancel on shopify: {cancelled}/")
    assert "resolution" in table.out
    assert "cancel" in table.out
    assert "1 returns (0 back)" in synced.out


def test_oversell_acknowledged_by_hand_with_a_note(cli, shop) -> None:
    sim, url = shop
    _shopify(cli, sim, url)
    cli("adjust", SKU, "=0", "--reason", "sold at a fair")
    sim.sell(SKU, 1)
    cli("sync")
    oversell = cli("oversells", "--json").json()[0]["id"]

    acked = cli("oversells", "ack", str(oversell), "--note", "refunded by phone")
    again = cli("oversells", "ack", str(oversell))
    unknown = cli("oversells", "ack", "999")

    assert acked.code == 0, acked.err
    assert f"oversell {oversell} acknowledged" in acked.out
    assert "already acknowledged" in again.err
    assert (unknown.code, unknown.err.count("\n")) == (1, 1)
    assert "no oversell 999" in unknown.err
    assert cli("oversells").out.strip() == "no open oversells"
    every = cli("oversells", "--all", "--json").json()
    assert [row["resolution"] for row in every] == ["refunded by phone"]


def test_shopify_refund_webhook_delivered_three_times_restocks_once(
    tmp_path: Path,
) -> None:
    now = [1000.0]
    with sandbox_world(tmp_path / "home") as world:
        world.credentials.set("shopify", "webhook_secret", "s3cret")
        sim = world.sandbox.shopify
        with registry.connected_channels(
            world.store, credentials=world.credentials
        ) as channels:
            watcher = Watcher(world.store, channels, clock=lambda: now[0])
            watcher.step()
            order = sim.sell(SKU, 1)
            now[0] += 3600  # the next scheduled poll reads the sale
            watcher.step()
            sold = world.holdings(SKU)
            sim.fulfill_order(order)
            sim.refund(order, SKU, 1, restock_type="RETURN")

            listener = Listener(
                Path(world.store.path),
                {"shopify": shopify_hooks.ShopifyVerifier("s3cret")},
                port=0,
            ).start()
            try:
                body = b'{"id": 890088186, "created_at": "2026-01-01T00:00:00Z"}'
                answers = [
                    httpx.post(
                        listener.base_url + "/webhooks/shopify",
                        content=body,
                        headers={
                            "X-Shopify-Hmac-Sha256": shopify_hooks.sign(body, "s3cret"),
                            "X-Shopify-Topic": "refunds/create",
                            "X-Shopify-Event-Id": event,
                        },
                    ).status_code
                    for event in ("r1", "r1", "r2")
                ]
            finally:
                listener.stop()
            watcher.step()  # no time passed: only the webhooks cause a read
            after = world.holdings(SKU)
            watcher.step()
            settled = world.holdings(SKU)
        returns = world.store.scalar("SELECT count(*) FROM returns")

    assert answers == [200, 200, 200]
    assert sold == (2, 2, 2)
    assert after[0] == 3
    assert settled == (3, 3, 3)
    assert returns == 1


def test_watch_log_says_which_returns_it_applied(tmp_path: Path) -> None:
    now = [1000.0]
    lines: list[str] = []
    with sandbox_world(tmp_path / "home") as world:
        sim = world.sandbox.shopify
        with registry.connected_channels(
            world.store, credentials=world.credentials
        ) as channels:
            watcher = Watcher(world.store, channels, clock=lambda: now[0])
            watcher.on_line = lines.append
            watcher.step()
            order = sim.sell(SKU, 2)
            now[0] += 3600
            watcher.step()
            sim.refund(order, SKU, 1, restock_type="CANCEL")
            sim.refund(order, SKU, 1, restock_type="NO_RESTOCK")
            lines.clear()
            now[0] += 3600
            watcher.step()

    assert f"shopify: cancel of 1 x {SKU} (order {order}): 1 added back" in lines
    assert (
        f"shopify: refund of 1 x {SKU} (order {order}): not back in stock, "
        "nothing added"
    ) in lines


# Clover


@pytest.fixture
def clover() -> Iterator[tuple[CloverSimulator, str]]:
    sim = CloverSimulator(seed=7)
    sim.seed(name="Dunk Low Panda / US 9", sku=SKU, quantity=2)
    server = SimServer(sim.app).start()
    try:
        yield sim, server.base_url
    finally:
        server.stop()


@pytest.mark.parametrize("clover_restocks", [False, True])
def test_clover_refund_comes_back_once_whoever_restocked(
    cli, clover, clover_restocks: bool
) -> None:
    sim, url = clover
    cli(
        "connect", "clover", "--merchant", sim.merchant_id, "--base-url", url,
        stdin=sim.api_token + "\n",
    )  # fmt: skip
    cli("import", "clover")
    order = sim.sell(SKU, 1)
    cli("sync")
    sim.refund(order, restock=clover_restocks)

    first = cli("sync", "--json")
    again = cli("sync", "--json").json()["channels"]["clover"]

    assert first.code == 0, first.err
    assert first.json()["channels"]["clover"]["restocked"] == 1
    assert again["restocked"] == 0
    assert _central(cli) == 2
    assert sim.stock(SKU) == 2
    assert _causes(cli) == [(-1, "sale"), (1, "return")]


def test_clover_restocked_refund_of_an_oversold_sale_is_pushed_back_to_zero(
    cli, clover
) -> None:
    sim, url = clover
    cli(
        "connect", "clover", "--merchant", sim.merchant_id, "--base-url", url,
        stdin=sim.api_token + "\n",
    )  # fmt: skip
    cli("import", "clover")
    cli("adjust", SKU, "=0", "--reason", "sold at a fair")
    cli("sync")
    order = sim.sell(SKU, 1)  # the till sells a pair that is not there
    cli("sync")
    sim.refund(order, restock=True)  # Clover puts the pair that never was back

    cli("sync")

    assert _central(cli) == 0
    assert sim.stock(SKU) == 0  # not left on sale at the till


# eBay


@pytest.fixture
def ebay() -> Iterator[tuple[EbaySimulator, str]]:
    sim = EbaySimulator(seed=5)
    sim.seed(SKU, quantity=3, title="Nike Dunk Low Panda US 9")
    server = SimServer(sim.app).start()
    try:
        yield sim, server.base_url
    finally:
        server.stop()


def _ebay_quantity(sim: EbaySimulator) -> int:
    item = next(i for i in sim.state()["items"] if i["sku"] == SKU)
    return int(item["availability"]["shipToLocationAvailability"]["quantity"])


def test_ebay_cancelled_order_comes_back_once(cli, ebay) -> None:
    sim, url = ebay
    code = quote(sim.consent_code, safe="")
    cli(
        "connect", "ebay", "--client-id", sim.client_id, "--ru-name", sim.ru_name,
        "--base-url", url, "--out-of-stock-control",
        stdin=f"{sim.client_secret}\nhttps://example.invalid/ok?code={code}\n",
    )  # fmt: skip
    cli("import", "ebay")
    order = sim.sell(SKU, 2)
    cli("sync")
    assert (_central(cli), _ebay_quantity(sim)) == (1, 1)
    sim.cancel(order)  # eBay leaves the listing at 1

    first = cli("sync", "--json")
    again = cli("sync", "--json").json()["channels"]["ebay"]

    assert first.code == 0, first.err
    assert first.json()["channels"]["ebay"]["restocked"] == 2
    assert again["restocked"] == 0
    assert (_central(cli), _ebay_quantity(sim)) == (3, 3)
    assert _causes(cli)[-1] == (2, "cancel")


# StockX


@pytest.fixture
def stockx() -> Iterator[tuple[StockXSimulator, str, dict[str, str]]]:
    sim = StockXSimulator(seed=2, per_second=1000, operation_delay=0.05)
    variants = sim.seed_product(
        'Nike Dunk Low "Panda"', "DD1391-100", sizes=["9", "10"]
    )
    sim.seed_listings(variants["9"], "120", quantity=1)
    server = SimServer(sim.app).start()
    try:
        yield sim, server.base_url, variants
    finally:
        server.stop()


def _sync_until_settled(cli, rounds: int = 40):
    for _ in range(rounds):
        result = cli("sync", "--json")
        if result.code != 3:
            return result
        time.sleep(0.05)  # the simulator finishes operations after operation_delay
    return result


def test_stockx_cancelled_order_relists_the_pair_once(cli, stockx, tmp_path) -> None:
    sim, url, variants = stockx
    catalog = tmp_path / "c.csv"
    catalog.write_text(f"sku,quantity\n{SKU},1\n")
    cli("import", "csv", str(catalog))
    cli(
        "connect", "stockx", "--client-id", sim.client_id,
        "--redirect-uri", sim.redirect_uri, "--base-url", url,
        stdin=f"{sim.api_key}\n{sim.client_secret}\n{sim.auth_code}\n",
    )  # fmt: skip
    cli("import", "stockx")
    number = sim.sell(variants["9"])
    assert cli("sync", "--json").json()["channels"]["stockx"]["applied"] == 1
    assert _central(cli) == 0
    cancelled = httpx.post(
        url + "/_sandbox/complete",
        json={"order_number": number, "status": "CANCELED"},
    )
    assert cancelled.status_code == 200

    settled = _sync_until_settled(cli)
    again = cli("sync", "--json").json()["channels"]["stockx"]

    assert settled.code == 0, settled.out
    assert again["restocked"] == 0
    assert _central(cli) == 1
    assert sim.active_count(variants["9"]) == 1
    assert _causes(cli) == [(-1, "sale"), (1, "cancel")]


@pytest.mark.parametrize("read_first", [True, False])
def test_stockx_order_that_did_not_ship_stays_sold_and_is_journalled(
    cli, stockx, tmp_path, read_first: bool
) -> None:
    sim, url, variants = stockx
    catalog = tmp_path / "c.csv"
    catalog.write_text(f"sku,quantity\n{SKU},2\n")
    cli("import", "csv", str(catalog))
    cli(
        "connect", "stockx", "--client-id", sim.client_id,
        "--redirect-uri", sim.redirect_uri, "--base-url", url,
        stdin=f"{sim.api_key}\n{sim.client_secret}\n{sim.auth_code}\n",
    )  # fmt: skip
    cli("import", "stockx")
    number = sim.sell(variants["9"])
    if read_first:
        assert cli("sync", "--json").json()["channels"]["stockx"]["applied"] == 1
    ended = httpx.post(
        url + "/_sandbox/complete",
        json={"order_number": number, "status": "DIDNOTSHIP"},
    )
    assert ended.status_code == 200

    settled = _sync_until_settled(cli)
    again = cli("sync", "--json").json()["channels"]["stockx"]

    assert settled.code == 0, settled.out
    assert (again["returns"], again["restocked"], again["applied"]) == (1, 0, 0)
    assert _central(cli) == 1
    assert _causes(cli) == [(-1, "sale"), (0, "did not ship (not restocked)")]
