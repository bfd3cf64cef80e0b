"""Sale ingestion: sale lines applied per second, durably, against the 5,000/s target.

Usage: python bench/ingest.py [--lines 20000] [--skus 2000]

Applies sale lines through the same code `sync` uses (each line deduplicated,
decremented in SQL, journalled, pushes queued for two linked listings), in batches as
one poll of a channel delivers them, with SQLite in WAL mode and synchronous=FULL.
Prints lines/s beside the target.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

from stackknack_cli.channels.base import SaleLine
from stackknack_cli.store import inventory, open_store
from stackknack_cli.store.inventory import ItemRecord

TARGET = 5000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--skus", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=250, help="lines per poll")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "bench.db")
        skus = [f"SKU-{n:05d}" for n in range(args.skus)]
        inventory.set_quantities(
            store, (ItemRecord(sku, 1_000_000) for sku in skus), cause="bench"
        )
        with store.transaction() as conn:
            for sku in skus:
                for channel in ("shopify", "clover"):
                    inventory.link_listing(
                        conn, channel, sku, f"{channel}-{sku}", quantity=1_000_000
                    )
        lines = [
            SaleLine(f"order-{n // 3}", f"line-{n}", 1, sku=skus[n % len(skus)])
            for n in range(args.lines)
        ]

        started = time.perf_counter()
        for start in range(0, len(lines), args.batch):
            inventory.apply_sales(store, "shopify", lines[start : start + args.batch])
        elapsed = time.perf_counter() - started
        again = time.perf_counter()
        inventory.apply_sales(store, "shopify", lines[: args.batch])
        duplicate_elapsed = time.perf_counter() - again
        applied = store.scalar("SELECT count(*) FROM sales")
        store.close()

    rate = args.lines / elapsed
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, python {platform.python_version()}")
    print(f"applied {applied} sale lines in {elapsed:.2f}s")
    print(
        f"sale ingestion: {rate:,.0f} lines/s (target >= {TARGET:,}/s): "
        f"{'MET' if rate >= TARGET else 'NOT MET'}"
    )
    print(f"re-delivery of {args.batch} known lines: {duplicate_elapsed * 1000:.1f} ms")


if __name__ == "__main__":
    main()
