"""Platform faults: 30% of calls fail, and one platform is down for minutes.

Each cycle every simulator gets a seeded fault mode for its next calls: a 5xx, a 429
with or without ``Retry-After``, a dropped connection, or a hang longer than the
adapters' HTTP timeout (shortened to 0.4 s here so a hang costs little). eBay is down
for ``outage_minutes`` of a scaled timeline: each cycle moves the watch loop's clock
(which times failures and alerts) by 30 seconds. Sales keep happening throughout.
Every push that lands is recorded, to check that pushes land in order per listing
and that none lands twice.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from reliability.disorder import ScaledClock
from reliability.figures import Figure
from reliability.profile import Profile
from reliability.world import World, sandbox_world, sneaker_items
from stackknack_cli.channels.base import PushStatus
from stackknack_cli.engine.alerts import Alert, Alerts
from stackknack_cli.engine.watch import Watcher
from stackknack_cli.sandbox.runtime import CHANNELS

STOCK = 40
RATE = 0.3
CYCLE_SECONDS = 30.0
HANG_SECONDS = 0.6
TIMEOUT = 0.4
DOWN = "ebay"
SETTLE_DEADLINE = 90.0
MODES = ("5xx", "429 Retry-After", "429 bare", "drop", "timeout")


def _inject(world: World, rng: random.Random, modes: Counter[str]) -> None:
    """Give every simulator a fault mode for the coming cycle."""
    for name in CHANNELS:
        plan = getattr(world.sandbox, name).faults
        mode = rng.choice(MODES)
        modes[mode] += 1
        if name == "clover":
            plan.clear()
            if mode == "5xx":
                plan.set_fail_rate(RATE, status=rng.choice((500, 502, 503, 504)))
            elif mode.startswith("429"):
                plan.set_fail_rate(RATE, status=429)
            elif mode == "drop":
                plan.drop_next(rng.randint(1, 3))
            else:
                plan.delay_next(rng.randint(1, 2), seconds=HANG_SECONDS)
            continue
        down = plan.is_down
        plan.clear()
        if down:
            plan.set_down(True)
        if mode == "5xx":
            plan.fail_randomly(RATE, status=rng.choice((500, 502, 503, 504)))
        elif mode == "429 Retry-After":
            plan.fail_randomly(RATE, status=429, retry_after=0.2)
        elif mode == "429 bare":
            plan.fail_randomly(RATE, status=429)
        elif mode == "drop":
            plan.fail_randomly(RATE, drop=True)
        else:
            plan.delay_next(rng.randint(1, 2), seconds=HANG_SECONDS)


def _clear(world: World) -> None:
    for name in CHANNELS:
        getattr(world.sandbox, name).faults.clear()


def _record_pushes(
    channels: dict[str, Any], landed: list[tuple[str, str, int]]
) -> None:
    """Wrap each adapter's push to note (channel, listing, entry) of what landed."""
    for name, channel in channels.items():
        original = channel.push

        def recording(pushes: Any, _push: Any = original, _name: str = name) -> Any:
            results = _push(pushes)
            refs = {p.entry_id: p.channel_ref for p in pushes}
            for result in results:
                if result.status is PushStatus.DONE:
                    landed.append((_name, refs[result.entry_id], result.entry_id))
            return results

        channel.push = recording


