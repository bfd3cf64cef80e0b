"""``stackknack connect``: store a channel's secret and settings after one real call."""

from __future__ import annotations

import re
import sys
from typing import Annotated

import typer

from stackknack_cli import console
from stackknack_cli.cli.state import opened_store
from stackknack_cli.credentials import Credentials
from stackknack_cli.errors import InputError

app = typer.Typer(
    help="Connect a channel: check the secret with one call, then keep it."
)

SHOPIFY_FIELDS = ["admin_token", "client_id", "client_secret", "granted_token"]
MERCHANT_ID = re.compile(r"[A-Za-z0-9]{13}")


def read_secret(prompt: str) -> str:
    """Read a secret from a hidden prompt, or from stdin's first line in scripts."""
    if sys.stdin is not None and sys.stdin.isatty():
        value = str(typer.prompt(prompt, hide_input=True))
    else:
        value = sys.stdin.readline() if sys.stdin is not None else ""
    value = value.strip()
    if not value:
        raise InputError(f"no {prompt.lower()} given (type it, or pipe it on stdin)")
    return value


def ask_consent(page: str, platform: str) -> str:
    """Show the consent page's address; read the code (or the address) that returns."""
    console.err.print("Open this page, sign in as the seller and allow access:")
    console.err.print(page, markup=False)
    return read_secret(f"Code or the address {platform} sent you to")


def shop_url(shop: str) -> str:
    """Turn ``my-shop``, ``my-shop.myshopify.com`` or a URL into the shop's base URL."""
    shop = shop.strip().rstrip("/")
    if "://" in shop:
        return shop
    if "." not in shop:
        shop = f"{shop}.myshopify.com"
    return f"https://{shop}"


@app.command("shopify")
def connect_shopify(
    shop: Annotated[
        str, typer.Option(help="The shop: my-shop, my-shop.myshopify.com or a URL.")
    ],
    location: Annotated[
        str | None,
        typer.Option(
            help="Location (name or id) that receives the pushes; needed when there "
            "are several (default: the one chosen before, while still active)."
        ),
    ] = None,
    count_location: Annotated[
        list[str] | None,
        typer.Option(
            metavar="LOCATION",
            help="Another location whose stock counts too (repeatable; default: "
            "those counted before).",
        ),
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option(
            help="Dev Dashboard app client id; the secret asked for is then the "
            "client secret (client-credentials grant)."
        ),
    ] = None,
    api_version: Annotated[str, typer.Option(help="Admin API version.")] = "2026-04",
    base_url: Annotated[
        str | None, typer.Option(help="Call this URL instead (a sandbox).")
    ] = None,
) -> None:
    """Connect a Shopify store with an Admin API token (shpat_...) or a client secret.

    A changed choice of locations reads the linked listings again, as
    `stackknack shopify locations` does.

    Example: echo "$TOKEN" | stackknack connect shopify --shop my-shop
    """
    from stackknack_cli.channels import (
        registry,
        shopify,
        shopify_auth,
        shopify_locations,
    )
    from stackknack_cli.channels.http import RetryPolicy
    from stackknack_cli.engine.locations import change_locations, unstocked_line
    from stackknack_cli.engine.sync import set_cursor
    from stackknack_cli.store.db import utcnow

    shopify_locations.require_names(
        "--location", [] if location is None else [location]
    )
    shopify_locations.require_names("--count-location", count_location or ())
    secret = read_secret("Client secret" if client_id else "Admin API token")
    url = base_url or shop_url(shop)
    policy = RetryPolicy(attempts=3)
    with opened_store() as store, registry.http_client(url) as client:
        credentials = Credentials(store.install_id)
        # Secrets are tried in memory; the kept ones change only once they work.
        trial = credentials.trial()
        tokens: shopify_auth.TokenProvider
        if client_id:
            trial.set("shopify", shopify_auth.FIELD_CLIENT_ID, client_id)
            trial.set("shopify", shopify_auth.FIELD_CLIENT_SECRET, secret)
            tokens = shopify_auth.ClientCredentialsToken(
                client,
                url,
                client_id=client_id,
                client_secret=secret,
                credentials=trial,
                policy=policy,
            )
        else:
            trial.set("shopify", shopify_auth.FIELD_ADMIN_TOKEN, secret)
            tokens = shopify_auth.StaticToken(secret)
        channel = shopify.ShopifyChannel(
            client, url, None, tokens=tokens, policy=policy
        )
        name = channel.check()
        active = channel.list_locations()
        before = registry.load(store).get("shopify")
        previous = before.settings if before and before.base_url == url else None
        kept = None if location else shopify_locations.stored_push(active, previous)
        chosen = kept or shopify.choose_location(active, location)
        plan, dropped = shopify_locations.plan_for_connect(
            active, chosen, count=count_location or (), previous=previous
        )
        credentials.keep(trial, "shopify", SHOPIFY_FIELDS)

        # Listings linked under another choice are read again under this one, and
        # the choice is recorded only with them (the previous one stays meanwhile).
        reread = (
            previous is not None
            and not shopify_locations.is_same_choice(plan, previous)
            and bool(
                store.scalar(
                    "SELECT count(*) FROM listings WHERE channel = ?", ("shopify",)
                )
            )
        )
        chosen_settings = plan.settings()
        if reread:
            assert previous is not None
            chosen_settings = {key: previous.get(key) for key in chosen_settings}
        settings = {
            "shop": shop,
            "shop_name": name,
            **chosen_settings,
            "api_version": api_version,
        }
        registry.save(store, "shopify", url, settings)
        change = change_locations(store, channel, plan) if reread else None
        set_cursor(store, "shopify", utcnow())
    for gone in dropped:
        console.warn(f"{gone} is no longer active; it stops counting")
    if change is not None:
        console.info(
            f"{change.listings} listing(s) read again, {change.changed} "
            f"changed, {change.queued} push(es) queued for the next sync"
        )
        if change.unstocked:
            console.warn(
                f"{unstocked_line(change.unstocked, chosen.name)}; their pushes are "
                "refused until they are stocked there"
            )
    line = f"connected shopify: {name}, location {chosen.name}"
    if plan.others:
        line += f" (also counting {', '.join(loc.name for loc in plan.others)})"
    console.out.print(console.escape(line))


