"""One simulated Shopify shop: locations, variants, inventory levels, orders.

Plain data and the rules Shopify applies to it (2026-04): inventory states per level,
``inventorySetQuantities`` validation and compare-and-set, and what a checkout does to
stock. No HTTP and no locking here; ``ShopifySimulator`` holds the lock.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from stackknack_cli.errors import StackknackError

# on_hand is the sum of these states; incoming is tracked apart from it.
ON_HAND_PARTS = (
    "available",
    "committed",
    "reserved",
    "damaged",
    "safety_stock",
    "quality_control",
)
UNAVAILABLE_PARTS = ("reserved", "damaged", "safety_stock", "quality_control")
QUANTITY_NAMES = (*ON_HAND_PARTS, "incoming", "on_hand", "unavailable")
SETTABLE_NAMES = ("available", "on_hand")
QUANTITY_LIMIT = 1_000_000_000

# Shopify's accepted inventory change reasons.
REASONS = frozenset(
    {
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_canceled",
        "movement_created",
        "movement_received",
        "movement_updated",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    }
)

# Shopify order and line-item IDs exceed 2**53; clients parsing them as doubles break.
ORDER_ID_BASE = 820_982_911_946_154_508
LINE_ITEM_ID_BASE = 13_865_100_000_000_000


class SaleRefusedError(StackknackError):
    """The simulated checkout refused the sale (not enough stock, unknown SKU)."""


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def parse_gid(value: Any, kind: str) -> int | None:
    """Return N from ``gid://shopify/{kind}/N`` (query string ignored), or None."""
    prefix = f"gid://shopify/{kind}/"
    if not isinstance(value, str) or not value.startswith(prefix):
        return None
    number = value[len(prefix) :].split("?", 1)[0]
    return int(number) if number.isdigit() else None


