"""StockX credentials: the API key, and user tokens from the OAuth code flow.

Every API call carries both the application's ``x-api-key`` and a user's bearer token.
The token comes from ``accounts.stockx.com``: the user approves the app at
``/authorize`` (scope ``offline_access openid`` for a refresh token, audience
``gateway.stockx.com``), and the code StockX sends back is exchanged at
``/oauth/token``. Whether StockX rotates refresh tokens is not documented, so a refresh
answer without one keeps the stored refresh token, and one with a new refresh token
replaces it. Either way the whole entry (tokens, expiry, client id and secret) is
written in one step before the new access token is used.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from stackknack_cli.channels.http import RetryPolicy, call_with_retry, raise_for_retry
from stackknack_cli.channels.oauth import REFRESH_MARGIN_SECONDS, StoredTokens
from stackknack_cli.credentials import Credentials
from stackknack_cli.errors import ChannelError, CredentialError, InputError

log = logging.getLogger(__name__)

CHANNEL = "stockx"
API_KEY_FIELD = "api_key"
OAUTH_FIELD = "oauth"
ACCOUNTS_URL = "https://accounts.stockx.com"
AUTHORIZE_PATH = "/authorize"
TOKEN_PATH = "/oauth/token"
TOKEN_URL = f"{ACCOUNTS_URL}{TOKEN_PATH}"
AUDIENCE = "gateway.stockx.com"
SCOPE = "offline_access openid"
DEFAULT_LIFETIME_SECONDS = 3600
"""Assumed when a token answer lacks ``expires_in`` (StockX's is unconfirmed)."""
RECONNECT = f"run: stackknack connect {CHANNEL}"


def authorize_url(
    client_id: str,
    redirect_uri: str,
    state: str,
    *,
    accounts_url: str = ACCOUNTS_URL,
) -> str:
    """Return the address where the user approves the app (the code comes back)."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "audience": AUDIENCE,
            "state": state,
        }
    )
    return f"{accounts_url.rstrip('/')}{AUTHORIZE_PATH}?{query}"


def code_from(code_or_redirect_url: str, *, state: str | None = None) -> str:
    """Return the code in a pasted redirect address, or the text itself if it is one.

    Raises ``InputError`` for an address without a code, or with another ``state``.
    """
    text = code_or_redirect_url.strip()
    if "://" not in text and "?" not in text:
        if not text:
            raise InputError("no authorization code given")
        return text
    query = parse_qs(urlsplit(text).query)
    if "error" in query:
        raise InputError(f"StockX refused the authorization: {query['error'][0]}")
    if state is not None and query.get("state", [None])[0] != state:
        raise InputError("the redirect address carries another state; start again")
    codes = query.get("code")
    if not codes or not codes[0]:
        raise InputError("the redirect address has no code= parameter")
    return codes[0]


def save_token_response(
    credentials: Credentials,
    payload: Mapping[str, object],
    *,
    client_id: str,
    client_secret: str,
    now: float,
    previous_refresh: str | None = None,
) -> dict[str, object]:
    """Store a ``/oauth/token`` answer as one JSON entry and return that entry.

    Raises ``ChannelError`` when the answer has no access token, or no refresh token
    and none to keep.
    """
    access = payload.get("access_token")
    refresh = payload.get("refresh_token") or previous_refresh
    if not isinstance(access, str) or not access:
        raise ChannelError(f"{CHANNEL} answered a token request without a token")
    if not isinstance(refresh, str) or not refresh:
        raise ChannelError(
            f"{CHANNEL} issued no refresh token; the app must ask for offline_access"
        )
    lifetime = payload.get("expires_in")
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float):
        lifetime = DEFAULT_LIFETIME_SECONDS
    entry: dict[str, object] = {
        "client_id": client_id,
        "client_secret": client_secret,
        "access_token": access,
        "refresh_token": refresh,
        "expires_at": int(now + float(lifetime)),
    }
    credentials.set_json(CHANNEL, OAUTH_FIELD, entry)
    return entry


def _post_token(
    client: httpx.Client, token_url: str, form: Mapping[str, str], policy: RetryPolicy
) -> httpx.Response:
    def send() -> httpx.Response:
        headers = {"Accept": "application/json"}
        return raise_for_retry(client.post(token_url, data=dict(form), headers=headers))

    return call_with_retry(CHANNEL, send, policy)


def _token_json(response: httpx.Response, what: str) -> Mapping[str, object]:
    if response.status_code != 200:
        # The body may echo a code or token, so only the status reaches the message.
        raise CredentialError(
            f"{CHANNEL} refused the {what} (HTTP {response.status_code}); {RECONNECT}"
        )
    try:
        payload = response.json()
    except ValueError:
        raise ChannelError(f"{CHANNEL} answered the {what} with no JSON") from None
    if not isinstance(payload, dict):
        raise ChannelError(f"{CHANNEL} answered the {what} with no JSON object")
    return payload


def exchange_code(
    client: httpx.Client,
    code_or_redirect_url: str,
    *,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    credentials: Credentials,
    token_url: str = TOKEN_URL,
    state: str | None = None,
    policy: RetryPolicy | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, object]:
    """Trade an authorization code for tokens and store them (``oauth`` field).

    Makes one POST to ``token_url``; raises ``CredentialError`` when StockX refuses
    the code (they are single use and short-lived) and ``InputError`` for a pasted
    address without a code.
    """
    code = code_from(code_or_redirect_url, state=state)
    form = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "client_secret": client_secret,
        "code": code,
        "redirect_uri": redirect_uri,
    }
    response = _post_token(client, token_url, form, policy or RetryPolicy())
    payload = _token_json(response, "authorization code")
    entry = save_token_response(
        credentials,
        payload,
        client_id=client_id,
        client_secret=client_secret,
        now=clock(),
    )
    log.info("stockx: connected; tokens stored")
    return entry


def store_api_key(credentials: Credentials, api_key: str) -> None:
    """Store the application's API key in its own field."""
    if not api_key.strip():
        raise InputError("the StockX API key is empty")
    credentials.set(CHANNEL, API_KEY_FIELD, api_key.strip())


class StockXTokens(StoredTokens):
    """The stored user token, refreshed ahead of expiry and after a 401.

    ``token`` may POST ``refresh_token`` grant to ``token_url``. A refused refresh
    raises ``CredentialError``; one that cannot get through raises
    ``ChannelUnavailableError``.
    """

    channel = CHANNEL
    field = OAUTH_FIELD
    needed = ("access_token", "refresh_token", "client_id", "client_secret")
    expiry_key = "expires_at"

    def __init__(
        self,
        credentials: Credentials,
        client: httpx.Client,
        *,
        token_url: str = TOKEN_URL,
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        margin: float = REFRESH_MARGIN_SECONDS,
    ) -> None:
        super().__init__(credentials, client, policy=policy, clock=clock, margin=margin)
        self.token_url = token_url

    def __repr__(self) -> str:
        return f"StockXTokens(token_url={self.token_url!r})"

    def api_key(self) -> str:
        return self.credentials.require(CHANNEL, API_KEY_FIELD)

    def _refresh(self, entry: Mapping[str, object]) -> dict[str, object]:
        client_id = str(entry["client_id"])
        client_secret = str(entry["client_secret"])
        refresh = str(entry["refresh_token"])
        form = {
            "grant_type": "refresh_token",
            "client_id": client_id,
            "client_secret": client_secret,
            "audience": AUDIENCE,
            "refresh_token": refresh,
        }
        response = _post_token(self.client, self.token_url, form, self.policy)
        payload = _token_json(response, "stored refresh token")
        fresh = save_token_response(
            self.credentials,
            payload,
            client_id=client_id,
            client_secret=client_secret,
            now=self.clock(),
            previous_refresh=refresh,
        )
        log.info("stockx: refreshed the access token")
        return fresh
