"""Retrying HTTP calls shared by the adapters.

A call is retried with exponential backoff (through tenacity) on transport errors, 5xx
and 429. A ``Retry-After`` header, which may hold a decimal number of seconds, sets the
wait instead. Adapters raise ``RetryLater`` for throttling that arrives inside a 200
answer (Shopify's GraphQL ``THROTTLED`` error). Past the allowed attempts the call
raises ``ChannelUnavailableError``. The sleep function is the caller's, so tests never
sleep.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import httpx
import tenacity

from stackknack_cli.errors import ChannelUnavailableError

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
AMBIGUOUS = "stackknack.ambiguous"
"""Set in a response's ``extensions`` when an earlier attempt of the same call may
have been carried out by the platform without our seeing it (see ``was_ambiguous``)."""
MAX_WAIT_SECONDS = 60.0


class RetryLater(Exception):
    """A passing refusal; ``wait`` is the platform's advice in seconds, if any."""

    def __init__(
        self, message: str, wait: float | None = None, *, processed: bool = False
    ) -> None:
        super().__init__(message)
        self.wait = wait
        self.processed = processed
        """The platform may have carried the request out before failing it (a 5xx)."""


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Read ``Retry-After`` as seconds (decimals allowed); ``None`` if absent or odd."""
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        seconds = float(raw.strip())
    except ValueError:
        return None
    return max(0.0, min(seconds, MAX_WAIT_SECONDS))


def raise_for_retry(response: httpx.Response) -> httpx.Response:
    """Turn a 429 or 5xx answer into ``RetryLater``; return any other answer."""
    if response.status_code in RETRY_STATUSES:
        raise RetryLater(
            f"HTTP {response.status_code}",
            wait=retry_after_seconds(response),
            processed=response.status_code != 429,
        )
    return response


def _maybe_processed(error: BaseException | None) -> bool:
    """Tell whether a failed attempt may still have been carried out."""
    if isinstance(error, RetryLater):
        return error.processed
    # A connection never made carried nothing; a timeout or a dropped answer may have.
    unsent = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
    return isinstance(error, httpx.TransportError) and not isinstance(error, unsent)


def was_ambiguous(response: httpx.Response) -> bool:
    """Tell whether an earlier attempt of the call that answered ``response`` may
    have landed unseen: a refusal then may be about that write, already done."""
    return bool(response.extensions.get(AMBIGUOUS))


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


@dataclass
class RetryPolicy:
    attempts: int = 5
    base_wait: float = 0.5
    max_wait: float = 20.0
    # Looked up when a policy is made, so tests can replace the module's ``_sleep``.
    sleep: Callable[[float], None] = field(default_factory=lambda: _sleep)


def _wait(policy: RetryPolicy) -> Callable[[tenacity.RetryCallState], float]:
    backoff = tenacity.wait_exponential(
        multiplier=policy.base_wait, max=policy.max_wait
    )

    def wait(state: tenacity.RetryCallState) -> float:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, RetryLater) and error.wait is not None:
            return error.wait
        return float(backoff(state))

    return wait


def call_with_retry(channel: str, fn: Callable[[], T], policy: RetryPolicy) -> T:
    """Run ``fn``, retrying passing failures; then raise ChannelUnavailableError."""

    ambiguous = False

    def before_sleep(state: tenacity.RetryCallState) -> None:
        nonlocal ambiguous
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        ambiguous = ambiguous or _maybe_processed(error)
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("%s: %s; retrying in %.2fs", channel, error, wait)

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type((RetryLater, httpx.TransportError)),
        wait=_wait(policy),
        stop=tenacity.stop_after_attempt(policy.attempts),
        sleep=policy.sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        result = retrying(fn)
    except (RetryLater, httpx.TransportError) as exc:
        raise ChannelUnavailableError(
            f"{channel} did not answer usefully after {policy.attempts} attempts "
            f"({exc or type(exc).__name__})"
        ) from None
    if ambiguous and isinstance(result, httpx.Response):
        result.extensions[AMBIGUOUS] = True
    return result


class TokenSource(Protocol):
    def token(self) -> str: ...

    def renew(self, rejected: str) -> str | None: ...


def send_with_token(
    channel: str,
    tokens: TokenSource,
    attempt: Callable[[str], httpx.Response],
    policy: RetryPolicy,
) -> httpx.Response:
    """Make ``attempt`` with the current token, retried; after a 401, once more with
    a renewed token. Return the last answer (the caller judges a 401 or 403 left)."""
    token = tokens.token()
    response = call_with_retry(channel, lambda: attempt(token), policy)
    if response.status_code == 401:
        renewed = tokens.renew(token)
        if renewed is not None:
            log.info("%s: token refused; retrying with a renewed one", channel)
            response = call_with_retry(channel, lambda: attempt(renewed), policy)
    return response
