"""A connected, linked sandbox world for one scenario, in a private folder.

The four simulators run on 127.0.0.1 in this process; the database and the file of
credentials live in ``home``, so the real ``stackknack`` can run there as a
subprocess too (``env`` gives it STACKKNACK_HOME and the file store).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from stackknack_cli.channels import registry
from stackknack_cli.channels.base import Channel
from stackknack_cli.channels.http import RetryPolicy
from stackknack_cli.credentials import Credentials, FileStore
from stackknack_cli.engine.linking import link_channel
from stackknack_cli.sandbox import demo
from stackknack_cli.sandbox.runtime import CHANNELS, Sandbox
from stackknack_cli.sandbox.shopify import PLANS
from stackknack_cli.store import Store, inventory, open_store
from stackknack_cli.store.inventory import ItemRecord

Item = tuple[str, str, int]
QUICK_RATE = 1000
"""Calls a second the StockX and eBay simulators allow in scenarios that are not
about those platforms' rate limits (StockX's is 1 a second)."""


def quick_sleep(seconds: float) -> None:
    """Wait as asked, up to a second: platform throttles (which run on real time in
    the simulators) still refill, and a long Retry-After does not stall the run."""
    time.sleep(min(seconds, 1.0))


def quick_policy() -> RetryPolicy:
    return RetryPolicy(attempts=4, base_wait=0.05, max_wait=0.5, sleep=quick_sleep)


def sneaker_items(count: int, *, quantity: int, prefix: str = "RL") -> list[Item]:
    """Return ``count`` SKUs that read as a StockX style and size."""
    return [
        (
            f"{prefix}{n // 10:04d}-100-{n % 10 + 4}",
            f"Runner {n} / US {n % 10 + 4}",
            quantity,
        )
        for n in range(count)
    ]


@dataclass
class World:
    sandbox: Sandbox
    store: Store
    credentials: Credentials
    home: Path

    @property
    def db_path(self) -> Path:
        return self.home / "stackknack.db"

    def env(self) -> dict[str, str]:
        """Return the environment for a ``stackknack`` subprocess on this world."""
        kept = {k: v for k, v in os.environ.items() if not k.startswith("STACKKNACK_")}
        return kept | {
            "STACKKNACK_HOME": str(self.home),
            "STACKKNACK_CREDENTIALS": "file",
            "NO_COLOR": "1",
            "COLUMNS": "120",
        }

    @contextmanager
    def channels(
        self,
        *,
        policy: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> Iterator[dict[str, Channel]]:
        """Build the connected adapters; ``timeout`` shortens their HTTP timeout so
        that a simulated hang costs a fraction of a second."""
        if timeout is None:
            with registry.connected_channels(
                self.store,
                credentials=self.credentials,
                policy=policy or quick_policy(),
            ) as found:
                yield found
            return
        with ExitStack() as stack:
            found = {}
            for name, config in registry.load(self.store).items():
                client = stack.enter_context(
                    httpx.Client(timeout=timeout, trust_env=False)
                )
                found[name] = registry.build(
                    config, self.credentials, client, policy=policy or quick_policy()
                )
            yield found

    def central(self) -> dict[str, int]:
        rows = self.store.conn.execute("SELECT sku, available FROM items").fetchall()
        return {str(sku): int(n) for sku, n in rows}

    def held(self, sku: str, channels: Iterable[str] = CHANNELS) -> dict[str, int]:
        return {name: self.sandbox.held(name, sku) for name in channels}


@contextmanager
def sandbox_world(
    home: Path,
    items: list[Item],
    *,
    seed: int = 0,
    channels: Iterable[str] = CHANNELS,
    per_second: int = QUICK_RATE,
    shopify_plan: str = "standard",
) -> Iterator[World]:
    """Start the simulators, import ``items``, list, connect and link them."""
    home.mkdir(parents=True, exist_ok=True)
    sandbox = Sandbox(seed=seed).start()
    sandbox.stockx.per_second = sandbox.ebay.per_second = per_second
    sandbox.shopify.bucket_size, sandbox.shopify.restore_rate = PLANS[shopify_plan]
    store = open_store(home / "stackknack.db")
    credentials = Credentials(store.install_id, FileStore(home / "credentials.json"))
    try:
        inventory.set_quantities(
            store, [ItemRecord(s, q, t) for s, t, q in items], cause="import"
        )
        sandbox.seed(items)
        demo._connect(store, sandbox, credentials)
        wanted = set(channels)
        with store.transaction() as conn:
            marks = ",".join("?" * len(wanted))
            conn.execute(
                f"DELETE FROM channels WHERE name NOT IN ({marks})", tuple(wanted)
            )
        world = World(sandbox, store, credentials, home)
        # Linking a long catalogue meets Shopify's real cost bucket: wait it out.
        with world.channels(policy=RetryPolicy(sleep=time.sleep)) as live:
            for channel in live.values():
                link_channel(store, channel, create_missing=False)
        yield world
    finally:
        store.close()
        sandbox.stop()
