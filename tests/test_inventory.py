from __future__ import annotations

import sqlite3
import threading

import pytest

from stackknack_cli.channels.base import SaleLine
from stackknack_cli.errors import ConfigError, UnknownSkuError
from stackknack_cli.store import Store, inventory, open_store, outbox
from stackknack_cli.store.db import MIGRATIONS
from stackknack_cli.store.inventory import ItemRecord


def _link(store: Store, sku: str, **refs: int) -> None:
    with store.transaction() as conn:
        for channel, quantity in refs.items():
            inventory.link_listing(
                conn, channel, sku, f"{channel}-{sku}", quantity=quantity
            )


def test_database_whose_migrations_were_tampered_with_says_so(tmp_path) -> None:
    path = tmp_path / "stackknack.db"
    open_store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM migrations WHERE version > 1")

    with pytest.raises(ConfigError) as refused:
        open_store(path)

    assert "do not match its recorded migrations" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_database_uses_wal_busy_timeout_and_records_migrations(store: Store) -> None:
    assert store.scalar("PRAGMA journal_mode") == "wal"
    assert store.scalar("PRAGMA busy_timeout") >= 5000
    rows = store.query("SELECT version, name FROM migrations ORDER BY version")
    assert [row["version"] for row in rows] == list(range(1, len(MIGRATIONS) + 1))
    assert [row["name"] for row in rows] == [name for name, _ in MIGRATIONS]


def test_reopening_applies_no_migration_twice(tmp_path) -> None:
    first = open_store(tmp_path / "a.db")
    install_id = first.install_id
    first.close()
    again = open_store(tmp_path / "a.db")
    assert again.install_id == install_id
    assert again.scalar("SELECT count(*) FROM migrations") == len(MIGRATIONS)
    again.close()


def test_sale_decrements_once_and_queues_a_push_per_other_listing(store: Store) -> None:
    inventory.set_quantities(store, [ItemRecord("AJ1-10", 2)], cause="import")
    _link(store, "AJ1-10", shopify=2, clover=2)
    line = SaleLine("order-1", "line-1", 1, sku="AJ1-10")

    first = inventory.apply_sale(store, "shopify", line)
    second = inventory.apply_sale(store, "shopify", line)

    assert first.status == "applied"
    assert first.available_after == 1
    assert second.status == "duplicate"
    assert store.scalar("SELECT available FROM items WHERE sku = 'AJ1-10'") == 1
    pushes = outbox.entries(store)
    assert [(p["channel"], p["target"]) for p in pushes] == [("clover", 1)]
    # The selling channel is not pushed; what it holds is updated instead.
    assert (
        store.scalar("SELECT channel_quantity FROM listings WHERE channel='shopify'")
        == 1
    )


def test_sale_that_finds_nothing_is_an_oversell_and_count_stays_at_zero(
    store: Store,
) -> None:
    inventory.set_quantities(store, [ItemRecord("DUNK-9", 1)], cause="import")
    _link(store, "DUNK-9", shopify=1, clover=1)

    won = inventory.apply_sale(store, "shopify", SaleLine("s1", "l1", 1, sku="DUNK-9"))
    lost = inventory.apply_sale(store, "clover", SaleLine("c1", "l1", 1, sku="DUNK-9"))

    assert won.status == "applied"
    assert lost.status == "oversell"
    assert lost.missing == 1
    assert store.scalar("SELECT available FROM items") == 0
    oversell = store.query("SELECT sku, channel, wanted, missing FROM oversells")
    assert oversell == [
        {"sku": "DUNK-9", "channel": "clover", "wanted": 1, "missing": 1}
    ]


def test_partial_oversell_applies_what_is_left(store: Store) -> None:
    inventory.set_quantities(store, [ItemRecord("S", 2)], cause="import")
    outcome = inventory.apply_sale(store, "clover", SaleLine("o", "l", 5, sku="S"))
    assert (outcome.status, outcome.applied, outcome.missing) == ("oversell", 2, 3)
    assert store.scalar("SELECT applied FROM sales") == 2


