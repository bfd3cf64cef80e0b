from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from stackknack_cli.sandbox import runtime
from tests.cli_helpers import invoke


def test_sandbox_sell_makes_a_sale_on_the_running_simulator(capsys, monkeypatch):
    with runtime.Sandbox() as sandbox:
        sandbox.seed([("AJ1-10", "Jordan 1 / US 10", 2)])
        runtime.write_state(sandbox)

        web = invoke(
            capsys,
            monkeypatch,
            "sandbox",
            "sell",
            "--channel",
            "shopify",
            "--sku",
            "AJ1-10",
        )
        till = invoke(
            capsys,
            monkeypatch,
            "sandbox",
            "sell",
            "--channel",
            "clover",
            "--sku",
            "AJ1-10",
            "--quantity",
            "2",
        )

        assert web.code == 0, web.err
        assert till.code == 0, till.err
        assert sandbox.shopify.available("AJ1-10") == 1
        assert sandbox.clover.stock("AJ1-10") == 0


def test_sandbox_sell_of_unknown_sku_is_one_line(capsys, monkeypatch) -> None:
    with runtime.Sandbox() as sandbox:
        runtime.write_state(sandbox)
        outcome = invoke(
            capsys,
            monkeypatch,
            "sandbox",
            "sell",
            "--channel",
            "clover",
            "--sku",
            "NOPE",
        )
    assert outcome.code == 1
    assert outcome.err.count("\n") == 1
    assert "NOPE" in outcome.err


def test_sandbox_sell_without_a_sandbox_says_how_to_start_one(capsys, monkeypatch):
    outcome = invoke(
        capsys, monkeypatch, "sandbox", "sell", "--channel", "clover", "--sku", "A"
    )
    assert outcome.code == 1
    assert "stackknack sandbox" in outcome.err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_sandbox_prints_urls_and_credentials_then_stops_on_signal(
    tmp_path, signum
) -> None:
    env = dict(os.environ, STACKKNACK_HOME=str(tmp_path), NO_COLOR="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "stackknack_cli", "sandbox"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "sandbox.json").exists():
            assert time.monotonic() < deadline, "sandbox did not start"
            assert process.poll() is None, (
                process.stderr.read() if process.stderr else ""
            )
            time.sleep(0.05)
        process.send_signal(signum)
        out, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    described = json.loads(out)
    assert described["shopify"]["base_url"].startswith("http://127.0.0.1:")
    assert described["clover"]["api_token"]
    assert process.returncode == 0
    assert not (tmp_path / "sandbox.json").exists()


def test_sandbox_sell_on_ebay_and_stockx(capsys, monkeypatch) -> None:
    with runtime.Sandbox() as sandbox:
        sandbox.seed([("DZ5485-612-10", "Jordan 1 / US 10", 2)])
        runtime.write_state(sandbox)
        for channel in ("ebay", "stockx"):
            outcome = invoke(
                capsys, monkeypatch, "sandbox", "sell", "--channel", channel,
                "--sku", "DZ5485-612-10",
            )  # fmt: skip
            assert outcome.code == 0, outcome.err
        assert sandbox.held("ebay", "DZ5485-612-10") == 1
        assert sandbox.held("stockx", "DZ5485-612-10") == 1


def test_sandbox_catalogue_prices_let_shopify_listings_go_to_clover(cli) -> None:
    prices = runtime.catalog_prices(runtime.CATALOG)
    assert str(prices["DZ5485-612-8"]) == "180.00"
    with runtime.Sandbox() as sandbox:
        sandbox.seed([("DZ5485-612-8", "Jordan 1 / US 8", 1)], prices)
        shop, till = sandbox.shopify, sandbox.clover
        connected = [
            cli(
                "connect", "shopify", "--shop", "sandbox",
                "--base-url", sandbox.url("shopify"), stdin=shop.access_token + "\n",
            ).code,
            cli(
                "connect", "clover", "--merchant", till.merchant_id,
                "--base-url", sandbox.url("clover"), stdin=till.api_token + "\n",
            ).code,
        ]  # fmt: skip

        result = cli(
            "import", "shopify", "--create-on", "clover", "--dry-run", "--json"
        )

    assert connected == [0, 0]
    assert result.code == 0, result.err
    items = result.json()["create_on"]["items"]
    assert [(i["sku"], i["status"], i["price"]) for i in items] == [
        ("DZ5485-612-8", "create", "180.00")
    ]
