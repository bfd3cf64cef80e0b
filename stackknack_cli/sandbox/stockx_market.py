"""The StockX simulator's state: catalogue, listings, operations, batches, orders.

Writes are asynchronous as on StockX: each makes an operation (or a batch) that stays
PENDING for ``delay`` seconds of the injected clock and then SUCCEEDS or FAILS. Effects
apply when the operation settles, which ``settle`` does on every request. Failures come
from business rules (deleting a listing a buyer matched) or from ``fail_next``.
"""

from __future__ import annotations

import random
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DAY = 86_400


def iso(moment: float) -> str:
    stamp = datetime.fromtimestamp(moment, tz=UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


@dataclass
class Variant:
    id: str
    product_id: str
    size: str
    """StockX's variantValue: ``10``, ``10W``, ``5Y``."""


@dataclass
class Product:
    id: str
    title: str
    style_id: str
    brand: str
    url_key: str
    variants: dict[str, Variant] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "productId": self.id,
            "urlKey": self.url_key,
            "styleId": self.style_id,
            "productType": "sneakers",
            "title": self.title,
            "brand": self.brand,
            "productAttributes": {
                "gender": "men",
                "season": None,
                "releaseDate": None,
                "retailPrice": None,
                "colorway": None,
                "color": None,
            },
        }


@dataclass
class Listing:
    id: str
    variant: Variant
    amount: str
    currency: str
    inventory_type: str
    status: str
    created_at: float
    updated_at: float
    ask_id: str
    batch_id: str | None = None
    order_number: str | None = None


@dataclass
class Operation:
    id: str
    listing_id: str
    kind: str
    created_at: float
    due_at: float
    apply: Callable[[], str | None]
    """Makes the change when the operation settles; returns an error to fail it."""
    status: str = "PENDING"
    error: str | None = None


@dataclass
class BatchItem:
    id: str
    payload: dict[str, Any]
    status: str = "QUEUED"
    error: str | None = None
    listing_id: str | None = None


@dataclass
class Batch:
    id: str
    kind: str
    created_at: float
    due_at: float
    items: list[BatchItem]
    status: str = "QUEUED"
    completed_at: float | None = None


@dataclass
class Order:
    number: str
    listing: Listing
    created_at: float
    updated_at: float
    status: str = "CREATED"


