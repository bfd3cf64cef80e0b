"""Which channels are connected, and how to build a live adapter for each.

A channel's non-secret settings (base URL, shop, location, merchant) live in the
``channels`` table; its secrets live in the credentials store.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from stackknack_cli.channels.base import Channel
from stackknack_cli.channels.http import RetryPolicy
from stackknack_cli.credentials import Credentials
from stackknack_cli.errors import ConfigError, InputError
from stackknack_cli.store.db import Store, iso, utcnow
from stackknack_cli.store.usage import DailyUsage, shared_usage

KNOWN = ("shopify", "clover", "ebay", "stockx")
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


@dataclass(frozen=True)
class ChannelConfig:
    name: str
    base_url: str
    settings: Mapping[str, Any]


def save(store: Store, name: str, base_url: str, settings: Mapping[str, Any]) -> None:
    """Record (or replace) a channel's non-secret settings."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO channels (name, base_url, settings, connected_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
            " base_url = excluded.base_url, settings = excluded.settings,"
            " connected_at = excluded.connected_at",
            (name, base_url, json.dumps(dict(settings), sort_keys=True), iso(utcnow())),
        )


def update_settings(
    conn: sqlite3.Connection, name: str, changes: Mapping[str, Any]
) -> None:
    """Merge ``changes`` into a connected channel's settings, in the caller's
    transaction; a list in ``changes`` replaces the stored one whole."""
    conn.execute(
        "UPDATE channels SET settings = json_patch(settings, ?) WHERE name = ?",
        (json.dumps(dict(changes), sort_keys=True), name),
    )


def load(store: Store) -> dict[str, ChannelConfig]:
    rows = store.query("SELECT name, base_url, settings FROM channels ORDER BY name")
    return {
        row["name"]: ChannelConfig(
            row["name"], row["base_url"], json.loads(row["settings"])
        )
        for row in rows
    }


def is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in {"127.0.0.1", "localhost", "::1"}


def http_client(base_url: str) -> httpx.Client:
    """Return a client for ``base_url``; loopback addresses bypass proxy settings."""
    return httpx.Client(timeout=TIMEOUT, trust_env=not is_loopback(base_url))


def build(
    config: ChannelConfig,
    credentials: Credentials,
    client: httpx.Client,
    *,
    policy: RetryPolicy | None = None,
    usage: DailyUsage | None = None,
) -> Channel:
    """Return a live adapter for a connected channel.

    ``usage`` keeps the daily budgets (eBay's revisions, StockX's requests); without
    it the adapter counts only its own calls.
    """
    policy = policy or RetryPolicy()
    if config.name == "shopify":
        from stackknack_cli.channels import shopify, shopify_auth, shopify_locations

        tokens = shopify_auth.token_provider_from_credentials(
            credentials, client, config.base_url, policy=policy
        )
        return shopify.ShopifyChannel(
            client,
            config.base_url,
            config.settings.get("location_id"),
            tokens=tokens,
            policy=policy,
            api_version=config.settings.get("api_version", shopify.DEFAULT_API_VERSION),
            count_location_ids=shopify_locations.count_ids(config.settings),
        )
    if config.name == "clover":
        from stackknack_cli.channels import clover

        return clover.CloverChannel(
            client,
            merchant_id=config.settings["merchant_id"],
            tokens=clover_token_provider(credentials, client, config.base_url, policy),
            base_url=config.base_url,
            policy=policy,
        )
    if config.name == "ebay":
        from stackknack_cli.channels import ebay, ebay_auth

        settings = config.settings
        return ebay.EbayChannel(
            client,
            tokens=ebay_auth.EbayTokens(credentials, client, policy=policy),
            base_url=config.base_url,
            policy=policy,
            # Asked of eBay once a run unless the user said so at connect: the
            # seller may switch it in My eBay at any time.
            out_of_stock_control=settings.get("out_of_stock_control_forced"),
            marketplace_id=settings.get("marketplace_id", "EBAY_US"),
            usage=usage,
        )
    if config.name == "stockx":
        from stackknack_cli.channels import stockx, stockx_auth

        user_tokens = stockx_auth.StockXTokens(
            credentials,
            client,
            token_url=config.settings.get("token_url", stockx_auth.TOKEN_URL),
            policy=policy,
        )
        return stockx.StockXChannel(
            client,
            tokens=user_tokens,
            base_url=config.base_url,
            policy=policy,
            usage=usage,
        )
    raise ConfigError(f"unknown channel {config.name!r}; known: {', '.join(KNOWN)}")


def clover_token_provider(
    credentials: Credentials, client: httpx.Client, base_url: str, policy: RetryPolicy
) -> Any:
    """Return the Clover token provider the stored secrets call for."""
    from stackknack_cli.channels import clover_tokens

    if credentials.get("clover", clover_tokens.OAUTH_FIELD):
        # Clover serves /oauth/v2/refresh on the same host as the REST API.
        return clover_tokens.OAuthTokens(
            credentials, client, oauth_base=base_url, policy=policy
        )
    return clover_tokens.StaticToken(
        credentials.require("clover", clover_tokens.API_TOKEN_FIELD)
    )


@contextmanager
def connected_channels(
    store: Store,
    only: Sequence[str] | None = None,
    *,
    credentials: Credentials | None = None,
    policy: RetryPolicy | None = None,
) -> Iterator[dict[str, Channel]]:
    """Build every connected channel (or those in ``only``); close clients after.

    The channels share their daily budgets with every process on ``store``'s file.
    """
    configs = load(store)
    if only:
        unknown = [name for name in only if name not in KNOWN]
        if unknown:
            raise InputError(
                f"unknown channel {unknown[0]!r}; known: {', '.join(KNOWN)}"
            )
        missing = [name for name in only if name not in configs]
        if missing:
            raise ConfigError(
                f"{', '.join(missing)} not connected; "
                f"run: stackknack connect {missing[0]}"
            )
        configs = {name: configs[name] for name in only}
    credentials = credentials or Credentials(store.install_id)
    clients: list[httpx.Client] = []
    usage = shared_usage(store)
    try:
        channels: dict[str, Channel] = {}
        for name, config in configs.items():
            client = http_client(config.base_url)
            clients.append(client)
            channels[name] = build(
                config, credentials, client, policy=policy, usage=usage
            )
        yield channels
    finally:
        for client in clients:
            client.close()
        if usage is not None:
            usage.close()


def needing_consent(store: Store, credentials: Credentials | None = None) -> list[str]:
    """Return the connected channels whose platform refused the refresh token."""
    credentials = credentials or Credentials(store.install_id)
    found = []
    for name in load(store):
        entry = credentials.get_json(name, "oauth")
        if entry and entry.get("reconsent_required"):
            found.append(name)
    return found
