"""The shared retrying call: which earlier failures may hide a landed write."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from stackknack_cli.channels.http import (
    RetryPolicy,
    call_with_retry,
    raise_for_retry,
    was_ambiguous,
)


def _answers(*steps: int | Exception) -> Callable[[], httpx.Response]:
    pending = list(steps)

    def attempt() -> httpx.Response:
        step = pending.pop(0)
        if isinstance(step, Exception):
            raise step
        return raise_for_retry(httpx.Response(step))

    return attempt


@pytest.mark.parametrize(
    ("first", "ambiguous"),
    [
        (httpx.ReadTimeout("timed out"), True),
        (httpx.RemoteProtocolError("dropped"), True),
        (502, True),
        (429, False),
        (httpx.ConnectError("refused"), False),
    ],
)
def test_refusal_after_a_failure_that_may_have_landed_is_marked(
    first: int | Exception, ambiguous: bool
) -> None:
    policy = RetryPolicy(attempts=3, sleep=lambda seconds: None)

    response = call_with_retry("stockx", _answers(first, 409), policy)

    assert response.status_code == 409
    assert was_ambiguous(response) is ambiguous


def test_first_answer_is_never_ambiguous() -> None:
    policy = RetryPolicy(attempts=3, sleep=lambda seconds: None)

    response = call_with_retry("stockx", _answers(200), policy)

    assert not was_ambiguous(response)
