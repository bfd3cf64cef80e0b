"""Daily budgets counted in the database: shared by processes, reset at 00:00 UTC."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stackknack_cli.channels.ebay_writes import RevisionLedger
from stackknack_cli.channels.stockx_pacer import DailyPacer
from stackknack_cli.errors import ChannelUnavailableError
from stackknack_cli.store import Store, open_store
from stackknack_cli.store.usage import MemoryUsage, SharedUsage, shared_usage, utc_day

NOON = datetime(2025, 3, 1, 12, 0, tzinfo=UTC).timestamp()
MIDNIGHT = datetime(2025, 3, 2, tzinfo=UTC).timestamp()


class Clock:
    """Wall time that moves only when a test says so; sleeps are recorded."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.fixture
def db_path(store: Store) -> Path:
    assert store.path is not None
    return store.path


@pytest.fixture
def counters(db_path: Path) -> Iterator[tuple[SharedUsage, SharedUsage]]:
    """Two counters on one file, each with its own connection, as two processes."""
    first, second = SharedUsage(db_path), SharedUsage(db_path)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def pacers(
    counters: tuple[SharedUsage, SharedUsage], clock: Clock, *, limit: int = 25_000
) -> tuple[DailyPacer, DailyPacer]:
    first, second = (
        DailyPacer(daily_limit=limit, clock=clock, sleep=clock.sleep, usage=usage)
        for usage in counters
    )
    return first, second


def test_two_processes_count_one_stockx_day_and_stop_together(
    counters: tuple[SharedUsage, SharedUsage],
) -> None:
    clock = Clock(NOON)
    watch, cron = pacers(counters, clock, limit=3)

    watch.wait()
    watch.wait()
    cron.wait()

    assert watch.used_today == cron.used_today == 3
    assert cron.remaining()["day_left"] == 0
    for pacer in (watch, cron):
        with pytest.raises(ChannelUnavailableError, match="daily allowance of 3"):
            pacer.wait()
    assert watch.remaining()["day_used"] == 3


def test_a_call_booked_by_one_process_spaces_the_next_call_of_another(
    counters: tuple[SharedUsage, SharedUsage],
) -> None:
    clock = Clock(NOON)
    watch, cron = pacers(counters, clock)

    watch.wait()
    cron.wait()
    watch.wait()

    # All three asked at the same instant: each waits for its own slot.
    assert clock.slept == [pytest.approx(1.05), pytest.approx(2.1)]


def test_calls_that_race_from_threads_of_two_processes_get_distinct_slots(
    counters: tuple[SharedUsage, SharedUsage],
) -> None:
    clock = Clock(NOON)
    watch, cron = pacers(counters, clock)
    waits: list[float] = []
    lock = threading.Lock()

    def record(seconds: float) -> None:
        with lock:
            waits.append(seconds)

    watch.sleep = cron.sleep = record
    threads = [threading.Thread(target=pacer.wait) for pacer in (watch, cron) * 10]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert watch.used_today == 20
    slots = sorted([0.0, *waits])
    assert len(slots) == 20
    gaps = [b - a for a, b in zip(slots, slots[1:], strict=False)]
    assert gaps == [pytest.approx(1.05)] * 19


def test_the_stockx_day_rolls_over_at_midnight_utc_and_spacing_holds_across_it(
    counters: tuple[SharedUsage, SharedUsage],
) -> None:
    clock = Clock(MIDNIGHT - 0.5)
    watch, cron = pacers(counters, clock, limit=1)

    watch.wait()
    clock.now = MIDNIGHT - 0.1
    cron.wait()  # the last call was 0.4 s ago: it waits, and lands on the new day

    assert clock.slept == [pytest.approx(0.65)]
    clock.now = MIDNIGHT + 1
    assert cron.remaining()["day_used"] == 1
    assert cron.remaining()["reset_in"] == pytest.approx(86_399, abs=0.1)
    with pytest.raises(ChannelUnavailableError, match="returns in 24.0 h"):
        watch.wait()


def test_revision_cap_holds_across_two_runs_on_one_database(
    counters: tuple[SharedUsage, SharedUsage],
) -> None:
    clock = Clock(NOON)
    first_run = RevisionLedger(2, clock=clock, usage=counters[0])
    first_run.count(["L1"])
    first_run.count(["L1", "L2"])

    # The next cron run builds its ledger afresh: only the database remembers.
    second_run = RevisionLedger(2, clock=clock, usage=counters[1])

    assert second_run.used("L1") == 2
    assert second_run.full(["L1", "L2", "L3"]) == ["L1"]
    clock.now = MIDNIGHT
    assert second_run.full(["L1", "L2"]) == []


def test_old_days_are_dropped_when_a_new_day_is_counted(
    counters: tuple[SharedUsage, SharedUsage], store: Store
) -> None:
    first, second = counters
    first.add("ebay", ["L1"], day="2025-02-27")
    first.add("ebay", ["L1"], day="2025-02-28")
    second.add("ebay", ["L1"], day="2025-03-01")

    days = store.query("SELECT day FROM daily_usage WHERE channel = 'ebay'")
    assert sorted(row["day"] for row in days) == ["2025-02-28", "2025-03-01"]


def test_a_locked_database_refuses_the_call_instead_of_making_it(
    db_path: Path,
) -> None:
    usage = SharedUsage(db_path)
    usage.add("stockx", [""], day=utc_day(NOON))  # opens its connection
    assert usage._store is not None
    usage._store.conn.execute("PRAGMA busy_timeout = 50")
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    pacer = DailyPacer(clock=Clock(NOON), sleep=lambda s: None, usage=usage)
    try:
        with pytest.raises(ChannelUnavailableError, match="cannot keep the daily"):
            pacer.wait()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        usage.close()
    again = open_store(db_path)
    try:
        assert again.scalar("SELECT count FROM daily_usage") == 1
    finally:
        again.close()


def test_memory_usage_keeps_its_counts_to_itself() -> None:
    clock = Clock(NOON)
    one = DailyPacer(daily_limit=1, clock=clock, sleep=clock.sleep)
    other = DailyPacer(daily_limit=1, clock=clock, sleep=clock.sleep)

    one.wait()
    other.wait()

    assert isinstance(one.usage, MemoryUsage)
    assert one.used_today == other.used_today == 1
    assert clock.slept == []


def test_a_database_in_memory_gets_no_shared_counter(tmp_path: Path) -> None:
    memory = open_store(":memory:")
    on_file = open_store(tmp_path / "f.db")
    try:
        assert shared_usage(memory) is None
        counter = shared_usage(on_file)
        assert isinstance(counter, SharedUsage)
        assert counter.path == tmp_path / "f.db"
    finally:
        memory.close()
        on_file.close()


def test_a_booking_made_by_a_clock_set_back_hours_does_not_hold_calls(
    counters: tuple[SharedUsage, SharedUsage],
) -> None:
    wrong = Clock(NOON + 3 * 3600)
    right = Clock(NOON)
    ahead = DailyPacer(clock=wrong, sleep=wrong.sleep, usage=counters[0])
    behind = DailyPacer(clock=right, sleep=right.sleep, usage=counters[1])

    ahead.wait()
    behind.wait()
    behind.wait()

    assert right.slept == [pytest.approx(1.05)]
