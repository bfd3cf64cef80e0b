"""Returns, refunds and cancellations in the ledger: each adds back once, at most what
its sale took, and only when the platform says the unit came back."""

from __future__ import annotations

import pytest

from stackknack_cli.channels.base import ReturnLine, SaleLine, SalesBatch
from stackknack_cli.errors import InputError
from stackknack_cli.store import Store, inventory, oversells
from stackknack_cli.store.inventory import ItemRecord

SKU = "DD1391-100-9"


def _setup(store: Store, available: int) -> None:
    inventory.set_quantities(store, [ItemRecord(SKU, available)], cause="t")
    with store.transaction() as conn:
        inventory.link_listing(conn, "shopify", SKU, "gid://1", quantity=available)
        inventory.link_listing(conn, "clover", SKU, "C1", quantity=available)


def _sale(quantity: int, line: str = "L1") -> SaleLine:
    return SaleLine("O1", line, quantity, sku=SKU, channel_ref="gid://1")


def _back(key: str, quantity: int = 1, **extra: object) -> ReturnLine:
    return ReturnLine(key, "O1", "L1", quantity, **extra)  # type: ignore[arg-type]


def _apply(store: Store, *lines: SaleLine | ReturnLine) -> list[str]:
    batch = SalesBatch(
        [x for x in lines if isinstance(x, SaleLine)],
        returns=[x for x in lines if isinstance(x, ReturnLine)],
    )
    _, outcomes = inventory.apply_batch(store, "shopify", batch)
    return [o.status for o in outcomes]


def _available(store: Store) -> int:
    return int(store.scalar("SELECT available FROM items WHERE sku = ?", (SKU,)))


def _journal(store: Store) -> list[tuple[int, str]]:
    rows = store.query(
        "SELECT delta, cause FROM journal WHERE sku = ? AND cause != 't' ORDER BY id",
        (SKU,),
    )
    return [(row["delta"], row["cause"]) for row in rows]


def test_return_delivered_twice_adds_back_once(store: Store) -> None:
    _setup(store, 5)
    _apply(store, _sale(2))

    first = _apply(store, _back("R1", cause="return"))
    again = _apply(store, _back("R1", cause="return"))

    assert (first, again) == (["restocked"], ["duplicate"])
    assert _available(store) == 4
    assert _journal(store) == [(-2, "sale"), (1, "return")]


def test_refund_without_restock_changes_nothing_but_is_recorded(store: Store) -> None:
    _setup(store, 5)
    _apply(store, _sale(1))

    assert _apply(store, _back("R1", cause="refund", restocked=False)) == [
        "not_restocked"
    ]
    assert _available(store) == 4
    assert _journal(store)[-1] == (0, "refund (not restocked)")


def test_cancelling_an_oversold_line_creates_no_stock(store: Store) -> None:
    _setup(store, 0)
    _apply(store, _sale(1))

    assert _apply(store, _back("C1", cause="cancel")) == ["capped"]
    assert _available(store) == 0
    assert _journal(store)[-1] == (0, "cancel (1 never taken: oversold)")


def test_partial_returns_of_a_short_line_add_back_only_what_it_took(
    store: Store,
) -> None:
    # Two wanted, one was there: the first unit returned is the one that never was.
    _setup(store, 1)
    _apply(store, _sale(2))

    statuses = _apply(store, _back("R1"), _back("R2"), _back("R3"))

    assert statuses == ["capped", "restocked", "capped"]
    assert _available(store) == 1


def test_refund_without_restock_uses_up_the_oversold_unit_first(store: Store) -> None:
    _setup(store, 1)
    _apply(store, _sale(2))

    statuses = _apply(store, _back("R1", restocked=False), _back("R2"))

    assert statuses == ["not_restocked", "restocked"]
    assert _available(store) == 1


