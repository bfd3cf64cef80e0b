"""Propagation: a sale on one simulator until every other simulator holds the new
quantity, p50/p95/p99 per channel pair, with an injected API latency on every call.

Usage: python bench/propagation.py [--samples 20] [--latency 0.1] [--stockx-every 10]

``watch``'s loop (``Watcher``) and its webhook listener run in this process against the
four simulators. After a sale on Shopify, Clover or eBay the script delivers that
platform's signed webhook to the listener at once, as the platform would (the
platforms' own delivery delay is not part of the figure). StockX sends no webhooks:
its sales are found by polling every ``--stockx-every`` seconds.

Targets: sale on a webhook channel, p95 within 1 s, and our own overhead (total
minus the simulated API time of the calls made meanwhile) p95 under 50 ms; sale on a
polled channel, p95 within the poll interval plus 1 s.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, str(Path(__file__).parent))

from world import catalogue, connected_world, machine, verdict  # noqa: E402

from stackknack_cli.engine.listener import Listener  # noqa: E402
from stackknack_cli.engine.watch import Watcher  # noqa: E402
from stackknack_cli.engine.webhooks import clover, ebay, shopify  # noqa: E402
from stackknack_cli.sandbox.runtime import CHANNELS  # noqa: E402

WEBHOOK_TARGET = 1.0
OVERHEAD_TARGET = 0.050
POLLED_SLACK = 1.0
SHOPIFY_SECRET = "bench-shopify-secret"
CLOVER_AUTH = "bench-clover-auth"
EBAY_TOKEN = "bench-ebay-verification-token-0123456789"
EBAY_KID = "bench-key"
CHECK_EVERY = 0.005
"""How often the simulators' counts are looked at (the figures' resolution)."""
SAMPLE_TIMEOUT = 60.0


class Platforms:
    """Send each platform's signed webhook for a sale, as the platform would."""

    def __init__(self, listener_url: str, merchant_id: str) -> None:
        self.url = listener_url + "/webhooks/"
        self.merchant_id = merchant_id
        self.ebay_key = ec.generate_private_key(ec.SECP256R1())
        self.client = httpx.Client(timeout=10)

    def verifiers(self) -> dict[str, object]:
        public = self.ebay_key.public_key()
        return {
            "shopify": shopify.ShopifyVerifier(SHOPIFY_SECRET),
            "clover": clover.CloverVerifier(CLOVER_AUTH),
            "ebay": ebay.EbayVerifier(EBAY_TOKEN, None, lambda kid: public),
        }

    def notify(self, channel: str, order_id: str) -> None:
        now = datetime.now(UTC)
        if channel == "shopify":
            body = json.dumps({"id": order_id, "updated_at": now.isoformat()}).encode()
            headers = {
                "X-Shopify-Hmac-Sha256": shopify.sign(body, SHOPIFY_SECRET),
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Event-Id": str(uuid.uuid4()),
            }
        elif channel == "clover":
            event = {"objectId": f"O:{order_id}", "type": "CREATE"}
            event["ts"] = int(now.timestamp() * 1000)  # type: ignore[assignment]
            body = json.dumps({"merchants": {self.merchant_id: [event]}}).encode()
            headers = {"X-Clover-Auth": CLOVER_AUTH}
        else:
            payload = {
                "metadata": {"topic": "ORDER_CONFIRMATION"},
                "notification": {
                    "notificationId": str(uuid.uuid4()),
                    "eventDate": now.isoformat(),
                    "data": {"orderId": order_id},
                },
            }
            body = json.dumps(payload, separators=(",", ":")).encode()
            der = self.ebay_key.sign(body, ec.ECDSA(hashes.SHA1()))  # noqa: S303
            header = {
                "alg": "ECDSA",
                "kid": EBAY_KID,
                "signature": base64.b64encode(der).decode(),
                "digest": "SHA1",
            }
            headers = {
                "X-EBAY-SIGNATURE": base64.b64encode(
                    json.dumps(header).encode()
                ).decode()
            }
        headers["Content-Type"] = "application/json"
        answer = self.client.post(self.url + channel, content=body, headers=headers)
        answer.raise_for_status()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return cuts[int(share * 100) - 1]


