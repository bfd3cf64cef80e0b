"""Push efficiency: API calls spent per N quantity changes, against the fewest each
platform's batch size allows (target: no more than 5% above that minimum).

Usage: python bench/push_efficiency.py [--changes 200] [--stockx-changes 20]

Every change lowers one SKU's central count by one, as a sale elsewhere would; the
outbox is then drained channel by channel against the simulators, and each
simulator's request counter is read before and after. StockX gets fewer changes
because its adapter keeps to one call a second.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from world import catalogue, connected_world, machine, verdict  # noqa: E402

from stackknack_cli.engine.sync import ChannelReport, drain  # noqa: E402
from stackknack_cli.store import inventory, outbox  # noqa: E402
from stackknack_cli.store.inventory import ItemRecord  # noqa: E402

TARGET = 1.05
PLATFORM_BATCH = {
    "shopify": (250, "inventorySetQuantities takes 250 quantities a mutation"),
    "ebay": (25, "bulkUpdatePriceQuantity takes 25 offers a call"),
    "clover": (1, "item_stocks takes one item a call"),
    "stockx": (100, "batch create/delete takes 100 listings a call"),
}
SETTLE_SECONDS = 300.0
"""Longest a channel's outbox may take to empty (StockX writes are asynchronous)."""


def drain_until_empty(world, name: str) -> float:
    """Drain ``name``'s outbox until nothing waits; return seconds taken."""
    channel = world.channels[name]
    started = time.perf_counter()
    while time.perf_counter() - started < SETTLE_SECONDS:
        drain(world.store, channel, ChannelReport(), purpose="bench")
        if outbox.depth(world.store, name) == 0:
            break
        time.sleep(0.25)  # StockX answers PENDING; its status is checked next round
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--stockx-changes", type=int, default=20)
    args = parser.parse_args()
    items = catalogue(args.changes, 5)

    rows = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        connected_world(Path(tmp), items) as world,
    ):
        for name in ("shopify", "ebay", "clover", "stockx"):
            changes = args.stockx_changes if name == "stockx" else args.changes
            for other in world.channels:
                drain_until_empty(world, other)  # nothing left from set-up
            with world.store.transaction() as conn:
                conn.execute("DELETE FROM outbox")
            records = [ItemRecord(sku, 4, title) for sku, title, _ in items[:changes]]
            inventory.set_quantities(world.store, records, cause="bench")
            with world.store.transaction() as conn:
                conn.execute("DELETE FROM outbox WHERE channel != ?", (name,))
            queued = outbox.depth(world.store, name)
            before = world.sandbox.calls(name)
            seconds = drain_until_empty(world, name)
            calls = world.sandbox.calls(name) - before
            left = outbox.depth(world.store, name)
            batch, why = PLATFORM_BATCH[name]
            minimum = math.ceil(queued / batch)
            rows.append((name, queued, left, calls, minimum, why, seconds))
            # Put the count back so the next channel starts from the same state.
            restore = [ItemRecord(sku, 5, title) for sku, title, _ in items[:changes]]
            inventory.set_quantities(world.store, restore, cause="bench")
            with world.store.transaction() as conn:
                conn.execute("DELETE FROM outbox")

    print(f"machine: {machine()}")
    for name, queued, left, calls, minimum, why, seconds in rows:
        ratio = calls / minimum if minimum else float("inf")
        print(
            f"{name:8} {queued} changes -> {calls} API calls in {seconds:.1f}s; "
            f"minimum {minimum} ({why}); {ratio:.2f}x minimum "
            f"(target <= {TARGET:.2f}x): {verdict(ratio <= TARGET and not left)}"
            + (f"; {left} still queued" if left else "")
        )


if __name__ == "__main__":
    main()
