"""Keep StockX calls inside its limits: about one a second and 25,000 a day.

The day resets at 00:00 UTC, as StockX's does. Reads and writes share it. Given the
database's counter (``store.usage.SharedUsage``), every process on that database
(``watch`` and a cron ``sync``) counts one day and spaces its calls after the others';
without one, the process counts and spaces only its own. A call past the day's
allowance is not slept through (that could be hours): it raises
``ChannelUnavailableError`` naming when the budget returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from stackknack_cli.errors import ChannelUnavailableError
from stackknack_cli.store.usage import ACCOUNT, DailyUsage, MemoryUsage, utc_day

DAY_SECONDS = 86_400
DAILY_LIMIT = 25_000
MIN_INTERVAL = 1.05
"""A little over StockX's one second, so jitter on the way cannot bunch two calls."""
CHANNEL = "stockx"


class DailyPacer:
    """Space calls ``interval`` seconds apart and count them against a UTC day.

    ``usage`` holds the count and the time of the last call; the default keeps them
    in this process. ``clock`` gives Unix seconds (the day boundary needs wall time)
    and ``sleep`` waits; both are injectable so tests never wait.
    """

    def __init__(
        self,
        *,
        daily_limit: int = DAILY_LIMIT,
        interval: float = MIN_INTERVAL,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        usage: DailyUsage | None = None,
    ) -> None:
        self.daily_limit = daily_limit
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self.usage: DailyUsage = usage or MemoryUsage()

    def wait(self) -> None:
        """Book the next call, sleep until it may start, and return.

        The booking counts the call at once, in the database when one is shared;
        the sleep happens outside any transaction. Raises ``ChannelUnavailableError``
        when the day's allowance is used up.
        """
        now = self.clock()
        slot = self.usage.take_slot(
            CHANNEL, now, interval=self.interval, limit=self.daily_limit
        )
        if slot is None:
            raise ChannelUnavailableError(
                f"stockx: the daily allowance of {self.daily_limit} requests is "
                f"used up; it returns in {_reset_in(now) / 3600:.1f} h (00:00 UTC)"
            )
        if slot > now:
            self.sleep(slot - now)

    def _used(self, now: float) -> int:
        return self.usage.used(CHANNEL, [ACCOUNT], day=utc_day(now))[ACCOUNT]

    @property
    def used_today(self) -> int:
        return self._used(self.clock())

    def remaining(self) -> Mapping[str, Any]:
        """Return requests left today, the day's limit and seconds until 00:00 UTC."""
        now = self.clock()
        used = self._used(now)
        return {
            "day_left": max(self.daily_limit - used, 0),
            "day_limit": self.daily_limit,
            "day_used": used,
            "reset_in": round(_reset_in(now), 1),
            "interval": self.interval,
        }


def _reset_in(now: float) -> float:
    """Return seconds from ``now`` to the next 00:00 UTC."""
    return (now // DAY_SECONDS + 1) * DAY_SECONDS - now
