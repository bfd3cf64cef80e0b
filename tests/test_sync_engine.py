from __future__ import annotations

from datetime import timedelta

from stackknack_cli.channels.base import PushResult, PushStatus, SaleLine
from stackknack_cli.engine import sync
from stackknack_cli.engine.sync import run_sync
from stackknack_cli.store import Store, inventory, outbox
from stackknack_cli.store.db import utcnow
from stackknack_cli.store.inventory import ItemRecord
from tests.fakes import FakeChannel


def _setup(store: Store, skus: dict[str, int], *channels: FakeChannel) -> None:
    inventory.set_quantities(
        store, [ItemRecord(sku, qty) for sku, qty in skus.items()], cause="import"
    )
    with store.transaction() as conn:
        for channel in channels:
            for sku in skus:
                inventory.link_listing(
                    conn, channel.name, sku, sku, quantity=channel.quantities[sku]
                )
    past = utcnow() - timedelta(hours=1)
    for channel in channels:
        sync.set_cursor(store, channel.name, past)


def test_sale_on_one_channel_reaches_the_other(store: Store) -> None:
    shop = FakeChannel("shopify", {"A": 2})
    pos = FakeChannel("clover", {"A": 2})
    _setup(store, {"A": 2}, shop, pos)
    shop.sell("A", SaleLine("o1", "l1", 1, sku="A"), utcnow())

    report = run_sync(store, {"shopify": shop, "clover": pos})

    assert report.channels["shopify"].applied == 1
    assert pos.quantities == {"A": 1}
    assert shop.quantities == {"A": 1}
    assert shop.push_calls == []  # no second decrement on the selling channel
    assert report.queued == 0


def test_same_sale_polled_twice_counts_once(store: Store) -> None:
    shop = FakeChannel("shopify", {"A": 3})
    pos = FakeChannel("clover", {"A": 3})
    _setup(store, {"A": 3}, shop, pos)
    shop.sell("A", SaleLine("o1", "l1", 1, sku="A"), utcnow())

    run_sync(store, {"shopify": shop, "clover": pos})
    again = run_sync(store, {"shopify": shop, "clover": pos})

    assert again.channels["shopify"].duplicates == 1
    assert store.scalar("SELECT available FROM items") == 2
    assert pos.quantities == {"A": 2}


def test_channel_that_is_down_keeps_its_pushes_and_catches_up(store: Store) -> None:
    shop = FakeChannel("shopify", {"A": 1})
    pos = FakeChannel("clover", {"A": 1})
    _setup(store, {"A": 1}, shop, pos)
    shop.sell("A", SaleLine("o1", "l1", 1, sku="A"), utcnow())
    pos.down = True

    first = run_sync(store, {"shopify": shop, "clover": pos})
    assert first.channels["clover"].error
    assert first.queued == 1
    assert pos.quantities == {"A": 1}

    pos.down = False
    second = run_sync(store, {"shopify": shop, "clover": pos})
    assert second.queued == 0
    assert pos.quantities == {"A": 0}


def test_only_newest_target_is_sent_and_older_are_superseded(store: Store) -> None:
    shop = FakeChannel("shopify", {"A": 5})
    pos = FakeChannel("clover", {"A": 5})
    _setup(store, {"A": 5}, shop, pos)
    for n in range(3):
        shop.sell("A", SaleLine(f"o{n}", "l", 1, sku="A"), utcnow())

    run_sync(store, {"shopify": shop, "clover": pos})

    assert [[p.target for p in call] for call in pos.push_calls] == [[2]]
    statuses = store.query("SELECT status FROM outbox ORDER BY id")
    assert [s["status"] for s in statuses] == ["superseded", "superseded", "done"]


