"""Keep StockX calls inside its limits: about one a second and 25,000 a day.

The day is counted locally and resets at 00:00 UTC, as StockX's does. Reads and writes
share it. A call past the day's allowance is not slept through (that could be hours):
it raises ``ChannelUnavailableError`` naming when the budget returns.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from stackknack_cli.errors import ChannelUnavailableError

DAY_SECONDS = 86_400
DAILY_LIMIT = 25_000
MIN_INTERVAL = 1.05
"""A little over StockX's one second, so jitter on the way cannot bunch two calls."""


class DailyPacer:
    """Space calls ``interval`` seconds apart and count them against a UTC day.

    TODO: share the count between processes: watch and cron sync can meet a 429.
    Each counts only its own calls; a 429 is retried, nothing is lost.

    ``clock`` gives Unix seconds (the day boundary needs wall time) and ``sleep``
    waits; both are injectable so tests never wait.
    """

    def __init__(
        self,
        *,
        daily_limit: int = DAILY_LIMIT,
        interval: float = MIN_INTERVAL,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        used_today: int = 0,
    ) -> None:
        self.daily_limit = daily_limit
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self._day = self._day_of(clock())
        self._used = used_today
        self._last: float | None = None
        self._lock = threading.Lock()

    @staticmethod
    def _day_of(moment: float) -> int:
        return int(moment // DAY_SECONDS)

    def _roll(self, now: float) -> None:
        day = self._day_of(now)
        if day != self._day:
            self._day, self._used = day, 0

    def wait(self) -> None:
        """Block until the next call may start, then count it.

        Raises ``ChannelUnavailableError`` when the day's allowance is used up.
        """
        with self._lock:
            now = self.clock()
            self._roll(now)
            if self._used >= self.daily_limit:
                raise ChannelUnavailableError(
                    f"stockx: the daily allowance of {self.daily_limit} requests is "
                    f"used up; it returns in {self._reset_in(now) / 3600:.1f} h "
                    f"(00:00 UTC)"
                )
            if self._last is not None and now < self._last + self.interval:
                self.sleep(self._last + self.interval - now)
                now = max(self.clock(), self._last + self.interval)
                self._roll(now)
            self._last = now
            self._used += 1

    def _reset_in(self, now: float) -> float:
        return (self._day_of(now) + 1) * DAY_SECONDS - now

    @property
    def used_today(self) -> int:
        with self._lock:
            self._roll(self.clock())
            return self._used

    def remaining(self) -> Mapping[str, Any]:
        """Return requests left today, the day's limit and seconds until 00:00 UTC."""
        with self._lock:
            now = self.clock()
            self._roll(now)
            return {
                "day_left": max(self.daily_limit - self._used, 0),
                "day_limit": self.daily_limit,
                "day_used": self._used,
                "reset_in": round(self._reset_in(now), 1),
                "interval": self.interval,
            }
