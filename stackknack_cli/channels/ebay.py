"""The eBay channel, over the Sell Inventory, Fulfillment and Account REST APIs.

A listing is one inventory item, addressed by its SKU (``channel_ref`` = SKU, as eBay
keys inventory items); its quantity is the item's ship-to-home quantity, and
``details["offers"]`` lists its offers with their listing ids and statuses.

Only listings made through the Inventory API are visible there. Listings made in
Seller Hub, the Trading API or File Exchange are not, until the seller migrates them
with bulkMigrateListing (fixed price only; every item and variation needs a SKU; the
listing must use business policies). ``outside_listings`` finds them from recent
orders: a line item whose listing no inventory offer owns.

A sale is a line item of an order modified since the cursor; cancelled orders
(``cancelStatus.cancelState == "CANCELED"``) are not sales, and each of their line
items is a return of its sale (see ``_cancelled_lines``). eBay takes sold units off
the listing itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from stackknack_cli.channels.base import (
    Push,
    PushResult,
    PushStatus,
    RemoteListing,
    ReturnLine,
    SaleLine,
    SalesBatch,
)
from stackknack_cli.channels.clover_tokens import TokenProvider
from stackknack_cli.channels.ebay_api import (
    ACCOUNT,
    API_BASES,
    FULFILLMENT,
    IDENTITY,
    INVENTORY,
    EbayApi,
    Params,
    errors_of,
)
from stackknack_cli.channels.ebay_writes import (
    BULK_LIMIT,
    EbayWriter,
    Offer,
    Plan,
    RevisionLedger,
    plan_push,
)
from stackknack_cli.channels.http import RetryPolicy
from stackknack_cli.errors import ChannelError, ChannelUnavailableError
from stackknack_cli.store.usage import DailyUsage
from stackknack_cli.times import parse_time

log = logging.getLogger(__name__)

PAGE_LIMIT = 200
"""The most inventory items or orders eBay returns per page."""
OUTSIDE_WINDOW = timedelta(days=90)
MIGRATE_LIMIT = 5
"""Listing ids per bulkMigrateListing call."""
OFFER_MEMORY = 900.0
"""Seconds the listing ids of a SKU's offers are trusted between sales reads."""
MIGRATE_HINT = (
    "listings made in Seller Hub or the Trading API are invisible to the Inventory "
    "API; migrate them with bulkMigrateListing (stackknack needs a SKU on every "
    "listing and variation, and business policies on the listing)"
)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def _cancelled_lines(
    order_id: str, order: Mapping[str, Any], status: Mapping[str, Any]
) -> list[ReturnLine]:
    """Return one cancellation per line item of a cancelled order.

    A cancelled order was never shipped, so its units are still on the shelf. eBay
    does not give them back to the listing by itself (relisting is the seller's
    choice when cancelling, and getOrders does not say whether it was made), so the
    listing is pushed the new count; if eBay did relist, the push finds more than
    expected and writes the central count.
    """
    occurred = parse_time(status.get("cancelledDate")) or parse_time(
        order.get("lastModifiedDate")
    )
    found = []
    for line in order.get("lineItems") or []:
        quantity = line.get("quantity")
        line_id = line.get("lineItemId")
        if not isinstance(quantity, int) or quantity <= 0 or not line_id:
            continue
        found.append(
            ReturnLine(
                key=f"{order_id}/{line_id}/cancel",
                order_id=order_id,
                line_id=str(line_id),
                quantity=quantity,
                cause="cancel",
                occurred_at=occurred,
            )
        )
    return found


def _ship_quantity(item: Mapping[str, Any]) -> int:
    ship = (item.get("availability") or {}).get("shipToLocationAvailability") or {}
    quantity = ship.get("quantity")
    return quantity if isinstance(quantity, int) else 0