def run(profile: Profile, workdir: Path) -> Figure:
    """Run ``profile.fault_cycles`` faulty cycles with an eBay outage; check it all."""
    figure = Figure("platform faults + outage")
    rng = random.Random(profile.seed)
    items = sneaker_items(20, quantity=STOCK, prefix="PF")
    skus = [sku for sku, _, _ in items]
    sold: Counter[str] = Counter()
    modes: Counter[str] = Counter()
    landed: list[tuple[str, str, int]] = []
    raised: list[Alert] = []
    outage = profile.outage_minutes * 60
    down_from = CYCLE_SECONDS * 2
    with sandbox_world(workdir / "faults", items, seed=profile.seed) as world:
        clock = ScaledClock()
        alerts = Alerts(world.store, [raised.append], failing_after=300.0)
        with world.channels(timeout=TIMEOUT) as channels:
            _record_pushes(channels, landed)
            watcher = Watcher(
                world.store,
                channels,
                clock=clock,
                alerts=alerts,
                intervals=dict.fromkeys(CHANNELS, CYCLE_SECONDS),
            )
            cycles = max(
                profile.fault_cycles, int((down_from + outage) / CYCLE_SECONDS) + 4
            )
            for _ in range(cycles):
                down = down_from <= clock.now < down_from + outage
                getattr(world.sandbox, DOWN).faults.set_down(down)
                _inject(world, rng, modes)
                for _ in range(rng.randint(0, 2)):
                    sku = rng.choice([s for s in skus if sold[s] < STOCK - 4])
                    world.sandbox.sell(rng.choice(CHANNELS), sku)
                    sold[sku] += 1
                watcher.step()
                clock.now += CYCLE_SECONDS
            _clear(world)
            started = time.monotonic()
            expected = {sku: STOCK - sold[sku] for sku in skus}
            settled = _settle(world, watcher, clock, expected)
            figure.settled(time.monotonic() - started)
            watcher.close()
        alerts.close()
        figure.check(settled, "channels did not converge after the faults ended")
        _score(figure, world, expected, landed, sum(sold.values()))
    kinds = Counter(a.kind for a in raised if a.channel == DOWN)
    figure.check(kinds["failing"] >= 1, f"no alert while {DOWN} was down: {raised}")
    figure.runs = cycles
    figure.events = sum(sold.values()) + len(landed)
    figure.notes.append(
        f"{cycles} cycles of {CYCLE_SECONDS:.0f} scaled seconds; {DOWN} down "
        f"{profile.outage_minutes:g} scaled minutes; alerts for {DOWN}: "
        f"{dict(kinds)}; {len(landed)} pushes landed; fault modes "
        + ", ".join(f"{m} {n}" for m, n in sorted(modes.items()))
    )
    return figure


def _settle(
    world: World, watcher: Watcher, clock: ScaledClock, expected: dict[str, int]
) -> bool:
    deadline = time.monotonic() + SETTLE_DEADLINE
    while time.monotonic() < deadline:
        clock.now += CYCLE_SECONDS
        watcher.step()
        central = world.central()
        open_entries = world.store.scalar(
            "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"
        )
        if (
            not open_entries
            and central == expected
            and all(set(world.held(sku).values()) == {n} for sku, n in central.items())
        ):
            return True
        time.sleep(0.2)
    return False


def _score(
    figure: Figure,
    world: World,
    expected: dict[str, int],
    landed: list[tuple[str, str, int]],
    sales: int,
) -> None:
    recorded = world.store.scalar("SELECT count(*) FROM sales")
    figure.lost += max(sales - recorded, 0)
    figure.doubled += max(recorded - sales, 0)
    for sku, count in world.central().items():
        figure.lost += max(count - expected[sku], 0)
        figure.doubled += max(expected[sku] - count, 0)
        figure.wrong += sum(1 for n in world.held(sku).values() if n != count)
    entries = [entry for _, _, entry in landed]
    figure.doubled += len(entries) - len(set(entries))
    last: dict[tuple[str, str], int] = {}
    for channel, ref, entry in landed:
        key = (channel, ref)
        figure.check(entry > last.get(key, 0), f"{channel} {ref}: push {entry} late")
        last[key] = entry
    stuck = world.store.query(
        "SELECT channel, status, attempts, last_error FROM outbox"
        " WHERE status IN ('pending', 'sending', 'dead')"
    )
    figure.lost += len(stuck)
    figure.check(not stuck, f"pushes never landed: {stuck}")
