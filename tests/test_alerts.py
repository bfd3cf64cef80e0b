"""Alerts: what is raised once, and delivery through apprise to a local server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from rich.console import Console

from stackknack_cli.channels.base import SaleLine
from stackknack_cli.cli.dashboard import render
from stackknack_cli.engine.alerts import Alert, Alerts, AppriseSender
from stackknack_cli.engine.watch import ChannelStatus, Snapshot
from stackknack_cli.sandbox.server import Response, SimServer
from stackknack_cli.store import Store, inventory, outbox
from stackknack_cli.store.inventory import ItemRecord
from tests.watch_helpers import wait_for


@pytest.fixture
def inbox() -> Iterator[tuple[str, list[dict]]]:
    received: list[dict] = []

    def app(request):
        received.append(request.json())
        return Response.json({})

    server = SimServer(app).start()
    try:
        yield server.base_url.replace("http://", "json://"), received
    finally:
        server.stop()


def _oversell(store: Store) -> None:
    inventory.set_quantities(store, [ItemRecord("A", 0)], cause="import")
    inventory.apply_sale(store, "clover", SaleLine("o1", "l1", 1, sku="A"))


def test_oversell_is_sent_once_to_a_notification_url(store: Store, inbox) -> None:
    url, received = inbox
    _oversell(store)
    alerts = Alerts(store, [AppriseSender([url])])
    first = alerts.check_store()
    again = alerts.check_store()
    alerts.close()

    assert [a.kind for a in first] == ["oversell"]
    assert again == []
    assert wait_for(lambda: len(received) == 1, 5)
    assert received[0]["title"] == "stackknack: oversell on clover"
    assert "OVERSELL of A" in received[0]["message"]


def test_restart_does_not_repeat_announced_alerts(store: Store) -> None:
    _oversell(store)
    Alerts(store).check_store()
    assert Alerts(store).check_store() == []


def test_dead_push_raises_an_alert(store: Store) -> None:
    inventory.set_quantities(store, [ItemRecord("A", 2)], cause="import")
    with store.transaction() as conn:
        inventory.link_listing(conn, "shopify", "A", "ref-A", quantity=5)
        outbox.enqueue_for_sku(conn, "A", cause="t")
        entry_id = conn.execute("SELECT id FROM outbox").fetchone()[0]
        outbox.retry_later(
            conn, entry_id, "bundle", delay=0, refused=True, permanent=True
        )
    found = Alerts(store).check_store()
    assert [(a.kind, a.channel) for a in found] == [("dead", "shopify")]


def test_channel_failing_past_the_threshold_alerts_once_then_recovers(store) -> None:
    alerts = Alerts(store, failing_after=300)
    early = alerts.check_channel("clover", failing_for=10, error="down", consent=False)
    late = alerts.check_channel("clover", failing_for=301, error="down", consent=False)
    later = alerts.check_channel("clover", failing_for=900, error="down", consent=False)
    back = alerts.check_channel("clover", failing_for=None, error=None, consent=False)
    assert early == []
    assert later == []
    assert [a.kind for a in late] == ["failing"]
    assert [a.kind for a in back] == ["recovered"]


def test_refused_credentials_ask_for_reconsent(store) -> None:
    alerts = Alerts(store)
    found = alerts.check_channel("shopify", failing_for=0, error="401", consent=True)
    assert "stackknack connect shopify" in found[0].message


def test_dashboard_shows_channels_oversells_and_alerts() -> None:
    snapshot = Snapshot(
        channels=[
            ChannelStatus("shopify", 15, next_poll=110, error="down", failures=2)
        ],
        sales=[],
        oversells=[{"sku": "A", "channel": "clover", "wanted": 1, "missing": 1}],
        alerts=[Alert("failing", "shopify", "shopify has been failing for 5 min")],
        events={"done": 3},
        now=100,
        listener="http://127.0.0.1:8787",
    )
    console = Console(width=120, record=True, color_system=None)
    console.print(render(snapshot, ["12:00:00 clover: pushed 1"]))
    text = console.export_text()
    assert "failing (2)" in text
    assert "10s" in text
    assert "OVERSELL A on clover" in text
    assert "shopify has been failing" in text
    assert "webhooks on http://127.0.0.1:8787: done 3" in text
    assert json.dumps(snapshot.events) == '{"done": 3}'
