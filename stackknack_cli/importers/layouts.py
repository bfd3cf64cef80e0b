"""Recognise a file's layout from its header and build the reader for it."""

from __future__ import annotations

from stackknack_cli.errors import InputError
from stackknack_cli.importers.base import Header, RowReader
from stackknack_cli.importers.ebay import EbayListings, is_ebay_listings
from stackknack_cli.importers.inventory import InventoryExport, TrimmedInventory
from stackknack_cli.importers.plain import COLUMNS, OPTIONAL_COLUMNS, PlainList
from stackknack_cli.importers.products import ProductExport

EXPECTED = (
    "expected a Shopify product export, a Shopify inventory export, "
    "an eBay active-listings download, or the columns sku,quantity[,title]"
)


def detect_layout(header: Header, *, location: str | None) -> RowReader:
    """Return the reader for the header's layout.

    Raises InputError naming the file and the columns found when no layout fits,
    and when a trimmed inventory export has several locations and none was chosen.
    """
    if "handle" in header and "variant sku" in header:
        if "variant inventory qty" not in header:
            raise InputError(
                f"{header.file}: this Shopify product export has no "
                "'Variant Inventory Qty' column (Shopify leaves it out for stores "
                "with several locations); export the inventory instead"
            )
        return ProductExport(header)

    has_available = "available (not editable)" in header or "available" in header
    if "sku" in header and "location" in header and has_available:
        return InventoryExport(header)

    if is_ebay_listings(header):
        return EbayListings(header)

    names = set(header.folded)
    if COLUMNS <= names <= COLUMNS | OPTIONAL_COLUMNS:
        return PlainList(header)

    folded = header.folded
    if len(folded) >= 3 and folded[0] == "sku" and folded[-1] == "location":
        return TrimmedInventory(header, location=location)

    found = ", ".join(column.strip() for column in header.names) or "none"
    raise InputError(f"{header.file}: unrecognised columns ({found}); {EXPECTED}")
