"""Scripted failures for a simulator: error statuses, dropped connections, delays.

Nothing here knows about Shopify; the simulator asks ``take()`` once per platform
request and acts on the fault it gets back.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from stackknack_cli.sandbox.server import Response

STATUSES = (429, 500, 502, 503, 504)

_BODIES = {
    429: b'{"errors":"Too Many Requests"}',
    500: b'{"errors":"Internal Server Error"}',
    502: b"<html><body><h1>502 Bad Gateway</h1></body></html>",
    503: b'{"errors":"Service Unavailable"}',
    504: b"<html><body><h1>504 Gateway Time-out</h1></body></html>",
}


@dataclass(frozen=True)
class Fault:
    kind: str
    """``status`` (answer with an error), ``drop`` (close the socket) or ``delay``."""
    status: int = 503
    retry_after: float | None = None
    seconds: float = 0.0

    def response(self) -> Response:
        """Return what the client sees for a ``status`` or ``drop`` fault."""
        if self.kind == "drop":
            return Response(drop=True)
        body = _BODIES.get(self.status, b'{"errors":"Error"}')
        kind = "text/html" if body.startswith(b"<") else "application/json"
        headers = {"Content-Type": kind}
        if self.retry_after is not None:
            headers["Retry-After"] = str(float(self.retry_after))
        return Response(self.status, body, headers)


class FaultPlan:
    """Failures queued for the next requests, a random failure rate, or an outage."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._lock = threading.Lock()
        self._queue: deque[Fault] = deque()
        self._random: tuple[float, Fault] | None = None
        self._down: Fault | None = None

    def fail_next(
        self, count: int = 1, *, status: int = 503, retry_after: float | None = None
    ) -> None:
        """Answer the next ``count`` requests with ``status`` (and Retry-After)."""
        _check_status(status)
        self._push(count, Fault("status", status, retry_after))

    def drop_next(self, count: int = 1) -> None:
        """Close the connection without answering on the next ``count`` requests."""
        self._push(count, Fault("drop"))

    def delay_next(self, count: int = 1, *, seconds: float) -> None:
        """Hold the next ``count`` requests ``seconds`` (through the injected sleep)."""
        self._push(count, Fault("delay", seconds=seconds))

    def fail_randomly(
        self,
        probability: float,
        *,
        status: int = 503,
        retry_after: float | None = None,
        drop: bool = False,
    ) -> None:
        """Fail each request with ``probability``, drawn from the seeded RNG."""
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        _check_status(status)
        fault = Fault("drop") if drop else Fault("status", status, retry_after)
        with self._lock:
            self._random = (probability, fault) if probability else None

    def set_down(self, down: bool = True, *, status: int = 503) -> None:
        """Fail every request with ``status`` until called again with False."""
        _check_status(status)
        with self._lock:
            self._down = Fault("status", status) if down else None

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._random = None
            self._down = None

    @property
    def is_down(self) -> bool:
        return self._down is not None

    def take(self) -> Fault | None:
        """Return the fault for the request now arriving, if any."""
        with self._lock:
            if self._down is not None:
                return self._down
            if self._queue:
                return self._queue.popleft()
            if self._random is not None and self._rng.random() < self._random[0]:
                return self._random[1]
        return None

    def configure(self, spec: dict[str, Any]) -> None:
        """Apply a control-route body, e.g. ``{"mode": "fail", "count": 2}``."""
        mode = spec.get("mode")
        count = int(spec.get("count", 1))
        status = int(spec.get("status", 503))
        retry_after = spec.get("retry_after")
        if mode == "fail":
            self.fail_next(count, status=status, retry_after=retry_after)
        elif mode == "drop":
            self.drop_next(count)
        elif mode == "delay":
            self.delay_next(count, seconds=float(spec["seconds"]))
        elif mode == "random":
            self.fail_randomly(
                float(spec["probability"]),
                status=status,
                retry_after=retry_after,
                drop=bool(spec.get("drop", False)),
            )
        elif mode == "down":
            self.set_down(bool(spec.get("on", True)), status=status)
        elif mode == "clear":
            self.clear()
        else:
            raise ValueError(
                "mode must be one of fail, drop, delay, random, down, clear"
            )

    def _push(self, count: int, fault: Fault) -> None:
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._queue.extend([fault] * count)


def _check_status(status: int) -> None:
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(map(str, STATUSES))}")
