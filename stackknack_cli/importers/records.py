"""What an import yields: one record per SKU to stock, and a summary of the rest."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, NamedTuple

Key = Literal["handle-options", "barcode"]
KEYS: tuple[Key, ...] = ("handle-options", "barcode")


class Layout(StrEnum):
    """A CSV layout, recognised by its set of column names."""

    SHOPIFY_PRODUCTS = "shopify-products"
    SHOPIFY_INVENTORY_2023 = "shopify-inventory-2023"
    SHOPIFY_INVENTORY_2024 = "shopify-inventory-2024"
    SHOPIFY_INVENTORY_TRIMMED = "shopify-inventory-trimmed"
    EBAY_LISTINGS = "ebay-listings"
    PLAIN = "plain"


class SkipReason(StrEnum):
    """Why a data row produced no record."""

    # A product-export row with no option, SKU, price, quantity or barcode.
    IMAGE_ONLY = "image_only"
    # An inventory-export row for a location other than the one being read.
    OTHER_LOCATION = "other_location"
    # No SKU, and no fallback key (or the fallback value is blank too).
    NO_SKU = "no_sku"
    # Shopify writes "not stocked" when the item is not kept at the location.
    NOT_STOCKED = "not_stocked"
    # The quantity cell is blank.
    NO_QUANTITY = "no_quantity"
    # A later row repeats a SKU already read; the first row wins.
    DUPLICATE_SKU = "duplicate_sku"
    # An eBay listing whose Custom Label (its SKU) is blank.
    NO_CUSTOM_LABEL = "no_custom_label"
    # An eBay listing whose Custom Label other listings share: none of them is
    # imported, since which one the count belongs to is the seller's decision.
    SHARED_CUSTOM_LABEL = "shared_custom_label"


class ImportRecord(NamedTuple):
    """One SKU and its quantity, as read from one row of the file.

    ``row`` is the spreadsheet row number (the header is row 1). ``title`` is the
    product title and ``variant`` the option values joined by `` / `` (empty for a
    product with a single default variant). ``key_source`` says where ``sku`` came
    from: ``"sku"``, or the fallback key that was asked for.
    """

    sku: str
    quantity: int
    title: str
    row: int
    variant: str = ""
    barcode: str = ""
    key_source: str = "sku"


class Occurrence(NamedTuple):
    """A row number with the SKU and quantity found on it."""

    row: int
    sku: str
    quantity: int


class MissingSku(NamedTuple):
    """A variant row that was skipped because it has no SKU."""

    row: int
    handle: str
    variant: str
    title: str


@dataclass
class ImportSummary:
    """Counts and findings of one import; complete once the records are exhausted.

    ``rows`` counts non-blank data rows. ``variants`` counts rows that describe a
    variant at the location being read (every row but image-only and other-location
    ones). ``products`` counts distinct handles, or is None for layouts without one.
    ``negative`` lists every variant row whose quantity was below zero; the record
    carries 0 instead. ``untracked`` counts product-export variants whose
    ``Variant Inventory Tracker`` is blank; their quantity is imported all the same.
    ``duplicate_skus`` maps each repeated SKU to all its rows, the kept one first.
    """

    layout: Layout
    encoding: str
    delimiter: str
    location: str | None = None
    rows: int = 0
    products: int | None = None
    variants: int = 0
    records: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    negative: list[Occurrence] = field(default_factory=list)
    no_sku: list[MissingSku] = field(default_factory=list)
    duplicate_skus: dict[str, list[Occurrence]] = field(default_factory=dict)
    untracked: int = 0
    apostrophes_stripped: int = 0
    no_quantity: list[int] = field(default_factory=list)
    """Rows skipped because their quantity cell was blank or missing."""
    trimmed: int = 0
    """SKUs with spaces around them, imported without the spaces."""
    complete: bool = False
