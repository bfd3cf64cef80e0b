"""``watch`` against the Shopify and Clover simulators, for real, on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from stackknack_cli.channels import registry
from stackknack_cli.engine.listener import Listener
from stackknack_cli.engine.sync import ChannelReport, drain, run_sync
from stackknack_cli.engine.watch import Watcher
from stackknack_cli.engine.webhooks import shopify
from stackknack_cli.store import locks, open_store
from tests.fakes import FakeChannel
from tests.watch_helpers import sandbox_world, wait_for

SKU, SINGLE = "DD1391-100-9", "B75806-8"
FAST = {"shopify": 0.2, "clover": 0.2}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _run_in_thread(watcher: Watcher) -> threading.Thread:
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    return thread


def test_sale_on_one_simulator_reaches_the_other_without_sync(tmp_path) -> None:
    with sandbox_world(tmp_path / "home") as world:
        with registry.connected_channels(
            world.store, credentials=world.credentials
        ) as channels:
            watcher = Watcher(world.store, channels, intervals=FAST)
            thread = _run_in_thread(watcher)
            try:
                world.sandbox.shopify.sell(SKU, 1)
                converged = wait_for(lambda: world.holdings(SKU) == (2, 2, 2))
                world.sandbox.clover.sell(SKU, 1)
                again = wait_for(lambda: world.holdings(SKU) == (1, 1, 1))
            finally:
                watcher.stop.set()
                watcher.wake.set()
                thread.join(10)
        assert not thread.is_alive()
        assert (converged, again) == (True, True)


def test_poll_waits_for_its_schedule_but_a_webhook_reads_at_once(tmp_path) -> None:
    clock = FakeClock()
    with sandbox_world(tmp_path / "home") as world:
        world.credentials.set("shopify", "webhook_secret", "s3cret")
        with registry.connected_channels(
            world.store, credentials=world.credentials
        ) as channels:
            watcher = Watcher(world.store, channels, clock=clock)
            watcher.step()  # first polls of both channels
            world.sandbox.shopify.sell(SKU, 1)
            watcher.step()
            before = world.holdings(SKU)

            listener = Listener(
                Path(world.store.path),
                {"shopify": shopify.ShopifyVerifier("s3cret")},
                port=0,
            ).start()
            try:
                url = listener.base_url + "/webhooks/shopify"
                body = b'{"id": 1, "updated_at": "2026-01-01T00:00:00Z"}'
                good = shopify.sign(body, "s3cret")
                answers = [
                    # reordered (updated before create) and each delivered twice
                    httpx.post(
                        url,
                        content=body,
                        headers={
                            "X-Shopify-Hmac-Sha256": good,
                            "X-Shopify-Topic": topic,
                            "X-Shopify-Event-Id": event,
                        },
                    ).status_code
                    for topic, event in [
                        ("orders/updated", "e2"),
                        ("orders/create", "e1"),
                        ("orders/updated", "e2"),
                        ("orders/create", "e1"),
                    ]
                ]
                forged = httpx.post(
                    url,
                    content=body,
                    headers={
                        "X-Shopify-Hmac-Sha256": shopify.sign(body, "wrong"),
                        "X-Shopify-Topic": "orders/create",
                        "X-Shopify-Event-Id": "e3",
                    },
                ).status_code
            finally:
                listener.stop()
            watcher.step()  # no time has passed: only the webhook can cause a read
            after = world.holdings(SKU)
            watcher.step()

        statuses = world.store.query("SELECT event_id, status FROM webhook_events")
        sales = world.store.scalar("SELECT count(*) FROM sales")
    assert before == (3, 2, 3)
    assert answers == [200, 200, 200, 200]
    assert forged == 401
    assert after == (2, 2, 2)
    assert sorted((e["event_id"], e["status"]) for e in statuses) == [
        ("e1", "done"),
        ("e2", "done"),
    ]
    assert sales == 1


def test_watch_and_sync_together_apply_each_sale_once(tmp_path) -> None:
    with sandbox_world(tmp_path / "home") as world:
        other = open_store(world.home / "stackknack.db")
        with (
            registry.connected_channels(
                world.store, credentials=world.credentials
            ) as channels,
            registry.connected_channels(
                other, credentials=world.credentials
            ) as cron_channels,
        ):
            watcher = Watcher(world.store, channels, intervals=FAST)
            thread = _run_in_thread(watcher)
            try:
                for n in range(3):
                    (world.sandbox.shopify if n % 2 else world.sandbox.clover).sell(
                        SKU, 1
                    )
                    run_sync(other, cron_channels)
                converged = wait_for(lambda: world.holdings(SKU) == (0, 0, 0))
                final = run_sync(other, cron_channels)
            finally:
                watcher.stop.set()
                watcher.wake.set()
                thread.join(10)
        sales = other.query("SELECT channel, applied FROM sales ORDER BY id")
        journal = other.scalar("SELECT count(*) FROM journal WHERE cause = 'sale'")
        other.close()
    assert converged
    assert [s["applied"] for s in sales] == [1, 1, 1]
    assert journal == 3
    assert final.channels["shopify"].applied == 0


def test_sync_leaves_a_channel_alone_while_watch_is_sending(store) -> None:
    from stackknack_cli.store import inventory
    from stackknack_cli.store.inventory import ItemRecord

    release, started = threading.Event(), threading.Event()

    class SlowChannel(FakeChannel):
        def push(self, pushes):
            started.set()
            release.wait(10)
            return super().push(pushes)

    slow = SlowChannel("clover", {"A": 2})
    inventory.set_quantities(store, [ItemRecord("A", 2)], cause="import")
    with store.transaction() as conn:
        inventory.link_listing(conn, "clover", "A", "A", quantity=2)
    inventory.adjust(store, "A", -1, cause="test")

    report = ChannelReport()
    first = threading.Thread(
        target=drain, args=(store, slow, report), kwargs={"purpose": "watch"}
    )
    first.start()
    assert started.wait(5)
    second_store = open_store(store.path)
    # A lease running out mid-push must not let another process send again.
    second_store.conn.execute(
        "UPDATE outbox SET lease_until = '2000-01-01T00:00:00.000Z'"
    )
    cron = run_sync(second_store, {"clover": FakeChannel("clover", {"A": 2})})
    release.set()
    first.join(10)
    second_store.close()
    assert cron.channels["clover"].deferred == f"watch (pid {os.getpid()})"
    assert cron.channels["clover"].pushed == 0
    assert report.pushed == 1
    assert len(slow.push_calls) == 1


def test_lock_of_a_killed_process_is_taken_over_at_once(store) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO drain_locks VALUES ('clover', 'old', ?, ?, 'watch', ?)",
            (locks.HOST, int(dead.stdout), "2999-01-01T00:00:00.000Z"),
        )
    assert locks.take(store, "clover", owner="new", purpose="sync") is None
    assert locks.holders(store)["clover"].owner == "new"
    live = locks.take(store, "clover", owner="third", purpose="sync")
    assert live is not None
    assert live.owner == "new"


def test_stop_event_ends_the_loop_after_the_step_under_way(tmp_path) -> None:
    with (
        sandbox_world(tmp_path / "home") as world,
        registry.connected_channels(
            world.store, credentials=world.credentials
        ) as channels,
    ):
        watcher = Watcher(world.store, channels, intervals={"shopify": 60})
        watcher.stop.set()
        watcher.run()
        polled = [s.last_poll for s in watcher.status.values()]
    assert polled
    assert all(moment is None for moment in polled)


def _spawn(home: Path, *args: str) -> subprocess.Popen[bytes]:
    """Start ``stackknack watch`` in a subprocess; its stderr goes to home/watch.log."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STACKKNACK_")},
        "STACKKNACK_HOME": str(home),
        "STACKKNACK_CREDENTIALS": "file",
        "NO_COLOR": "1",
    }
    with open(home / "watch.log", "ab") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stackknack_cli",
                "watch",
                "--plain",
                "--every",
                "shopify=0.2",
                "--every",
                "clover=0.2",
                *args,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def test_cli_watch_survives_sigkill_and_stops_cleanly_on_sigterm(tmp_path) -> None:
    with sandbox_world(tmp_path / "home") as world:
        first = _spawn(world.home)
        try:
            world.sandbox.shopify.sell(SKU, 1)
            applied = wait_for(
                lambda: world.store.scalar("SELECT count(*) FROM sales") == 1, 15
            )
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        world.sandbox.clover.sell(SINGLE, 1)

        second = _spawn(world.home)
        try:
            converged = wait_for(
                lambda: (
                    world.holdings(SKU) == (2, 2, 2)
                    and world.holdings(SINGLE) == (0, 0, 0)
                ),
                15,
            )
        finally:
            second.send_signal(signal.SIGTERM)
            try:
                code = second.wait(15)
            except subprocess.TimeoutExpired:
                second.kill()
                raise
        err = (world.home / "watch.log").read_text()
        sales = world.store.scalar("SELECT count(*) FROM sales")
    assert applied, err
    assert converged, err
    assert code == 0, err
    assert "watch: started" in err
    assert sales == 2


def test_cli_watch_refuses_webhooks_without_any_secret(tmp_path) -> None:
    with sandbox_world(tmp_path / "home") as world:
        world.store.conn.execute("DELETE FROM channels WHERE name = 'clover'")
        proc = _spawn(world.home, "--webhooks", "--listen", "127.0.0.1:0")
        code = proc.wait(20)
        err = (world.home / "watch.log").read_text()
    assert code == 1
    assert "set-secret shopify" in err
