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
from stackknack_cli.credentials import Credentials, FileStore
from stackknack_cli.engine.linking import link_channel
from stackknack_cli.engine.sync import SyncReport, run_sync, set_cursor
from stackknack_cli.importers import read_csv
from stackknack_cli.sandbox.runtime import Sandbox
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
        sku: {
            "central": count,
            "shopify": sandbox.shopify.available(sku),
            "clover": int(sandbox.clover.stock(sku) or 0),
        }
        for sku, count in central.items()
    }


def _connect(store: Store, sandbox: Sandbox, credentials: Credentials) -> None:
    info = sandbox.describe()
    credentials.set("shopify", "admin_token", info["shopify"]["access_token"])
    credentials.set("clover", "api_token", info["clover"]["api_token"])
    with registry.http_client(info["shopify"]["base_url"]) as client:
        from stackknack_cli.channels import shopify, shopify_auth
        from stackknack_cli.channels.http import RetryPolicy

        probe = shopify.ShopifyChannel(
            client,
            info["shopify"]["base_url"],
            None,
            tokens=shopify_auth.StaticToken(info["shopify"]["access_token"]),
            policy=RetryPolicy(attempts=3),
        )
        location = shopify.choose_location(probe.list_locations(), None)
    registry.save(
        store,
        "shopify",
        info["shopify"]["base_url"],
        {"location_id": location.id, "location_name": location.name},
    )
    registry.save(
        store,
        "clover",
        info["clover"]["base_url"],
        {"merchant_id": info["clover"]["merchant_id"], "region": "sandbox"},
    )
    for name in ("shopify", "clover"):
        set_cursor(store, name, utcnow())


def _race(sandbox: Sandbox, sku: str) -> None:
    """Sell the same last pair on both channels at (nearly) the same moment."""
    start = threading.Barrier(2)

    def on(sell: Callable[[], object]) -> threading.Thread:
        def run() -> None:
            start.wait()
            sell()

        return threading.Thread(target=run)

    threads = [
        on(lambda: sandbox.shopify.sell(sku, 1)),
        on(lambda: sandbox.clover.sell(sku, 1)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run_demo(catalog: Path, workdir: Path, *, say: Say) -> DemoResult:
    """Run the whole demo with its files in ``workdir``; return what it saw."""
    store = open_store(workdir / "demo.db")
    credentials = Credentials(store.install_id, FileStore(workdir / "credentials.json"))
    try:
        with Sandbox() as sandbox:
            say(
                f"simulators up: shopify {sandbox.url('shopify')}, "
                f"clover {sandbox.url('clover')}"
            )
            with read_csv(catalog) as plan:
                records = [ItemRecord(r.sku, r.quantity, _title(r)) for r in plan]
            written = inventory.set_quantities(
                store, records, cause=f"import {catalog.name}"
            )
            say(f"imported {catalog.name}: {written.written} SKUs")
            sandbox.seed((r.sku, r.title, r.quantity) for r in records)
            say("listed the catalogue on both simulators")

            _connect(store, sandbox, credentials)
            with registry.connected_channels(
                store, credentials=credentials
            ) as channels:
                for channel in channels.values():
                    linked = link_channel(store, channel, create_missing=False)
                    say(f"linked {linked.linked} {channel.name} listings by SKU")
                before = _holdings(store, sandbox)

                rows = _sell(sandbox, records)
                say("made sales: " + "; ".join(f"{r.sku} {r.note}" for r in rows))
                started = time.perf_counter()
                report = run_sync(store, channels)
                say(f"one sync took {time.perf_counter() - started:.2f}s")
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


def _sell(sandbox: Sandbox, records: list[ItemRecord]) -> list[DemoRow]:
    singles = [r for r in records if r.quantity == 1]
    multiples = [r for r in records if r.quantity >= 2]
    if len(singles) < 2 or not multiples:
        from stackknack_cli.errors import InputError

        raise InputError(
            "the demo catalogue needs at least two SKUs with 1 unit and one with 2+"
        )
    race, pos_single, web_multi = singles[0], singles[1], multiples[0]

    _race(sandbox, race.sku)
    sandbox.clover.sell(pos_single.sku, 1)
    sandbox.shopify.sell(web_multi.sku, 1)
    return [
        DemoRow(race.sku, race.title, {}, note="last pair sold on both at once"),
        DemoRow(pos_single.sku, pos_single.title, {}, note="sold at the Clover till"),
        DemoRow(web_multi.sku, web_multi.title, {}, note="sold in the Shopify store"),
    ]


def _title(record: Any) -> str:
    return f"{record.title} / {record.variant}" if record.variant else str(record.title)


def _find_title(records: list[ItemRecord], sku: str) -> str:
    return next((r.title for r in records if r.sku == sku), "")
