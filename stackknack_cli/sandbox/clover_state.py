"""What the Clover simulator holds: merchants, items with stock, orders, and tokens.

Times are Unix milliseconds, as Clover writes them; the clock is the caller's (seconds).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Clover ids are 13 characters drawn from digits and upper-case letters.
ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_LENGTH = 13


def new_id(rng: random.Random) -> str:
    return "".join(rng.choice(ID_ALPHABET) for _ in range(ID_LENGTH))


@dataclass
class Item:
    id: str
    name: str
    price: int
    """Cents."""
    sku: str = ""
    code: str = ""
    available: bool = True
    hidden: bool = False
    auto_manage: bool = False
    quantity: float | None = None
    """``None`` until stock is first set: Clover then has no item stock record."""
    modified_time: int = 0

    def stock_json(self) -> dict[str, Any]:
        quantity = self.quantity if self.quantity is not None else 0
        return {
            "item": {"id": self.id},
            # Clover still returns the deprecated stockCount, rounded half up.
            "stockCount": math.floor(quantity + 0.5),
            "quantity": quantity,
        }

    def to_json(self, *, expand_stock: bool) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": self.id,
            "hidden": self.hidden,
            "available": self.available,
            "autoManage": self.auto_manage,
            "name": self.name,
            "code": self.code,
            "sku": self.sku,
            "price": self.price,
            "priceType": "FIXED",
            "defaultTaxRates": True,
            "isRevenue": True,
            "modifiedTime": self.modified_time,
        }
        if expand_stock and self.quantity is not None:
            payload["itemStock"] = self.stock_json()
        return payload


@dataclass
class LineItem:
    id: str
    item_id: str | None
    name: str
    price: int
    created_time: int
    unit_qty: int | None = None
    refunded: bool = False

    def to_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "price": self.price,
            "printed": False,
            "createdTime": self.created_time,
            "exchanged": False,
            "refunded": self.refunded,
            "isRevenue": True,
        }
        if self.item_id is not None:
            payload["item"] = {"id": self.item_id}
        if self.unit_qty is not None:
            payload["unitQty"] = self.unit_qty
        return payload


@dataclass
class Order:
    id: str
    state: str
    payment_state: str
    total: int
    created_time: int
    modified_time: int
    line_items: list[LineItem] = field(default_factory=list)

    def to_json(self, *, expand_lines: bool, nested_cap: int) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": self.id,
            "currency": "USD",
            "total": self.total,
            "paymentState": self.payment_state,
            "state": self.state,
            "manualTransaction": False,
            "groupLineItems": True,
            "testMode": False,
            "createdTime": self.created_time,
            "clientCreatedTime": self.created_time,
            "modifiedTime": self.modified_time,
        }
        if expand_lines:
            lines = self.line_items[:nested_cap]
            payload["lineItems"] = {"elements": [line.to_json() for line in lines]}
        return payload


@dataclass
class Merchant:
    id: str
    name: str
    items: dict[str, Item] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)

    def item_by_sku(self, sku: str) -> Item | None:
        return next((item for item in self.items.values() if item.sku == sku), None)


@dataclass
class Grant:
    """One issued token: which merchant it opens and until when (seconds)."""

    merchant_id: str
    expires_at: float | None
    client_id: str = ""


def now_ms(clock: Callable[[], float]) -> int:
    return int(clock() * 1000)
