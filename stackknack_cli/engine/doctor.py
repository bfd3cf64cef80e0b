"""Health checks for ``stackknack doctor``: each problem comes with the command that
fixes it."""

from __future__ import annotations

import os
import shlex
import stat
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from stackknack_cli.credentials import FileStore, KeyringStore, open_store
from stackknack_cli.errors import ChannelUnavailableError, StackknackError
from stackknack_cli.store.db import MIGRATIONS, Store, utcnow

CLOCK_SKEW_LIMIT = 120.0
"""Seconds of difference from a platform's clock that start to matter (token expiry,
order cursors)."""
LAG_LIMIT_MINUTES = 15
SHOPIFY_READ_CHUNK = 250
SHOWN = 5
"""Listings named in one check's detail; the rest are counted."""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def check_database(store: Store) -> list[Check]:
    """Check the file's integrity and that every migration is applied."""
    integrity = str(store.scalar("PRAGMA integrity_check"))
    version = store.schema_version()
    current = version == len(MIGRATIONS)
    return [
        Check(
            "database integrity",
            integrity == "ok",
            f"{store.path}: {integrity}",
            "" if integrity == "ok" else "restore the database from a backup",
        ),
        Check(
            "database schema",
            current,
            f"schema {version} of {len(MIGRATIONS)}",
            "" if current else "run any stackknack command to migrate",
        ),
    ]


def check_secrets() -> Check:
    """Say which secret store is in use and whether the fallback file is private."""
    backend = open_store()
    if isinstance(backend, KeyringStore):
        import keyring

        name = type(keyring.get_keyring()).__name__
        return Check("secret store", True, f"OS keyring ({name})")
    assert isinstance(backend, FileStore)
    if not backend.path.exists():
        return Check("secret store", True, f"file {backend.path} (not created yet)")
    mode = stat.S_IMODE(os.stat(backend.path).st_mode)
    private = mode & 0o077 == 0
    return Check(
        "secret store",
        private,
        f"file {backend.path}, mode {mode:o}",
        "" if private else f"chmod 600 {backend.path}",
    )


def check_outbox(store: Store) -> list[Check]:
    """Report dead-lettered pushes and channels whose pushes wait too long."""
    dead = int(store.scalar("SELECT count(*) FROM outbox WHERE status = 'dead'"))
    checks = [
        Check(
            "dead-lettered pushes",
            dead == 0,
            f"{dead} push(es) refused for good",
            "" if dead == 0 else "see why with: stackknack outbox --dead",
        )
    ]
    rows = store.query(
        "SELECT channel, count(*) AS waiting, min(created_at) AS oldest FROM outbox"
        " WHERE status IN ('pending', 'sending') GROUP BY channel ORDER BY channel"
    )
    now = utcnow()
    for row in rows:
        age = (now - datetime.fromisoformat(row["oldest"])).total_seconds() / 60
        fresh = age < LAG_LIMIT_MINUTES
        checks.append(
            Check(
                f"{row['channel']} outbox",
                fresh,
                f"{row['waiting']} waiting, oldest {age:.0f} min",
                "" if fresh else f"run: stackknack sync --channel {row['channel']}",
            )
        )
    return checks


def clock_skew(response: httpx.Response) -> float | None:
    """Return seconds from the platform's ``Date`` header to this machine's clock."""
    raw = response.headers.get("Date")
    if not raw:
        return None
    try:
        theirs = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return (utcnow() - theirs).total_seconds()


def check_clock(name: str, client: httpx.Client, base_url: str) -> Check:
    """Compare this machine's clock with the platform's, from one plain request."""
    try:
        response = client.get(base_url)
    except httpx.HTTPError as exc:
        return Check(f"{name} clock", False, f"no answer: {exc}", "check the network")
    skew = clock_skew(response)
    if skew is None:
        return Check(f"{name} clock", True, "the platform sent no Date header")
    good = abs(skew) < CLOCK_SKEW_LIMIT
    return Check(
        f"{name} clock",
        good,
        f"this machine is {skew:+.0f}s from {name}",
        "" if good else "synchronise the clock (for example: timedatectl set-ntp true)",
    )


def check_channel(name: str, probe: Callable[[], str]) -> Check:
    """Run ``probe`` (build the channel and make its one cheap authenticated call)."""
    try:
        answer = probe()
    except ChannelUnavailableError as exc:
        fix = "check the network and the platform's status; pushes wait in the outbox"
        return Check(f"{name} connection", False, str(exc), fix)
    except StackknackError as exc:
        return Check(
            f"{name} credentials", False, str(exc), f"stackknack connect {name}"
        )
    return Check(f"{name} credentials", True, f"answered as {answer}")


