"""The live loop behind ``stackknack watch``.

Every channel is polled for sales on its own schedule, whether or not webhooks arrive:
polling is the safety net. A webhook only makes its channel's poll happen now. When a
poll applies a sale, every channel's outbox is drained in the same step instead of on
the next tick, and outbox work written by another process (an import, a cron ``sync``)
is picked up within a second.

The loop takes its clock and stop event from the caller. Setting the stop event lets
the step under way finish; whatever is interrupted harder is taken up again from the
database by the next run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from stackknack_cli.channels.base import Channel
from stackknack_cli.engine import activity, events
from stackknack_cli.engine.alerts import Alert, Alerts
from stackknack_cli.engine.sync import ChannelReport, drain, ingest_sales
from stackknack_cli.errors import CredentialError, StackknackError
from stackknack_cli.store import outbox
from stackknack_cli.store.db import Store, iso, open_store, utcnow

log = logging.getLogger(__name__)

DEFAULT_INTERVALS = {"shopify": 15.0, "clover": 15.0, "ebay": 60.0, "stockx": 120.0}
"""Seconds between polls: Shopify's GraphQL bucket and Clover's 16 requests/s allow
far more; eBay's and StockX's daily quotas (StockX: 25,000) do not."""
FALLBACK_INTERVAL = 60.0
POLL_SHARE = 0.25
"""At most this share of a channel's remaining daily budget goes to polling."""
MAX_BACKOFF = 300.0
IDLE_WAIT = 1.0
"""Longest sleep: how soon outbox work written by another process is noticed."""
SALES_REFRESH = 5.0
WORKER_JOIN_SECONDS = 30.0
"""How long stopping waits for a paced channel's call under way."""


@dataclass
class ChannelStatus:
    name: str
    interval: float
    next_poll: float = 0.0
    last_poll: datetime | None = None
    error: str | None = None
    failing_since: float | None = None
    failures: int = 0
    needs_consent: bool = False
    queued: int = 0
    deferred: str | None = None
    budget: Mapping[str, Any] | None = None
    sales: int = 0
    pushed: int = 0


@dataclass(frozen=True)
class Snapshot:
    """What the dashboard shows; a copy, safe to read from another thread."""

    channels: list[ChannelStatus]
    sales: list[activity.SaleTrail]
    oversells: list[dict[str, Any]]
    alerts: list[Alert]
    events: dict[str, int]
    now: float
    listener: str | None = None


