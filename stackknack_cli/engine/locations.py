"""Apply a new choice of Shopify counting and push locations.

What every linked Shopify listing holds changes with the locations that count, so it is
read again under the new choice and recorded with it in one transaction; listings that
now show something other than their target get a push for the next sync, whether or
not what they show changed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from stackknack_cli.channels import registry
from stackknack_cli.channels.shopify import ShopifyChannel, Stocking
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
    """Pushes queued for the next sync: listings that now hold other than their
    target, changed or not."""
    unstocked: tuple[str, ...] = ()
    """SKUs of linked listings the push location does not stock (Shopify refuses
    their pushes with ITEM_NOT_STOCKED_AT_LOCATION)."""
    off_target: tuple[tuple[str, int, int], ...] = ()
    """(SKU, what Shopify would hold, its target) of each listing that would hold
    other than its target under the new choice; the next sync writes those."""


def change_locations(
    store: Store,
    channel: ShopifyChannel,
    plan: LocationPlan,
    *,
    refuse_unstocked: bool = False,
    dry_run: bool = False,
) -> LocationChange:
    """Record ``plan`` as the Shopify channel's locations; re-read the listings and
    queue a push for each one that holds other than its target.

    Makes network calls (the levels of every linked listing) before writing anything:
    when Shopify cannot be read, the settings stay as they were. Holds the channel's
    drain lock meanwhile; raises ``ConfigError`` when another process is sending, and
    with ``refuse_unstocked`` when the push location does not stock a linked item.
    With ``dry_run`` nothing is written: the result says what would change.
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
        live: dict[str, Stocking] = {}
        for start in range(0, len(refs), READ_CHUNK):
            live.update(channel.read_stocking(refs[start : start + READ_CHUNK]))
        unstocked = tuple(
            row["sku"]
            for row in rows
            if row["channel_ref"] in live and not live[row["channel_ref"]].stocked
        )
        if unstocked and refuse_unstocked:
            raise ConfigError(
                f"{unstocked_line(unstocked, plan.push.name)}; Shopify would refuse "
                "their pushes: stock them there in the Shopify admin, or pass --force"
            )

        targets = dict(
            store.conn.execute(
                "SELECT listing_id, target FROM listing_targets WHERE channel = ?",
                (channel.name,),
            ).fetchall()
        )
        held = {
            row["id"]: sum(live[row["channel_ref"]].levels)
            for row in rows
            if row["channel_ref"] in live
        }
        off_target = tuple(
            (row["sku"], held[row["id"]], targets[row["id"]])
            for row in rows
            if row["id"] in held
            and row["id"] in targets
            and held[row["id"]] != targets[row["id"]]
        )
        if dry_run:
            changed = sum(
                1
                for row in rows
                if held.get(row["id"], row["channel_quantity"])
                != row["channel_quantity"]
            )
            return LocationChange(plan, len(rows), changed, 0, unstocked, off_target)

        changed = queued = 0
        now = iso(utcnow())
        with store.transaction() as conn:
            registry.update_settings(conn, channel.name, plan.settings())
            for row in rows:
                found = live.get(row["channel_ref"])
                if found is None:
                    continue
                holds = sum(found.levels)
                if holds != row["channel_quantity"]:
                    changed += 1
                    conn.execute(
                        "UPDATE listings SET channel_quantity = ?, updated_at = ?"
                        " WHERE id = ?",
                        (holds, now, row["id"]),
                    )
                # Unchanged listings count too: one left above its target under the
                # old choice may be fixable under the new one.
                queued += outbox.enqueue_for_sku(
                    conn, row["sku"], cause="shopify locations", channel=channel.name
                )
    log.info("shopify: %s; %d listing(s) changed", plan.describe(), changed)
    return LocationChange(plan, len(rows), changed, queued, unstocked, off_target)


def unstocked_line(skus: Sequence[str], location: str, *, shown: int = 5) -> str:
    """Return one line naming the linked items ``location`` does not stock."""
    names = ", ".join(skus[:shown])
    if len(skus) > shown:
        names += f" and {len(skus) - shown} more"
    return f"{len(skus)} linked item(s) not stocked at {location}: {names}"
