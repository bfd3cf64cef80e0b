"""Writing quantities to eBay: one bulk call per batch, withdraws, relists, and caps.

eBay ends a fixed-price listing whose quantity reaches 0 unless the seller is opted in
to Out-of-Stock Control. Without it, a push to 0 withdraws the offer instead (the
listing ends but the offer and its settings stay), and a later push above 0 publishes
the offer again, which makes a new listing id. With it, 0 is sent like any number.

eBay lets a listing be revised 250 times per calendar day. ``RevisionLedger`` counts
revisions per listing per UTC day and refuses past the cap, so a busy SKU cannot lock
its listing until tomorrow. Given the database's counter, the count is shared by every
run on that database (each cron ``sync`` goes on from where the last one stopped).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stackknack_cli.channels.base import Push, PushResult, PushStatus
from stackknack_cli.channels.ebay_api import INVENTORY, EbayApi, describe, errors_of
from stackknack_cli.errors import ChannelError, ChannelUnavailableError
from stackknack_cli.store.usage import DailyUsage, MemoryUsage, utc_day

log = logging.getLogger(__name__)

BULK_LIMIT = 25
"""Requests per bulkUpdatePriceQuantity and bulkGetInventoryItem call."""
DAILY_REVISIONS = 250
CHANNEL = "ebay"
LIVE = frozenset({"ACTIVE", "OUT_OF_STOCK"})
"""Listing statuses that a quantity update revises."""
RELISTABLE = frozenset({"ENDED"})
"""Listing statuses that a publish brings back (not EBAY_ENDED: eBay ended those)."""
PERMANENT_ERRORS = frozenset({25702, 25709})
"""eBay error ids no retry can fix: no such SKU, a field value eBay cannot accept."""


class RevisionLedger:
    """Count revisions per listing per UTC day, in ``usage`` (this process's own
    counts by default).

    The cap is checked before a write and counted after it; between the two, the
    channel's drain lock keeps other processes from writing to eBay.
    """

    def __init__(
        self,
        cap: int = DAILY_REVISIONS,
        *,
        clock: Callable[[], float] = time.time,
        usage: DailyUsage | None = None,
    ) -> None:
        self.cap = cap
        self.clock = clock
        self.usage: DailyUsage = usage or MemoryUsage()

    def used(self, listing_id: str) -> int:
        day = utc_day(self.clock())
        return self.usage.used(CHANNEL, [listing_id], day=day)[listing_id]

    def full(self, listing_ids: Iterable[str]) -> list[str]:
        """Return the listings among ``listing_ids`` that reached today's cap."""
        wanted = list(dict.fromkeys(listing_ids))
        counts = self.usage.used(CHANNEL, wanted, day=utc_day(self.clock()))
        return [lid for lid in wanted if counts[lid] >= self.cap]

    def count(self, listing_ids: Iterable[str]) -> None:
        """Count one revision of each listing; called after eBay took the write."""
        try:
            self.usage.add(CHANNEL, listing_ids, day=utc_day(self.clock()))
        except ChannelUnavailableError as exc:
            # The write is done: failing it now would send it again.
            log.warning("ebay: revision not counted: %s", exc)


@dataclass
class Offer:
    """The parts of an eBay offer that a quantity write needs."""

    offer_id: str
    status: str
    listing_id: str | None
    listing_status: str | None
    available: int | None
    format: str = "FIXED_PRICE"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Offer:
        listing = data.get("listing") or {}
        available = data.get("availableQuantity")
        return cls(
            offer_id=str(data.get("offerId") or ""),
            status=str(data.get("status") or ""),
            listing_id=str(listing["listingId"]) if listing.get("listingId") else None,
            listing_status=listing.get("listingStatus"),
            available=available if isinstance(available, int) else None,
            format=str(data.get("format") or "FIXED_PRICE"),
        )

    @classmethod
    def from_details(cls, data: Mapping[str, Any]) -> Offer:
        """Rebuild an offer from what ``as_details`` stored with the listing."""
        available = data.get("available")
        return cls(
            offer_id=str(data.get("offer_id") or ""),
            status=str(data.get("status") or ""),
            listing_id=data.get("listing_id"),
            listing_status=data.get("listing_status"),
            available=available if isinstance(available, int) else None,
        )

    @property
    def is_live(self) -> bool:
        return self.status == "PUBLISHED" and self.listing_status in LIVE

    def as_details(self) -> dict[str, Any]:
        return {
            "offer_id": self.offer_id,
            "status": self.status,
            "listing_id": self.listing_id,
            "listing_status": self.listing_status,
            "available": self.available,
        }