def measure(world, platforms, source: str, sku: str, latency: float):
    """Sell one unit of ``sku`` on ``source``; return {destination: (total, api)}."""
    expected = {name: world.sandbox.held(name, sku) - 1 for name in CHANNELS}
    calls_before = sum(world.calls().values())
    started = time.perf_counter()
    order_id = world.sandbox.sell(source, sku)
    if source != "stockx":
        platforms.notify(source, order_id)
    reached: dict[str, tuple[float, float]] = {}
    waiting = [name for name in CHANNELS if name != source]
    while waiting and time.perf_counter() - started < SAMPLE_TIMEOUT:
        for name in list(waiting):
            if world.sandbox.held(name, sku) == expected[name]:
                elapsed = time.perf_counter() - started
                calls = sum(world.calls().values()) - calls_before
                reached[name] = (elapsed, calls * latency)
                waiting.remove(name)
        time.sleep(CHECK_EVERY)
    return reached, waiting


def settle(world, timeout: float = 30.0) -> None:
    """Wait until no push waits (StockX writes finish a few seconds later), so that
    each sale is measured on its own rather than behind the last one's work."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = world.store.scalar(
            "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"
        )
        if not busy:
            return
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20, help="sales per source")
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--stockx-every", type=float, default=10.0)
    args = parser.parse_args()
    sources = list(CHANNELS)
    items = catalogue(args.samples * len(sources), 5)

    totals: dict[tuple[str, str], list[float]] = defaultdict(list)
    overheads: dict[tuple[str, str], list[float]] = defaultdict(list)
    missed: list[str] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        connected_world(Path(tmp), items, latency=args.latency) as world,
    ):
        intervals = {"stockx": args.stockx_every}
        watcher = Watcher(
            world.store,
            world.channels,
            intervals=intervals,
            merchants={"clover": world.sandbox.clover.merchant_id},
        )
        platforms = Platforms("", world.sandbox.clover.merchant_id)
        listener = Listener(
            Path(world.store.path),
            platforms.verifiers(),  # type: ignore[arg-type]
            port=0,
            on_event=lambda name: watcher.wake.set(),
        ).start()
        platforms.url = listener.base_url + "/webhooks/"
        watcher.listener = listener.base_url
        thread = threading.Thread(target=watcher.run, daemon=True)
        thread.start()
        try:
            time.sleep(2.0)  # first polls of every channel are done
            settle(world)
            for n, (sku, _, _) in enumerate(items):
                source = sources[n % len(sources)]
                reached, waiting = measure(world, platforms, source, sku, args.latency)
                for name, (total, api) in reached.items():
                    totals[(source, name)].append(total)
                    overheads[(source, name)].append(total - api)
                missed.extend(f"{source}->{name} {sku}" for name in waiting)
                settle(world)
        finally:
            watcher.stop.set()
            watcher.wake.set()
            thread.join(30)
            listener.stop()
            platforms.client.close()

    print(f"machine: {machine()}")
    print(
        f"latency {args.latency * 1000:.0f} ms per API call; StockX polled every "
        f"{args.stockx_every:.0f}s; {args.samples} sales per source channel"
    )
    print("pair                 p50      p95      p99   overhead p95  target")
    for source in sources:
        for name in CHANNELS:
            values = totals.get((source, name))
            if not values:
                continue
            p50, p95, p99 = (percentile(values, q) for q in (0.50, 0.95, 0.99))
            extra = percentile(overheads[(source, name)], 0.95)
            if source == "stockx":
                limit = args.stockx_every + POLLED_SLACK
                goal = f"p95 <= {limit:.0f}s: {verdict(p95 <= limit)}"
            else:
                held = p95 <= WEBHOOK_TARGET and extra <= OVERHEAD_TARGET
                goal = f"p95 <= 1s, overhead <= 50ms: {verdict(held)}"
            print(
                f"{source + ' -> ' + name:18} {p50:6.3f}s {p95:6.3f}s {p99:6.3f}s "
                f"{extra * 1000:8.0f} ms    {goal}"
            )
    if missed:
        print(f"never arrived within {SAMPLE_TIMEOUT:.0f}s: {', '.join(missed)}")
    print("reference: commercial tools claim under 30 s; most poll every 9-15 min")


if __name__ == "__main__":
    main()
