"""Shopify's product export: one row per variant, plus rows that only add images.

The legacy 46-column file and the 2023+ one (with ``Product Category``, per-market
prices and ``Status``) are read alike. A product's first row carries its Title;
later rows with the same Handle leave it blank.
"""

from __future__ import annotations

from stackknack_cli.importers.base import Header, Variant, cell
from stackknack_cli.importers.cells import Missing, parse_quantity
from stackknack_cli.importers.records import Layout

OPTION_COLUMNS = ("option1 value", "option2 value", "option3 value")


class ProductExport:
    """Read the variants of a Shopify product export."""

    layout = Layout.SHOPIFY_PRODUCTS
    has_locations = False
    location = None

    def __init__(self, header: Header) -> None:
        self._name = header.file
        self._handle = header.need("handle")
        self._title = header.find("title")
        self._sku = header.need("variant sku")
        self._quantity = header.need("variant inventory qty")
        self._quantity_label = header.label(self._quantity)
        self._price = header.find("variant price")
        self._barcode = header.find("variant barcode")
        self._tracker = header.find("variant inventory tracker")
        self._options = tuple(
            index
            for index in (header.find(column) for column in OPTION_COLUMNS)
            if index is not None
        )
        self.has_barcodes = self._barcode is not None
        self.handles: set[str] = set()
        self._current_handle = ""
        self._current_title = ""

    def read(self, cells: list[str], row: int) -> Variant | None:
        handle = cells[self._handle].strip()
        title = cell(cells, self._title).strip()
        if handle != self._current_handle or title:
            self._current_handle = handle
            self._current_title = title
        if handle:
            self.handles.add(handle)

        options = tuple(cells[index].strip() for index in self._options)
        sku = cells[self._sku]
        barcode = cell(cells, self._barcode).strip()
        if not (
            sku.strip()
            or barcode
            or any(options)
            or cell(cells, self._price).strip()
            or cells[self._quantity].strip()
        ):
            return None

        return Variant(
            row=row,
            sku=sku,
            title=self._current_title,
            handle=handle,
            options=options,
            barcode=barcode,
            untracked=self._tracker is not None and not cells[self._tracker].strip(),
        )

    def quantity(self, cells: list[str], row: int) -> int | Missing:
        return parse_quantity(
            cells[self._quantity], self._quantity_label, name=self._name, row=row
        )