def check_shopify_webhooks(channel: Any) -> Check:
    """With a webhook secret set, the shop should send order webhooks somewhere."""
    try:
        subscriptions = channel.webhook_subscriptions()
    except StackknackError as exc:
        return Check("shopify webhooks", False, str(exc), "stackknack doctor later")
    topics = sorted({topic for topic, _ in subscriptions})
    ok = "ORDERS_CREATE" in topics
    return Check(
        "shopify webhooks",
        ok,
        f"subscribed: {', '.join(topics) or 'none'}",
        "" if ok else "stackknack webhooks subscribe shopify --url https://YOUR-TUNNEL",
    )


def check_shopify_scopes(channel: Any) -> Check:
    """The app must hold every scope stackknack uses."""
    try:
        missing = channel.missing_scopes()
    except StackknackError as exc:
        return Check("shopify scopes", False, str(exc), "stackknack doctor later")
    return Check(
        "shopify scopes",
        not missing,
        f"missing: {', '.join(missing)}" if missing else "all granted",
        ""
        if not missing
        else "grant them to the app in Shopify, reinstall it, then stackknack "
        "connect shopify",
    )


def check_shopify_locations(channel: Any, settings: Mapping[str, Any]) -> Check:
    """Name the push and counting locations; each must still be an active location."""
    from stackknack_cli.channels import shopify_locations

    try:
        active = channel.list_locations()
    except StackknackError as exc:
        return Check("shopify locations", False, str(exc), "stackknack doctor later")
    plan, missing = shopify_locations.stored_plan(active, settings)
    if plan is None:
        return Check(
            "shopify locations",
            False,
            f"the push location {settings.get('location_name') or 'none'} is not an "
            "active location",
            "stackknack shopify locations --push LOCATION",
        )
    detail = plan.describe()
    if missing:
        detail += f"; no longer active: {', '.join(missing)}"
    return Check(
        "shopify locations",
        not missing,
        detail,
        "" if not missing else f"stackknack shopify locations --ignore {missing[0]}",
    )


def check_shopify_listings(
    store: Store, channel: Any, settings: Mapping[str, Any]
) -> list[Check]:
    """Read the levels of every linked Shopify listing: the push location should
    stock each item, and the other counting locations should not alone hold more than
    a listing's target (a push cannot bring that down)."""
    from stackknack_cli.channels import shopify_locations

    rows = store.query(
        "SELECT t.sku, l.channel_ref, t.target FROM listing_targets t"
        " JOIN listings l ON l.id = t.listing_id WHERE t.channel = ? ORDER BY t.sku",
        ("shopify",),
    )
    live: dict[str, Any] = {}
    try:
        active = channel.list_locations()
        plan, _ = shopify_locations.stored_plan(active, settings)
        if plan is None:
            # check_shopify_locations names the missing push location.
            return []
        refs = [row["channel_ref"] for row in rows]
        for start in range(0, len(refs), SHOPIFY_READ_CHUNK):
            chunk = refs[start : start + SHOPIFY_READ_CHUNK]
            live.update(channel.read_stocking(chunk))
    except StackknackError as exc:
        return [Check("shopify listings", False, str(exc), "stackknack doctor later")]
    names = {loc.id: loc.name for loc in active}
    others = [names.get(ref, ref) for ref in channel.count_location_ids]
    found = [
        (row, live[row["channel_ref"]]) for row in rows if row["channel_ref"] in live
    ]
    return [
        _unstocked_check(
            plan.push.name,
            [row["sku"] for row, s in found if not s.stocked],
            len(found),
        ),
        _above_target_check(
            plan.push.name,
            others,
            [(row, s) for row, s in found if s.elsewhere > row["target"]],
        ),
    ]


def _unstocked_check(push: str, skus: list[str], linked: int) -> Check:
    from stackknack_cli.engine.locations import unstocked_line

    if not skus:
        return Check(
            "shopify push location", True, f"{push} stocks all {linked} linked item(s)"
        )
    return Check(
        "shopify push location",
        False,
        f"{unstocked_line(skus, push)}; Shopify refuses their pushes",
        f"stock them at {push} in the Shopify admin, or move the pushes: "
        "stackknack shopify locations --push LOCATION",
    )


def _above_target_check(
    push: str, others: list[str], above: list[tuple[Mapping[str, Any], Any]]
) -> Check:
    if not above:
        return Check(
            "shopify above target",
            True,
            "no listing held above its target by other counting locations",
        )
    parts = []
    for row, stocking in above[:SHOWN]:
        held = ", ".join(
            f"{name} {units}"
            for name, units in zip(others, stocking.levels[1:], strict=False)
            if units
        )
        parts.append(f"{row['sku']} ({held}; should show {row['target']})")
    more = f" and {len(above) - SHOWN} more" if len(above) > SHOWN else ""
    # The location holding the most units of the first listing is the likely culprit.
    first = above[0][1].levels[1:]
    culprit = others[max(range(len(first)), key=first.__getitem__)]
    return Check(
        "shopify above target",
        False,
        f"{len(above)} listing(s) held above their target by other counting "
        f"locations: {'; '.join(parts)}{more}",
        f"move the units to {push} in Shopify, or stop counting that location: "
        f"stackknack shopify locations --ignore {shlex.quote(culprit)}",
    )
