"""Apply a new choice of Shopify counting and push locations.

What every linked Shopify listing holds changes with the locations that count, so it is
read again under the new choice and recorded with it in one transaction; listings that
now show something other than their target get a push for the next sync.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from stackknack_cli.channels import registry
from stackknack_cli.channels.shopify import ShopifyChannel
from stackknack_cli.channels.shopify_locations import LocationPlan
from stackknack_cli.errors import ConfigError
from stackknack_cli.store import locks, outbox
from stackknack_cli.store.db import Store, iso, utcnow

log = logging.getLogger(__name__)

READ_CHUNK = 250


@dataclass(frozen=True)
class LocationChange:
    plan: LocationPlan
    listings: int
    """Linked Shopify listings read again."""
    changed: int
    """Listings whose held quantity differs under the new choice."""
    queued: int
    """Pushes queued for the next sync."""


def change_locations(
    store: Store, channel: ShopifyChannel, plan: LocationPlan
) -> LocationChange:
    """Record ``plan`` as the Shopify channel's locations; re-read the listings.

    Makes network calls (the levels of every linked listing) before writing anything:
    when Shopify cannot be read, the settings stay as they were. Holds the channel's
    drain lock meanwhile; raises ``ConfigError`` when another process is sending.
    """
    with locks.held(store, channel.name, purpose="locations") as blocker:
        if blocker is not None:
            raise ConfigError(
                f"shopify pushes are being sent by {blocker.purpose} "
                f"(pid {blocker.pid}); try again when it is done"
            )
        channel.use_locations(plan.push.id, [loc.id for loc in plan.others])
        rows = store.query(
            "SELECT id, sku, channel_ref, channel_quantity FROM listings"
            " WHERE channel = ? ORDER BY id",
            (channel.name,),
        )
        refs = [row["channel_ref"] for row in rows]
        live: dict[str, int] = {}
        for start in range(0, len(refs), READ_CHUNK):
            live.update(channel.read_quantities(refs[start : start + READ_CHUNK]))

        changed = queued = 0
        now = iso(utcnow())
        with store.transaction() as conn:
            registry.update_settings(conn, channel.name, plan.settings())
            for row in rows:
                holds = live.get(row["channel_ref"])
                if holds is None or holds == row["channel_quantity"]:
                    continue
                changed += 1
                conn.execute(
                    "UPDATE listings SET channel_quantity = ?, updated_at = ?"
                    " WHERE id = ?",
                    (holds, now, row["id"]),
                )
                queued += outbox.enqueue_for_sku(
                    conn, row["sku"], cause="shopify locations"
                )
    log.info("shopify: %s; %d listing(s) changed", plan.describe(), changed)
    return LocationChange(plan, len(rows), changed, queued)
