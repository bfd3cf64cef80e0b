"""Alerts: oversells, channels failing too long or needing re-consent, dead pushes.

Each alert is raised once. What was already announced is remembered in the database
(``cursors`` rows of the pseudo-channel ``alerts``), so a restart does not repeat old
news. Alerts go to the dashboard and, through apprise, to every notification URL the
user configured; sending happens on a background thread so that a slow chat service
never holds up the loop.
"""

from __future__ import annotations

import logging
import queue
import threading
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stackknack_cli.store.db import Store, iso, utcnow

log = logging.getLogger(__name__)

FAILING_AFTER_SECONDS = 300.0
KEEP = 20


@dataclass(frozen=True)
class Alert:
    kind: str
    """``oversell``, ``failing``, ``recovered``, ``reconsent`` or ``dead``."""
    channel: str | None
    message: str
    at: datetime = field(default_factory=utcnow)

    @property
    def title(self) -> str:
        return f"stackknack: {self.kind}" + (
            f" on {self.channel}" if self.channel else ""
        )


def _import_apprise() -> Any:
    import apprise

    return apprise


class AppriseSender:
    """Send alerts to apprise URLs (Discord, Slack, ntfy, mailto, json://...)."""

    def __init__(self, urls: Sequence[str]) -> None:
        apprise = _import_apprise()
        self._apprise = apprise.Apprise()
        for url in urls:
            # apprise loads its plugins here, one of which imports the standard
            # library's imghdr (deprecated since Python 3.11).
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                added = self._apprise.add(url)
            if not added:
                # The URL may hold a token: name only its scheme.
                scheme = url.split(":", 1)[0]
                log.warning("alerts: cannot use a %s:// notification URL", scheme)

    def __call__(self, alert: Alert) -> None:
        apprise = _import_apprise()
        kind = (
            apprise.NotifyType.SUCCESS
            if alert.kind == "recovered"
            else apprise.NotifyType.FAILURE
        )
        if not self._apprise.notify(
            body=alert.message, title=alert.title, notify_type=kind
        ):
            log.warning("alerts: %s alert not delivered everywhere", alert.kind)


class Alerts:
    """Decide what deserves an alert, remember what was announced, and fan it out."""

    def __init__(
        self,
        store: Store,
        senders: Sequence[Callable[[Alert], None]] = (),
        *,
        failing_after: float = FAILING_AFTER_SECONDS,
    ) -> None:
        self.store = store
        self.failing_after = failing_after
        self.recent: deque[Alert] = deque(maxlen=KEEP)
        self._senders = list(senders)
        self._failing: set[str] = set()
        self._consent: set[str] = set()
        self._queue: queue.Queue[Alert | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        if self._senders:
            self._worker = threading.Thread(
                target=self._send_all, name="alerts", daemon=True
            )
            self._worker.start()

    def raise_alert(self, alert: Alert) -> None:
        log.warning("alerts: %s", alert.message)
        self.recent.appendleft(alert)
        if self._worker is not None:
            self._queue.put(alert)

    def check_store(self) -> list[Alert]:
        """Raise alerts for oversells and dead pushes not announced yet."""
        found: list[Alert] = []
        last = int(self._mark("oversells") or 0)
        rows = self.store.conn.execute(
            "SELECT id, sku, channel, wanted, missing FROM oversells"
            " WHERE id > ? AND acknowledged_at IS NULL ORDER BY id",
            (last,),
        ).fetchall()
        for oversell_id, sku, channel, wanted, missing in rows:
            found.append(
                Alert(
                    "oversell",
                    channel,
                    f"OVERSELL of {sku} on {channel}: {wanted} sold, {missing} "
                    "not in stock; run: stackknack oversells",
                )
            )
            last = oversell_id
        self._set_mark("oversells", str(last))

        since = self._mark("dead") or ""
        dead = self.store.conn.execute(
            "SELECT o.channel, l.sku, o.last_error, o.updated_at FROM outbox o"
            " JOIN listings l ON l.id = o.listing_id"
            " WHERE o.status = 'dead' AND o.updated_at > ? ORDER BY o.updated_at",
            (since,),
        ).fetchall()
        for channel, sku, reason, updated_at in dead:
            found.append(
                Alert(
                    "dead",
                    channel,
                    f"{channel} refused the push of {sku} for good: {reason}; "
                    "run: stackknack outbox",
                )
            )
            since = max(since, updated_at)
        self._set_mark("dead", since)
        for alert in found:
            self.raise_alert(alert)
        return found

    def check_channel(
        self,
        channel: str,
        *,
        failing_for: float | None,
        error: str | None,
        consent: bool,
    ) -> list[Alert]:
        """Raise alerts for a channel down longer than the threshold, back up, or
        refusing its credentials."""
        found: list[Alert] = []
        if consent and channel not in self._consent:
            self._consent.add(channel)
            found.append(
                Alert(
                    "reconsent",
                    channel,
                    f"{channel} refused its credentials: {error}; "
                    f"run: stackknack connect {channel}",
                )
            )
        if not consent:
            self._consent.discard(channel)
        too_long = failing_for is not None and failing_for >= self.failing_after
        if too_long and channel not in self._failing:
            self._failing.add(channel)
            minutes = max((failing_for or 0) / 60, 1)
            found.append(
                Alert(
                    "failing",
                    channel,
                    f"{channel} has been failing for {minutes:.0f} min: {error}",
                )
            )
        if failing_for is None and channel in self._failing:
            self._failing.discard(channel)
            found.append(Alert("recovered", channel, f"{channel} works again"))
        for alert in found:
            self.raise_alert(alert)
        return found

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (waiting at most ``timeout`` seconds), then stop."""
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join(timeout)

    def _send_all(self) -> None:
        while (alert := self._queue.get()) is not None:
            for send in self._senders:
                try:
                    send(alert)
                except Exception:
                    log.exception("alerts: sending a %s alert failed", alert.kind)

    def _mark(self, name: str) -> str | None:
        value = self.store.scalar(
            "SELECT value FROM cursors WHERE channel = 'alerts' AND name = ?", (name,)
        )
        return None if value is None else str(value)

    def _set_mark(self, name: str, value: str) -> None:
        if self._mark(name) == value:
            return
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO cursors (channel, name, value, updated_at)"
                " VALUES ('alerts', ?, ?, ?) ON CONFLICT (channel, name) DO UPDATE"
                " SET value = excluded.value, updated_at = excluded.updated_at",
                (name, value, iso(utcnow())),
            )
