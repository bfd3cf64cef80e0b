"""Import from one channel creates the matching entries on the others, through the
Shopify, Clover, eBay and StockX simulators on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest

from stackknack_cli.sandbox.clover import CloverSimulator
from stackknack_cli.sandbox.ebay import EbaySimulator
from stackknack_cli.sandbox.server import SimServer
from stackknack_cli.sandbox.shopify import ShopifySimulator
from stackknack_cli.sandbox.stockx import StockXSimulator

LONG_SKU = "DD1391-100-" + "X" * 45
"""Longer than eBay's 50 characters: eBay refuses its inventory item."""


@dataclass
class Sims:
    shopify: ShopifySimulator
    clover: CloverSimulator
    ebay: EbaySimulator
    stockx: StockXSimulator
    urls: dict[str, str]
    variants: dict[str, str]


@pytest.fixture
def sims() -> Iterator[Sims]:
    shopify = ShopifySimulator(seed=3)
    shopify.seed(
        "DD1391-100-9", title="Dunk Low Panda / US 9", quantity=2, price="120.00"
    )
    shopify.seed(
        "DD1391-100-10", title="Dunk Low Panda / US 10", quantity=1, price="130.00"
    )
    shopify.seed("ZZ0000-000-9", title="Mystery Shoe / US 9", quantity=1, price="90.00")
    shopify.seed("TOTE-CANVAS", title="Canvas tote", quantity=4)  # price 0.00
    clover = CloverSimulator(seed=7)
    ebay = EbaySimulator(seed=5)
    # StockX answers at once here; its pacing is tested with the adapter.
    stockx = StockXSimulator(seed=2, per_second=1000, operation_delay=0.05)
    variants = stockx.seed_product(
        'Nike Dunk Low "Panda"', "DD1391-100", sizes=["9", "10"]
    )
    servers = {
        name: SimServer(sim.app).start()
        for name, sim in (
            ("shopify", shopify),
            ("clover", clover),
            ("ebay", ebay),
            ("stockx", stockx),
        )
    }
    try:
        urls = {name: server.base_url for name, server in servers.items()}
        yield Sims(shopify, clover, ebay, stockx, urls, variants)
    finally:
        for server in servers.values():
            server.stop()


def _connect_all(cli, sims: Sims) -> None:
    results = [
        cli(
            "connect", "shopify", "--shop", "sandbox",
            "--base-url", sims.urls["shopify"],
            stdin=sims.shopify.access_token + "\n",
        ),
        cli(
            "connect", "clover", "--merchant", sims.clover.merchant_id,
            "--base-url", sims.urls["clover"],
            stdin=sims.clover.api_token + "\n",
        ),
        cli(
            "connect", "ebay", "--client-id", sims.ebay.client_id,
            "--ru-name", sims.ebay.ru_name, "--base-url", sims.urls["ebay"],
            stdin=f"{sims.ebay.client_secret}\nhttps://example.invalid/ok?code="
            f"{quote(sims.ebay.consent_code, safe='')}\n",
        ),
        cli(
            "connect", "stockx", "--client-id", sims.stockx.client_id,
            "--redirect-uri", sims.stockx.redirect_uri,
            "--base-url", sims.urls["stockx"],
            stdin=f"{sims.stockx.api_key}\n{sims.stockx.client_secret}\n"
            f"{sims.stockx.auth_code}\n",
        ),
    ]  # fmt: skip
    for result in results:
        assert result.code == 0, result.err


def _import_everywhere(cli, *extra: str):
    return cli(
        "import", "shopify",
        "--create-on", "clover", "--create-on", "ebay", "--create-on", "stockx",
        *extra, "--json",
    )  # fmt: skip


def _by(report: dict, channel: str) -> dict[str, dict]:
    return {
        item["sku"]: item
        for item in report["create_on"]["items"]
        if item["channel"] == channel
    }


