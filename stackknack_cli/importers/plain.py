"""A plain list: ``sku,quantity`` with an optional ``title``, in any column order."""

from __future__ import annotations

from stackknack_cli.importers.base import Header, Variant, cell
from stackknack_cli.importers.cells import Missing, parse_quantity
from stackknack_cli.importers.records import Layout

COLUMNS = frozenset({"sku", "quantity"})
OPTIONAL_COLUMNS = frozenset({"title"})


class PlainList:
    """Read a file with exactly the columns sku, quantity and maybe title."""

    layout = Layout.PLAIN
    has_locations = False
    location = None
    has_barcodes = False
    handles = None

    def __init__(self, header: Header) -> None:
        self._name = header.file
        self._sku = header.need("sku")
        self._quantity = header.need("quantity")
        self._label = header.label(self._quantity)
        self._title = header.find("title")

    def read(self, cells: list[str], row: int) -> Variant | None:
        return Variant(
            row=row, sku=cells[self._sku], title=cell(cells, self._title).strip()
        )

    def quantity(self, cells: list[str], row: int) -> int | Missing:
        return parse_quantity(
            cells[self._quantity], self._label, name=self._name, row=row
        )
