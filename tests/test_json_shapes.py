"""The documented --json shapes (docs/json.md) stay as documented."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stackknack_cli.sandbox.clover import CloverSimulator
from stackknack_cli.sandbox.server import SimServer
from tests.cli_helpers import invoke

SYNC_CHANNEL = {
    "sales", "applied", "duplicates", "oversells", "unknown_skus", "returns",
    "restocked", "pushed", "mismatches", "dead", "queued", "error", "needs_consent",
    "deferred",
}  # fmt: skip


@pytest.fixture
def cli(capsys, monkeypatch) -> Iterator:
    sim = CloverSimulator(seed=4)
    sim.seed(name="Samba / US 8", sku="SAMBA-8", quantity=1)
    server = SimServer(sim.app).start()

    def call(*args: str, stdin: str = ""):
        return invoke(capsys, monkeypatch, *args, stdin=stdin)

    try:
        call(
            "connect", "clover", "--merchant", sim.merchant_id,
            "--base-url", server.base_url, stdin=sim.api_token,
        )  # fmt: skip
        call("import", "clover")
        call("adjust", "SAMBA-8", "=0", "--reason", "sold at a fair")
        sim.sell("SAMBA-8", 1)
        yield call
    finally:
        server.stop()


def test_sync_shape(cli) -> None:
    report = cli("sync", "--json").json()
    assert set(report) == {"channels", "oversells", "queued", "failed"}
    assert set(report["channels"]["clover"]) >= SYNC_CHANNEL
    assert set(report["oversells"][0]) == {
        "sku", "channel", "order_id", "line_id", "missing",
    }  # fmt: skip


def test_report_shapes(cli) -> None:
    cli("sync")
    stock = cli("stock", "--json").json()[0]
    assert set(stock) == {"sku", "title", "available", "channels"}
    assert set(stock["channels"]["clover"]) == {
        "ref", "quantity", "active", "queued", "target", "above_target",
    }  # fmt: skip

    oversell = cli("oversells", "--json").json()[0]
    assert set(oversell) == {
        "id", "sku", "channel", "order_id", "line_id", "wanted", "missing",
        "created_at", "acknowledged_at", "resolution",
    }  # fmt: skip

    cli("adjust", "SAMBA-8", "+2", "--reason", "returned")
    cli("rules", "set", "clover", "--buffer", "5")
    entry = cli("outbox", "--json").json()[0]
    assert set(entry) == {
        "id", "channel", "sku", "channel_ref", "target", "status", "attempts",
        "last_error", "cause", "created_at", "next_attempt_at",
    }  # fmt: skip

    doctor = cli("doctor", "--json").json()
    assert set(doctor) == {"ok", "checks"}
    assert set(doctor["checks"][0]) == {"name", "ok", "detail", "fix"}

    drift = cli("reconcile", "--json").json()
    assert set(drift) == {"checked", "drift", "errors"}