def _writes(sim_requests: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The platform writes among requests, leaving out token grants."""
    return [
        r
        for r in sim_requests
        if r[0] in ("POST", "PUT", "PATCH", "DELETE")
        and "oauth" not in r[1]
        and "token" not in r[1]
    ]


def test_dry_run_shows_the_plan_and_writes_nothing_anywhere(cli, sims) -> None:
    draft = sims.shopify.seed("DRAFT-1", title="Unreleased / US 9", price="99.00")
    draft.product_status = "DRAFT"
    _connect_all(cli, sims)

    result = _import_everywhere(cli, "--dry-run")

    assert result.code == 0, result.err
    report = result.json()
    clover = _by(report, "clover")
    assert clover["DD1391-100-9"]["status"] == "create"
    assert clover["DD1391-100-9"]["price"] == "120.00"
    assert clover["DD1391-100-9"]["quantity"] == 2
    assert clover["TOTE-CANVAS"]["status"] == "skipped"
    assert "no price on shopify" in clover["TOTE-CANVAS"]["reason"]
    ebay = _by(report, "ebay")
    assert ebay["DD1391-100-10"]["currency"] == "USD"
    stockx = _by(report, "stockx")
    assert stockx["DD1391-100-9"]["ref"] == sims.variants["9"]
    assert stockx["DD1391-100-9"]["price"] == "120"
    assert stockx["ZZ0000-000-9"]["status"] == "skipped"
    assert "no StockX catalogue variant" in stockx["ZZ0000-000-9"]["reason"]
    assert "no style id and size" in stockx["TOTE-CANVAS"]["reason"]
    assert clover["DRAFT-1"]["reason"] == "not on sale on shopify"

    assert _writes(sims.clover.requests) == []
    assert _writes(sims.ebay.requests) == []
    assert _writes(sims.stockx.requests) == []
    assert sims.ebay.items == {}
    assert cli("stock", "--json").json() == []


def test_real_run_creates_and_links_and_a_rerun_creates_nothing(cli, sims) -> None:
    _connect_all(cli, sims)

    first = _import_everywhere(cli)

    assert first.code == 0, first.err
    counts = first.json()["create_on"]["counts"]
    assert counts["clover"] == {"created": 3, "skipped": 1}
    assert counts["ebay"] == {"created": 3, "skipped": 1}
    assert counts["stockx"] == {"queued": 2, "skipped": 2}

    item = sims.clover.item("DD1391-100-9")
    assert (item.name, item.price, item.quantity) == ("Dunk Low Panda / US 9", 12000, 2)
    offers = sims.ebay.offers_of("DD1391-100-10")
    # No quantity of its own: the offer follows the inventory item's, which syncs
    # keep current, so it lists today's count whenever the seller publishes it.
    assert [(o.status, o.price, o.available) for o in offers] == [
        ("UNPUBLISHED", "130.00", None)
    ]
    assert sims.ebay.items["DD1391-100-10"].quantity == 1
    assert sims.ebay.items["DD1391-100-10"].title == "Dunk Low Panda / US 10"
    stock = {row["sku"]: row for row in cli("stock", "--json").json()}
    assert set(stock["DD1391-100-9"]["channels"]) == {
        "shopify",
        "clover",
        "ebay",
        "stockx",
    }
    assert stock["DD1391-100-9"]["channels"]["stockx"]["ref"] == sims.variants["9"]
    for _ in range(40):  # StockX finishes its writes after operation_delay
        if cli("sync").code == 0:
            break
        time.sleep(0.05)
    assert sims.stockx.active_count(sims.variants["9"]) == 2
    assert sims.stockx.active_count(sims.variants["10"]) == 1

    clover_writes = len(_writes(sims.clover.requests))
    ebay_writes = len(_writes(sims.ebay.requests))
    again = _import_everywhere(cli)

    assert again.code == 0, again.err
    statuses = {item["status"] for item in again.json()["create_on"]["items"]}
    assert "created" not in statuses
    assert "queued" not in statuses
    assert len(_writes(sims.clover.requests)) == clover_writes
    assert len(_writes(sims.ebay.requests)) == ebay_writes
    assert len(sims.ebay.offers_of("DD1391-100-9")) == 1


def test_an_unpublished_offer_lists_the_count_of_the_day_it_is_published(
    cli, sims
) -> None:
    _connect_all(cli, sims)
    _import_everywhere(cli)
    (offer,) = sims.ebay.offers_of("DD1391-100-10")

    cli("adjust", "DD1391-100-10", "+2", "--reason", "restock")
    cli("sync")

    assert sims.ebay.listed_quantity(offer) == 3


def test_a_run_cut_off_before_linking_finds_what_it_made(cli, sims) -> None:
    _connect_all(cli, sims)
    sims.clover.seed(name="Dunk 9", sku="DD1391-100-9", quantity=5, price=11000)
    sims.ebay.seed("DD1391-100-9", quantity=5, published=False)

    result = cli(
        "import", "shopify", "--create-on", "clover", "--create-on", "ebay", "--json"
    )

    assert result.code == 0, result.err
    clover = _by(result.json(), "clover")["DD1391-100-9"]
    ebay = _by(result.json(), "ebay")["DD1391-100-9"]
    assert clover["status"] == "linked"
    assert ebay["status"] == "linked"
    merchant = sims.clover.state()["merchants"][sims.clover.merchant_id]
    assert len(merchant["items"]) == 3
    assert len(sims.ebay.offers_of("DD1391-100-9")) == 1


def test_a_refused_create_fails_one_item_and_the_others_go_on(cli, sims) -> None:
    sims.shopify.seed(
        LONG_SKU, title="Dunk Low Panda / US 9 (B)", quantity=1, price="99"
    )
    sims.clover.refused_skus["DD1391-100-10"] = "Item sku is not valid"
    _connect_all(cli, sims)

    result = cli(
        "import", "shopify", "--create-on", "clover", "--create-on", "ebay", "--json"
    )

    assert result.code == 1
    clover = _by(result.json(), "clover")
    ebay = _by(result.json(), "ebay")
    assert clover["DD1391-100-10"]["status"] == "failed"
    assert "Item sku is not valid" in clover["DD1391-100-10"]["reason"]
    assert clover["DD1391-100-9"]["status"] == "created"
    assert clover["ZZ0000-000-9"]["status"] == "created"
    assert ebay[LONG_SKU]["status"] == "failed"
    assert "25709" in ebay[LONG_SKU]["reason"]
    assert ebay["DD1391-100-10"]["status"] == "created"
    assert "Traceback" not in result.err


def test_stockx_uses_the_given_ask_and_skips_what_the_catalogue_lacks(
    cli, sims
) -> None:
    _connect_all(cli, sims)

    result = cli("import", "shopify", "--create-on", "stockx", "--stockx-ask", "175.50")

    assert result.code == 0, result.err
    assert "ZZ0000-000-9: skipped: no StockX catalogue variant of style" in result.out
    for _ in range(40):
        if cli("sync").code == 0:
            break
        time.sleep(0.05)
    asks = {
        listing["amount"]
        for listing in sims.stockx.state()["listings"]
        if listing["status"] == "ACTIVE"
    }
    assert asks == {"175.5"}


def test_bad_options_are_one_line_errors(cli, sims) -> None:
    _connect_all(cli, sims)

    same = cli("import", "clover", "--create-on", "clover")
    price = cli("import", "shopify", "--create-on", "stockx", "--stockx-ask", "free")

    assert same.code == 1
    assert "clover is the channel being imported from" in same.err
    assert price.code == 1
    assert price.err.strip().count("\n") == 0
    assert "--stockx-ask 'free'" in price.err


def test_clover_prices_in_cents_become_ebay_and_stockx_prices(cli, sims) -> None:
    sims.clover.seed(name="Dunk / US 10", sku="DD1391-100-10", quantity=1, price=13050)
    sims.clover.seed(name="Gift card", sku="GIFT", quantity=9, price=0)
    _connect_all(cli, sims)

    result = cli(
        "import", "clover", "--create-on", "ebay", "--create-on", "stockx",
        "--dry-run", "--json",
    )  # fmt: skip

    assert result.code == 0, result.err
    ebay = _by(result.json(), "ebay")
    stockx = _by(result.json(), "stockx")
    assert (ebay["DD1391-100-10"]["price"], ebay["DD1391-100-10"]["currency"]) == (
        "130.50",
        "USD",
    )
    assert stockx["DD1391-100-10"]["price"] == "130.5"
    assert ebay["GIFT"]["status"] == "skipped"
    assert ebay["GIFT"]["reason"] == "no price on clover"


def test_a_target_that_is_down_fails_its_items_and_the_others_go_on(cli, sims) -> None:
    _connect_all(cli, sims)
    sims.clover.faults.down = True

    result = cli(
        "import", "shopify", "--create-on", "clover", "--create-on", "ebay", "--json"
    )  # fmt: skip

    assert result.code == 1
    counts = result.json()["create_on"]["counts"]
    assert counts["clover"] == {"failed": 3, "skipped": 1}
    assert counts["ebay"] == {"created": 3, "skipped": 1}
    clover = _by(result.json(), "clover")
    assert clover["DD1391-100-10"]["reason"].startswith("not tried: clover failed")
    assert len(sims.ebay.offers_of("DD1391-100-9")) == 1