class EbayChannel:
    """One eBay seller account, read and written through the REST Sell APIs.

    Every method makes network calls (see ``Channel``). ``base_url`` is a value of
    ``API_BASES`` or a simulator's address; the caller owns ``client``.
    ``out_of_stock_control`` is the seller's setting; ``None`` asks eBay's Account
    API once, at the first push to 0. ``usage`` keeps the revision counts (this
    process's own when ``None``).
    """

    name = "ebay"
    batch_size = BULK_LIMIT

    def __init__(
        self,
        client: httpx.Client,
        *,
        tokens: TokenProvider,
        base_url: str = API_BASES["production"],
        identity_url: str | None = None,
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        out_of_stock_control: bool | None = None,
        marketplace_id: str = "EBAY_US",
        revisions: RevisionLedger | None = None,
        usage: DailyUsage | None = None,
        page_size: int = PAGE_LIMIT,
    ) -> None:
        self.api = EbayApi(
            client,
            tokens=tokens,
            base_url=base_url,
            identity_url=identity_url,
            policy=policy,
            marketplace_id=marketplace_id,
        )
        self.clock = clock
        self._offers_read_at = clock()
        self._listings_by_sku: dict[str, set[str]] = {}
        self._outside_listings: set[str] = set()
        self.out_of_stock_control = out_of_stock_control
        self.page_size = max(1, min(page_size, PAGE_LIMIT))
        revisions = revisions or RevisionLedger(clock=clock, usage=usage)
        self.writer = EbayWriter(self.api, revisions)
        self.listing_ids: set[str] = set()
        """Listing ids of the inventory offers seen by the last ``fetch_listings``."""
        self.inventory_total: int | None = None
        self.refused: set[str] = set()
        self.stale: set[str] = set()
        self.warned: set[str] = set()
        """Listings without a SKU already reported (once a process, not each poll)."""
        self.cached: set[str] = set()
        """SKUs whose push under way uses the stored offers."""
        """SKUs whose offers as stored at linking failed a write: read them afresh."""
        """Idempotency keys of pushes eBay refused for good; never sent again."""

    def check(self) -> str:
        payload = self.api.get(IDENTITY, base=self.api.identity_url)
        if payload is None:
            raise ChannelError("ebay has no user behind the stored token")
        return str(payload.get("username") or payload.get("userId") or "")

    def detect_out_of_stock_control(self) -> bool:
        """Ask eBay whether the seller is opted in to Out-of-Stock Control."""
        path = f"{ACCOUNT}/program/get_opted_in_programs"
        payload = self.api.get(path) or {}
        programs = payload.get("programs") or []
        kinds = {p.get("programType") for p in programs if isinstance(p, dict)}
        return "OUT_OF_STOCK_CONTROL" in kinds

    def _oos_control(self) -> bool:
        if self.out_of_stock_control is None:
            self.out_of_stock_control = self.detect_out_of_stock_control()
            log.info(
                "ebay: out-of-stock control is %s",
                "on" if self.out_of_stock_control else "off",
            )
        return self.out_of_stock_control

    # Reading listings.

    def offers(self, sku: str) -> list[Offer]:
        """Return every offer of one SKU (empty when it has none)."""
        found: list[Offer] = []
        page = 0
        while True:
            params: Params = [("sku", sku), ("limit", 100), ("offset", page)]
            payload = self.api.get(f"{INVENTORY}/offer", params)
            if payload is None:
                return found
            batch = [Offer.from_json(o) for o in payload.get("offers") or []]
            found.extend(batch)
            if not payload.get("next") or not batch:
                return found
            page += 1

    def _items(self) -> Iterator[dict[str, Any]]:
        # eBay's offset here is a page index, not a record offset.
        page = 0
        while True:
            params: Params = [("limit", self.page_size), ("offset", page)]
            payload = self.api.get(f"{INVENTORY}/inventory_item", params) or {}
            if page == 0:
                total = payload.get("total")
                self.inventory_total = total if isinstance(total, int) else None
            items = payload.get("inventoryItems") or []
            yield from items
            if not payload.get("next") or len(items) < self.page_size:
                return
            page += 1

    def fetch_listings(self) -> Iterator[RemoteListing]:
        self.listing_ids = set()
        count = 0
        for item in self._items():
            sku = str(item.get("sku") or "")
            offers = self.offers(sku) if sku else []
            self.listing_ids.update(o.listing_id for o in offers if o.listing_id)
            count += 1
            yield RemoteListing(
                channel_ref=sku,
                sku=sku or None,
                quantity=_ship_quantity(item),
                title=str((item.get("product") or {}).get("title") or ""),
                active=any(offer.is_live for offer in offers),
                details={"offers": [offer.as_details() for offer in offers]},
            )
        if count == 0:
            log.warning("ebay: no inventory items; %s", MIGRATE_HINT)

    # Reading sales.

    def _orders(self, since: datetime) -> Iterator[dict[str, Any]]:
        # This endpoint's offset counts records; httpx percent-encodes the brackets.
        flt = f"lastmodifieddate:[{_iso(since)}..]"
        offset = 0
        while True:
            params: Params = [
                ("filter", flt),
                ("limit", PAGE_LIMIT),
                ("offset", offset),
            ]
            payload = self.api.get(f"{FULFILLMENT}/order", params)
            if payload is None:
                raise ChannelError("ebay has no order endpoint at this address")
            orders = payload.get("orders") or []
            yield from orders
            offset += len(orders)
            total = payload.get("total")
            if not orders or (isinstance(total, int) and offset >= total):
                return

    def fetch_sales(self, since: datetime) -> SalesBatch:
        lines: list[SaleLine] = []
        returns: list[ReturnLine] = []
        newest: datetime | None = None
        seen: set[str] = set()
        cancelled = 0
        listed = self._offer_listings()
        for order in self._orders(since):
            modified = parse_time(order.get("lastModifiedDate"))
            if modified is not None and (newest is None or modified > newest):
                newest = modified
            order_id = str(order.get("orderId") or "")
            if not order_id or order_id in seen:
                continue
            seen.add(order_id)
            status = order.get("cancelStatus") or {}
            if status.get("cancelState") == "CANCELED":
                cancelled += 1
                returns.extend(_cancelled_lines(order_id, order, status))
                continue
            occurred = parse_time(order.get("creationDate"))
            for line in order.get("lineItems") or []:
                quantity = line.get("quantity")
                if not isinstance(quantity, int) or quantity <= 0:
                    continue
                sku = str(line.get("sku") or "").strip() or None
                listing_id = str(line.get("legacyItemId") or "")
                if sku is None and listing_id not in self.warned:
                    self.warned.add(listing_id)
                    log.warning(
                        "ebay: order %s sold listing %s, which has no SKU; %s",
                        order_id,
                        listing_id,
                        MIGRATE_HINT,
                    )
                lines.append(
                    SaleLine(
                        order_id=order_id,
                        line_id=str(line.get("lineItemId")),
                        quantity=quantity,
                        sku=sku,
                        channel_ref=sku,
                        occurred_at=occurred,
                        counted_by_channel=self._sold_through_offer(
                            sku, listing_id, listed
                        ),
                    )
                )
        log.info(
            "ebay: read %d sale lines from %d orders (%d cancelled)",
            len(lines),
            len(seen),
            cancelled,
        )
        return SalesBatch(lines=lines, newest=newest, returns=returns)

    def _offer_listings(self) -> dict[str, set[str]]:
        """Return the listing ids of each SKU's offers read lately, forgetting them
        every ``OFFER_MEMORY`` seconds. Each poll re-reads minutes of orders; asking
        eBay for the offers of every SKU in them each time cost a call per SKU."""
        now = self.clock()
        if now - self._offers_read_at > OFFER_MEMORY:
            self._offers_read_at = now
            self._listings_by_sku = {}
            self._outside_listings = set()
        return self._listings_by_sku

    def _sold_through_offer(
        self, sku: str | None, listing_id: str, listed: dict[str, set[str]]
    ) -> bool:
        """Tell whether a sale came through the SKU's Inventory API listing, which
        eBay then lowered itself; a listing made outside the Inventory API with the
        same custom label leaves the managed one untouched."""
        if sku is None or not listing_id:
            return True
        outside = self._outside_listings
        known = listed.get(sku)
        if known is None or (listing_id not in known and listing_id not in outside):
            # A SKU or a listing not met lately (a new offer?): ask eBay.
            known = listed[sku] = {
                o.listing_id for o in self.offers(sku) if o.listing_id
            }
            if known and listing_id not in known:
                outside.add(listing_id)
        return not known or listing_id in known

    def outside_listings(self) -> dict[str, str | None]:
        """Return listings sold in the last 90 days that the Inventory API lacks.

        Maps each listing id to its SKU (``None`` when blank). Reads every inventory
        item with its offers, then 90 days of orders. A non-empty answer means the
        seller has listings stackknack cannot see; see ``MIGRATE_HINT``.
        """
        for _ in self.fetch_listings():
            pass
        since = datetime.fromtimestamp(self.clock(), tz=UTC) - OUTSIDE_WINDOW
        found: dict[str, str | None] = {}
        for order in self._orders(since):
            for line in order.get("lineItems") or []:
                listing_id = str(line.get("legacyItemId") or "")
                if listing_id and listing_id not in self.listing_ids:
                    found[listing_id] = str(line.get("sku") or "").strip() or None
        if found:
            log.warning("ebay: %d listings outside the Inventory API", len(found))
        return found

    def migrate_listings(self, listing_ids: Sequence[str]) -> dict[str, str]:
        """Ask eBay to move listings into the Inventory API; return a result each.

        Sends bulkMigrateListing five listings at a time; each answer is ``"ok"``
        or eBay's reason.
        """
        results: dict[str, str] = {}
        for start in range(0, len(listing_ids), MIGRATE_LIMIT):
            chunk = listing_ids[start : start + MIGRATE_LIMIT]
            body = {"requests": [{"listingId": lid} for lid in chunk]}
            path = f"{INVENTORY}/bulk_migrate_listing"
            response = self.api.post(path, body)
            payload = response.json() if response.content else {}
            for answer in payload.get("responses") or []:
                lid = str(answer.get("listingId"))
                errors = errors_of(answer)
                ok = answer.get("statusCode") == 200 and not errors
                results[lid] = (
                    "ok"
                    if ok
                    else "; ".join(
                        str(e.get("message") or e.get("errorId")) for e in errors
                    )
                )
        return results

    # Quantities.

    def _read_items(self, skus: Sequence[str]) -> dict[str, int]:
        quantities: dict[str, int] = {}
        for start in range(0, len(skus), BULK_LIMIT):
            chunk = skus[start : start + BULK_LIMIT]
            body = {"requests": [{"sku": sku} for sku in chunk]}
            path = f"{INVENTORY}/bulk_get_inventory_item"
            response = self.api.post(path, body)
            payload = response.json() if response.content else {}
            answers = payload.get("responses") if isinstance(payload, dict) else None
            if not isinstance(answers, list):
                self.api.expect(response, "POST", path)
                raise ChannelError(f"ebay answered POST {path} without responses")
            for answer in answers:
                item = answer.get("inventoryItem")
                if answer.get("statusCode") == 200 and isinstance(item, dict):
                    quantities[str(answer.get("sku"))] = _ship_quantity(item)
        return quantities

    def read_quantities(self, refs: Sequence[str]) -> dict[str, int]:
        return self._read_items(list(refs))

    def push(self, pushes: Sequence[Push]) -> list[PushResult]:
        results: dict[int, PushResult] = {}
        for push in pushes:
            if push.key in self.refused:
                results[push.entry_id] = PushResult(
                    push.entry_id,
                    PushStatus.REFUSED,
                    reason="eBay refused this exact write for good; not sent again",
                    permanent=True,
                )
        todo = [push for push in pushes if push.entry_id not in results]
        try:
            live = self._read_items([push.channel_ref for push in todo])
        except ChannelUnavailableError as exc:
            for push in todo:
                results[push.entry_id] = PushResult(
                    push.entry_id, PushStatus.RETRY, reason=str(exc)
                )
            return [results[push.entry_id] for push in pushes]

        plans: list[Plan] = []
        for push in todo:
            outcome = self._prepare(push, live)
            if isinstance(outcome, PushResult):
                results[push.entry_id] = outcome
            else:
                plans.append(outcome)

        self.writer.run(plans)
        for plan in plans:
            push = plan.push
            if plan.failed is not None and push.channel_ref in self.cached:
                # The stored offers may be what eBay refused (withdrawn since):
                # never take that as final; the next attempt reads them afresh.
                self.stale.add(push.channel_ref)
                plan.failed = PushResult(
                    push.entry_id, PushStatus.RETRY, reason=plan.failed.reason
                )
            results[push.entry_id] = plan.failed or PushResult(
                push.entry_id,
                PushStatus.DONE,
                holds=max(push.target, 0),
                details=_offers_after(plan),
            )
        for push in pushes:
            if results[push.entry_id].permanent:
                self.refused.add(push.key)
        return [results[push.entry_id] for push in pushes]

    def _known_offers(self, push: Push) -> list[Offer]:
        """Return the offers stored with the listing when all of them are live.

        eBay finds offers one SKU at a time; the stored ones save that call for the
        everyday quantity change. Anything else (a withdrawn or ended offer, a write
        that failed with them) reads the offers afresh.
        """
        self.cached.discard(push.channel_ref)
        known = (
            push.details.get("offers") if isinstance(push.details, Mapping) else None
        )
        if not known or push.channel_ref in self.stale:
            return []
        if push.expected is None or push.expected <= 0:
            return []  # at 0 eBay may have ended the listing: look again
        offers = [Offer.from_details(o) for o in known if isinstance(o, Mapping)]
        withdrawn = self.writer.withdrawn
        usable = offers and all(
            offer.is_live and offer.offer_id and offer.offer_id not in withdrawn
            for offer in offers
        )
        if not usable:
            return []
        self.cached.add(push.channel_ref)
        return offers

    def _prepare(self, push: Push, live: Mapping[str, int]) -> Plan | PushResult:
        ref = push.channel_ref
        if ref not in live:
            return PushResult(
                push.entry_id,
                PushStatus.REFUSED,
                reason=f"eBay has no inventory item with SKU {ref}",
                permanent=True,
            )
        holds = live[ref]
        # eBay has no compare-and-set: read, compare, then write (a sale may still
        # land in between; the next sales read accounts for it).
        if push.expected is not None and holds != push.expected:
            return PushResult(push.entry_id, PushStatus.MISMATCH, holds=holds)
        try:
            offers = self._known_offers(push) or self.offers(ref)
            oos = self._oos_control() if push.target <= 0 else True
        except ChannelUnavailableError as exc:
            return PushResult(push.entry_id, PushStatus.RETRY, reason=str(exc))
        except ChannelError as exc:
            return PushResult(push.entry_id, PushStatus.REFUSED, reason=str(exc))
        return plan_push(push, offers, oos_control=oos, withdrawn=self.writer.withdrawn)


def _offers_after(plan: Plan) -> dict[str, Any] | None:
    """The offers as a finished plan left them, to keep the stored ones current."""
    if not (plan.withdraw or plan.relist):
        return None
    offers = {o.offer_id: o.as_details() for o in (*plan.revise, *plan.relist)}
    for offer in plan.withdraw:
        offers[offer.offer_id] = offer.as_details() | {
            "status": "UNPUBLISHED",
            "listing_status": None,
        }
    for offer in plan.relist:
        offers[offer.offer_id] |= {
            "status": "PUBLISHED",
            "listing_status": "ACTIVE",
            "listing_id": plan.listing_ids.get(offer.offer_id, offer.listing_id),
        }
    return {"offers": list(offers.values())}
