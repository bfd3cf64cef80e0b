"""Failures a simulator can inject: failing, dropped or slow answers, and going down.

A ``FaultPlan`` is consulted once per platform request; it is shared state, so every
method takes its lock. Randomness comes from the caller's seeded ``random.Random``.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Fault:
    """One request's fate: answer ``status``, drop it, or first wait ``delay``."""

    status: int | None = None
    drop: bool = False
    delay: float = 0.0


class FaultPlan:
    """Queued one-shot faults, a failure probability, and a down switch."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.down = False
        self.fail_rate = 0.0
        self.fail_rate_status = 503
        self._queue: deque[Fault] = deque()
        self._lock = threading.Lock()

    def fail_next(self, count: int = 1, *, status: int = 503) -> None:
        with self._lock:
            self._queue.extend(Fault(status=status) for _ in range(count))

    def drop_next(self, count: int = 1) -> None:
        with self._lock:
            self._queue.extend(Fault(drop=True) for _ in range(count))

    def delay_next(self, count: int = 1, *, seconds: float = 1.0) -> None:
        with self._lock:
            self._queue.extend(Fault(delay=seconds) for _ in range(count))

    def set_fail_rate(self, rate: float, *, status: int = 503) -> None:
        with self._lock:
            self.fail_rate = max(0.0, min(rate, 1.0))
            self.fail_rate_status = status

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self.fail_rate = 0.0
            self.down = False

    def configure(self, spec: dict[str, Any]) -> None:
        """Apply a ``/_sandbox/faults`` body (keys as the method names above)."""
        if spec.get("clear"):
            self.clear()
        status = int(spec.get("status", 503))
        if spec.get("fail_next"):
            self.fail_next(int(spec["fail_next"]), status=status)
        if spec.get("drop_next"):
            self.drop_next(int(spec["drop_next"]))
        if spec.get("delay_next"):
            seconds = float(spec.get("delay", 1.0))
            self.delay_next(int(spec["delay_next"]), seconds=seconds)
        if "fail_rate" in spec:
            self.set_fail_rate(float(spec["fail_rate"]), status=status)
        if "down" in spec:
            with self._lock:
                self.down = bool(spec["down"])

    def next(self) -> Fault | None:
        """Take the fault for this request, if any."""
        with self._lock:
            if self.down:
                return Fault(status=503)
            if self._queue:
                return self._queue.popleft()
            if self.fail_rate and self.rng.random() < self.fail_rate:
                return Fault(status=self.fail_rate_status)
            return None

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "down": self.down,
                "queued": len(self._queue),
                "fail_rate": self.fail_rate,
            }