def test_oversold_channel_that_went_negative_is_pushed_back_to_zero(
    store: Store,
) -> None:
    inventory.set_quantities(store, [ItemRecord("S", 0)], cause="import")
    _link(store, "S", clover=0)
    inventory.apply_sale(store, "clover", SaleLine("o", "l", 1, sku="S"))
    assert [(p["channel"], p["target"]) for p in outbox.entries(store)] == [
        ("clover", 0)
    ]


def test_sale_for_unknown_sku_is_recorded_but_changes_nothing(store: Store) -> None:
    outcome = inventory.apply_sale(store, "shopify", SaleLine("o", "l", 1, sku="NOPE"))
    assert outcome.status == "unknown_sku"
    assert store.scalar("SELECT status FROM sales") == "unknown_sku"
    assert (
        inventory.apply_sale(store, "shopify", SaleLine("o", "l", 1, sku="NOPE")).status
        == "duplicate"
    )


def test_sale_found_by_channel_ref_when_line_has_no_sku(store: Store) -> None:
    inventory.set_quantities(store, [ItemRecord("S", 3)], cause="import")
    _link(store, "S", clover=3)
    outcome = inventory.apply_sale(
        store, "clover", SaleLine("o", "l", 1, channel_ref="clover-S")
    )
    assert (outcome.status, outcome.sku, outcome.available_after) == ("applied", "S", 2)


def test_every_change_is_journalled_with_its_cause(store: Store) -> None:
    inventory.set_quantities(store, [ItemRecord("S", 3)], cause="import a.csv")
    inventory.apply_sale(store, "shopify", SaleLine("o9", "l9", 1, sku="S"))
    inventory.adjust(store, "S", 4, cause="adjust")
    rows = store.query("SELECT delta, available_after, cause, reference FROM journal")
    assert rows == [
        {"delta": 3, "available_after": 3, "cause": "import a.csv", "reference": None},
        {"delta": -1, "available_after": 2, "cause": "sale", "reference": "o9/l9"},
        {"delta": 4, "available_after": 6, "cause": "adjust", "reference": None},
    ]


def test_adjust_unknown_sku_is_refused(store: Store) -> None:
    with pytest.raises(UnknownSkuError, match="NOPE"):
        inventory.adjust(store, "NOPE", 1, cause="adjust")


def test_failed_import_writes_nothing(store: Store) -> None:
    def records():
        yield ItemRecord("A", 1)
        raise ValueError("row 2 is bad")

    with pytest.raises(ValueError, match="row 2"):
        inventory.set_quantities(store, records(), cause="import")
    assert store.scalar("SELECT count(*) FROM items") == 0


def test_count_can_never_go_below_zero_even_by_hand(store: Store) -> None:
    inventory.set_quantities(store, [ItemRecord("A", 1)], cause="import")
    with pytest.raises(sqlite3.IntegrityError):
        store.conn.execute("UPDATE items SET available = -1")


def test_concurrent_sales_of_the_last_unit_apply_exactly_one(tmp_path) -> None:
    path = tmp_path / "race.db"
    setup = open_store(path)
    inventory.set_quantities(setup, [ItemRecord("LAST", 1)], cause="import")
    setup.close()
    outcomes: list[str] = []

    def sell(channel: str) -> None:
        own = open_store(path)
        try:
            line = SaleLine(f"{channel}-order", "1", 1, sku="LAST")
            outcomes.append(inventory.apply_sale(own, channel, line).status)
        finally:
            own.close()

    threads = [threading.Thread(target=sell, args=(c,)) for c in ("a", "b", "c", "d")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["applied", "oversell", "oversell", "oversell"]
    check = open_store(path)
    assert check.scalar("SELECT available FROM items") == 0
    assert check.scalar("SELECT count(*) FROM oversells") == 3
    check.close()
