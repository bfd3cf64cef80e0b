"""What the sync engine needs from a channel, and the records it exchanges with one."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class RemoteListing:
    """One sellable variant as a channel holds it."""

    channel_ref: str
    """The channel's stable id used to address pushes (Shopify inventory item gid,
    Clover item id)."""
    sku: str | None
    quantity: int
    title: str = ""
    active: bool = True
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SaleLine:
    """One line of one order: ``quantity`` units of one listing sold on a channel."""

    order_id: str
    line_id: str
    quantity: int
    sku: str | None = None
    channel_ref: str | None = None
    occurred_at: datetime | None = None
    counted_by_channel: bool = True
    """The channel took the sold units off the linked listing itself (a Shopify or
    Clover sale does). False when the sale came through another listing of the same
    SKU on that channel (an eBay listing made outside the Inventory API): the linked
    listing is then pushed like any other."""


@dataclass(frozen=True)
class ReturnLine:
    """Units of one sale line that left the order again: refunded, cancelled or
    edited out, as the platform reports it."""

    key: str
    """Unique per platform event on this channel (a Shopify refund line, an eBay
    cancelled line): the same event read again changes nothing."""
    order_id: str
    line_id: str
    """The sale line the units came from (as in ``SaleLine``)."""
    quantity: int
    cause: str = "return"
    """``return``, ``cancel``, ``edit``, or ``refund`` (not restocked): what the
    journal shows."""
    restocked: bool = True
    """The platform says the units came back to stock. False for a refund that kept
    them away (Shopify's NO_RESTOCK): recorded, and it adds nothing."""
    counted_by_channel: bool = False
    """The channel put the units back on the linked listing itself (a Shopify
    restock to a counting location); otherwise the listing is pushed the new count."""
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class SalesBatch:
    """Sale lines read from a channel, and the newest modification time they covered.

    A sale line's quantity leaves out the units that came back to stock in the same
    batch (the adapters read no sale units for a restocked refund or a cancelled
    line) and keeps those that did not (a refund without restock): a restocked
    return read together with its sale's first reading is taken as already netted
    out, and one that was not restocked is recorded after the sale, as it would be
    had the sale been read first.
    """

    lines: list[SaleLine]
    newest: datetime | None = None
    returns: list[ReturnLine] = field(default_factory=list)


@dataclass(frozen=True)
class Push:
    """Set one listing to ``target`` units; ``expected`` is what we believe it holds."""

    entry_id: int
    channel_ref: str
    target: int
    expected: int | None
    key: str
    """An idempotency key derived from the outbox entry (stable across retries)."""
    details: Mapping[str, Any] = field(default_factory=dict)
    operation: str | None = None
    """The platform's id of an asynchronous write this push already started (from a
    PENDING result); the adapter checks on it instead of writing again."""


class PushStatus(enum.Enum):
    DONE = "done"
    """The channel now holds ``target`` (``holds`` confirms it)."""
    MISMATCH = "mismatch"
    """A compare-and-set found a different quantity (``holds``): nothing was written."""
    REFUSED = "refused"
    """The channel refused this item for a reason a retry may not fix (``reason``)."""
    RETRY = "retry"
    """A passing problem with this one item; try again later."""
    PENDING = "pending"
    """An asynchronous write was accepted and is not finished (``operation`` names
    it); the entry stays open until the platform reports the outcome."""


@dataclass(frozen=True)
class PushResult:
    entry_id: int
    status: PushStatus
    holds: int | None = None
    reason: str = ""
    operation: str | None = None
    """With PENDING: the platform's id of the write to check on later."""
    permanent: bool = False
    """With REFUSED: the platform said a retry can never succeed (dead-letter now)."""
    details: Mapping[str, Any] | None = None
    """What the write changed about the listing (eBay offers withdrawn or relisted),
    merged into the listing's stored details."""
    uncertain: bool = False
    """With REFUSED: an earlier attempt of this write failed in a way that may hide
    its success (a timeout, a dropped answer, a 5xx), so the refusal may be about a
    write that already landed."""


class Channel(Protocol):
    """A connected platform.

    Every method makes network calls. Transport failures, 5xx and throttling are retried
    inside the adapter; past its retries a method raises ``ChannelUnavailableError``.
    A refused credential raises ``CredentialError``.
    """

    name: str
    batch_size: int

    def check(self) -> str:
        """Make one cheap authenticated call; return what it names (shop, merchant)."""
        ...

    def fetch_listings(self) -> Iterator[RemoteListing]:
        """Yield every variant the channel offers, page by page."""
        ...

    def fetch_sales(self, since: datetime) -> SalesBatch:
        """Return sale lines of orders modified at or after ``since`` (UTC)."""
        ...

    def read_quantities(self, refs: Sequence[str]) -> dict[str, int]:
        """Return the live quantity of each listing in ``refs`` that still exists."""
        ...

    def push(self, pushes: Sequence[Push]) -> list[PushResult]:
        """Apply up to ``batch_size`` pushes; return one result per push, any order."""
        ...


class BudgetedChannel(Channel, Protocol):
    """A channel with a request budget worth showing (StockX's daily quota)."""

    def budget(self) -> Mapping[str, Any]:
        """Return what is left of the request budget, e.g. ``{"day_left": 24000}``."""
        ...