@dataclass
class Plan:
    """What one push does: withdraw, update, then relist."""

    push: Push
    withdraw: list[Offer] = field(default_factory=list)
    revise: list[Offer] = field(default_factory=list)
    relist: list[Offer] = field(default_factory=list)
    failed: PushResult | None = None
    listing_ids: dict[str, str] = field(default_factory=dict)
    """New listing ids by offer id, after a relist."""

    def fail(self, status: PushStatus, reason: str, *, permanent: bool = False) -> None:
        if self.failed is None:
            self.failed = PushResult(
                self.push.entry_id, status, reason=reason, permanent=permanent
            )


def was_listed(push: Push, offer: Offer, withdrawn: set[str]) -> bool:
    """Tell whether an unpublished offer had a listing we may bring back."""
    if offer.offer_id in withdrawn:
        return True
    known = push.details.get("offers") if isinstance(push.details, Mapping) else None
    for entry in known or []:
        if isinstance(entry, Mapping) and entry.get("offer_id") == offer.offer_id:
            return bool(entry.get("listing_id"))
    return False


def plan_push(
    push: Push, offers: Sequence[Offer], *, oos_control: bool, withdrawn: set[str]
) -> Plan:
    """Decide the calls for one push whose compare-and-set passed."""
    plan = Plan(push)
    fixed = [offer for offer in offers if offer.format == "FIXED_PRICE"]
    live = [offer for offer in offers if offer.is_live]
    if push.target <= 0 and not oos_control:
        plan.withdraw = [offer for offer in live if offer.format == "FIXED_PRICE"]
        plan.revise = [offer for offer in live if offer.format != "FIXED_PRICE"]
        return plan

    plan.revise = live
    if push.target > 0:
        plan.relist = [
            offer
            for offer in fixed
            if (offer.status == "PUBLISHED" and offer.listing_status in RELISTABLE)
            or (offer.status == "UNPUBLISHED" and was_listed(push, offer, withdrawn))
        ]
    return plan


def item_status(
    status_code: object, errors: Sequence[Mapping[str, Any]]
) -> tuple[PushStatus, bool] | None:
    """Map one per-item result to (status, permanent); ``None`` means it worked."""
    code = status_code if isinstance(status_code, int) else 500
    if 200 <= code < 300:
        return None
    if code == 429 or code >= 500:
        return PushStatus.RETRY, False
    ids = {error.get("errorId") for error in errors}
    return PushStatus.REFUSED, bool(ids & PERMANENT_ERRORS)