def test_refused_item_is_dead_lettered_and_never_blocks_others(store: Store) -> None:
    shop = FakeChannel("shopify", {"A": 2, "B": 2})
    pos = FakeChannel("clover", {"A": 2, "B": 2})
    _setup(store, {"A": 2, "B": 2}, shop, pos)
    pos.refuse.add("A")
    shop.sell("A", SaleLine("o1", "1", 1, sku="A"), utcnow())
    shop.sell("B", SaleLine("o1", "2", 1, sku="B"), utcnow())

    run_sync(store, {"shopify": shop, "clover": pos})
    assert pos.quantities["B"] == 1

    for _ in range(outbox.MAX_REFUSALS):
        store.conn.execute("UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00Z'")
        run_sync(store, {"shopify": shop, "clover": pos})
    dead = outbox.entries(store, statuses=("dead",))
    assert [(d["sku"], d["last_error"]) for d in dead] == [("A", "nope")]
    assert outbox.depth(store) == 0


def test_unexplained_drop_is_not_overwritten_until_the_sale_shows_up(
    store: Store,
) -> None:
    shop = FakeChannel("shopify", {"A": 2})
    pos = FakeChannel("clover", {"A": 2})
    _setup(store, {"A": 2}, shop, pos)
    # Clover sells one; Shopify also sold one whose order is not visible yet.
    pos.sell("A", SaleLine("c1", "1", 1, sku="A"), utcnow())
    shop.quantities["A"] = 1

    first = run_sync(store, {"shopify": shop, "clover": pos})
    assert first.channels["shopify"].mismatches == 1
    assert shop.quantities == {"A": 1}  # the sold unit was not put back
    assert first.queued == 1

    hidden = SaleLine("s1", "1", 1, sku="A")
    shop.sales.append((utcnow(), hidden))
    store.conn.execute("UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00Z'")
    second = run_sync(store, {"shopify": shop, "clover": pos})

    assert store.scalar("SELECT available FROM items") == 0
    assert shop.quantities == {"A": 0}
    assert pos.quantities == {"A": 0}
    assert second.queued == 0


def test_channel_holding_more_than_known_is_set_to_the_central_count(
    store: Store,
) -> None:
    shop = FakeChannel("shopify", {"A": 3})
    pos = FakeChannel("clover", {"A": 3})
    _setup(store, {"A": 3}, shop, pos)
    shop.quantities["A"] = 7  # someone typed a number in the Shopify admin
    pos.sell("A", SaleLine("c1", "1", 1, sku="A"), utcnow())

    report = run_sync(store, {"shopify": shop, "clover": pos})

    assert report.channels["shopify"].mismatches == 1
    assert shop.quantities == {"A": 2}
    assert report.queued == 0


def test_oversell_is_reported_and_every_listing_ends_at_zero(store: Store) -> None:
    shop = FakeChannel("shopify", {"A": 1})
    pos = FakeChannel("clover", {"A": 1})
    _setup(store, {"A": 1}, shop, pos)
    shop.sell("A", SaleLine("s1", "1", 1, sku="A"), utcnow())
    pos.sell("A", SaleLine("c1", "1", 1, sku="A"), utcnow())

    report = run_sync(store, {"shopify": shop, "clover": pos})

    assert [o["channel"] for o in report.oversells] == ["clover"]
    assert shop.quantities == {"A": 0}
    assert pos.quantities == {"A": 0}


