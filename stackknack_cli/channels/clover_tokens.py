"""Bearer tokens for Clover: a static merchant API token, or expiring OAuth v2 tokens.

Clover's v2/OAuth refresh tokens are single use: the call to ``/oauth/v2/refresh`` that
returns a new pair kills the old refresh token. The new access token, refresh token and
both expiries are therefore written to the credentials store as one JSON entry before
the new access token is used, so a crash can never leave a dead refresh token behind.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Protocol

import httpx

from stackknack_cli.channels.http import RetryPolicy, call_with_retry, raise_for_retry
from stackknack_cli.channels.oauth import REFRESH_MARGIN_SECONDS, StoredTokens
from stackknack_cli.credentials import Credentials
from stackknack_cli.errors import ChannelError, CredentialError

log = logging.getLogger(__name__)

CHANNEL = "clover"
OAUTH_FIELD = "oauth"
API_TOKEN_FIELD = "api_token"

RECONNECT = f"run: stackknack connect {CHANNEL}"


class TokenProvider(Protocol):
    """Where the adapter gets its bearer token, and a fresh one after a 401."""

    def token(self) -> str:
        """Return a token that should be valid now."""
        ...

    def renew(self, rejected: str) -> str | None:
        """Return a different token after ``rejected`` met a 401, or ``None``."""
        ...


class StaticToken:
    """A merchant-generated API token (Clover documents these for the sandbox)."""

    def __init__(self, token: str) -> None:
        if not token:
            raise CredentialError(f"no API token stored for {CHANNEL}; {RECONNECT}")
        self._token = token

    def __repr__(self) -> str:
        return "StaticToken(<hidden>)"

    def token(self) -> str:
        return self._token

    def renew(self, rejected: str) -> str | None:
        return None


def _seconds(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError("not a Unix time")
    return int(value)


def save_token_response(
    credentials: Credentials,
    payload: Mapping[str, object],
    *,
    client_id: str,
) -> None:
    """Store a pair from ``/oauth/v2/token`` or ``/oauth/v2/refresh`` in one write.

    Raises ``ChannelError`` when the answer lacks a token or an expiry.
    """
    try:
        entry: dict[str, object] = {
            "client_id": client_id,
            "access_token": str(payload["access_token"]),
            "access_token_expiration": _seconds(payload["access_token_expiration"]),
            "refresh_token": str(payload["refresh_token"]),
            "refresh_token_expiration": _seconds(payload["refresh_token_expiration"]),
        }
    except (KeyError, TypeError, ValueError):
        raise ChannelError(
            f"{CHANNEL} answered a token request without a complete token pair"
        ) from None
    credentials.set_json(CHANNEL, OAUTH_FIELD, entry)


class OAuthTokens(StoredTokens):
    """Expiring v2/OAuth tokens from the credentials store, refreshed ahead of time.

    ``token`` may call ``POST {oauth_base}/oauth/v2/refresh`` (Unix-second expiries are
    read from the stored entry). A refresh Clover refuses raises ``CredentialError``;
    a refresh that cannot get through raises ``ChannelUnavailableError``.
    """

    channel = CHANNEL
    field = OAUTH_FIELD
    needed = ("access_token", "refresh_token", "client_id")
    expiry_key = "access_token_expiration"

    def __init__(
        self,
        credentials: Credentials,
        client: httpx.Client,
        *,
        oauth_base: str,
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        margin: float = REFRESH_MARGIN_SECONDS,
    ) -> None:
        super().__init__(credentials, client, policy=policy, clock=clock, margin=margin)
        self.oauth_base = oauth_base.rstrip("/")

    def __repr__(self) -> str:
        return f"OAuthTokens(oauth_base={self.oauth_base!r})"

    def _refresh(self, entry: Mapping[str, object]) -> dict[str, object]:
        expiry = entry.get("refresh_token_expiration")
        if isinstance(expiry, int | float) and self.clock() >= float(expiry):
            raise CredentialError(
                f"the {CHANNEL} refresh token has expired; {RECONNECT}"
            )

        client_id = str(entry["client_id"])
        body = {"client_id": client_id, "refresh_token": str(entry["refresh_token"])}

        def send() -> httpx.Response:
            url = f"{self.oauth_base}/oauth/v2/refresh"
            return raise_for_retry(self.client.post(url, json=body))

        response = call_with_retry(CHANNEL, send, self.policy)
        if response.status_code != 200:
            # The body may echo the refresh token, so it never reaches the message.
            raise CredentialError(
                f"{CHANNEL} refused the stored refresh token "
                f"(HTTP {response.status_code}); {RECONNECT}"
            )
        try:
            payload = response.json()
        except ValueError:
            raise ChannelError(f"{CHANNEL} answered a refresh with no JSON") from None

        save_token_response(self.credentials, payload, client_id=client_id)
        log.info("clover: refreshed the OAuth token pair")
        return self._load()
