"""Count calls against a platform's daily allowance, per UTC day.

A count is kept per channel and key (an eBay listing id; ``""`` for an account-wide
budget such as StockX's) and per UTC date. ``MemoryUsage`` keeps it for one process
(unit tests, simulators); ``SharedUsage`` keeps it in the ``daily_usage`` table, so
that ``watch`` and a cron ``sync`` on one database draw on the same allowance and
space their calls as one.

``take_slot`` books the next call of an account-wide budget: it is counted, and its
start time is returned, at least ``interval`` seconds after the call booked before it
by any process. The caller sleeps until then, outside any transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from stackknack_cli.errors import ChannelUnavailableError
from stackknack_cli.store.db import Store, open_store

ACCOUNT = ""
"""The key of a budget that covers the whole account."""
MAX_AHEAD = 300.0
"""Seconds ahead of now past which a booked call is ignored: only a clock that was set
back (or a wrong one in another process) books that far, and nobody should wait it."""


def utc_day(moment: float) -> str:
    """Return the UTC date of a Unix time as ``YYYY-MM-DD``."""
    return datetime.fromtimestamp(moment, tz=UTC).date().isoformat()


def next_slot(last: float | None, now: float, interval: float) -> float:
    """Return when a call asked for at ``now`` may start, the last one booked at
    ``last``."""
    if last is None or last - now > MAX_AHEAD:
        return now
    return max(now, last + interval)


def _day_before(day: str) -> str:
    return (datetime.fromisoformat(day) - timedelta(days=1)).date().isoformat()


class DailyUsage(Protocol):
    """Where the day's counts live; every method is safe from any thread."""

    def take_slot(
        self, channel: str, now: float, *, interval: float, limit: int
    ) -> float | None:
        """Count one account-wide call and return when it may start (Unix seconds);
        ``None``, counting nothing, when its day has used up ``limit``."""
        ...

    def used(self, channel: str, keys: Iterable[str], *, day: str) -> dict[str, int]:
        """Return the count of each key on ``day``."""
        ...

    def add(self, channel: str, keys: Iterable[str], *, day: str) -> None:
        """Count one more for each key on ``day``."""
        ...


class MemoryUsage:
    """Counts held by this process only, for yesterday and today."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, str], int] = {}
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def take_slot(
        self, channel: str, now: float, *, interval: float, limit: int
    ) -> float | None:
        with self._lock:
            last = self._last.get(channel)
            slot = next_slot(last, now, interval)
            key = (channel, ACCOUNT, utc_day(slot))
            if self._counts.get(key, 0) >= limit:
                return None
            self._bump(key)
            self._last[channel] = slot
            return slot

    def used(self, channel: str, keys: Iterable[str], *, day: str) -> dict[str, int]:
        with self._lock:
            return {key: self._counts.get((channel, key, day), 0) for key in keys}

    def add(self, channel: str, keys: Iterable[str], *, day: str) -> None:
        with self._lock:
            for key in keys:
                self._bump((channel, key, day))

    def _bump(self, key: tuple[str, str, str]) -> None:
        if key not in self._counts:
            # A long-running process would otherwise keep every day it has seen.
            oldest = _day_before(key[2])
            for old in [k for k in self._counts if k[2] < oldest]:
                del self._counts[old]
        self._counts[key] = self._counts.get(key, 0) + 1


class SharedUsage:
    """Counts in the database at ``path``, shared by every process that opens it.

    The counter works on a connection of its own, opened at first use and used by
    one thread at a time, so a paced channel's thread never shares the caller's
    connection. Each change is one ``BEGIN IMMEDIATE`` transaction. A database that
    cannot be reached raises ``ChannelUnavailableError``: the call is not made, and
    the work waits in the outbox.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._store: Store | None = None
        self._closed = False
        self._pruned: dict[str, str] = {}
        self._lock = threading.Lock()

    @contextmanager
    def _opened(self, channel: str) -> Iterator[Store]:
        with self._lock:
            if self._closed:
                raise ChannelUnavailableError(
                    f"{channel}: the daily count in {self.path} is closed"
                )
            try:
                if self._store is None:
                    self._store = open_store(self.path)
                yield self._store
            except sqlite3.Error as exc:
                raise ChannelUnavailableError(
                    f"{channel}: cannot keep the daily count in {self.path}: {exc}"
                ) from None

    def take_slot(
        self, channel: str, now: float, *, interval: float, limit: int
    ) -> float | None:
        with self._opened(channel) as store, store.transaction() as conn:
            # A booking too far ahead would hold every later call back: forget it.
            conn.execute(
                "UPDATE daily_usage SET last_call_at = NULL"
                " WHERE channel = ? AND key = ? AND last_call_at > ?",
                (channel, ACCOUNT, now + MAX_AHEAD),
            )
            row = conn.execute(
                "SELECT max(last_call_at) FROM daily_usage"
                " WHERE channel = ? AND key = ?",
                (channel, ACCOUNT),
            ).fetchone()
            last = row[0] if row is not None else None
            slot = next_slot(None if last is None else float(last), now, interval)
            day = utc_day(slot)
            count = conn.execute(
                "SELECT count FROM daily_usage"
                " WHERE channel = ? AND key = ? AND day = ?",
                (channel, ACCOUNT, day),
            ).fetchone()
            if count is not None and count[0] >= limit:
                return None
            conn.execute(
                "INSERT INTO daily_usage (channel, key, day, count, last_call_at)"
                " VALUES (?, ?, ?, 1, ?) ON CONFLICT (channel, key, day) DO UPDATE"
                " SET count = count + 1, last_call_at = excluded.last_call_at",
                (channel, ACCOUNT, day, slot),
            )
            self._prune(conn, channel, day)
            return slot

    def used(self, channel: str, keys: Iterable[str], *, day: str) -> dict[str, int]:
        wanted = list(keys)
        found = dict.fromkeys(wanted, 0)
        with self._opened(channel) as store:
            # One query per key keeps clear of SQLite's limit on bound parameters.
            for key in wanted:
                count = store.scalar(
                    "SELECT count FROM daily_usage"
                    " WHERE channel = ? AND key = ? AND day = ?",
                    (channel, key, day),
                )
                found[key] = int(count or 0)
        return found

    def add(self, channel: str, keys: Iterable[str], *, day: str) -> None:
        rows = [(channel, key, day) for key in keys]
        if not rows:
            return
        with self._opened(channel) as store, store.transaction() as conn:
            conn.executemany(
                "INSERT INTO daily_usage (channel, key, day, count) VALUES (?, ?, ?, 1)"
                " ON CONFLICT (channel, key, day) DO UPDATE SET count = count + 1",
                rows,
            )
            self._prune(conn, channel, day)

    def _prune(self, conn: sqlite3.Connection, channel: str, day: str) -> None:
        """Drop the channel's days before yesterday, once a day per counter."""
        if self._pruned.get(channel, "") >= day:
            return
        conn.execute(
            "DELETE FROM daily_usage WHERE channel = ? AND day < ?",
            (channel, _day_before(day)),
        )
        self._pruned[channel] = day

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._store is not None:
                self._store.close()
                self._store = None


def shared_usage(store: Store) -> SharedUsage | None:
    """Return a counter shared through ``store``'s file; ``None`` for a database in
    memory, which no other process can open."""
    if store.path is None or str(store.path) == ":memory:":
        return None
    return SharedUsage(store.path)
