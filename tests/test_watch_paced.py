"""A channel with a request budget works in its own thread and holds up no other."""

from __future__ import annotations

import threading
from datetime import timedelta

from stackknack_cli.channels.base import SaleLine
from stackknack_cli.engine import sync
from stackknack_cli.engine.watch import Watcher
from stackknack_cli.store import inventory, open_store
from stackknack_cli.store.db import utcnow
from stackknack_cli.store.inventory import ItemRecord
from tests.fakes import FakeChannel


class SlowBudgetedChannel(FakeChannel):
    """Like StockX: a budget, and calls that wait (here until released)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.release = threading.Event()
        self.entered = threading.Event()

    def budget(self):
        return {"day_left": 100}

    def fetch_sales(self, since):
        self.entered.set()
        self.release.wait(timeout=10)
        return super().fetch_sales(since)


def test_sale_reaches_other_channels_while_the_paced_one_waits(tmp_path) -> None:
    store = open_store(tmp_path / "w.db")
    shop = FakeChannel("shopify", {"A": 2})
    pos = FakeChannel("clover", {"A": 2})
    slow = SlowBudgetedChannel("stockx", {"A": 2})
    inventory.set_quantities(store, [ItemRecord("A", 2)], cause="import")
    with store.transaction() as conn:
        for channel in (shop, pos, slow):
            inventory.link_listing(conn, channel.name, "A", "A", quantity=2)
    for channel in (shop, pos, slow):
        sync.set_cursor(store, channel.name, utcnow() - timedelta(hours=1))
    channels = {"shopify": shop, "clover": pos, "stockx": slow}
    watcher = Watcher(store, channels, reconcile_every=None)
    try:
        watcher.step()  # the paced channel starts polling in its thread and blocks
        assert slow.entered.wait(timeout=5)
        shop.sell("A", SaleLine("o1", "1", 1, sku="A"), utcnow())
        watcher.request_poll("shopify")
        watcher.step()

        assert pos.quantities == {"A": 1}  # reached Clover while StockX waited
        assert slow.quantities == {"A": 2}
    finally:
        slow.release.set()
        for worker in list(watcher._workers.values()):
            worker.join(timeout=10)

    watcher.step()  # its turn: the push queued by the sale goes out in its thread
    for worker in list(watcher._workers.values()):
        worker.join(timeout=10)
    assert slow.quantities == {"A": 1}
    store.close()
