"""Crash: SIGKILL ``stackknack watch`` and ``stackknack sync`` at random moments.

Sales are made on the simulators and signed Shopify webhooks are posted to the
listener while the real program runs as a subprocess; it is killed with SIGKILL after
a seeded random delay and started again, many times. At the end a clean ``sync`` must
leave every sale applied exactly once and every channel holding the central count.
StockX is left out: its one-call-a-second pacing is real in a subprocess, and this
scenario is about crashes, not StockX's budget (the faults scenario covers StockX).
"""

from __future__ import annotations

import json
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from reliability.figures import Figure
from reliability.leaks import database_text, find, secrets_of
from reliability.profile import Profile
from reliability.world import World, sandbox_world, sneaker_items
from stackknack_cli.engine.webhooks import shopify as shopify_hooks

CHANNELS = ("shopify", "clover", "ebay")
SECRET = "crash-webhook-secret-7f3a"
STOCK = 400
FINAL_DEADLINE = 120.0
"""How long the clean syncs after the last kill may take on a slow, loaded machine."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Ledger:
    """What the scenario did to the simulators, to compare with the database."""

    sold: Counter[str] = field(default_factory=Counter)
    per_channel: Counter[str] = field(default_factory=Counter)
    shopify_orders: list[str] = field(default_factory=list)
    posted: int = 0
    phases: Counter[str] = field(default_factory=Counter)


def _spawn(world: World, args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "stackknack_cli", *args],
            env=world.env(),
            stdout=err,
            stderr=err,
        )


def _watch_args(port: int) -> list[str]:
    every = [f"--every={name}=0.2" for name in CHANNELS]
    return ["watch", "--plain", *every, "--webhooks", f"--listen=127.0.0.1:{port}"]


def _post_hooks(
    url: str, ledger: Ledger, rng: random.Random, stop: threading.Event
) -> None:
    """Post signed order webhooks (a third of them repeats) until ``stop``."""
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        for n in range(10_000):
            if stop.is_set() or not ledger.shopify_orders:
                break
            order = rng.choice(ledger.shopify_orders[-5:])
            body = json.dumps(
                {"id": order, "updated_at": "2030-01-01T00:00:00Z"}
            ).encode()
            event = f"evt-{order}" if rng.random() < 0.3 else f"evt-{order}-{n}"
            headers = {
                "X-Shopify-Hmac-Sha256": shopify_hooks.sign(body, SECRET),
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Event-Id": event,
            }
            try:
                client.post(url, content=body, headers=headers)
                ledger.posted += 1
            except httpx.HTTPError:
                pass  # the listener is starting or was just killed: Shopify retries
            stop.wait(0.02)


def _sell(world: World, ledger: Ledger, rng: random.Random, skus: list[str]) -> None:
    channel = rng.choice(CHANNELS)
    sku = rng.choice(skus)
    order = world.sandbox.sell(channel, sku)
    ledger.sold[sku] += 1
    ledger.per_channel[channel] += 1
    if channel == "shopify":
        ledger.shopify_orders.append(order)


def _slow_down(world: World, rng: random.Random) -> None:
    """Hold a few platform calls back, so that kills also land mid-push."""
    sims = world.sandbox
    seconds = rng.uniform(0.1, 0.4)
    count = rng.randint(1, 4)
    choice = rng.choice(CHANNELS)
    if choice == "clover":
        sims.clover.faults.delay_next(count, seconds=seconds)
    else:
        getattr(sims, choice).faults.delay_next(count, seconds=seconds)


def _note_phase(world: World, ledger: Ledger, watching: bool) -> None:
    conn = world.store.conn
    recorded = conn.execute("SELECT count(*) FROM sales").fetchone()[0]
    queued = conn.execute(
        "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"
    ).fetchone()[0]
    if recorded < sum(ledger.per_channel.values()):
        ledger.phases["ingestion"] += 1
    if queued:
        ledger.phases["outbox drain"] += 1
    if watching:
        ledger.phases["webhook intake"] += 1


def _one_life(
    world: World, ledger: Ledger, rng: random.Random, skus: list[str], log: Path
) -> None:
    watching = rng.random() < 0.65
    port = _free_port()
    proc = _spawn(world, _watch_args(port) if watching else ["sync"], log)
    stop = threading.Event()
    poster = None
    try:
        for _ in range(rng.randint(1, 3)):
            _sell(world, ledger, rng, skus)
        _slow_down(world, rng)
        if watching:
            url = f"http://127.0.0.1:{port}/webhooks/shopify"
            poster = threading.Thread(
                target=_post_hooks,
                args=(url, ledger, random.Random(rng.random()), stop),
            )
            poster.start()
        time.sleep(rng.uniform(0.05, 1.5))
        _note_phase(world, ledger, watching)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        stop.set()
        if poster is not None:
            poster.join(10)


def _agrees(world: World, expected: dict[str, int]) -> bool:
    central = world.central()
    return central == expected and all(
        set(world.held(sku, CHANNELS).values()) == {count}
        for sku, count in central.items()
    )


def _final_sync(world: World, expected: dict[str, int]) -> tuple[bool, str, int]:
    """Run ``sync --json`` until the books agree; return (agreed, output, exit)."""
    deadline = time.monotonic() + FINAL_DEADLINE
    output, code = "", -1
    while time.monotonic() < deadline:
        done = subprocess.run(
            [sys.executable, "-m", "stackknack_cli", "sync", "--json"],
            env=world.env(),
            capture_output=True,
            timeout=60,
        )
        output += done.stdout.decode() + done.stderr.decode()
        code = done.returncode
        if code == 0 and _agrees(world, expected):
            return True, output, code
        time.sleep(0.2)
    return False, output, code


def run(profile: Profile, workdir: Path) -> Figure:
    """Kill and restart the real program ``profile.kills`` times; check the books."""
    figure = Figure("crash (SIGKILL watch/sync)")
    rng = random.Random(profile.seed)
    items = sneaker_items(8, quantity=STOCK, prefix="CR")
    skus = [sku for sku, _, _ in items]
    ledger = Ledger()
    log = workdir / "crash.log"
    with sandbox_world(
        workdir / "crash", items, seed=profile.seed, channels=CHANNELS
    ) as world:
        world.credentials.set("shopify", "webhook_secret", SECRET)
        for _ in range(profile.kills):
            _one_life(world, ledger, rng, skus, log)
        killed_at = time.monotonic()
        expected = {sku: STOCK - ledger.sold[sku] for sku in skus}
        converged, output, code = _final_sync(world, expected)
        figure.settled(time.monotonic() - killed_at)
        _score(figure, world, ledger, expected)
        figure.check(
            converged,
            f"no clean sync after the last kill: exit {code}, "
            f"open outbox {_open_entries(world)}, last output {output[-300:]!r}",
        )
        secrets = secrets_of(world.sandbox.describe(), world.home / "credentials.json")
        secrets.add(SECRET)
        leaks = find(
            secrets,
            {
                "database": database_text(world.db_path),
                "logs": log.read_text(errors="replace"),
                "sync --json": output,
            },
        )
        figure.check(not leaks, f"secrets leaked: {leaks}")
    figure.runs = profile.kills
    figure.events = sum(ledger.per_channel.values()) + ledger.posted
    phases = ", ".join(f"{n} {phase}" for phase, n in sorted(ledger.phases.items()))
    figure.notes.append(
        f"{profile.kills} kills; with work outstanding at the kill: {phases}; "
        f"{sum(ledger.sold.values())} sales, {ledger.posted} webhooks delivered"
    )
    return figure


def _open_entries(world: World) -> list[tuple[object, ...]]:
    """The entries still open, with why, for a failure message."""
    return world.store.conn.execute(
        "SELECT o.channel, l.sku, o.status, o.target, l.channel_quantity,"
        " o.attempts, o.last_error, o.next_attempt_at, o.interrupted"
        " FROM outbox o JOIN listings l ON l.id = o.listing_id"
        " WHERE o.status IN ('pending', 'sending')"
    ).fetchall()


def _score(
    figure: Figure, world: World, ledger: Ledger, expected: dict[str, int]
) -> None:
    conn = world.store.conn
    recorded = dict(
        conn.execute("SELECT channel, count(*) FROM sales GROUP BY channel").fetchall()
    )
    for channel in CHANNELS:
        made, seen = ledger.per_channel[channel], int(recorded.get(channel, 0))
        figure.lost += max(made - seen, 0)
        figure.doubled += max(seen - made, 0)
    for sku, count in world.central().items():
        figure.lost += max(count - expected[sku], 0)
        figure.doubled += max(expected[sku] - count, 0)
        held = world.held(sku, CHANNELS)
        figure.wrong += sum(1 for n in held.values() if n != count)
    journal = conn.execute(
        "SELECT count(*) FROM journal WHERE cause = 'sale'"
    ).fetchone()[0]
    figure.check(
        journal == sum(ledger.sold.values()),
        f"journal holds {journal} sale entries for {sum(ledger.sold.values())} sales",
    )
    stuck = conn.execute(
        "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending', 'dead')"
    ).fetchone()[0]
    figure.lost += int(stuck)
