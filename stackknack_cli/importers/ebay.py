"""eBay's active-listings download (Seller Hub, File Exchange): one listing a row.

The SKU is the seller's ``Custom Label``; the quantity is ``Quantity Available`` (what
is left to sell, not the listing's starting quantity). eBay does not make custom labels
unique: a label left blank is skipped and listed with its item id, and a label shared
by several listings is reported with every row for the seller to decide; their
quantities are never added together.
"""

from __future__ import annotations

from stackknack_cli.importers.base import Header, Variant, cell
from stackknack_cli.importers.cells import Missing, parse_quantity
from stackknack_cli.importers.records import Layout

COLUMNS = frozenset({"item id", "custom label", "quantity available"})


def is_ebay_listings(header: Header) -> bool:
    """Tell whether the header is that of an eBay active-listings download."""
    return all(column in header for column in COLUMNS)


class EbayListings:
    """Read an eBay active-listings download."""

    layout = Layout.EBAY_LISTINGS
    has_locations = False
    location = None
    has_barcodes = False
    handles = None

    def __init__(self, header: Header) -> None:
        self._name = header.file
        self._item_id = header.need("item id")
        self._sku = header.need("custom label")
        self._quantity = header.need("quantity available")
        self._label = header.label(self._quantity)
        self._title = header.find("item title")
        self._variation = header.find("variation details")

    def read(self, cells: list[str], row: int) -> Variant | None:
        variation = cell(cells, self._variation).strip()
        return Variant(
            row=row,
            sku=cells[self._sku].strip(),
            title=cell(cells, self._title).strip(),
            # The item id names the listing in reports of blank custom labels.
            handle=cells[self._item_id].strip(),
            options=(variation,) if variation else (),
        )

    def quantity(self, cells: list[str], row: int) -> int | Missing:
        return parse_quantity(
            cells[self._quantity], self._label, name=self._name, row=row
        )
