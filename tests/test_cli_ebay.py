"""The CLI against the eBay simulator: consent, import, sync, re-consent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from stackknack_cli.sandbox.ebay import EbaySimulator
from stackknack_cli.sandbox.server import SimServer


@pytest.fixture
def ebay() -> Iterator[tuple[EbaySimulator, str]]:
    sim = EbaySimulator(seed=5)
    sim.seed("DD1391-100-9", quantity=3, title="Nike Dunk Low Panda US 9")
    sim.seed("B75806-8", quantity=1, title="adidas Samba OG US 8")
    server = SimServer(sim.app).start()
    try:
        yield sim, server.base_url
    finally:
        server.stop()


def _connect(cli, sim: EbaySimulator, url: str, *extra: str):
    code = quote(sim.consent_code, safe="")  # as eBay puts it in the redirect URL
    return cli(
        "connect",
        "ebay",
        "--client-id",
        sim.client_id,
        "--ru-name",
        sim.ru_name,
        "--base-url",
        url,
        *extra,
        stdin=f"{sim.client_secret}\nhttps://example.invalid/ok?code={code}\n",
    )


def test_consent_flow_prints_the_consent_page_and_keeps_tokens_out_of_db(
    cli, ebay, memory_keyring, tmp_path
) -> None:
    sim, url = ebay
    result = _connect(cli, sim, url)

    assert result.code == 0, result.err
    assert f"{url}/oauth2/authorize?client_id=" in result.err
    assert "auth.ebay.com" not in result.err  # a simulator's consent page, not eBay's
    assert "out-of-stock control off" in result.out
    database = (tmp_path / "home" / "stackknack.db").read_bytes()
    assert sim.client_secret.encode() not in database
    assert sim.refresh_token.encode() not in database
    assert any("refresh_token" in value for value in memory_keyring.secrets.values())


def test_simulator_consent_page_redirects_with_a_code_connect_accepts(
    cli, ebay
) -> None:
    sim, url = ebay
    printed = _connect(cli, sim, url).err
    page = next(w for w in printed.split() if w.startswith(f"{url}/oauth2/"))

    with httpx.Client(trust_env=False) as client:
        answer = client.get(page)
        landed = client.get(f"{url}{answer.headers['location']}")
    redirect = f"{url}{answer.headers['location']}"
    again = cli(
        "connect", "ebay", "--client-id", sim.client_id, "--ru-name", sim.ru_name,
        "--base-url", url, stdin=f"{sim.client_secret}\n{redirect}\n",
    )  # fmt: skip

    assert answer.status_code == 302
    assert landed.status_code == 200
    assert again.code == 0, again.err


def test_bad_consent_code_stores_nothing(cli, ebay, memory_keyring) -> None:
    sim, url = ebay
    result = cli(
        "connect",
        "ebay",
        "--client-id",
        sim.client_id,
        "--ru-name",
        sim.ru_name,
        "--base-url",
        url,
        stdin=f"{sim.client_secret}\nnot-a-code\n",
    )
    assert result.code == 1
    assert result.err.strip().splitlines()[-1].startswith("Error:")
    assert memory_keyring.secrets == {}


def test_sale_on_ebay_is_applied_and_a_restock_is_pushed(cli, ebay, tmp_path) -> None:
    sim, url = ebay
    _connect(cli, sim, url, "--out-of-stock-control")
    assert cli("import", "ebay", "--json").json()["linked"] == 2
    sim.sell("DD1391-100-9", 1)

    first = cli("sync", "--json")
    assert first.code == 0, first.err
    assert first.json()["channels"]["ebay"]["applied"] == 1
    assert cli("stock", "DD1391-100-9", "--json").json()[0]["available"] == 2

    restock = tmp_path / "r.csv"
    restock.write_text("sku,quantity\nB75806-8,4\n")
    cli("import", "csv", str(restock))
    assert cli("sync").code == 0
    assert _quantity(sim, "B75806-8") == 4
    assert _quantity(sim, "DD1391-100-9") == 2
    assert cli("outbox", "--json").json() == []


def _quantity(sim: EbaySimulator, sku: str) -> int:
    item = next(i for i in sim.state()["items"] if i["sku"] == sku)
    return int(item["availability"]["shipToLocationAvailability"]["quantity"])


def test_refused_refresh_token_parks_ebay_and_keeps_its_queue(
    cli, ebay, tmp_path, memory_keyring
) -> None:
    sim, url = ebay
    _connect(cli, sim, url, "--out-of-stock-control")
    cli("import", "ebay")
    change = tmp_path / "c.csv"
    change.write_text("sku,quantity\nB75806-8,0\n")
    cli("import", "csv", str(change))

    # The 2-hour access token runs out, so the next call must refresh it.
    for key, value in memory_keyring.secrets.items():
        if key[1].endswith("/ebay/oauth"):
            entry = json.loads(value)
            entry["access_token_expires_at"] = 0
            memory_keyring.secrets[key] = json.dumps(entry)
            sim.revoke(entry["refresh_token"])  # the seller withdrew consent
    result = cli("sync", "--json")

    assert result.code == 5, result.out + result.err
    assert "connect ebay" in result.json()["channels"]["ebay"]["error"]
    queue = cli("outbox", "--json")
    assert len(queue.json()) == 1
    assert "ebay needs a new consent" in queue.err
    assert "ebay needs a new consent" in cli("stock").err


def test_sale_through_an_outside_listing_is_pushed_to_the_managed_one(
    cli, ebay
) -> None:
    sim, url = ebay
    _connect(cli, sim, url, "--out-of-stock-control")
    cli("import", "ebay")
    outside = sim.seed_outside(sku="DD1391-100-9", quantity=2)
    sim.sell(outside, 1)

    assert cli("sync").code == 0

    assert cli("stock", "DD1391-100-9", "--json").json()[0]["available"] == 2
    assert _quantity(sim, "DD1391-100-9") == 2  # the managed listing follows


def test_out_of_stock_control_switched_off_later_is_followed(cli, ebay) -> None:
    sim, url = ebay
    sim.out_of_stock_control = True
    _connect(cli, sim, url)  # stackknack asks eBay: on
    cli("import", "ebay")
    sim.out_of_stock_control = False  # the seller switches it off in My eBay

    cli("adjust", "B75806-8", "=0", "--reason", "sold at a fair")
    assert cli("sync").code == 0
    offer = next(o for o in sim.state()["offers"] if o["sku"] == "B75806-8")
    assert offer["status"] == "UNPUBLISHED"  # withdrawn, not ended

    cli("adjust", "B75806-8", "=2", "--reason", "restock")
    assert cli("sync").code == 0
    offer = next(o for o in sim.state()["offers"] if o["sku"] == "B75806-8")
    assert offer["status"] == "PUBLISHED"
    assert _quantity(sim, "B75806-8") == 2


def test_listing_that_ended_at_zero_comes_back_on_restock(cli, ebay) -> None:
    sim, url = ebay
    _connect(cli, sim, url, "--out-of-stock-control")  # the user says on; it is off
    cli("import", "ebay")
    cli("adjust", "B75806-8", "=0", "--reason", "sold at a fair")
    cli("sync")  # eBay ends the listing at 0

    cli("adjust", "B75806-8", "=2", "--reason", "restock")
    result = cli("sync", "--json")

    assert result.code == 0, result.out
    offer = next(o for o in sim.state()["offers"] if o["sku"] == "B75806-8")
    assert offer["listing"]["listingStatus"] == "ACTIVE"
    assert _quantity(sim, "B75806-8") == 2