def poll_interval(channel: Channel, override: float | None = None) -> float:
    """Return seconds between polls: the override, else the default for the platform,
    stretched so that polling uses at most a share of a daily budget the channel
    reports through ``budget()``."""
    if override:
        return override
    interval = DEFAULT_INTERVALS.get(channel.name, FALLBACK_INTERVAL)
    budget = _budget(channel)
    day_left = (budget or {}).get("day_left")
    if isinstance(day_left, int | float):
        now = datetime.now(UTC)
        midnight = (now + timedelta(days=1)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        seconds = (midnight - now).total_seconds()
        interval = max(interval, seconds / max(day_left * POLL_SHARE, 1.0))
    return interval


def _budget(channel: Channel) -> Mapping[str, Any] | None:
    method = getattr(channel, "budget", None)
    if method is None:
        return None
    try:
        value = method()
    except StackknackError:
        return None
    return value if isinstance(value, Mapping) else None


def _is_due(store: Store, channel: str) -> bool:
    return bool(
        store.scalar(
            "SELECT 1 FROM outbox WHERE channel = ? AND status = 'pending'"
            " AND next_attempt_at <= ? LIMIT 1",
            (channel, iso(utcnow())),
        )
    )


RECONCILE_EVERY = 3600.0


@dataclass
class Watcher:
    """Poll, apply and push for every channel until ``stop`` is set."""

    store: Store
    channels: Mapping[str, Channel]
    intervals: Mapping[str, float] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    wake: threading.Event = field(default_factory=threading.Event)
    clock: Callable[[], float] = time.monotonic
    alerts: Alerts | None = None
    on_line: Callable[[str], None] = lambda line: None
    on_status: Callable[[Snapshot], None] = lambda snapshot: None
    merchants: Mapping[str, str] = field(default_factory=dict)
    listener: str | None = None
    reconcile_every: float | None = RECONCILE_EVERY
    """Seconds between drift checks (``stackknack reconcile`` without --fix)."""

    def __post_init__(self) -> None:
        self.status = {
            name: ChannelStatus(name, poll_interval(ch, self.intervals.get(name)))
            for name, ch in self.channels.items()
        }
        self._requests: dict[str, datetime | None] = {}
        self._lock = threading.Lock()
        self._sales: list[activity.SaleTrail] = []
        self._sales_at: float | None = None
        # A channel with a request budget (StockX: one call a second) waits between
        # calls; it works in a thread of its own so that it never holds up the
        # others' sales and pushes.
        self._paced = {
            name
            for name, channel in self.channels.items()
            if callable(getattr(channel, "budget", None))
        }
        self._workers: dict[str, threading.Thread] = {}
        self._worker_stores: dict[str, Store] = {}
        self._next_reconcile = (
            None
            if self.reconcile_every is None
            else self.clock() + self.reconcile_every
        )

    def request_poll(self, channel: str, since: datetime | None = None) -> None:
        """Ask for ``channel``'s sales to be read now (safe from any thread)."""
        with self._lock:
            if channel in self._requests:
                known = self._requests[channel]
                since = None if known is None or since is None else min(known, since)
            self._requests[channel] = since
        self.wake.set()

    def run(self) -> None:
        """Run steps until ``stop`` is set; the step under way always finishes."""
        log.info("watch: started for %s", ", ".join(self.channels) or "no channels")
        while not self.stop.is_set():
            delay = self.step()
            self.wake.wait(min(max(delay, 0.0), IDLE_WAIT))
            self.wake.clear()
        self.close()
        log.info("watch: stopped")

    def step(self) -> float:
        """Do all work that is due now; return seconds until the next poll is due."""
        plan = events.plan_reads(
            self.store, set(self.channels), merchants=dict(self.merchants)
        )
        for name, since in plan.since.items():
            self.request_poll(name, since)
        with self._lock:
            requested, self._requests = self._requests, {}

        drain_all = False
        for name, channel in self.channels.items():
            if self.stop.is_set():
                break
            state = self.status[name]
            if name in self._paced:
                self._start_paced(name, requested)
                continue
            if name not in requested and self.clock() < state.next_poll:
                continue
            error = self._poll(channel, state, requested.get(name))
            if name in plan.event_ids:
                events.finish(self.store, plan.event_ids[name], error=error)
            drain_all = drain_all or state.sales > 0

        for name, channel in self.channels.items():
            if self.stop.is_set():
                break
            state = self.status[name]
            if name in self._paced:
                self._start_paced(name, {})
                continue
            if state.error is None and (drain_all or _is_due(self.store, name)):
                self._drain(channel, state)
        self._check_drift()
        self._publish()
        unpaced = [name for name in self.channels if name not in self._paced]
        if any(_is_due(self.store, name) for name in unpaced):
            return 0.0
        return min((s.next_poll for s in self.status.values()), default=IDLE_WAIT) - (
            self.clock()
        )

    def _check_drift(self) -> None:
        """Report listings that show another number than they should, now and then."""
        if self._next_reconcile is None or self.clock() < self._next_reconcile:
            return
        assert self.reconcile_every is not None
        self._next_reconcile = self.clock() + self.reconcile_every
        from stackknack_cli.engine.reconcile import reconcile

        # Paced channels are left out: reading all their listings would take their
        # whole budget for minutes.
        unpaced = {
            name: ch for name, ch in self.channels.items() if name not in self._paced
        }
        report = reconcile(self.store, unpaced)
        for drift in report.drifts:
            self.on_line(
                f"drift: {drift.channel} shows {drift.live} of {drift.sku}, "
                f"should show {drift.target}; run: stackknack reconcile --fix"
            )
        log.info(
            "watch: reconcile checked %d listings, %d drift",
            report.checked,
            len(report.drifts),
        )

    def _start_paced(self, name: str, requested: Mapping[str, datetime | None]) -> None:
        """Start the paced channel's poll and drain in its thread when due and idle."""
        worker = self._workers.get(name)
        if worker is not None and worker.is_alive():
            return
        state = self.status[name]
        poll = name in requested or self.clock() >= state.next_poll
        push = state.error is None and _is_due(self.store, name)
        if not (poll or push):
            return
        worker = threading.Thread(
            target=self._paced_work,
            args=(name, poll, requested.get(name)),
            name=f"watch-{name}",
            daemon=True,
        )
        self._workers[name] = worker
        worker.start()

    def _paced_work(self, name: str, poll: bool, since: datetime | None) -> None:
        channel, state = self.channels[name], self.status[name]
        try:
            store = self._worker_stores.get(name)
            if store is None:
                assert self.store.path is not None
                store = self._worker_stores[name] = open_store(self.store.path)
            if poll:
                self._poll(channel, state, since, store=store)
            if state.error is None and not self.stop.is_set():
                self._drain(channel, state, store=store)
        except Exception as exc:  # the thread must report, never die silently
            log.error("%s: unexpected failure: %r", name, exc)
            log.debug("%s: unexpected failure", name, exc_info=True)
            state.error = f"unexpected failure: {type(exc).__name__}: {exc}"
        finally:
            self.wake.set()

    def close(self) -> None:
        """Wait for the paced channels' work under way, then release their stores."""
        for worker in self._workers.values():
            worker.join(timeout=WORKER_JOIN_SECONDS)
        for store in self._worker_stores.values():
            store.close()
        self._worker_stores.clear()

    def _poll(
        self,
        channel: Channel,
        state: ChannelStatus,
        since: datetime | None,
        *,
        store: Store | None = None,
    ) -> str | None:
        report = ChannelReport()
        state.sales = 0
        try:
            ingest_sales(store or self.store, channel, report, since=since)
        except StackknackError as exc:
            self._failed(state, exc)
            return str(exc)
        finally:
            state.budget = _budget(channel)
        self._recovered(state)
        state.last_poll = utcnow()
        state.interval = poll_interval(channel, self.intervals.get(state.name))
        state.next_poll = self.clock() + state.interval
        state.sales = report.applied
        if report.applied:
            self._sales_at = None
            self.on_line(f"{state.name}: {report.applied} sale(s) applied")
        for oversell in report.oversells:
            self.on_line(
                f"{state.name}: OVERSELL of {oversell['sku']}, "
                f"{oversell['missing']} missing"
            )
        for done in report.journalled:
            for line in activity.return_lines(state.name, done):
                self.on_line(line)
        return None

    def _drain(
        self, channel: Channel, state: ChannelStatus, *, store: Store | None = None
    ) -> None:
        report = ChannelReport()
        try:
            drain(store or self.store, channel, report, purpose="watch")
        except StackknackError as exc:
            self._failed(state, exc)
            return
        state.deferred = report.deferred
        state.pushed += report.pushed
        if report.pushed:
            self._sales_at = None
            self.on_line(f"{state.name}: pushed {report.pushed} new count(s)")

    def _failed(self, state: ChannelStatus, exc: StackknackError) -> None:
        now = self.clock()
        state.failures += 1
        state.error = str(exc)
        state.needs_consent = isinstance(exc, CredentialError)
        if state.failing_since is None:
            state.failing_since = now
        state.next_poll = now + min(
            state.interval * 2 ** (state.failures - 1), MAX_BACKOFF
        )
        log.warning("%s: %s (failure %d)", state.name, exc, state.failures)
        self.on_line(f"{state.name}: ERROR {exc}")

    def _recovered(self, state: ChannelStatus) -> None:
        if state.error is not None:
            self.on_line(f"{state.name}: working again")
        state.error, state.failing_since, state.failures = None, None, 0
        state.needs_consent = False

    def _publish(self) -> None:
        now = self.clock()
        for state in self.status.values():
            state.queued = outbox.depth(self.store, state.name)
            if self.alerts is not None:
                self.alerts.check_channel(
                    state.name,
                    failing_for=None
                    if state.failing_since is None
                    else now - state.failing_since,
                    error=state.error,
                    consent=state.needs_consent,
                )
        if self.alerts is not None:
            for alert in self.alerts.check_store():
                self.on_line(f"ALERT {alert.message}")
        if self._sales_at is None or now - self._sales_at >= SALES_REFRESH:
            self._sales = activity.recent_sales(self.store)
            self._sales_at = now
        self.on_status(
            Snapshot(
                channels=[replace(s) for s in self.status.values()],
                sales=list(self._sales),
                oversells=activity.open_oversells(self.store),
                alerts=list(self.alerts.recent) if self.alerts else [],
                events=events.counts(self.store),
                now=now,
                listener=self.listener,
            )
        )