@app.command("clover")
def connect_clover(
    merchant: Annotated[str, typer.Option(help="The merchant id (13 characters).")],
    region: Annotated[
        str, typer.Option(help="na, eu, la or sandbox (Clover's own sandbox).")
    ] = "na",
    client_id: Annotated[
        str | None,
        typer.Option(
            help="App id for expiring OAuth tokens; the secret asked for is then a "
            "refresh token, exchanged at once (it is single use)."
        ),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Call this URL instead (a simulator).")
    ] = None,
) -> None:
    """Connect a Clover merchant with an API token or an OAuth refresh token.

    Example: echo "$TOKEN" | stackknack connect clover --merchant ABC123DEF4567
    """
    from stackknack_cli.channels import clover, clover_tokens, registry
    from stackknack_cli.channels.http import RetryPolicy
    from stackknack_cli.engine.sync import set_cursor
    from stackknack_cli.store.db import utcnow

    if not MERCHANT_ID.fullmatch(merchant):
        raise InputError(
            f"Clover merchant id {merchant!r} should be 13 letters and digits, as in "
            "the Merchant Dashboard's address"
        )
    if base_url is None and region not in clover.REGIONS:
        raise InputError(
            f"unknown Clover region {region!r}; use one of {', '.join(clover.REGIONS)}"
        )
    secret = read_secret("Refresh token" if client_id else "API token")
    url = base_url or clover.REGIONS[region]
    policy = RetryPolicy(attempts=3)
    with opened_store() as store, registry.http_client(url) as client:
        credentials = Credentials(store.install_id)
        # Secrets are tried in memory; the kept ones change only once they work.
        trial = credentials.trial()
        tokens: clover_tokens.TokenProvider
        if client_id:
            # A placeholder access token that has expired makes the provider exchange
            # the refresh token at once and store the new pair in one write.
            trial.set_json(
                "clover",
                clover_tokens.OAUTH_FIELD,
                {
                    "client_id": client_id,
                    "access_token": "(not yet issued)",
                    "access_token_expiration": 0,
                    "refresh_token": secret,
                },
            )
            tokens = clover_tokens.OAuthTokens(
                trial, client, oauth_base=url, policy=policy
            )
        else:
            trial.set("clover", clover_tokens.API_TOKEN_FIELD, secret)
            tokens = clover_tokens.StaticToken(secret)
        channel = clover.CloverChannel(
            client, merchant_id=merchant, tokens=tokens, base_url=url, policy=policy
        )
        try:
            name = channel.check()
        except BaseException:
            if client_id and _refreshed(trial, secret):
                console.warn(
                    "Clover used up the refresh token given; authorize the app again "
                    "for a new one (the kept credentials are unchanged)"
                )
            raise
        credentials.keep(
            trial, "clover", [clover_tokens.API_TOKEN_FIELD, clover_tokens.OAUTH_FIELD]
        )
        settings = {"merchant_id": merchant, "merchant_name": name, "region": region}
        registry.save(store, "clover", url, settings)
        set_cursor(store, "clover", utcnow())
    console.out.print(f"connected clover: {console.escape(name)}")


def _refreshed(credentials: Credentials, given: str) -> bool:
    """Tell whether a new Clover token pair replaced the ``given`` refresh token (which
    is then used up, so the new pair must be kept)."""
    from stackknack_cli.channels import clover_tokens

    entry = credentials.get_json("clover", clover_tokens.OAUTH_FIELD)
    return bool(entry and entry.get("refresh_token") != given)