class Market:
    """Everything the simulated seller account holds. Not thread-safe: lock outside."""

    def __init__(self, rng: random.Random, clock: Callable[[], float]) -> None:
        self.rng = rng
        self.clock = clock
        self.delay = 2.0
        self.products: dict[str, Product] = {}
        self.variants: dict[str, Variant] = {}
        self.listings: dict[str, Listing] = {}
        self.operations: dict[str, Operation] = {}
        self.batches: dict[str, Batch] = {}
        self.orders: dict[str, Order] = {}
        self._failures: deque[str] = deque()

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def fail_next(self, count: int = 1, *, error: str = "Listing failed") -> None:
        """Fail the next ``count`` operations or batch items when they settle."""
        self._failures.extend([error] * count)

    # Catalogue.

    def add_product(
        self, title: str, style_id: str, brand: str, sizes: list[str]
    ) -> Product:
        url_key = "-".join(title.lower().replace('"', "").split())
        product = Product(self.new_id(), title, style_id, brand, url_key)
        for size in sizes:
            variant = Variant(self.new_id(), product.id, size)
            product.variants[variant.id] = variant
            self.variants[variant.id] = variant
        self.products[product.id] = product
        return product

    def find_variant(self, style_id: str, size: str) -> Variant:
        from stackknack_cli.channels.sizes import same_size, same_style

        for product in self.products.values():
            if same_style(product.style_id, style_id):
                for variant in product.variants.values():
                    if same_size(variant.size, size, brand=product.brand):
                        return variant
        raise KeyError(f"no variant of style {style_id} in size {size}")

    # Listings and the operations that change them.

    def add_listing(
        self,
        variant: Variant,
        amount: str,
        *,
        currency: str = "USD",
        inventory_type: str = "STANDARD",
        status: str = "ACTIVE",
        batch_id: str | None = None,
    ) -> Listing:
        now = self.clock()
        listing = Listing(
            self.new_id(),
            variant,
            amount,
            currency,
            inventory_type,
            status,
            now,
            now,
            str(self.rng.getrandbits(63)),
            batch_id,
        )
        self.listings[listing.id] = listing
        return listing

    def start(
        self, listing_id: str, kind: str, apply: Callable[[], str | None]
    ) -> Operation:
        now = self.clock()
        operation = Operation(
            self.new_id(), listing_id, kind, now, now + self.delay, apply
        )
        self.operations[operation.id] = operation
        return operation

    def _set_status(self, listing: Listing, status: str) -> None:
        listing.status = status
        listing.updated_at = self.clock()

    def change(self, listing: Listing, kind: str, fields: dict[str, Any]) -> str | None:
        """Apply one listing operation now; return an error instead when it cannot."""
        if listing.status in ("MATCHED", "COMPLETED", "DELETED", "CANCELED"):
            return f"Listing {listing.id} is {listing.status} and cannot be changed"
        if "amount" in fields:
            error = amount_error(fields["amount"])
            if error:
                return error
            listing.amount = str(fields["amount"])
        if "currencyCode" in fields:
            listing.currency = str(fields["currencyCode"])
        if kind == "DELETE":
            self._set_status(listing, "DELETED")
        elif kind in ("ACTIVATE", "DEACTIVATE"):
            self._set_status(listing, "ACTIVE" if kind == "ACTIVATE" else "INACTIVE")
        elif kind == "CREATE":
            active = fields.get("active", True)
            self._set_status(listing, "ACTIVE" if active else "INACTIVE")
        elif "active" in fields:
            self._set_status(listing, "ACTIVE" if fields["active"] else "INACTIVE")
        listing.updated_at = self.clock()
        return None

    def settle(self) -> None:
        """Finish every operation and batch whose time has come, oldest first."""
        now = self.clock()
        for operation in self.operations.values():
            if operation.status == "PENDING" and operation.due_at <= now:
                error = self._injected() or operation.apply()
                operation.status = "FAILED" if error else "SUCCEEDED"
                operation.error = error
        for batch in self.batches.values():
            if batch.status in ("QUEUED", "IN_PROGRESS") and now >= batch.created_at:
                batch.status = "IN_PROGRESS"
            if batch.status == "IN_PROGRESS" and batch.due_at <= now:
                for item in batch.items:
                    self._settle_item(batch, item)
                batch.status = "COMPLETED"
                batch.completed_at = now

    def _injected(self) -> str | None:
        return self._failures.popleft() if self._failures else None

    def _settle_item(self, batch: Batch, item: BatchItem) -> None:
        error = self._injected()
        if error is None:
            error = self._apply_item(batch, item)
        item.status = "FAILED" if error else "COMPLETED"
        item.error = error

    def _apply_item(self, batch: Batch, item: BatchItem) -> str | None:
        data = item.payload
        if batch.kind == "create":
            variant = self.variants.get(str(data.get("variantId")))
            if variant is None:
                return f"Variant {data.get('variantId')} does not exist"
            error = amount_error(data.get("amount"))
            if error:
                return error
            status = "ACTIVE" if data.get("active", True) else "INACTIVE"
            listing = self.add_listing(
                variant,
                str(data["amount"]),
                currency=str(data.get("currencyCode") or "USD"),
                status=status,
                batch_id=batch.id,
            )
            item.listing_id = listing.id
            return None
        target = self.listings.get(str(data.get("listingId")))
        if target is None:
            return f"Listing {data.get('listingId')} does not exist"
        item.listing_id = target.id
        kind = "DELETE" if batch.kind == "delete" else "UPDATE"
        return self.change(target, kind, data)

    def start_batch(self, kind: str, items: list[dict[str, Any]]) -> Batch:
        now = self.clock()
        expanded: list[BatchItem] = []
        for payload in items:
            copies = int(payload.get("quantity", 1)) if kind == "create" else 1
            for _ in range(max(copies, 0)):
                expanded.append(BatchItem(self.new_id(), dict(payload)))
        batch = Batch(self.new_id(), kind, now, now + self.delay, expanded)
        self.batches[batch.id] = batch
        return batch

    # Buyers.

    def sell(self, variant: Variant, *, inventory_type: str | None = None) -> Order:
        """Match the lowest active ask of ``variant``: it becomes an active order."""
        asks = [
            listing
            for listing in self.listings.values()
            if listing.variant is variant
            and listing.status == "ACTIVE"
            and inventory_type in (None, listing.inventory_type)
        ]
        if not asks:
            raise KeyError(f"no active ask for variant {variant.id}")
        listing = min(asks, key=lambda row: (float(row.amount), row.created_at))
        self._set_status(listing, "MATCHED")
        now = self.clock()
        if listing.inventory_type == "FLEX":
            number = "02-" + "".join(
                self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(10)
            )
        else:
            number = (
                f"{self.rng.randrange(10**8, 10**9)}-{self.rng.randrange(10**8, 10**9)}"
            )
        order = Order(number, listing, now, now)
        listing.order_number = number
        self.orders[number] = order
        return order

    def complete(self, number: str, status: str = "COMPLETED") -> Order:
        """Move an order to history (COMPLETED, CANCELED...) and its listing along."""
        order = self.orders[number]
        order.status = status
        order.updated_at = self.clock()
        self._set_status(
            order.listing, "COMPLETED" if status == "COMPLETED" else "CANCELED"
        )
        return order


def amount_error(amount: object) -> str | None:
    try:
        value = float(str(amount))
    except ValueError:
        return f"Invalid amount {amount!r}"
    if value < 1:
        return "Amount must be at least 1"
    return None
