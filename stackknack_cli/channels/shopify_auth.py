"""Shopify Admin API tokens: a custom app's stored token, or client-credentials grants.

A legacy custom app made in the Shopify admin has one ``shpat_`` token that does not
expire. An app made in the Dev Dashboard and installed on the merchant's own store gets
its token from the client-credentials grant; that token expires (about 24 hours, read
from ``expires_in``), so it is cached in the credentials store with its expiry and
fetched again shortly before then, or when Shopify answers 401.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

import httpx

from stackknack_cli.channels.http import RetryPolicy, call_with_retry, raise_for_retry
from stackknack_cli.credentials import Credentials
from stackknack_cli.errors import ChannelError, CredentialError

log = logging.getLogger(__name__)

CHANNEL = "shopify"
FIELD_ADMIN_TOKEN = "admin_token"
"""Credential field holding a custom app's static ``shpat_`` token."""
FIELD_CLIENT_ID = "client_id"
FIELD_CLIENT_SECRET = "client_secret"
FIELD_GRANTED_TOKEN = "granted_token"
"""Credential field caching the client-credentials token and its expiry (JSON)."""

RECONNECT = "run: stackknack connect shopify"
DEFAULT_LIFETIME_SECONDS = 24 * 3600.0
RENEW_MARGIN_SECONDS = 300.0


class TokenProvider(Protocol):
    """Hands out the Admin API token, and a new one when Shopify refused the last."""

    def token(self) -> str:
        """Return a token to send now; may make a network call."""
        ...

    def renew(self) -> bool:
        """Get a fresh token after a 401; return False when there is no way to."""
        ...


class StaticToken:
    """A custom app's Admin API token, which does not expire and cannot be renewed."""

    def __init__(self, token: str) -> None:
        if not token:
            raise CredentialError(f"no Admin API token for shopify; {RECONNECT}")
        self._token = token

    def __repr__(self) -> str:
        return "StaticToken(<hidden>)"

    def token(self) -> str:
        return self._token

    def renew(self) -> bool:
        return False


class ClientCredentialsToken:
    """Tokens from the client-credentials grant, cached until shortly before expiry.

    ``token`` and ``renew`` may POST to ``{shop_url}/admin/oauth/access_token`` and
    write the result to ``credentials``. A refused client id or secret raises
    ``CredentialError``; the token endpoint being down raises
    ``ChannelUnavailableError`` after the policy's retries.
    """

    def __init__(
        self,
        client: httpx.Client,
        shop_url: str,
        *,
        client_id: str,
        client_secret: str,
        credentials: Credentials,
        policy: RetryPolicy,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.shop_url = shop_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self.credentials = credentials
        self.policy = policy
        self.clock = clock
        self._cached: tuple[str, float] | None = None

    def __repr__(self) -> str:
        return (
            f"ClientCredentialsToken({self.shop_url!r}, client_id={self.client_id!r})"
        )

    def token(self) -> str:
        cached = self._cached or self._load()
        if cached is not None and cached[1] - RENEW_MARGIN_SECONDS > self.clock():
            return cached[0]
        return self._grant()

    def renew(self) -> bool:
        self._grant()
        return True

    def _load(self) -> tuple[str, float] | None:
        stored = self.credentials.get_json(CHANNEL, FIELD_GRANTED_TOKEN)
        if not stored:
            return None
        token, expires_at = stored.get("token"), stored.get("expires_at")
        if not isinstance(token, str) or not isinstance(expires_at, int | float):
            return None
        self._cached = (token, float(expires_at))
        return self._cached

    def _grant(self) -> str:
        url = f"{self.shop_url}/admin/oauth/access_token"
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
        }

        def post() -> httpx.Response:
            return raise_for_retry(self.client.post(url, data=form))

        started = self.clock()
        response = call_with_retry(CHANNEL, post, self.policy)
        if response.status_code in (400, 401, 403, 404):
            raise CredentialError(
                f"shopify refused the app's client id or secret "
                f"(HTTP {response.status_code}); {RECONNECT}"
            )
        if response.status_code != 200:
            raise ChannelError(
                f"shopify token endpoint answered HTTP {response.status_code}"
            )

        token, lifetime = _read_grant(response)
        expires_at = started + lifetime
        self.credentials.set_json(
            CHANNEL, FIELD_GRANTED_TOKEN, {"token": token, "expires_at": expires_at}
        )
        self._cached = (token, expires_at)
        log.info("shopify: obtained an Admin API token valid for %.0fs", lifetime)
        return token


def _read_grant(response: httpx.Response) -> tuple[str, float]:
    try:
        body = response.json()
    except ValueError:
        raise ChannelError("shopify token endpoint answered with non-JSON") from None
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise ChannelError("shopify token endpoint answered without an access_token")
    lifetime = body.get("expires_in")
    if not isinstance(lifetime, int | float) or lifetime <= 0:
        lifetime = DEFAULT_LIFETIME_SECONDS
    return token, float(lifetime)


def token_provider_from_credentials(
    credentials: Credentials,
    client: httpx.Client,
    shop_url: str,
    *,
    policy: RetryPolicy,
    clock: Callable[[], float] = time.time,
) -> TokenProvider:
    """Build the provider the stored Shopify secrets call for.

    A client id and secret win over a static token. Raises ``CredentialError`` when
    neither is stored.
    """
    client_id = credentials.get(CHANNEL, FIELD_CLIENT_ID)
    client_secret = credentials.get(CHANNEL, FIELD_CLIENT_SECRET)
    if client_id and client_secret:
        return ClientCredentialsToken(
            client,
            shop_url,
            client_id=client_id,
            client_secret=client_secret,
            credentials=credentials,
            policy=policy,
            clock=clock,
        )

    admin_token = credentials.get(CHANNEL, FIELD_ADMIN_TOKEN)
    if admin_token:
        return StaticToken(admin_token)
    raise CredentialError(
        f"no Admin API token or client secret for shopify; {RECONNECT}"
    )
