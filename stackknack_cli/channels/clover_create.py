"""Create a Clover item for a SKU, or find the one that already has it.

Clover does not keep SKUs unique and has no idempotency key on item creation, so the
SKU is looked up first (``filter=sku=...``): a run cut off after creating an item finds
it the next time instead of making a second one. An item is created with its name, a
fixed price in cents and its SKU; its stock is then set through ``item_stocks``, which
is what starts Clover tracking stock for it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stackknack_cli.channels.clover import CloverChannel
from stackknack_cli.errors import ChannelError

log = logging.getLogger(__name__)

NAME_LIMIT = 127
"""Clover's longest item name."""


@dataclass(frozen=True)
class CloverItem:
    """An item stackknack created or found: its id, stock, and whether it was new."""

    item_id: str
    quantity: int
    created: bool


def find_by_sku(channel: CloverChannel, sku: str) -> Mapping[str, Any] | None:
    """Return the one item whose SKU is ``sku``, or ``None``.

    Raises ``ChannelError`` when several items share the SKU: which one to link is the
    merchant's call.
    """
    path = f"{channel._merchant_path}/items"
    params: list[tuple[str, str | int]] = [
        ("filter", f"sku={sku}"),
        ("expand", "itemStock"),
    ]
    found = [
        item
        for item in channel._pages(path, params, 100)
        if str(item.get("sku") or "") == sku
    ]
    if len(found) > 1:
        raise ChannelError(
            f"clover has {len(found)} items with SKU {sku}; link one by hand "
            "(stackknack import clover)"
        )
    return found[0] if found else None


def create_item(
    channel: CloverChannel, *, sku: str, name: str, price_cents: int, quantity: int
) -> CloverItem:
    """Create the item unless one has ``sku`` already; set the new item's stock.

    Makes two or three calls. Raises ``ChannelError`` with Clover's reason when it
    refuses, ``ChannelUnavailableError`` when it cannot be reached.
    """
    existing = find_by_sku(channel, sku)
    if existing is not None:
        stock = (existing.get("itemStock") or {}).get("quantity")
        held = int(stock) if isinstance(stock, int | float) else 0
        return CloverItem(str(existing["id"]), held, created=False)

    path = f"{channel._merchant_path}/items"
    body = {
        "name": name[:NAME_LIMIT],
        "price": price_cents,
        "priceType": "FIXED",
        "sku": sku,
    }
    response = channel._send("POST", path, body=body)
    channel._expect_ok(response, "POST", path)
    item_id = str(response.json()["id"])
    log.info("clover: created item %s for %s", item_id, sku)

    stock_path = f"{channel._merchant_path}/item_stocks/{item_id}"
    reply = channel._send("POST", stock_path, body={"quantity": quantity})
    channel._expect_ok(reply, "POST", stock_path)
    return CloverItem(item_id, quantity, created=True)