def iso(timestamp: float) -> str:
    """Format a Unix time the way Shopify's DateTime scalar does."""
    moment = datetime.fromtimestamp(int(timestamp), tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Location:
    id: int
    name: str
    is_active: bool = True


@dataclass
class Variant:
    id: int
    product_id: int
    product_title: str
    title: str
    sku: str | None
    item_id: int
    created_at: float
    updated_at: float
    policy: str = "DENY"
    tracked: bool = True
    mutable: bool = True
    product_status: str = "ACTIVE"
    price: str = "0.00"
    """False for items Shopify computes (a bundle's parent): API writes refused."""

    @property
    def display_name(self) -> str:
        return f"{self.product_title} - {self.title}"


@dataclass
class Level:
    id: int
    item_id: int
    location_id: int
    updated_at: float
    states: dict[str, int] = field(default_factory=dict)

    def quantity(self, name: str) -> int:
        if name == "on_hand":
            return sum(self.states.get(part, 0) for part in ON_HAND_PARTS)
        if name == "unavailable":
            return sum(self.states.get(part, 0) for part in UNAVAILABLE_PARTS)
        return self.states.get(name, 0)

    def shift(self, name: str, delta: int) -> None:
        self.states[name] = self.states.get(name, 0) + delta


@dataclass
class LineItem:
    id: int
    variant_id: int
    location_id: int
    sku: str | None
    title: str
    quantity: int
    current_quantity: int
    fulfilled: int = 0
    """Units shipped and still with the customer (a RETURN refund takes them back)."""


RESTOCK_TYPES = ("RETURN", "CANCEL", "NO_RESTOCK")
"""What ``refundCreate`` accepts (LEGACY_RESTOCK is only ever read)."""


@dataclass
class RefundLine:
    id: int
    line_id: int
    quantity: int
    restock_type: str
    location_id: int | None
    """Where restocked units went; None when nothing was restocked."""


@dataclass
class Refund:
    id: int
    created_at: float
    lines: list[RefundLine]
    note: str | None = None


@dataclass
class WebhookSubscription:
    id: int
    topic: str
    callback_url: str
    format: str
    created_at: float


@dataclass
class Order:
    id: int
    number: int
    created_at: float
    updated_at: float
    line_items: list[LineItem]
    cancelled_at: float | None = None
    refunds: list[Refund] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"#{self.number}"


@dataclass
class Change:
    name: str
    delta: int
    after: int
    item_id: int
    location_id: int


@dataclass
class AdjustmentGroup:
    id: int
    created_at: float
    reason: str
    reference: str | None
    changes: list[Change]


@dataclass
class UserError:
    code: str
    field: list[str]
    message: str


class Shop:
    """State and rules of one shop; callers serialize access."""

    def __init__(self, name: str, domain: str, clock: Callable[[], float]) -> None:
        self.name = name
        self.domain = domain
        self.clock = clock
        self.currency = "USD"
        self.locations: dict[int, Location] = {}
        self.variants: dict[int, Variant] = {}
        self.levels: dict[tuple[int, int], Level] = {}
        self.orders: dict[int, Order] = {}
        self.groups: dict[int, AdjustmentGroup] = {}
        self.webhooks: dict[int, WebhookSubscription] = {}
        self._ids = {
            kind: itertools.count(start)
            for kind, start in (
                ("location", 71_000_000_001),
                ("product", 8_100_000_000_001),
                ("variant", 46_100_000_000_001),
                ("item", 48_200_000_000_001),
                ("level", 120_000_000_001),
                ("order", ORDER_ID_BASE),
                ("line", LINE_ITEM_ID_BASE),
                ("group", 33_000_000_001),
                ("webhook", 1_400_000_001),
                ("refund", 890_088_186_047_892_319),
                ("refund_line", 487_817_672_276_298_554),
            )
        }
        self._order_numbers = itertools.count(1001)

    def next_id(self, kind: str) -> int:
        return next(self._ids[kind])

    def add_location(self, name: str, *, active: bool = True) -> Location:
        location = Location(self.next_id("location"), name, active)
        self.locations[location.id] = location
        return location

    def location_named(self, name_or_id: str | int) -> Location | None:
        for location in self.locations.values():
            if name_or_id in (location.name, location.id, gid("Location", location.id)):
                return location
        return None

    def add_variant(
        self,
        sku: str | None,
        *,
        product_title: str,
        title: str = "Default Title",
        quantities: dict[int, int],
        policy: str = "DENY",
        tracked: bool = True,
        mutable: bool = True,
        price: str = "0.00",
    ) -> Variant:
        """Create a variant and its product, stocked per location in ``quantities``."""
        now = self.clock()
        variant = Variant(
            id=self.next_id("variant"),
            product_id=self.next_id("product"),
            product_title=product_title,
            title=title,
            sku=sku,
            item_id=self.next_id("item"),
            created_at=now,
            updated_at=now,
            policy=policy,
            tracked=tracked,
            mutable=mutable,
            price=price,
        )
        self.variants[variant.id] = variant
        for location_id, available in quantities.items():
            level = Level(self.next_id("level"), variant.item_id, location_id, now)
            level.states["available"] = available
            self.levels[(variant.item_id, location_id)] = level
        return variant

    def variant_by_sku(self, sku: str) -> Variant | None:
        return next((v for v in self.variants.values() if v.sku == sku), None)

    def variant_by_item(self, item_id: int) -> Variant | None:
        return next((v for v in self.variants.values() if v.item_id == item_id), None)

    def levels_of(self, item_id: int) -> list[Level]:
        found = [lv for (item, _), lv in self.levels.items() if item == item_id]
        return sorted(found, key=lambda lv: lv.id)

    def inventory_quantity(self, variant: Variant) -> int:
        return sum(lv.quantity("available") for lv in self.levels_of(variant.item_id))

    def set_quantities(
        self, name: str, reason: str, reference: str | None, quantities: list[Any]
    ) -> tuple[AdjustmentGroup | None, list[UserError]]:
        """Apply ``inventorySetQuantities``: every quantity, or none when any fails."""
        errors = _check_input(name, reason, reference)
        targets: list[tuple[Level, int]] = []
        seen: set[tuple[int, int]] = set()
        for index, entry in enumerate(quantities):
            level, problem = self._check_quantity(name, index, entry, seen)
            if problem is not None:
                errors.append(problem)
            elif level is not None:
                targets.append((level, entry["quantity"]))
        if errors:
            return None, errors
        now = self.clock()
        changes: list[Change] = []
        for level, quantity in targets:
            changes.extend(_set_level(level, name, quantity))
            level.updated_at = now
        group = AdjustmentGroup(self.next_id("group"), now, reason, reference, changes)
        self.groups[group.id] = group
        return group, []

    def _check_quantity(
        self, name: str, index: int, entry: dict[str, Any], seen: set[tuple[int, int]]
    ) -> tuple[Level | None, UserError | None]:
        path = ["input", "quantities", str(index)]
        item_id = parse_gid(entry["inventoryItemId"], "InventoryItem")
        variant = None if item_id is None else self.variant_by_item(item_id)
        if item_id is None or variant is None:
            return None, UserError(
                "INVALID_INVENTORY_ITEM",
                [*path, "inventoryItemId"],
                "No inventory item has this ID.",
            )
        location_id = parse_gid(entry["locationId"], "Location")
        if location_id is None or location_id not in self.locations:
            return None, UserError(
                "INVALID_LOCATION",
                [*path, "locationId"],
                "No location has this ID.",
            )
        level = self.levels.get((item_id, location_id))
        if level is None:
            return None, UserError(
                "ITEM_NOT_STOCKED_AT_LOCATION",
                [*path, "locationId"],
                "The inventory item is not stocked at this location.",
            )
        if not variant.mutable:
            return None, UserError(
                "NON_MUTABLE_INVENTORY_ITEM",
                [*path, "inventoryItemId"],
                "This inventory item's quantities are computed by Shopify "
                "(for example a bundle) and can't be set through the API.",
            )
        if (item_id, location_id) in seen:
            return None, UserError(
                "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                path,
                "The same inventory item and location appear more than once.",
            )
        seen.add((item_id, location_id))
        return level, _check_amount(name, path, entry, level)

    def sell(self, sku: str, quantity: int, location: str | int | None = None) -> Order:
        """Place an order as a shopper would; Shopify moves available to committed.

        Raises SaleRefusedError when the SKU is unknown, or when the variant's policy
        is DENY and the chosen location has fewer than ``quantity`` available.
        """
        variant = self.variant_by_sku(sku)
        if variant is None:
            raise SaleRefusedError(f"no variant with SKU {sku!r}")
        if quantity < 1:
            raise SaleRefusedError("quantity must be at least 1")
        level = self._pick_level(variant, quantity, location)
        available = level.quantity("available")
        if variant.tracked and variant.policy == "DENY" and available < quantity:
            raise SaleRefusedError(f"only {available} of {sku!r} available")
        now = self.clock()
        if variant.tracked:
            level.shift("available", -quantity)
            level.shift("committed", quantity)
            level.updated_at = now
        line = LineItem(
            id=self.next_id("line"),
            variant_id=variant.id,
            location_id=level.location_id,
            sku=variant.sku,
            title=variant.product_title,
            quantity=quantity,
            current_quantity=quantity,
        )
        order = Order(
            self.next_id("order"), next(self._order_numbers), now, now, [line]
        )
        self.orders[order.id] = order
        return order

    def _pick_level(
        self, variant: Variant, quantity: int, location: str | int | None
    ) -> Level:
        levels = self.levels_of(variant.item_id)
        if location is not None:
            chosen = self.location_named(location)
            levels = [lv for lv in levels if chosen and lv.location_id == chosen.id]
        if not levels:
            raise SaleRefusedError(f"{variant.sku!r} is not stocked at {location!r}")
        # Shopify routes an order to a location that can fulfil it, else the first one.
        enough = [lv for lv in levels if lv.quantity("available") >= quantity]
        return (enough or levels)[0]

    def cancel_order(self, order_id: int, *, restock: bool = True) -> Order:
        """Cancel an order; with ``restock`` its committed units become available.

        As ``orderCancel`` does, the unfulfilled units are refunded in one refund whose
        lines say CANCEL (restocked) or NO_RESTOCK.
        """
        order = self._order(order_id)
        if order.cancelled_at is not None:
            raise SaleRefusedError(f"order {order.name} is already cancelled")
        open_units = {
            line.id: line.current_quantity - line.fulfilled
            for line in order.line_items
            if line.current_quantity > line.fulfilled
        }
        if open_units:
            self.refund(order_id, open_units, "CANCEL" if restock else "NO_RESTOCK")
        order.cancelled_at = order.updated_at = self.clock()
        return order

    def refund(
        self,
        order_id: int,
        quantities: dict[int, int],
        restock_type: str,
        *,
        location_id: int | None = None,
        note: str | None = None,
    ) -> Refund:
        """Refund units of line items (``refundCreate``), restocked or not.

        RETURN takes back shipped units, CANCEL unshipped ones; both make them
        available at ``location_id`` (default: where the line was assigned).
        NO_RESTOCK takes unshipped units first and puts nothing back. Raises
        SaleRefusedError for more units than the line can give, as Shopify refuses.
        """
        order = self._order(order_id)
        if restock_type not in RESTOCK_TYPES:
            raise SaleRefusedError(f"restock type must be one of {RESTOCK_TYPES}")
        lines = {line.id: line for line in order.line_items}
        for line_id, units in quantities.items():
            line = lines.get(line_id)
            if line is None or not 0 < units <= _refundable(line, restock_type):
                raise SaleRefusedError(
                    f"order {order.name} has no {units} units of line {line_id} "
                    f"to refund with {restock_type}"
                )
            target = location_id if location_id is not None else line.location_id
            variant = self.variants.get(line.variant_id)
            stocked = variant is not None and (variant.item_id, target) in self.levels
            if restock_type != "NO_RESTOCK" and not stocked:
                raise SaleRefusedError(f"line {line_id} is not stocked at {target}")
        refund = Refund(self.next_id("refund"), self.clock(), [], note)
        for line_id, units in quantities.items():
            line = lines[line_id]
            target = location_id if location_id is not None else line.location_id
            restocked = restock_type != "NO_RESTOCK"
            self._take_back(line, units, restock_type, target)
            refund.lines.append(
                RefundLine(
                    self.next_id("refund_line"),
                    line_id,
                    units,
                    restock_type,
                    target if restocked else None,
                )
            )
        order.refunds.append(refund)
        order.updated_at = self.clock()
        return refund

    def _take_back(
        self, line: LineItem, units: int, restock_type: str, location_id: int
    ) -> None:
        open_units = line.current_quantity - line.fulfilled
        unshipped = units if restock_type == "CANCEL" else 0
        if restock_type == "NO_RESTOCK":
            unshipped = min(units, open_units)
        shipped = units - unshipped
        line.current_quantity -= units
        line.fulfilled -= shipped
        source = self._line_level(line)
        if source is not None and unshipped:
            source.shift("committed", -unshipped)
            source.updated_at = self.clock()
        if restock_type == "NO_RESTOCK":
            return
        variant = self.variants.get(line.variant_id)
        if variant is None or not variant.tracked:
            return
        level = self.levels.get((variant.item_id, location_id))
        if level is not None:
            level.shift("available", units)
            level.updated_at = self.clock()

    def reduce_line_item(self, order_id: int, sku: str, by: int) -> Order:
        """Edit an order to remove ``by`` units of ``sku`` (restocked)."""
        order = self._order(order_id)
        line = next((li for li in order.line_items if li.sku == sku), None)
        removable = 0 if line is None else line.current_quantity - line.fulfilled
        if line is None or not 0 < by <= removable:
            raise SaleRefusedError(f"order {order.name} has no {by} removable {sku!r}")
        self._release(line, by, restock=True)
        line.current_quantity -= by
        order.updated_at = self.clock()
        return order

    def fulfill_order(self, order_id: int) -> Order:
        """Ship every open unit: committed and on_hand go down, available stays.

        Raises SaleRefusedError for a cancelled order or one with nothing to ship.
        """
        order = self._order(order_id)
        if order.cancelled_at is not None:
            raise SaleRefusedError(f"order {order.name} is cancelled")
        if all(line.current_quantity <= line.fulfilled for line in order.line_items):
            raise SaleRefusedError(f"order {order.name} has nothing left to fulfil")
        for line in order.line_items:
            open_units = line.current_quantity - line.fulfilled
            level = self._line_level(line)
            if level is not None:
                level.shift("committed", -open_units)
            line.fulfilled += open_units
        order.updated_at = self.clock()
        return order

    def _release(self, line: LineItem, units: int, restock: bool) -> None:
        level = self._line_level(line)
        if level is None or units <= 0:
            return
        level.shift("committed", -units)
        if restock:
            level.shift("available", units)
        level.updated_at = self.clock()

    def _line_level(self, line: LineItem) -> Level | None:
        variant = self.variants.get(line.variant_id)
        if variant is None or not variant.tracked:
            return None
        return self.levels.get((variant.item_id, line.location_id))

    def _order(self, order_id: int) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise SaleRefusedError(f"no order {order_id}")
        return order

    def iter_orders(self) -> Iterator[Order]:
        return iter(self.orders.values())


def _refundable(line: LineItem, restock_type: str) -> int:
    """Units of ``line`` a refund of ``restock_type`` may take."""
    if restock_type == "RETURN":
        return line.fulfilled
    if restock_type == "CANCEL":
        return line.current_quantity - line.fulfilled
    return line.current_quantity


def _check_input(name: str, reason: str, reference: str | None) -> list[UserError]:
    errors = []
    if name not in SETTABLE_NAMES:
        errors.append(
            UserError(
                "INVALID_NAME",
                ["input", "name"],
                "Only 'available' and 'on_hand' can be set.",
            )
        )
    if reason not in REASONS:
        errors.append(
            UserError(
                "INVALID_REASON",
                ["input", "reason"],
                "This reason is not one Shopify accepts.",
            )
        )
    if reference is not None and not urlsplit(reference).scheme:
        errors.append(
            UserError(
                "INVALID_REFERENCE_DOCUMENT",
                ["input", "referenceDocumentUri"],
                "referenceDocumentUri is not a URI.",
            )
        )
    return errors


def _check_amount(
    name: str, path: list[str], entry: dict[str, Any], level: Level
) -> UserError | None:
    quantity = entry["quantity"]
    if quantity > QUANTITY_LIMIT:
        return UserError(
            "INVALID_QUANTITY_TOO_HIGH",
            [*path, "quantity"],
            "Quantities above 1,000,000,000 are refused.",
        )
    if quantity < -QUANTITY_LIMIT:
        return UserError(
            "INVALID_QUANTITY_TOO_LOW",
            [*path, "quantity"],
            "Quantities below -1,000,000,000 are refused.",
        )
    if name == "on_hand" and quantity < 0:
        return UserError(
            "INVALID_QUANTITY_NEGATIVE",
            [*path, "quantity"],
            "The on_hand quantity can't be negative.",
        )
    expected = entry["changeFromQuantity"]
    if expected is not None and expected != level.quantity(name):
        return UserError(
            "CHANGE_FROM_QUANTITY_STALE",
            [*path, "changeFromQuantity"],
            "changeFromQuantity no longer matches the stored quantity.",
        )
    return None


def _set_level(level: Level, name: str, quantity: int) -> list[Change]:
    delta = quantity - level.quantity(name)
    level.shift("available", delta)
    names = (
        ("available", "on_hand") if name == "available" else ("on_hand", "available")
    )
    return [
        Change(n, delta, level.quantity(n), level.item_id, level.location_id)
        for n in names
    ]
