"""Shopify's Admin GraphQL endpoint: auth, throttling, retries and error answers.

Every query is a POST to ``{shop}/admin/api/{version}/graphql.json`` with the token in
``X-Shopify-Access-Token``. Shopify reports throttling inside a 200 answer
(``errors[].extensions.code == "THROTTLED"``) with the bucket's state in
``extensions.cost``; the wait is computed from it and the query is sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from stackknack_cli.channels.http import (
    MAX_WAIT_SECONDS,
    RetryLater,
    RetryPolicy,
    call_with_retry,
    raise_for_retry,
)
from stackknack_cli.channels.shopify_auth import CHANNEL, RECONNECT, TokenProvider
from stackknack_cli.errors import ChannelError, ConfigError, CredentialError

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

Json = dict[str, Any]


class _Unauthorized(Exception):
    """Shopify answered 401: the token expired or was revoked."""


class ShopifyGraphQL:
    """Sends documents to one shop's Admin GraphQL endpoint and returns ``data``.

    Throttling, 429, 5xx and transport errors are retried under ``policy``, then raise
    ``ChannelUnavailableError``. A 401 asks ``tokens`` for a new token once; a token
    that still fails, or a 403, raises ``CredentialError``. Other GraphQL errors raise
    ``ChannelError`` carrying Shopify's messages only.
    """

    def __init__(
        self,
        client: httpx.Client,
        shop_url: str,
        *,
        tokens: TokenProvider,
        policy: RetryPolicy,
        api_version: str,
    ) -> None:
        self.client = client
        self.shop_url = check_shop_url(shop_url)
        self.tokens = tokens
        self.policy = policy
        self.api_version = api_version
        self.endpoint = f"{self.shop_url}/admin/api/{api_version}/graphql.json"

    def paginate(
        self, document: str, variables: Json, path: tuple[str, ...]
    ) -> Iterator[Json]:
        """Yield the nodes of the connection at ``path``, page after page."""
        after = variables.get("after")
        while True:
            data = self.query(document, {**variables, "after": after})
            connection: Any = data
            for key in path:
                connection = (connection or {}).get(key)
            if not connection:
                return
            yield from connection.get("nodes") or []
            info = connection.get("pageInfo") or {}
            if not info.get("hasNextPage") or not info.get("endCursor"):
                return
            after = info["endCursor"]

    def query(
        self,
        document: str,
        variables: Json,
        *,
        inspect: Callable[[Json], None] | None = None,
    ) -> Json:
        """Run ``document``; ``inspect`` may raise ``RetryLater`` on the data."""
        renewed = False
        while True:
            try:
                return call_with_retry(
                    CHANNEL,
                    lambda: self._post(document, variables, inspect),
                    self.policy,
                )
            except _Unauthorized:
                if renewed or not self.tokens.renew():
                    raise CredentialError(
                        f"shopify refused the Admin API token (HTTP 401); {RECONNECT}"
                    ) from None
                renewed = True
                log.info("shopify: token refused; obtained a new one")

    def _post(
        self, document: str, variables: Json, inspect: Callable[[Json], None] | None
    ) -> Json:
        headers = {"X-Shopify-Access-Token": self.tokens.token()}
        body = {"query": document, "variables": variables}
        response = raise_for_retry(
            self.client.post(self.endpoint, json=body, headers=headers)
        )
        if response.status_code == 401:
            raise _Unauthorized()
        if response.status_code == 403:
            raise CredentialError(
                "shopify refused access (HTTP 403); the app may lack a scope such as "
                f"write_inventory or read_orders; {RECONNECT}"
            )
        if response.status_code != 200:
            raise ChannelError(
                f"shopify answered HTTP {response.status_code} at "
                f"/admin/api/{self.api_version}/graphql.json; check the shop URL"
            )

        try:
            answer = response.json()
        except ValueError:
            raise ChannelError("shopify answered with non-JSON") from None
        _raise_for_errors(answer)
        data = answer.get("data") or {}
        if inspect is not None:
            inspect(data)
        return dict(data)


def check_shop_url(shop_url: str) -> str:
    """Return the shop URL without a trailing slash; refuse plain HTTP off loopback."""
    url = shop_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return url
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(
            f"shopify shop URL must look like https://my-shop.myshopify.com, "
            f"not {shop_url!r}"
        )
    return url


def _raise_for_errors(answer: Mapping[str, Any]) -> None:
    errors = answer.get("errors")
    if not errors:
        return
    if not isinstance(errors, list):
        raise ChannelError(f"shopify: {str(errors)[:200]}")
    codes = {str((e.get("extensions") or {}).get("code")) for e in errors}
    if "THROTTLED" in codes:
        raise RetryLater("shopify: throttled", wait=throttle_wait(answer))
    messages = "; ".join(str(e.get("message", "error")) for e in errors)[:300]
    if "ACCESS_DENIED" in codes:
        raise CredentialError(f"shopify denied access: {messages}; {RECONNECT}")
    raise ChannelError(f"shopify: {messages}")


def throttle_wait(answer: Mapping[str, Any]) -> float | None:
    """Return seconds until the bucket refills to the query's requested cost."""
    cost = (answer.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    try:
        needed = float(cost["requestedQueryCost"]) - float(status["currentlyAvailable"])
        rate = float(status["restoreRate"])
    except (KeyError, TypeError, ValueError):
        return None
    if rate <= 0:
        return None
    return max(0.0, min(needed / rate, MAX_WAIT_SECONDS))