@app.command("ebay")
def connect_ebay(
    client_id: Annotated[str, typer.Option(help="The app's Client ID (App ID).")],
    ru_name: Annotated[
        str, typer.Option(help="The app's RuName (eBay's name for its redirect URL).")
    ],
    sandbox: Annotated[
        bool, typer.Option(help="Use eBay's sandbox instead of production.")
    ] = False,
    out_of_stock_control: Annotated[
        bool | None,
        typer.Option(
            "--out-of-stock-control/--no-out-of-stock-control",
            help="Say whether the seller account keeps listings alive at 0 "
            "(default: ask eBay).",
        ),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Call this URL instead (a simulator).")
    ] = None,
) -> None:
    """Connect an eBay seller account through eBay's consent page.

    Reads the app's Client Secret first, then prints the consent page's address and
    reads the code (or the whole address eBay sent the browser to) that comes back.
    The refresh token lasts about 18 months; `stackknack doctor` warns 30 days ahead.
    """
    from stackknack_cli.channels import ebay, ebay_api, ebay_auth, registry
    from stackknack_cli.channels.http import RetryPolicy
    from stackknack_cli.engine.sync import set_cursor
    from stackknack_cli.store.db import utcnow

    secret = read_secret("Client secret")
    kind = "sandbox" if sandbox else "production"
    url = base_url or ebay_api.API_BASES[kind]
    token_url = (
        f"{base_url}/identity/v1/oauth2/token"
        if base_url
        else ebay_auth.TOKEN_URLS[kind]
    )
    authorize_url = f"{base_url.rstrip('/')}/oauth2/authorize" if base_url else None
    answer = ask_consent(
        ebay_auth.consent_url(
            client_id, ru_name, sandbox=sandbox, authorize_url=authorize_url
        ),
        "eBay",
    )
    policy = RetryPolicy(attempts=3)
    with opened_store() as store, registry.http_client(url) as client:
        credentials = Credentials(store.install_id)
        trial = credentials.trial()
        ebay_auth.exchange_code(
            client,
            answer,
            client_id=client_id,
            client_secret=secret,
            ru_name=ru_name,
            credentials=trial,
            token_url=token_url,
            policy=policy,
        )
        tokens = ebay_auth.EbayTokens(trial, client, policy=policy)
        channel = ebay.EbayChannel(
            client,
            tokens=tokens,
            base_url=url,
            policy=policy,
            out_of_stock_control=out_of_stock_control,
        )
        name = channel.check()
        forced = out_of_stock_control
        if out_of_stock_control is None:
            out_of_stock_control = channel.detect_out_of_stock_control()
        credentials.keep(trial, "ebay", [ebay_auth.OAUTH_FIELD])
        settings = {
            "user": name,
            "sandbox": sandbox,
            "out_of_stock_control": out_of_stock_control,
            "out_of_stock_control_forced": forced,
            "marketplace_id": "EBAY_US",
        }
        registry.save(store, "ebay", url, settings)
        set_cursor(store, "ebay", utcnow())
    console.out.print(
        f"connected ebay: {console.escape(name)}; out-of-stock control "
        f"{'on' if out_of_stock_control else 'off (listings are withdrawn at 0)'}"
    )


@app.command("stockx")
def connect_stockx(
    client_id: Annotated[str, typer.Option(help="The OAuth client id of your app.")],
    redirect_uri: Annotated[
        str, typer.Option(help="The callback URL registered for your app.")
    ],
    base_url: Annotated[
        str | None,
        typer.Option(help="Call this URL instead (a simulator); it also serves OAuth."),
    ] = None,
) -> None:
    """Connect a StockX seller account: API key, then the OAuth consent.

    Reads the API key, then the client secret, then prints the consent page's
    address and reads the code (or the whole address StockX redirected to).
    """
    import secrets

    from stackknack_cli.channels import registry, stockx, stockx_auth
    from stackknack_cli.channels.http import RetryPolicy
    from stackknack_cli.engine.sync import set_cursor
    from stackknack_cli.store.db import utcnow

    api_key = read_secret("API key")
    client_secret = read_secret("Client secret")
    accounts = base_url or stockx_auth.ACCOUNTS_URL
    url = f"{base_url}/v2" if base_url else stockx.API_URL
    token_url = f"{accounts}{stockx_auth.TOKEN_PATH}"
    state = secrets.token_urlsafe(16)
    answer = ask_consent(
        stockx_auth.authorize_url(
            client_id, redirect_uri, state, accounts_url=accounts
        ),
        "StockX",
    )
    policy = RetryPolicy(attempts=3)
    with opened_store() as store, registry.http_client(url) as client:
        credentials = Credentials(store.install_id)
        trial = credentials.trial()
        stockx_auth.exchange_code(
            client,
            answer,
            client_id=client_id,
            client_secret=client_secret,
            redirect_uri=redirect_uri,
            credentials=trial,
            token_url=token_url,
            state=state,
            policy=policy,
        )
        stockx_auth.store_api_key(trial, api_key)
        tokens = stockx_auth.StockXTokens(
            trial, client, token_url=token_url, policy=policy
        )
        channel = stockx.StockXChannel(
            client, tokens=tokens, base_url=url, policy=policy
        )
        name = channel.check()
        credentials.keep(
            trial, "stockx", [stockx_auth.API_KEY_FIELD, stockx_auth.OAUTH_FIELD]
        )
        registry.save(store, "stockx", url, {"token_url": token_url, "user": name})
        set_cursor(store, "stockx", utcnow())
    console.out.print(f"connected stockx: {console.escape(name)}")