class AsyncChannel(FakeChannel):
    """Answers every write with an operation that finishes on the next look."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.started: dict[str, int] = {}

    def push(self, pushes):
        results = []
        for push in pushes:
            self.push_calls.append([push])
            if push.operation is None:
                operation = f"op-{len(self.started)}"
                self.started[operation] = push.target
                results.append(
                    PushResult(push.entry_id, PushStatus.PENDING, operation=operation)
                )
            else:
                held = self.quantities[push.channel_ref] = self.started[push.operation]
                results.append(PushResult(push.entry_id, PushStatus.DONE, holds=held))
        return results


def test_asynchronous_write_stays_open_until_the_platform_finishes(store) -> None:
    shop = FakeChannel("shopify", {"A": 3})
    stockx = AsyncChannel("stockx", {"A": 3})
    _setup(store, {"A": 3}, shop, stockx)
    shop.sell("A", SaleLine("o1", "1", 1, sku="A"), utcnow())

    first = run_sync(store, {"shopify": shop, "stockx": stockx})
    assert first.channels["stockx"].pending == 1
    assert first.queued == 1
    assert store.scalar("SELECT operation FROM outbox") == "op-0"

    # A second sale while the write is under way waits; it does not supersede it.
    shop.sell("A", SaleLine("o2", "1", 1, sku="A"), utcnow())
    run_sync(store, {"shopify": shop, "stockx": stockx})
    assert [p[0].operation for p in stockx.push_calls] == [None]

    store.conn.execute("UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00Z'")
    run_sync(store, {"shopify": shop, "stockx": stockx})
    store.conn.execute("UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00Z'")
    last = run_sync(store, {"shopify": shop, "stockx": stockx})

    assert stockx.quantities == {"A": 1}
    assert last.queued == 0
    assert len(stockx.started) == 2


def test_permanent_refusal_is_dead_lettered_at_once(store) -> None:
    shop = FakeChannel("shopify", {"A": 2})
    ebay = FakeChannel("ebay", {"A": 2})
    _setup(store, {"A": 2}, shop, ebay)

    def refuse(pushes):
        return [
            PushResult(p.entry_id, PushStatus.REFUSED, reason="ended", permanent=True)
            for p in pushes
        ]

    ebay.push = refuse
    shop.sell("A", SaleLine("o1", "1", 1, sku="A"), utcnow())
    report = run_sync(store, {"shopify": shop, "ebay": ebay})

    assert report.channels["ebay"].dead == 1
    assert outbox.entries(store, statuses=("dead",))[0]["last_error"] == "ended"


def test_channel_below_zero_after_the_grace_period_is_set_to_zero(store) -> None:
    shop = FakeChannel("shopify", {"A": 1})
    pos = FakeChannel("clover", {"A": 1})
    _setup(store, {"A": 1}, shop, pos)
    shop.sell("A", SaleLine("s1", "1", 1, sku="A"), utcnow())
    pos.quantities["A"] = -2  # Clover allows negatives; its sales are not visible

    run_sync(store, {"shopify": shop, "clover": pos})
    assert store.scalar("SELECT waiting_since FROM outbox WHERE status = 'pending'")
    store.conn.execute(
        "UPDATE outbox SET waiting_since = '2000-01-01T00:00:00.000Z',"
        " next_attempt_at = '2000-01-01T00:00:00.000Z'"
    )
    report = run_sync(store, {"shopify": shop, "clover": pos})

    assert report.channels["clover"].error is None
    assert pos.quantities == {"A": 0}
    assert report.queued == 0


def test_retry_that_reports_what_landed_updates_the_known_count(store) -> None:
    shop = FakeChannel("shopify", {"A": 2})
    pos = FakeChannel("clover", {"A": 2})
    _setup(store, {"A": 2}, shop, pos)

    def half_done(pushes):
        return [
            PushResult(p.entry_id, PushStatus.RETRY, holds=p.target, reason="flag")
            for p in pushes
        ]

    pos.push = half_done
    shop.sell("A", SaleLine("s1", "1", 1, sku="A"), utcnow())
    run_sync(store, {"shopify": shop, "clover": pos})

    known = "SELECT channel_quantity FROM listings WHERE channel = 'clover'"
    assert store.scalar(known) == 1


def test_a_bug_in_one_channel_does_not_stop_the_others(store) -> None:
    shop = FakeChannel("shopify", {"A": 2})
    pos = FakeChannel("clover", {"A": 2})
    _setup(store, {"A": 2}, shop, pos)

    def broken(since):
        raise KeyError("surprise")

    pos.fetch_sales = broken
    shop.sell("A", SaleLine("s1", "1", 1, sku="A"), utcnow())
    report = run_sync(store, {"clover": pos, "shopify": shop})

    assert report.channels["clover"].error.startswith("unexpected failure: KeyError")
    assert report.channels["shopify"].applied == 1


def test_write_that_landed_before_a_crash_is_recognised_at_once(store) -> None:
    shop = FakeChannel("shopify", {"A": 3})
    pos = FakeChannel("clover", {"A": 3})
    _setup(store, {"A": 3}, shop, pos)
    shop.sell("A", SaleLine("s1", "1", 1, sku="A"), utcnow())
    sync.ingest_sales(store, shop, sync.ChannelReport())
    # A process claims the push, writes it, and dies before recording the result.
    (entry,) = outbox.claim(store, "clover", limit=10)
    pos.quantities["A"] = entry.target
    store.conn.execute("UPDATE outbox SET lease_until = '2000-01-01T00:00:00.000Z'")

    report = run_sync(store, {"shopify": shop, "clover": pos})

    assert report.queued == 0
    assert pos.quantities == {"A": 2}
    known = "SELECT channel_quantity FROM listings WHERE channel = 'clover'"
    assert store.scalar(known) == 2


def test_landed_write_of_a_superseded_push_is_recognised_too(store) -> None:
    shop = FakeChannel("shopify", {"A": 5})
    pos = FakeChannel("clover", {"A": 5})
    _setup(store, {"A": 5}, shop, pos)
    shop.sell("A", SaleLine("s1", "1", 1, sku="A"), utcnow())
    sync.ingest_sales(store, shop, sync.ChannelReport())
    (entry,) = outbox.claim(store, "clover", limit=10)
    pos.quantities["A"] = entry.target  # landed: 4; then the process died
    store.conn.execute("UPDATE outbox SET lease_until = '2000-01-01T00:00:00.000Z'")
    shop.sell("A", SaleLine("s2", "1", 1, sku="A"), utcnow())  # a newer target: 3

    report = run_sync(store, {"shopify": shop, "clover": pos})

    assert report.queued == 0
    assert pos.quantities == {"A": 3}


def test_landed_write_then_a_sale_on_that_channel_is_recognised(store) -> None:
    shop = FakeChannel("shopify", {"A": 5})
    pos = FakeChannel("clover", {"A": 5})
    _setup(store, {"A": 5}, shop, pos)
    shop.sell("A", SaleLine("s1", "1", 1, sku="A"), utcnow())
    sync.ingest_sales(store, shop, sync.ChannelReport())
    (entry,) = outbox.claim(store, "clover", limit=10)
    pos.quantities["A"] = entry.target  # landed: 4; then the process died
    store.conn.execute("UPDATE outbox SET lease_until = '2000-01-01T00:00:00.000Z'")
    pos.sell("A", SaleLine("t1", "1", 1, sku="A"), utcnow())  # the till sells one: 3

    report = run_sync(store, {"shopify": shop, "clover": pos})

    assert report.queued == 0
    assert store.scalar("SELECT available FROM items") == 3
    assert pos.quantities == shop.quantities == {"A": 3}


def test_refusal_of_a_retried_write_that_had_landed_is_recognised(store) -> None:
    shop = FakeChannel("shopify", {"A": 5})
    pos = FakeChannel("clover", {"A": 5})
    _setup(store, {"A": 5}, shop, pos)

    def landed_then_refused(pushes):
        # The first try landed unseen; the retry is refused ("already deleted").
        for push in pushes:
            pos.quantities["A"] = push.target
        return [
            PushResult(p.entry_id, PushStatus.REFUSED, reason="gone", uncertain=True)
            for p in pushes
        ]

    original = pos.push
    pos.push = landed_then_refused
    shop.sell("A", SaleLine("s1", "1", 1, sku="A"), utcnow())
    run_sync(store, {"shopify": shop, "clover": pos})
    pos.push = original
    shop.sell("A", SaleLine("s2", "1", 1, sku="A"), utcnow())  # a newer target: 3
    store.conn.execute("UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00Z'")

    report = run_sync(store, {"shopify": shop, "clover": pos})

    assert report.queued == 0
    assert pos.quantities == shop.quantities == {"A": 3}


def test_landed_write_still_explains_a_drop_once_the_late_sale_is_read(store) -> None:
    shop = FakeChannel("shopify", {"A": 5})
    pos = FakeChannel("clover", {"A": 5})
    _setup(store, {"A": 5}, shop, pos)
    shop.sell("A", SaleLine("s1", "1", 1, sku="A"), utcnow())
    sync.ingest_sales(store, shop, sync.ChannelReport())
    (entry,) = outbox.claim(store, "clover", limit=10)
    pos.quantities["A"] = entry.target  # landed: 4; then the process died
    store.conn.execute("UPDATE outbox SET lease_until = '2000-01-01T00:00:00.000Z'")
    pos.quantities["A"] = 3  # the till sells one; its order is not readable yet

    waiting = run_sync(store, {"shopify": shop, "clover": pos})
    pos.sales.append((utcnow(), SaleLine("t1", "1", 1, sku="A")))
    store.conn.execute("UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00Z'")
    report = run_sync(store, {"shopify": shop, "clover": pos})

    assert waiting.queued == 1  # nothing explained the drop yet
    assert report.queued == 0
    assert store.scalar("SELECT available FROM items") == 3
    assert pos.quantities == shop.quantities == {"A": 3}


def test_a_failed_check_on_an_asynchronous_write_keeps_checking_it(store) -> None:
    shop = FakeChannel("shopify", {"A": 2})
    pos = FakeChannel("clover", {"A": 2})
    _setup(store, {"A": 2}, shop, pos)
    seen: list[str | None] = []

    def asynchronous(pushes):
        results = []
        for push in pushes:
            seen.append(push.operation)
            if push.operation is None:
                results.append(
                    PushResult(push.entry_id, PushStatus.PENDING, operation="op-1")
                )
            elif len(seen) == 2:  # the status check failed in passing
                results.append(PushResult(push.entry_id, PushStatus.RETRY))
            else:
                pos.quantities["A"] = push.target
                results.append(PushResult(push.entry_id, PushStatus.DONE, holds=1))
        return results

    pos.push = asynchronous
    shop.sell("A", SaleLine("s1", "1", 1, sku="A"), utcnow())
    for _ in range(3):
        run_sync(store, {"shopify": shop, "clover": pos})
        store.conn.execute("UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00Z'")

    assert seen == [None, "op-1", "op-1"]
    assert pos.quantities == {"A": 1}


def test_write_under_way_is_continued_toward_the_newest_count(store) -> None:
    shop = FakeChannel("shopify", {"A": 300})
    pos = FakeChannel("clover", {"A": 300})
    _setup(store, {"A": 300}, shop, pos)
    targets: list[tuple[str | None, int]] = []

    def cut_at_the_batch_limit(pushes):
        results = []
        for push in pushes:
            targets.append((push.operation, push.target))
            if push.operation is None:
                pos.quantities["A"] = 200  # the first batch of 100 deletions
                results.append(
                    PushResult(push.entry_id, PushStatus.PENDING, operation="b-1")
                )
            else:
                pos.quantities["A"] = push.target
                results.append(
                    PushResult(push.entry_id, PushStatus.DONE, holds=push.target)
                )
        return results

    pos.push = cut_at_the_batch_limit
    inventory.adjust(store, "A", -300, cause="sold out")
    run_sync(store, {"shopify": shop, "clover": pos})
    inventory.adjust(store, "A", +50, cause="found a box")  # a newer count waits
    store.conn.execute("UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00Z'")
    report = run_sync(store, {"shopify": shop, "clover": pos})

    assert targets[:2] == [(None, 0), ("b-1", 50)]
    assert pos.quantities == {"A": 50}
    assert report.queued == 0


def test_count_that_comes_back_before_the_push_leaves_is_not_pushed(store) -> None:
    shop = FakeChannel("shopify", {"A": 1})
    pos = FakeChannel("clover", {"A": 1})
    _setup(store, {"A": 1}, shop, pos)
    inventory.adjust(store, "A", +1, cause="restock")
    inventory.adjust(store, "A", -1, cause="miscounted")

    report = run_sync(store, {"shopify": shop, "clover": pos})

    assert shop.quantities == pos.quantities == {"A": 1}
    assert shop.push_calls == pos.push_calls == []
    assert report.queued == 0


def test_restock_then_a_till_sale_before_sync_leaves_every_channel_at_one(
    store,
) -> None:
    shop = FakeChannel("shopify", {"A": 1})
    pos = FakeChannel("clover", {"A": 1})
    _setup(store, {"A": 1}, shop, pos)
    inventory.adjust(store, "A", +1, cause="restock")  # both queued to 2
    pos.sell("A", SaleLine("c1", "1", 1, sku="A"), utcnow())  # Clover: 0

    run_sync(store, {"shopify": shop, "clover": pos})

    assert store.scalar("SELECT available FROM items") == 1
    assert shop.quantities == pos.quantities == {"A": 1}
