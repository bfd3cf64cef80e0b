"""Duplicates and disorder: webhooks and polls repeated, shuffled and stale.

Sales are made on Shopify, Clover and eBay in batches. Every Shopify and Clover sale is
announced by signed webhooks posted to the real listener: 30% of them twice, all in
shuffled order, mixed with stale order events (about sales already applied, dated
before the cursor) and stale stock events (counts older than what is stored). The
watch loop runs step by step on a scaled clock between the posts, so polls (which
re-read an overlap window and, after an old event, up to three days back) deliver
each sale again. Every sale line a poll returns counts as a delivery.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from reliability.figures import Figure
from reliability.profile import Profile
from reliability.world import World, sandbox_world, sneaker_items
from stackknack_cli.engine.listener import Listener
from stackknack_cli.engine.watch import Watcher
from stackknack_cli.engine.webhooks import clover as clover_hooks
from stackknack_cli.engine.webhooks import shopify as shopify_hooks

CHANNELS = ("shopify", "clover", "ebay")
"""StockX is left out: each unit there is a listing of its own, so a stock deep
enough for thousands of sales would be tens of thousands of simulated listings."""
STOCK = 1_000
SHOPIFY_SECRET = "disorder-shopify-secret-91c2"
CLOVER_AUTH = "disorder-clover-auth-55e0"
DUPLICATES = 0.3
FINAL_DEADLINE = 60.0

Delivery = tuple[str, bytes, dict[str, str]]


class ScaledClock:
    """The watch loop's monotonic clock, moved on by the scenario."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _shopify(order: str, stamp: str, topic: str, event: str) -> Delivery:
    body = json.dumps({"id": order, "updated_at": stamp}).encode()
    return (
        "shopify",
        body,
        {
            "X-Shopify-Hmac-Sha256": shopify_hooks.sign(body, SHOPIFY_SECRET),
            "X-Shopify-Topic": topic,
            "X-Shopify-Event-Id": event,
        },
    )


def _clover(merchant: str, key: str, stamp_ms: int) -> Delivery:
    body = json.dumps(
        {
            "appId": "stackknack",
            "merchants": {
                merchant: [{"objectId": key, "type": "UPDATE", "ts": stamp_ms}]
            },
        }
    ).encode()
    return ("clover", body, {"X-Clover-Auth": CLOVER_AUTH})


def _announce(
    world: World, channel: str, order: str, n: int, rng: random.Random
) -> list[Delivery]:
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    if channel == "shopify":
        # Shopify sends several topics for one order, each its own event.
        topics = ["orders/create", "orders/paid", "orders/updated"]
        return [_shopify(order, stamp, t, f"{t}-{n}") for t in topics]
    if channel == "clover":
        merchant = world.sandbox.clover.merchant_id
        return [_clover(merchant, f"O:{order}", int(now * 1000) + k) for k in range(2)]
    return []


def _stale(
    world: World, old: list[tuple[str, str]], rng: random.Random, n: int
) -> Delivery:
    """Return an event older than what is stored: an old order or an old stock count."""
    kind = rng.random()
    if kind < 0.4 and old:
        channel, order = rng.choice(old)
        if channel == "shopify":
            return _shopify(order, "2020-01-01T00:00:00Z", "orders/updated", f"s-{n}")
    if kind < 0.7:
        body = json.dumps(
            {
                "inventory_item_id": 1,
                "available": 999,
                "updated_at": "2020-01-01T00:00:00Z",
            }
        ).encode()
        return (
            "shopify",
            body,
            {
                "X-Shopify-Hmac-Sha256": shopify_hooks.sign(body, SHOPIFY_SECRET),
                "X-Shopify-Topic": "inventory_levels/update",
                "X-Shopify-Event-Id": f"inv-{n}",
            },
        )
    return _clover(world.sandbox.clover.merchant_id, "I:STALEITEM", 1_000_000)


def _post(client: httpx.Client, base: str, delivery: Delivery) -> int:
    channel, body, headers = delivery
    return client.post(
        f"{base}/webhooks/{channel}", content=body, headers=headers
    ).status_code


def _count_poll_lines(channels: dict[str, Any], counter: Counter[str]) -> None:
    for name, channel in channels.items():
        original = channel.fetch_sales

        def counting(since: Any, _fetch: Any = original, _name: str = name) -> Any:
            batch = _fetch(since)
            counter[_name] += len(batch.lines)
            return batch

        channel.fetch_sales = counting


