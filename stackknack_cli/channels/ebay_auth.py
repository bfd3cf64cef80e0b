"""eBay user tokens: the consent URL, the code exchange, and refreshing access tokens.

eBay's authorization-code grant gives a 2-hour access token and a refresh token that
lives about 18 months. The refresh token is not rotated by a refresh, but both tokens,
their expiries and the app keys are kept as one JSON entry in the credentials store, so
a refresh is one atomic write. A refresh eBay answers with ``invalid_grant`` (revoked,
expired, or issued to another app) cannot be fixed by retrying: the entry is marked,
``ReconsentRequiredError`` is raised, and no further eBay call is made until the user
runs ``stackknack connect ebay`` again.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import httpx

from stackknack_cli.channels.http import RetryPolicy, call_with_retry, raise_for_retry
from stackknack_cli.channels.oauth import REFRESH_MARGIN_SECONDS, StoredTokens
from stackknack_cli.credentials import Credentials
from stackknack_cli.errors import (
    ChannelError,
    CredentialError,
    ReconsentRequiredError,
)

log = logging.getLogger(__name__)

CHANNEL = "ebay"
OAUTH_FIELD = "oauth"
RECONNECT = f"run: stackknack connect {CHANNEL}"

AUTHORIZE_URLS = {
    "production": "https://auth.ebay.com/oauth2/authorize",
    "sandbox": "https://auth.sandbox.ebay.com/oauth2/authorize",
}
TOKEN_URLS = {
    "production": "https://api.ebay.com/identity/v1/oauth2/token",
    "sandbox": "https://api.sandbox.ebay.com/identity/v1/oauth2/token",
}
SCOPE_ROOT = "https://api.ebay.com/oauth/api_scope"
SCOPES = (
    f"{SCOPE_ROOT}/sell.inventory",
    f"{SCOPE_ROOT}/sell.fulfillment.readonly",
    f"{SCOPE_ROOT}/sell.account.readonly",
    f"{SCOPE_ROOT}/commerce.identity.readonly",
)
"""Listings and offers (read and write), orders (read), the out-of-stock control
setting (read), and the seller's user name (read)."""

REFRESH_WARNING_DAYS = 30
"""Warn this many days before the refresh token expires."""


def consent_url(
    client_id: str,
    ru_name: str,
    scopes: Sequence[str] = SCOPES,
    *,
    sandbox: bool,
    state: str | None = None,
    authorize_url: str | None = None,
) -> str:
    """Return the page where the seller grants the app access.

    ``ru_name`` is the app's RuName (eBay's name for the redirect URL), not a URL.
    ``authorize_url`` replaces eBay's consent page (a simulator's).
    """
    base = authorize_url or AUTHORIZE_URLS["sandbox" if sandbox else "production"]
    params = {
        "client_id": client_id,
        "redirect_uri": ru_name,
        "response_type": "code",
        "scope": " ".join(scopes),
    }
    if state is not None:
        params["state"] = state
    return f"{base}?{urlencode(params, quote_via=quote)}"


def parse_code(code_or_redirect_url: str) -> str:
    """Return the authorization code from a pasted code or the whole redirect URL.

    Raises ``CredentialError`` when a pasted URL carries no code (consent declined).
    """
    text = code_or_redirect_url.strip()
    if "://" in text or text.startswith("?") or "code=" in text:
        query = parse_qs(urlsplit(text).query or text.lstrip("?"))
        codes = query.get("code")
        if not codes or not codes[0]:
            raise CredentialError(
                f"the address eBay sent back holds no code (consent declined?); "
                f"{RECONNECT}"
            )
        return codes[0]
    # A code copied out of the address bar is still percent-encoded (v%5E1.1%23i...).
    return unquote(text) if "%" in text else text


def _basic(client_id: str, client_secret: str) -> str:
    pair = f"{client_id}:{client_secret}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def _token_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error") or "") if isinstance(body, dict) else ""


def _post_token(
    client: httpx.Client,
    token_url: str,
    form: Mapping[str, str],
    *,
    client_id: str,
    client_secret: str,
    policy: RetryPolicy,
) -> httpx.Response:
    headers = {
        "Authorization": _basic(client_id, client_secret),
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
    }

    def send() -> httpx.Response:
        # A 429 here is eBay's daily token quota or a burst limit: worth retrying.
        return raise_for_retry(client.post(token_url, data=dict(form), headers=headers))

    return call_with_retry(CHANNEL, send, policy)


def _seconds(payload: Mapping[str, object], name: str) -> float:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ChannelError(f"{CHANNEL} answered a token request without {name}")
    return float(value)


def exchange_code(
    client: httpx.Client,
    code_or_redirect_url: str,
    *,
    client_id: str,
    client_secret: str,
    ru_name: str,
    credentials: Credentials,
    token_url: str = TOKEN_URLS["production"],
    scopes: Sequence[str] = SCOPES,
    policy: RetryPolicy | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, object]:
    """Trade the consent code for tokens and store them as one entry; return it.

    Calls eBay's token endpoint once (retrying 429 and 5xx). Raises
    ``CredentialError`` when eBay refuses the code or the app keys.
    """
    code = parse_code(code_or_redirect_url)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": ru_name}
    response = _post_token(
        client,
        token_url,
        form,
        client_id=client_id,
        client_secret=client_secret,
        policy=policy or RetryPolicy(),
    )
    if response.status_code != 200:
        reason = _token_error(response) or f"HTTP {response.status_code}"
        raise CredentialError(
            f"{CHANNEL} refused the consent code ({reason}); codes last 5 minutes "
            f"and work once; {RECONNECT}"
        )

    payload = response.json()
    now = clock()
    entry: dict[str, object] = {
        "client_id": client_id,
        "client_secret": client_secret,
        "ru_name": ru_name,
        "token_url": token_url,
        "scopes": list(scopes),
        "access_token": str(payload.get("access_token") or ""),
        "access_token_expires_at": now + _seconds(payload, "expires_in"),
        "refresh_token": str(payload.get("refresh_token") or ""),
        "refresh_token_expires_at": now + _seconds(payload, "refresh_token_expires_in"),
    }
    if not entry["access_token"] or not entry["refresh_token"]:
        raise ChannelError(f"{CHANNEL} answered the code exchange without tokens")
    credentials.set_json(CHANNEL, OAUTH_FIELD, entry)
    log.info("ebay: stored new tokens after consent")
    return entry


