"""Tokens: access tokens expire mid-run and are renewed; a revoked one parks its
channel without losing the channel's queue.

Shopify runs on the client-credentials grant here, so its token is a 24-hour one the
simulator can expire at any moment; eBay's 2-hour user token is aged in the stored
entry. Sales are made between syncs throughout. Midway, eBay's refresh token is
revoked: eBay must stop being called, keep every queued push (none dead), and the
other channels must go on converging. After a new consent, eBay catches up.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

from reliability.figures import Figure
from reliability.profile import Profile
from reliability.world import World, sandbox_world, sneaker_items
from stackknack_cli.channels import ebay_auth
from stackknack_cli.engine.sync import run_sync

CHANNELS = ("shopify", "clover", "ebay")
STOCK = 60
ROUNDS_PER_RUN = 6
SETTLE_ROUNDS = 10


def _use_client_credentials(world: World) -> None:
    shop = world.sandbox.shopify
    world.credentials.delete("shopify", "admin_token")
    world.credentials.set("shopify", "client_id", shop.client_id)
    world.credentials.set("shopify", "client_secret", shop.client_secret)


def _expire_shopify(world: World) -> None:
    shop = world.sandbox.shopify
    with shop.lock:
        for token in shop._tokens.values():  # the simulator's own records
            if token.expires_at is not None:
                token.expires_at = shop.clock() - 1


def _age_ebay(world: World) -> dict[str, object]:
    entry = world.credentials.get_json("ebay", ebay_auth.OAUTH_FIELD) or {}
    entry["access_token_expires_at"] = 0
    world.credentials.set_json("ebay", ebay_auth.OAUTH_FIELD, entry)
    return entry


def _reconsent(world: World) -> None:
    ebay = world.sandbox.ebay
    with world.channels() as channels:
        client = channels["ebay"].api.client  # type: ignore[attr-defined]
        ebay_auth.exchange_code(
            client,
            ebay.new_consent_code(),
            client_id=ebay.client_id,
            client_secret=ebay.client_secret,
            ru_name=ebay.ru_name,
            credentials=world.credentials,
            token_url=f"{world.sandbox.url('ebay')}/identity/v1/oauth2/token",
        )


def _settle(world: World, skus: list[str], rounds: int = SETTLE_ROUNDS) -> None:
    """Sync until every channel holds the central count. Retry backoff (30 s and
    more after a 429) is compressed: waiting entries are made due at once."""
    for _ in range(rounds):
        with world.channels() as channels:
            report = run_sync(world.store, channels)
        central = world.central()
        if not report.queued and all(
            set(world.held(sku, CHANNELS).values()) == {central[sku]} for sku in skus
        ):
            return
        world.store.conn.execute(
            "UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00.000Z'"
            " WHERE status = 'pending'"
        )


def run(profile: Profile, workdir: Path) -> Figure:
    figure = Figure("tokens (renewed, revoked)")
    rng = random.Random(profile.seed)
    runs = max(2, profile.kills // 6)
    for number in range(runs):
        items = sneaker_items(8, quantity=STOCK, prefix=f"TK{number}")
        skus = [sku for sku, _, _ in items]
        sold: Counter[str] = Counter()
        home = workdir / f"tokens-{number}"
        with sandbox_world(
            home, items, seed=profile.seed + number, channels=CHANNELS
        ) as world:
            _use_client_credentials(world)
            revoked_at = ROUNDS_PER_RUN // 2
            for round_ in range(ROUNDS_PER_RUN):
                for _ in range(rng.randint(1, 3)):
                    sku = rng.choice(skus)
                    world.sandbox.sell(rng.choice(CHANNELS), sku)
                    sold[sku] += 1
                _expire_shopify(world)
                entry = _age_ebay(world)
                if round_ == revoked_at:
                    world.sandbox.ebay.revoke(str(entry["refresh_token"]))
                with world.channels() as channels:
                    report = run_sync(world.store, channels)
                parked = round_ >= revoked_at
                figure.check(
                    report.channels["ebay"].reconsent == parked,
                    f"run {number} round {round_}: eBay parked is "
                    f"{report.channels['ebay'].reconsent}, expected {parked}",
                )
                figure.check(
                    not report.channels["shopify"].error,
                    f"shopify token not renewed: {report.channels['shopify'].error}",
                )
                dead = world.store.scalar(
                    "SELECT count(*) FROM outbox WHERE status = 'dead'"
                )
                figure.check(
                    dead == 0, f"{dead} pushes dead-lettered while eBay was parked"
                )
            queued = world.store.scalar(
                "SELECT count(*) FROM outbox WHERE channel = 'ebay'"
                " AND status IN ('pending', 'sending')"
            )
            figure.check(queued > 0, "eBay's queue was not kept while it was parked")

            started = time.monotonic()
            _reconsent(world)
            expected = {sku: STOCK - sold[sku] for sku in skus}
            _settle(world, skus)
            figure.settled(time.monotonic() - started)
            central = world.central()
            figure.events += sum(sold.values())
            figure.wrong += sum(1 for sku in skus if central[sku] != expected[sku])
            figure.lost += sum(max(0, central[sku] - expected[sku]) for sku in skus)
            figure.doubled += sum(max(0, expected[sku] - central[sku]) for sku in skus)
            for sku in skus:
                held = world.held(sku, CHANNELS)
                if set(held.values()) != {central[sku]}:
                    figure.wrong += 1
                    figure.problems.append(
                        f"{sku}: channels hold {held}, central {central[sku]}"
                    )
        figure.runs += 1
    return figure
