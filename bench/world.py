"""A connected world for the benchmarks: the four simulators on 127.0.0.1, a fresh
database with the catalogue imported, every channel connected and linked.

Not a benchmark itself; ``propagation.py``, ``push_efficiency.py`` and
``idle_watch.py`` build on it.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from stackknack_cli.channels import registry
from stackknack_cli.channels.base import Channel
from stackknack_cli.channels.http import RetryPolicy
from stackknack_cli.credentials import Credentials, FileStore
from stackknack_cli.engine.linking import link_channel
from stackknack_cli.sandbox import demo
from stackknack_cli.sandbox.runtime import CHANNELS, Sandbox
from stackknack_cli.store import Store, inventory, open_store
from stackknack_cli.store.inventory import ItemRecord

SIZES = ("8", "8.5", "9", "9.5", "10", "10.5", "11")


def catalogue(count: int, quantity: int) -> list[tuple[str, str, int]]:
    """Return ``count`` (SKU, title, quantity) rows that every channel can list,
    StockX included (each SKU reads as a style id and a size)."""
    rows = []
    for n in range(count):
        size = SIZES[n % len(SIZES)]
        style = f"BX{n // len(SIZES):04d}-100"
        rows.append((f"{style}-{size}", f"Bench runner {style} / US {size}", quantity))
    return rows


@dataclass
class World:
    sandbox: Sandbox
    store: Store
    credentials: Credentials
    channels: dict[str, Channel]
    folder: Path

    def calls(self) -> dict[str, int]:
        """Return the API requests each simulator has received so far."""
        return {name: self.sandbox.calls(name) for name in CHANNELS}


@contextmanager
def connected_world(
    folder: Path, items: list[tuple[str, str, int]], *, latency: float = 0.0
) -> Iterator[World]:
    """Start the simulators (each API call waits ``latency`` seconds), import and
    list ``items``, connect and link every channel; stop everything after."""
    sandbox = Sandbox(latency=latency).start()
    folder.mkdir(parents=True, exist_ok=True)
    store = open_store(folder / "stackknack.db")
    credentials = Credentials(store.install_id, FileStore(folder / "credentials.json"))
    try:
        records = [ItemRecord(sku, quantity, title) for sku, title, quantity in items]
        inventory.set_quantities(store, records, cause="bench")
        sandbox.seed(items)
        demo._connect(store, sandbox, credentials)
        # Real waits: StockX's one-a-second pacer and retries sleep for real here.
        policy = RetryPolicy(sleep=time.sleep)
        with registry.connected_channels(
            store, credentials=credentials, policy=policy
        ) as channels:
            for channel in channels.values():
                link_channel(store, channel, create_missing=False)
            yield World(sandbox, store, credentials, channels, folder)
    finally:
        store.close()
        sandbox.stop()


def machine() -> str:
    """One line naming the machine: CPU model, cores, memory, Python."""
    model = "unknown CPU"
    memory = "unknown memory"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
                break
    except OSError:
        pass
    return (
        f"{model}, {os.cpu_count()} cores, {memory}, Python {platform.python_version()}"
    )


def verdict(holds: bool) -> str:
    return "MET" if holds else "NOT MET"