def refresh_days_left(
    credentials: Credentials, *, clock: Callable[[], float] = time.time
) -> int | None:
    """Return whole days until the stored refresh token expires (None if unknown)."""
    entry = credentials.get_json(CHANNEL, OAUTH_FIELD)
    expiry = entry.get("refresh_token_expires_at") if entry else None
    if not isinstance(expiry, int | float):
        return None
    return max(0, int((float(expiry) - clock()) // 86400))


def needs_reconsent_soon(days_left: int | None) -> bool:
    """Tell whether the days left call for the 30-day re-consent warning."""
    return days_left is not None and days_left <= REFRESH_WARNING_DAYS


class EbayTokens(StoredTokens):
    """Access tokens from the stored entry, refreshed ahead of their 2-hour expiry.

    ``token`` may call eBay's token endpoint (the URL stored at consent). A refused
    refresh raises ``ReconsentRequiredError`` and marks the entry, so every later
    call in any process raises it again without calling eBay; a refresh that
    cannot get through raises ``ChannelUnavailableError``.
    """

    channel = CHANNEL
    field = OAUTH_FIELD
    needed = ("refresh_token", "client_id", "client_secret")
    expiry_key = "access_token_expires_at"

    def __init__(
        self,
        credentials: Credentials,
        client: httpx.Client,
        *,
        token_url: str | None = None,
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        margin: float = REFRESH_MARGIN_SECONDS,
    ) -> None:
        super().__init__(credentials, client, policy=policy, clock=clock, margin=margin)
        self.token_url = token_url
        self._warned = False

    def __repr__(self) -> str:
        return f"EbayTokens(token_url={self.token_url!r})"

    def _check(self, entry: Mapping[str, object]) -> None:
        if entry.get("reconsent_required"):
            raise ReconsentRequiredError(
                f"{CHANNEL} needs a new consent (the refresh token was refused); "
                f"pushes stay queued; {RECONNECT}"
            )
        self._warn_expiry(entry)

    def _warn_expiry(self, entry: Mapping[str, object]) -> None:
        expiry = entry.get("refresh_token_expires_at")
        if self._warned or not isinstance(expiry, int | float):
            return
        days = int((float(expiry) - self.clock()) // 86400)
        if days <= REFRESH_WARNING_DAYS:
            self._warned = True
            log.warning(
                "ebay: the refresh token expires in %d days; %s before then",
                max(days, 0),
                RECONNECT,
            )

    def _refresh(self, entry: Mapping[str, object]) -> dict[str, object]:
        expiry = entry.get("refresh_token_expires_at")
        if isinstance(expiry, int | float) and self.clock() >= float(expiry):
            self._mark_reconsent(entry)
            raise ReconsentRequiredError(
                f"the {CHANNEL} refresh token has expired; pushes stay queued; "
                f"{RECONNECT}"
            )

        scopes = entry.get("scopes")
        form = {
            "grant_type": "refresh_token",
            "refresh_token": str(entry["refresh_token"]),
        }
        if isinstance(scopes, list) and scopes:
            form["scope"] = " ".join(str(scope) for scope in scopes)
        url = self.token_url or str(entry.get("token_url") or TOKEN_URLS["production"])
        response = _post_token(
            self.client,
            url,
            form,
            client_id=str(entry["client_id"]),
            client_secret=str(entry["client_secret"]),
            policy=self.policy,
        )
        if response.status_code != 200:
            error = _token_error(response)
            if error in ("invalid_grant", "invalid_scope"):
                self._mark_reconsent(entry)
                raise ReconsentRequiredError(
                    f"{CHANNEL} refused the stored refresh token ({error}); the "
                    f"seller must grant access again; pushes stay queued; {RECONNECT}"
                )
            # The body may echo the refresh token, so it never reaches the message.
            raise CredentialError(
                f"{CHANNEL} refused a token refresh "
                f"({error or f'HTTP {response.status_code}'}); {RECONNECT}"
            )

        payload = response.json()
        refreshed = dict(entry)
        refreshed["access_token"] = str(payload.get("access_token") or "")
        refreshed["access_token_expires_at"] = self.clock() + _seconds(
            payload, "expires_in"
        )
        if not refreshed["access_token"]:
            raise ChannelError(f"{CHANNEL} answered a refresh without an access token")
        self.credentials.set_json(CHANNEL, OAUTH_FIELD, refreshed)
        log.info("ebay: refreshed the access token")
        return refreshed

    def _mark_reconsent(self, entry: Mapping[str, object]) -> None:
        marked = dict(entry)
        marked["reconsent_required"] = True
        self.credentials.set_json(CHANNEL, OAUTH_FIELD, marked)