def test_return_read_with_its_sales_first_reading_is_already_netted(
    store: Store,
) -> None:
    # Shopify's currentQuantity already leaves a refunded unit out of the sale.
    _setup(store, 5)

    assert _apply(store, _sale(1), _back("R1")) == ["before_sale"]
    assert _available(store) == 4
    assert _apply(store, _back("R1")) == ["duplicate"]
    assert _available(store) == 4


def test_unrestocked_refund_read_with_its_sales_first_reading_is_journalled(
    store: Store,
) -> None:
    # The sale line still holds the unit kept away: it is recorded after the sale.
    _setup(store, 5)

    assert _apply(store, _sale(1), _back("R1", restocked=False)) == ["not_restocked"]
    assert _available(store) == 4
    assert _journal(store) == [(-1, "sale"), (0, "return (not restocked)")]


def test_return_of_a_sale_never_recorded_adds_nothing(store: Store) -> None:
    _setup(store, 5)

    assert _apply(store, _back("C1", cause="cancel")) == ["no_sale"]
    assert _available(store) == 5


def test_restock_the_channel_made_itself_is_not_pushed_back_to_it(
    store: Store,
) -> None:
    _setup(store, 5)
    _apply(store, _sale(1))
    with store.transaction() as conn:  # Clover was pushed the sale: it holds 4
        conn.execute("UPDATE outbox SET status = 'done'")
        conn.execute(
            "UPDATE listings SET channel_quantity = 4 WHERE channel = 'clover'"
        )

    _apply(store, _back("R1", counted_by_channel=True))

    holds = dict(store.conn.execute("SELECT channel, channel_quantity FROM listings"))
    queued = store.query(
        "SELECT channel, target, cause FROM outbox WHERE status = 'pending'"
    )
    assert holds["shopify"] == 5
    assert [(q["channel"], q["target"]) for q in queued] == [("clover", 5)]
    assert queued[0]["cause"] == "return shopify O1/L1"


def _oversell(store: Store) -> tuple[str | None, str | None]:
    row = store.conn.execute(
        "SELECT acknowledged_at, resolution FROM oversells"
    ).fetchone()
    return row[0], row[1]


def test_return_of_the_missing_units_acknowledges_the_oversell(store: Store) -> None:
    # Three wanted, one there: two units never existed.
    _setup(store, 1)
    _apply(store, _sale(3))

    _apply(store, _back("R1", cause="cancel"))
    halfway = _oversell(store)
    _apply(store, _back("R2", cause="refund", restocked=False))

    assert halfway == (None, None)
    acknowledged_at, resolution = _oversell(store)
    assert acknowledged_at is not None
    assert resolution == "refund on shopify: O1/L1"
    assert _available(store) == 0  # neither gave back a unit that existed


def test_acknowledging_by_hand_keeps_a_note_and_refuses_unknown_ids(
    store: Store,
) -> None:
    _setup(store, 0)
    _apply(store, _sale(1))

    with pytest.raises(InputError, match="no oversell 9"):
        oversells.acknowledge(store, [1, 9])
    assert _oversell(store) == (None, None)  # nothing written
    assert oversells.acknowledge(store, [1, 1], "refunded by phone") == [1]
    assert oversells.acknowledge(store, [1]) == []
    assert _oversell(store)[1] == "refunded by phone"
    assert oversells.oversell_rows(store) == []
    assert len(oversells.oversell_rows(store, acknowledged=True)) == 1


def test_log_lines_say_what_a_capped_return_did_and_what_it_acknowledged() -> None:
    from stackknack_cli.engine.activity import return_lines

    done = {
        "sku": SKU, "cause": "cancel", "order_id": "O1", "line_id": "L1",
        "quantity": 2, "applied": 1, "status": "capped", "resolved": True,
    }  # fmt: skip

    assert return_lines("shopify", done) == [
        f"shopify: cancel of 2 x {SKU} (order O1): 1 added back, the rest was oversold",
        f"shopify: oversell of {SKU} (order O1) acknowledged: the cancel covers it",
    ]
