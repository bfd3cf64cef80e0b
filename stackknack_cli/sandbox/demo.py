"""The sandbox demo: a real catalogue in, sales on both channels, every channel in sync.

It starts the simulators on 127.0.0.1, imports the catalogue CSV into a fresh database,
lists the same catalogue on both simulators, connects and links them, makes sales on
both (two of them racing for the same last pair), runs one sync, and compares what
every channel holds with the central count.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackknack_cli.channels import registry
from stackknack_cli.channels.http import RetryPolicy
from stackknack_cli.credentials import Credentials, FileStore
from stackknack_cli.engine.linking import link_channel
from stackknack_cli.engine.sync import SyncReport, run_sync, set_cursor
from stackknack_cli.importers import read_csv
from stackknack_cli.sandbox.runtime import CHANNELS, Sandbox, catalog_prices
from stackknack_cli.store import inventory, open_store
from stackknack_cli.store.db import Store, utcnow
from stackknack_cli.store.inventory import ItemRecord

Say = Callable[[str], None]


@dataclass
class DemoRow:
    sku: str
    title: str
    before: dict[str, int]
    after: dict[str, int] = field(default_factory=dict)
    note: str = ""

    @property
    def agrees(self) -> bool:
        return len(set(self.after.values())) == 1


@dataclass
class DemoResult:
    rows: list[DemoRow]
    sync: SyncReport
    imported: int
    oversold_sku: str

    @property
    def disagreeing(self) -> list[DemoRow]:
        return [row for row in self.rows if not row.agrees]

    @property
    def oversell_flagged(self) -> bool:
        return any(o["sku"] == self.oversold_sku for o in self.sync.oversells)

    @property
    def ok(self) -> bool:
        return not self.disagreeing and self.oversell_flagged


def _holdings(store: Store, sandbox: Sandbox) -> dict[str, dict[str, int]]:
    central = {
        row["sku"]: row["available"] for row in store.query("SELECT * FROM items")
    }
    return {
        sku: {"central": count}
        | {channel: sandbox.held(channel, sku) for channel in CHANNELS}
        for sku, count in central.items()
    }


def _connect(store: Store, sandbox: Sandbox, credentials: Credentials) -> None:
    """Connect the four simulators the way ``stackknack connect`` does."""
    from stackknack_cli.channels import ebay_auth, shopify, shopify_auth, stockx_auth
    from stackknack_cli.channels.http import RetryPolicy

    info = sandbox.describe()
    policy = RetryPolicy(attempts=3)
    credentials.set("shopify", "admin_token", info["shopify"]["access_token"])
    credentials.set("clover", "api_token", info["clover"]["api_token"])
    with registry.http_client(info["shopify"]["base_url"]) as client:
        probe = shopify.ShopifyChannel(
            client,
            info["shopify"]["base_url"],
            None,
            tokens=shopify_auth.StaticToken(info["shopify"]["access_token"]),
            policy=policy,
        )
        location = shopify.choose_location(probe.list_locations(), None)
        ebay = info["ebay"]
        ebay_auth.exchange_code(
            client,
            ebay["consent_code"],
            client_id=ebay["client_id"],
            client_secret=ebay["client_secret"],
            ru_name=ebay["ru_name"],
            credentials=credentials,
            token_url=f"{ebay['base_url']}/identity/v1/oauth2/token",
            policy=policy,
        )
        stockx = info["stockx"]
        token_url = f"{stockx['base_url']}{stockx_auth.TOKEN_PATH}"
        stockx_auth.exchange_code(
            client,
            stockx["auth_code"],
            client_id=stockx["client_id"],
            client_secret=stockx["client_secret"],
            redirect_uri=stockx["redirect_uri"],
            credentials=credentials,
            token_url=token_url,
            policy=policy,
        )
        stockx_auth.store_api_key(credentials, stockx["api_key"])

    settings: dict[str, tuple[str, dict[str, Any]]] = {
        "shopify": (
            info["shopify"]["base_url"],
            {"location_id": location.id, "location_name": location.name},
        ),
        "clover": (
            info["clover"]["base_url"],
            {"merchant_id": info["clover"]["merchant_id"], "region": "sandbox"},
        ),
        "ebay": (ebay["base_url"], {"out_of_stock_control": True}),
        "stockx": (f"{stockx['base_url']}/v2", {"token_url": token_url}),
    }
    for name, (base_url, values) in settings.items():
        registry.save(store, name, base_url, values)
        set_cursor(store, name, utcnow())


def _race(sandbox: Sandbox, sku: str, channels: tuple[str, str]) -> None:
    """Sell the same last pair on two channels at (nearly) the same moment."""
    start = threading.Barrier(len(channels))

    def sell(channel: str) -> None:
        start.wait()
        sandbox.sell(channel, sku)

    threads = [threading.Thread(target=sell, args=(c,)) for c in channels]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run_demo(
    catalog: Path, workdir: Path, *, say: Say, settle_seconds: float = 90.0
) -> DemoResult:
    """Run the whole demo with its files in ``workdir``; return what it saw.

    Syncs until no push waits (StockX writes finish asynchronously) or until
    ``settle_seconds`` have passed.
    """
    store = open_store(workdir / "demo.db")
    credentials = Credentials(store.install_id, FileStore(workdir / "credentials.json"))
    try:
        with Sandbox() as sandbox:
            say(
                "simulators up: " + ", ".join(f"{c} {sandbox.url(c)}" for c in CHANNELS)
            )
            with read_csv(catalog) as plan:
                records = [ItemRecord(r.sku, r.quantity, _title(r)) for r in plan]
            written = inventory.set_quantities(
                store, records, cause=f"import {catalog.name}"
            )
            say(f"imported {catalog.name}: {written.written} SKUs")
            sandbox.seed(
                ((r.sku, r.title, r.quantity) for r in records),
                catalog_prices(catalog),
            )
            say("listed the catalogue on all four simulators")

            _connect(store, sandbox, credentials)
            # The demo runs in real time: StockX's pacer really waits between calls.
            real_time = RetryPolicy(sleep=time.sleep)
            with registry.connected_channels(
                store, credentials=credentials, policy=real_time
            ) as channels:
                for channel in channels.values():
                    linked = link_channel(store, channel, create_missing=False)
                    say(f"linked {linked.linked} {channel.name} listings")
                before = _holdings(store, sandbox)

                rows = _sell(sandbox, records)
                say("made sales: " + "; ".join(f"{r.sku} {r.note}" for r in rows))
                started = time.perf_counter()
                report = run_sync(store, channels)
                rounds = 1
                while report.queued and time.perf_counter() - started < settle_seconds:
                    time.sleep(0.5)  # StockX finishes its writes a moment later
                    report = _merged(report, run_sync(store, channels))
                    rounds += 1
                say(
                    f"{rounds} sync round(s), {time.perf_counter() - started:.1f}s "
                    "(StockX allows one request a second)"
                )
                after = _holdings(store, sandbox)
    finally:
        store.close()

    by_sku = {row.sku: row for row in rows}
    all_rows = []
    for sku, counts in after.items():
        row = by_sku.get(sku) or DemoRow(sku, _find_title(records, sku), {})
        row.before, row.after = before[sku], counts
        all_rows.append(row)
    return DemoResult(all_rows, report, written.written, rows[0].sku)


def _merged(first: SyncReport, later: SyncReport) -> SyncReport:
    """Keep the oversells of every round; take the rest from the latest."""
    for name, channel in later.channels.items():
        channel.oversells = first.channels[name].oversells + channel.oversells
    return later


def _sell(sandbox: Sandbox, records: list[ItemRecord]) -> list[DemoRow]:
    singles = [
        r for r in records if r.quantity == 1 and r.sku in sandbox.stockx_variants
    ]
    multiples = [
        r for r in records if r.quantity >= 2 and r.sku in sandbox.stockx_variants
    ]
    if len(singles) < 3 or len(multiples) < 2:
        from stackknack_cli.errors import InputError

        raise InputError(
            "the demo catalogue needs three SKUs with 1 unit and two with 2 or more, "
            "each a style id and a size (like DZ5485-612-9.5)"
        )
    race, till, web = singles[0], singles[1], multiples[0]
    auction, resale = singles[2], multiples[1]

    _race(sandbox, race.sku, ("shopify", "clover"))
    sandbox.sell("clover", till.sku)
    sandbox.sell("shopify", web.sku)
    sandbox.sell("ebay", auction.sku)
    sandbox.sell("stockx", resale.sku)
    return [
        DemoRow(
            race.sku,
            race.title,
            {},
            note="last pair sold on Shopify and Clover at once",
        ),
        DemoRow(till.sku, till.title, {}, note="sold at the Clover till"),
        DemoRow(web.sku, web.title, {}, note="sold in the Shopify store"),
        DemoRow(auction.sku, auction.title, {}, note="sold on eBay"),
        DemoRow(resale.sku, resale.title, {}, note="sold on StockX"),
    ]


def _title(record: Any) -> str:
    return f"{record.title} / {record.variant}" if record.variant else str(record.title)


def _find_title(records: list[ItemRecord], sku: str) -> str:
    return next((r.title for r in records if r.sku == sku), "")
