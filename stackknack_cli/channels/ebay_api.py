"""One authenticated, retried call to eBay's REST APIs, and eBay's error shapes."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from stackknack_cli.channels.clover_tokens import TokenProvider
from stackknack_cli.channels.ebay_auth import CHANNEL, RECONNECT
from stackknack_cli.channels.http import (
    RetryPolicy,
    raise_for_retry,
    send_with_token,
)
from stackknack_cli.errors import ChannelError, CredentialError

log = logging.getLogger(__name__)

API_BASES = {
    "production": "https://api.ebay.com",
    "sandbox": "https://api.sandbox.ebay.com",
}
IDENTITY_BASES = {
    "production": "https://apiz.ebay.com",
    "sandbox": "https://apiz.sandbox.ebay.com",
}
INVENTORY = "/sell/inventory/v1"
FULFILLMENT = "/sell/fulfillment/v1"
ACCOUNT = "/sell/account/v1"
IDENTITY = "/commerce/identity/v1/user/"

Params = Sequence[tuple[str, str | int]]


def errors_of(payload: object) -> list[dict[str, Any]]:
    """Return the ``errors`` list of an eBay answer or per-item result."""
    if not isinstance(payload, dict):
        return []
    errors = payload.get("errors")
    return (
        [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
    )


def describe(errors: Sequence[Mapping[str, Any]], fallback: str = "") -> str:
    """Join eBay error ids and messages into one short line."""
    parts = [
        f"{error.get('errorId', '?')}: {str(error.get('message') or '')[:160]}"
        for error in errors
    ]
    return "; ".join(parts) or fallback


class EbayApi:
    """Calls to one eBay environment with a bearer token, retried and renewed.

    Transport errors, 429 and 5xx are retried (``ChannelUnavailableError`` past the
    policy); a 401 renews the token once; a 401 or 403 after that raises
    ``CredentialError``. Other answers are returned as they are.
    """

    def __init__(
        self,
        client: httpx.Client,
        *,
        tokens: TokenProvider,
        base_url: str = API_BASES["production"],
        identity_url: str | None = None,
        policy: RetryPolicy | None = None,
        marketplace_id: str = "EBAY_US",
    ) -> None:
        self.client = client
        self.tokens = tokens
        self.base_url = base_url.rstrip("/")
        self.identity_url = (identity_url or self._identity_for(self.base_url)).rstrip(
            "/"
        )
        self.policy = policy or RetryPolicy()
        self.marketplace_id = marketplace_id

    @staticmethod
    def _identity_for(base_url: str) -> str:
        # eBay serves the Identity API from apiz.*; a simulator serves it itself.
        for env, base in API_BASES.items():
            if base_url == base:
                return IDENTITY_BASES[env]
        return base_url

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Params = (),
        body: Any = None,
        base: str | None = None,
    ) -> httpx.Response:
        url = f"{base or self.base_url}{path}"
        headers = {
            "Accept": "application/json",
            "X-EBAY-C-MARKETPLACE-ID": self.marketplace_id,
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
            headers["Content-Language"] = "en-US"

        def attempt(token: str) -> httpx.Response:
            sent = {**headers, "Authorization": f"Bearer {token}"}
            response = self.client.request(
                method, url, params=list(params), json=body, headers=sent
            )
            return raise_for_retry(response)

        response = send_with_token(CHANNEL, self.tokens, attempt, self.policy)
        if response.status_code in (401, 403):
            detail = describe(errors_of(_json(response)))
            raise CredentialError(
                f"{CHANNEL} refused the stored token for {method} {path} "
                f"(HTTP {response.status_code}: {detail}); "
                f"check the granted scopes; {RECONNECT}"
            )
        return response

    def get(
        self, path: str, params: Params = (), *, base: str | None = None
    ) -> dict[str, Any] | None:
        """GET ``path``: its JSON object, ``None`` on 404; other errors raise."""
        response = self.send("GET", path, params=params, base=base)
        if response.status_code == 404:
            return None
        return self.expect(response, "GET", path)

    def post(self, path: str, body: Any) -> httpx.Response:
        return self.send("POST", path, body=body)

    def expect(
        self, response: httpx.Response, method: str, path: str
    ) -> dict[str, Any]:
        """Return the JSON object of a 2xx answer; raise ``ChannelError`` otherwise."""
        payload = _json(response)
        if response.status_code >= 400:
            raise ChannelError(
                f"{CHANNEL} answered {method} {path} with HTTP {response.status_code}: "
                f"{describe(errors_of(payload), response.reason_phrase)}"
            )
        return payload if isinstance(payload, dict) else {}


def _json(response: httpx.Response) -> object:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None
