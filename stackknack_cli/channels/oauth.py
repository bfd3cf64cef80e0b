"""Expiring access tokens kept with their refresh token in one credentials entry.

Clover, eBay and StockX all hand out a short-lived access token and a refresh token.
``StoredTokens`` keeps both in one JSON entry of the credentials store, renews the
access token a margin before it expires and once after the platform refuses it, and
re-reads the entry first, since another process may have renewed it already. Each
platform's subclass names its entry and makes the refresh call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import ClassVar

import httpx

from stackknack_cli.channels.http import RetryPolicy
from stackknack_cli.credentials import Credentials
from stackknack_cli.errors import CredentialError

REFRESH_MARGIN_SECONDS = 300.0
"""Renew this long before the access token expires, so no call races its expiry."""


class StoredTokens:
    """An access token from the credentials store, renewed ahead of its expiry.

    ``token`` and ``renew`` may call the platform's token endpoint (through
    ``_refresh``, which stores the new entry before returning it). Raises
    ``CredentialError`` when nothing usable is stored.
    """

    channel: ClassVar[str]
    field: ClassVar[str] = "oauth"
    needed: ClassVar[tuple[str, ...]] = ("access_token", "refresh_token")
    expiry_key: ClassVar[str]

    def __init__(
        self,
        credentials: Credentials,
        client: httpx.Client,
        *,
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        margin: float = REFRESH_MARGIN_SECONDS,
    ) -> None:
        self.credentials = credentials
        self.client = client
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.margin = margin
        self._lock = threading.Lock()

    def token(self) -> str:
        """Return an access token that should be valid now."""
        with self._lock:
            entry = self._load()
            if self._expires_soon(entry):
                entry = self._refresh(entry)
            return str(entry["access_token"])

    def renew(self, rejected: str) -> str | None:
        """Return another access token after ``rejected`` met a 401."""
        with self._lock:
            entry = self._load()
            # Another process may have renewed already; its token is the live one.
            if entry.get("access_token") != rejected and not self._expires_soon(entry):
                return str(entry["access_token"])
            return str(self._refresh(entry)["access_token"])

    def _load(self) -> dict[str, object]:
        entry = self.credentials.get_json(self.channel, self.field)
        if entry is None or not all(entry.get(name) for name in self.needed):
            raise CredentialError(
                f"no OAuth tokens stored for {self.channel}; "
                f"run: stackknack connect {self.channel}"
            )
        self._check(entry)
        return entry

    def _check(self, entry: Mapping[str, object]) -> None:
        """Refuse or warn about a stored entry before it is used (a subclass hook)."""

    def _expires_soon(self, entry: Mapping[str, object]) -> bool:
        expiry = entry.get(self.expiry_key)
        if not entry.get("access_token") or isinstance(expiry, bool):
            return True
        if not isinstance(expiry, int | float):
            return True
        return self.clock() >= float(expiry) - self.margin

    def _refresh(self, entry: Mapping[str, object]) -> dict[str, object]:
        """Call the platform, store the new entry in one write, and return it."""
        raise NotImplementedError
