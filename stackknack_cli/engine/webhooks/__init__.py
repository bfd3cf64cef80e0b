"""Webhook verification: one verifier per platform, each working on the raw request.

A verifier never writes anything. It answers what the listener should reply and, for a
request whose signature holds, what to store: its event id (for deduplication), its
topic, and whether its body could be read at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

SECRET_FIELDS = {
    "shopify": "webhook_secret",
    "clover": "webhook_auth",
    "ebay": "verification_token",
}
"""The credentials field that holds each platform's webhook secret."""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    """Header names in lower case."""
    body: bytes = b""

    def header(self, *names: str) -> str | None:
        """Return the first of ``names`` that was sent (names in any case)."""
        for name in names:
            value = self.headers.get(name.lower())
            if value is not None:
                return value
        return None


@dataclass(frozen=True)
class Verdict:
    """What to answer, and what to keep of a verified request."""

    status: int
    accepted: bool = False
    event_id: str | None = None
    topic: str | None = None
    malformed: str | None = None
    """Why a verified body cannot be used; the event is kept for inspection."""
    reply: Mapping[str, Any] | None = None
    notice: str | None = None
    """Something the user must see (Clover's one-time verification code)."""
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def refused(cls, status: int = 401) -> Verdict:
        return cls(status)


class Verifier(Protocol):
    channel: str

    def verify(self, request: Request) -> Verdict:
        """Check the request's signature on its raw body; never raise for bad input."""
        ...


def body_digest(body: bytes) -> str:
    """Return an event id for a platform that sends none: the same body, the same id."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def parse_object(body: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """Return the body as a JSON object, or None and why it is not one."""
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return None, f"body is not JSON: {exc}"
    if not isinstance(value, dict):
        return None, "body is not a JSON object"
    return value, None