def run(profile: Profile, workdir: Path) -> Figure:
    """Deliver at least ``profile.deliveries`` webhooks and poll lines; check counts."""
    figure = Figure("duplicates and disorder")
    rng = random.Random(profile.seed)
    items = sneaker_items(30, quantity=STOCK, prefix="DS")
    skus = [sku for sku, _, _ in items]
    sold: Counter[str] = Counter()
    made: Counter[str] = Counter()
    polled: Counter[str] = Counter()
    answers: Counter[int] = Counter()
    old: list[tuple[str, str]] = []
    with sandbox_world(
        workdir / "disorder",
        items,
        seed=profile.seed,
        channels=CHANNELS,
        # Every poll re-reads the overlap window, so Shopify's order reads grow with
        # the run; the Plus bucket keeps this scenario about order, not cost.
        shopify_plan="plus",
    ) as world:
        clock = ScaledClock()
        listener = Listener(
            world.db_path,
            {
                "shopify": shopify_hooks.ShopifyVerifier(SHOPIFY_SECRET),
                "clover": clover_hooks.CloverVerifier(CLOVER_AUTH),
            },
            port=0,
        ).start()
        try:
            with (
                world.channels() as channels,
                httpx.Client(timeout=10.0, trust_env=False) as client,
                ThreadPoolExecutor(4) as pool,
            ):
                _count_poll_lines(channels, polled)
                watcher = Watcher(
                    world.store,
                    channels,
                    clock=clock,
                    merchants={"clover": world.sandbox.clover.merchant_id},
                )
                n = 0
                while (
                    sum(made.values()) < profile.deliveries // 20
                    or sum(answers.values()) + sum(polled.values()) < profile.deliveries
                ):
                    batch: list[Delivery] = []
                    for _ in range(rng.randint(5, 15)):
                        n += 1
                        channel, sku = rng.choice(CHANNELS), rng.choice(skus)
                        order = world.sandbox.sell(channel, sku)
                        sold[sku] += 1
                        made[channel] += 1
                        for delivery in _announce(world, channel, order, n, rng):
                            batch.append(delivery)
                            if rng.random() < DUPLICATES:
                                batch.append(delivery)
                        if channel in ("shopify", "clover"):
                            old.append((channel, order))
                    batch.extend(_stale(world, old, rng, n * 100 + k) for k in range(3))
                    rng.shuffle(batch)
                    cut = rng.randint(0, len(batch))
                    for part in (batch[:cut], batch[cut:]):
                        for status in pool.map(
                            lambda d: _post(client, listener.base_url, d), part
                        ):
                            answers[status] += 1
                        clock.now += rng.uniform(0.0, 20.0)
                        watcher.step()
                started = time.monotonic()
                expected = {sku: STOCK - sold[sku] for sku in skus}
                converged = _settle(world, watcher, clock, expected)
                figure.settled(time.monotonic() - started)
                watcher.close()
        finally:
            listener.stop()
        _score(figure, world, made, expected)
        figure.check(converged, "channels did not converge")
        left = world.store.scalar(
            "SELECT count(*) FROM webhook_events WHERE status = 'new'"
        )
        figure.check(left == 0, f"{left} webhook events never processed")
    figure.check(set(answers) == {200}, f"listener answers: {dict(answers)}")
    figure.runs = 1
    figure.events = sum(answers.values()) + sum(polled.values())
    figure.notes.append(
        f"{sum(made.values())} sales; {sum(answers.values())} webhook deliveries, "
        f"{sum(polled.values())} poll deliveries (sale lines read)"
    )
    return figure


def _settle(
    world: World, watcher: Watcher, clock: ScaledClock, expected: dict[str, int]
) -> bool:
    deadline = time.monotonic() + FINAL_DEADLINE
    while time.monotonic() < deadline:
        clock.now += 60.0
        watcher.step()
        if agrees(world, expected):
            return True
        time.sleep(0.1)
    return False


def agrees(world: World, expected: dict[str, int]) -> bool:
    open_entries = world.store.scalar(
        "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"
    )
    central = world.central()
    return (
        not open_entries
        and central == expected
        and all(
            set(world.held(s, CHANNELS).values()) == {n} for s, n in central.items()
        )
    )


def _score(
    figure: Figure, world: World, made: Counter[str], expected: dict[str, int]
) -> None:
    recorded = dict(
        world.store.conn.execute(
            "SELECT channel, count(*) FROM sales GROUP BY channel"
        ).fetchall()
    )
    for channel in CHANNELS:
        figure.lost += max(made[channel] - int(recorded.get(channel, 0)), 0)
        figure.doubled += max(int(recorded.get(channel, 0)) - made[channel], 0)
    for sku, count in world.central().items():
        figure.lost += max(count - expected[sku], 0)
        figure.doubled += max(expected[sku] - count, 0)
        figure.wrong += sum(1 for n in world.held(sku, CHANNELS).values() if n != count)
