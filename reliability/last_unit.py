"""The last unit: two to four channels sell a SKU's only unit within 50 ms.

Each trial is one SKU listed with one unit on all four channels; the chosen channels
sell it from threads released together. Trials run in batches, one sync loop per
batch. Exactly one sale must apply normally and the rest be flagged as oversells;
every listing must end at 0 and stay there through later syncs.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path

from reliability.figures import Figure
from reliability.profile import Profile
from reliability.world import World, sandbox_world, sneaker_items
from stackknack_cli.engine.sync import run_sync
from stackknack_cli.sandbox.runtime import CHANNELS

BATCH = 50
WINDOW = 0.050
SETTLE_DEADLINE = 60.0


def _race(world: World, sku: str, sellers: list[str], stamps: list[float]) -> None:
    start = threading.Barrier(len(sellers))

    def sell(channel: str) -> None:
        start.wait()
        world.sandbox.sell(channel, sku)
        stamps.append(time.perf_counter())

    threads = [threading.Thread(target=sell, args=(c,)) for c in sellers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)


def _settle(world: World, channels: dict, skus: list[str]) -> bool:
    deadline = time.monotonic() + SETTLE_DEADLINE
    while time.monotonic() < deadline:
        report = run_sync(world.store, channels)
        if not report.queued and all(
            set(world.held(sku).values()) == {0} for sku in skus
        ):
            return True
        time.sleep(0.2)
    return False


def run(profile: Profile, workdir: Path) -> Figure:
    """Race ``profile.races`` last units; check one sale each and no re-listing."""
    figure = Figure("last unit (2-4 channels within 50 ms)")
    rng = random.Random(profile.seed)
    items = sneaker_items(profile.races, quantity=1, prefix="LU")
    skus = [sku for sku, _, _ in items]
    sellers_of: dict[str, list[str]] = {}
    widest = 0.0
    with sandbox_world(workdir / "last-unit", items, seed=profile.seed) as world:
        with world.channels() as channels:
            for first in range(0, len(skus), BATCH):
                batch = skus[first : first + BATCH]
                threads = []
                for sku in batch:
                    sellers_of[sku] = rng.sample(CHANNELS, rng.randint(2, 4))
                    stamps: list[float] = []
                    thread = threading.Thread(
                        target=_race, args=(world, sku, sellers_of[sku], stamps)
                    )
                    threads.append((thread, stamps))
                    thread.start()
                for thread, stamps in threads:
                    thread.join(60)
                    widest = max(widest, max(stamps) - min(stamps))
                started = time.monotonic()
                settled = _settle(world, channels, batch)
                figure.settled(time.monotonic() - started)
                figure.check(settled, f"batch at {batch[0]} did not settle")
            # Later cycles must not put any unit back on sale.
            for _ in range(3):
                run_sync(world.store, channels)
        _score(figure, world, sellers_of)
    figure.check(widest <= WINDOW, f"sales of one trial spread over {widest:.3f}s")
    figure.runs = len(skus)
    figure.events = sum(len(s) for s in sellers_of.values())
    figure.notes.append(
        f"{len(skus)} trials, {figure.events} sales; widest spread within a trial "
        f"{widest * 1000:.1f} ms"
    )
    return figure


def _score(figure: Figure, world: World, sellers_of: dict[str, list[str]]) -> None:
    rows = world.store.conn.execute("SELECT sku, status FROM sales").fetchall()
    by_sku: dict[str, Counter[str]] = {}
    for sku, status in rows:
        by_sku.setdefault(sku, Counter())[status] += 1
    central = world.central()
    active = dict(
        world.store.conn.execute(
            "SELECT sku, max(active) FROM listings GROUP BY sku"
        ).fetchall()
    )
    for sku, sellers in sellers_of.items():
        seen = by_sku.get(sku, Counter())
        figure.lost += max(len(sellers) - sum(seen.values()), 0)
        figure.doubled += max(seen["applied"] - 1, 0)
        wrong = (
            seen["applied"] != 1
            or seen["oversell"] != len(sellers) - 1
            or central[sku] != 0
            or set(world.held(sku).values()) != {0}
            or active.get(sku) != 0
        )
        figure.wrong += int(wrong)
    flagged = world.store.scalar("SELECT count(*) FROM oversells")
    figure.check(
        flagged == sum(len(s) - 1 for s in sellers_of.values()),
        f"{flagged} oversells recorded",
    )