class EbayWriter:
    """Carry out planned pushes: withdraws, one bulk update, publishes."""

    def __init__(self, api: EbayApi, revisions: RevisionLedger) -> None:
        self.api = api
        self.revisions = revisions
        self.withdrawn: set[str] = set()
        """Offers this process withdrew at 0; a restock publishes them again."""

    def check_caps(self, plan: Plan) -> None:
        touched = [o.listing_id for o in plan.revise if o.listing_id]
        full = self.revisions.full(touched)
        if full:
            # A passing state, not a refusal: the push is tried again (without a
            # call while the cap holds) until the day turns, never dead-lettered.
            plan.fail(
                PushStatus.RETRY,
                f"eBay listing {full[0]} was revised {self.revisions.cap} times "
                "today (eBay's daily cap); the push waits until 00:00 UTC",
            )

    def withdraw(self, plan: Plan) -> None:
        for offer in plan.withdraw:
            path = f"{INVENTORY}/offer/{offer.offer_id}/withdraw"
            response = self.api.post(path, {})
            if response.status_code >= 400:
                errors = errors_of(_json(response))
                status = item_status(response.status_code, errors)
                kind, permanent = status or (PushStatus.REFUSED, False)
                plan.fail(
                    kind, f"withdraw refused: {describe(errors)}", permanent=permanent
                )
                return
            self.withdrawn.add(offer.offer_id)
            log.info(
                "ebay: withdrew offer %s of %s at 0 (no out-of-stock control)",
                offer.offer_id,
                plan.push.channel_ref,
            )

    def bulk_update(self, plans: Sequence[Plan], *, relisted: bool = False) -> None:
        """Send one bulkUpdatePriceQuantity for every plan still going."""
        requests: list[dict[str, Any]] = []
        by_sku: dict[str, Plan] = {}
        for plan in plans:
            if plan.failed is not None:
                continue
            sku = plan.push.channel_ref
            offers = plan.relist if relisted else plan.revise
            element: dict[str, Any] = {"sku": sku}
            if not relisted:
                quantity = max(plan.push.target, 0)
                element["shipToLocationAvailability"] = {"quantity": quantity}
            if offers:
                element["offers"] = [
                    {
                        "offerId": o.offer_id,
                        "availableQuantity": max(plan.push.target, 0),
                    }
                    for o in offers
                ]
            elif relisted:
                continue
            requests.append(element)
            by_sku[sku] = plan
        if not requests:
            return

        path = f"{INVENTORY}/bulk_update_price_quantity"
        response = self.api.post(path, {"requests": requests})
        payload = _json(response)
        answers = payload.get("responses") if isinstance(payload, dict) else None
        if not isinstance(answers, list):
            # Without per-item results nothing is known about any item.
            reason = describe(errors_of(payload), f"HTTP {response.status_code}")
            for plan in by_sku.values():
                plan.fail(PushStatus.REFUSED, f"bulk update refused: {reason}")
            return

        for answer in answers:
            if not isinstance(answer, dict):
                continue
            target = by_sku.get(str(answer.get("sku")))
            errors = errors_of(answer)
            status = item_status(answer.get("statusCode"), errors)
            if target is not None and status is not None:
                reason = describe(errors, "refused")
                target.fail(status[0], reason, permanent=status[1])
        for sku, plan in by_sku.items():
            if plan.failed is None:
                offers = plan.relist if relisted else plan.revise
                ids = [plan.listing_ids.get(o.offer_id, o.listing_id) for o in offers]
                self.revisions.count(lid for lid in ids if lid)
            elif plan.failed.status is PushStatus.REFUSED:
                log.warning("ebay: update of %s refused: %s", sku, plan.failed.reason)

    def raise_offer(self, offer: Offer, quantity: int) -> None:
        """Give an offer that holds 0 (its listing ended there) ``quantity`` units.

        eBay publishes no offer holding 0, and its bulk call takes only live offers,
        so the offer is read and replaced whole (updateOffer is a full replace).
        """
        path = f"{INVENTORY}/offer/{offer.offer_id}"
        current = self.api.get(path)
        if current is None:
            raise ChannelError(f"ebay has no offer {offer.offer_id}")
        body = {
            key: value
            for key, value in current.items()
            if key not in ("offerId", "status", "listing")
        }
        body["availableQuantity"] = quantity
        self.api.expect(self.api.send("PUT", path, body=body), "PUT", path)
        offer.available = quantity

    def relist(self, plan: Plan) -> None:
        for offer in plan.relist:
            if not offer.available:
                self.raise_offer(offer, max(plan.push.target, 0))
            path = f"{INVENTORY}/offer/{offer.offer_id}/publish"
            response = self.api.post(path, {})
            payload = _json(response)
            if response.status_code >= 400:
                errors = errors_of(payload)
                status = item_status(response.status_code, errors)
                kind, permanent = status or (PushStatus.REFUSED, False)
                plan.fail(
                    kind, f"relist refused: {describe(errors)}", permanent=permanent
                )
                return
            listing_id = payload.get("listingId") if isinstance(payload, dict) else None
            if listing_id:
                plan.listing_ids[offer.offer_id] = str(listing_id)
                self.revisions.count([str(listing_id)])
            self.withdrawn.discard(offer.offer_id)
            log.info(
                "ebay: relisted offer %s of %s as listing %s",
                offer.offer_id,
                plan.push.channel_ref,
                listing_id,
            )

    def run(self, plans: Sequence[Plan]) -> None:
        """Withdraw, update and relist; failures land on each plan."""
        for plan in plans:
            self.check_caps(plan)
        for plan in plans:
            if plan.failed is None and plan.withdraw:
                self._guard(plan, self.withdraw)
        self._guard_all(plans, lambda: self.bulk_update(plans))
        again: list[Plan] = []
        for plan in plans:
            if plan.failed is None and plan.relist:
                self._guard(plan, self.relist)
                stale = [
                    o
                    for o in plan.relist
                    if o.available not in (None, plan.push.target)
                ]
                if plan.failed is None and stale:
                    plan.relist = stale
                    again.append(plan)
        if again:
            # A published offer lists min(offer quantity, item quantity); an offer
            # withdrawn earlier still carries its old quantity.
            self._guard_all(again, lambda: self.bulk_update(again, relisted=True))

    def _guard(self, plan: Plan, step: Callable[[Plan], None]) -> None:
        try:
            step(plan)
        except ChannelUnavailableError as exc:
            plan.fail(PushStatus.RETRY, str(exc))
        except ChannelError as exc:
            plan.fail(PushStatus.REFUSED, str(exc))

    def _guard_all(self, plans: Sequence[Plan], step: Callable[[], None]) -> None:
        try:
            step()
        except ChannelUnavailableError as exc:
            for plan in plans:
                plan.fail(PushStatus.RETRY, str(exc))
        except ChannelError as exc:
            for plan in plans:
                plan.fail(PushStatus.REFUSED, str(exc))


def _json(response: Any) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        return None
