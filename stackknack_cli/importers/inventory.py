"""Shopify's inventory export, in the three layouts found in real files.

2023: ``…,SKU,HS Code,COO,Location,Incoming,Unavailable,Committed,Available,On hand``,
one row per variant and location; the quantity is ``Available``.

2024+: the quantity columns gained ``(not editable)``, and ``On hand (current)`` and
``On hand (new)`` replaced ``On hand``. The quantity is ``Available (not editable)``.
When ``On hand (new)`` is filled (the column Shopify lets a merchant edit before
re-importing), the quantity is that count minus what is committed and unavailable,
which is what Shopify will show as available after such an import.

Trimmed: ``SKU,<location name>[,<location name>…],location``, one quantity column
per location; the last column holds a location code and is not read.
"""

from __future__ import annotations

from stackknack_cli.errors import InputError
from stackknack_cli.importers.base import Header, Variant, cell
from stackknack_cli.importers.cells import Missing, fold, parse_quantity
from stackknack_cli.importers.records import Layout

OPTION_COLUMNS = ("option1 value", "option2 value", "option3 value")


class InventoryExport:
    """Read a 2023 or 2024+ Shopify inventory export."""

    has_locations = True
    has_barcodes = False
    location = None

    def __init__(self, header: Header) -> None:
        self._name = header.file
        modern = "available (not editable)" in header
        if modern:
            self.layout = Layout.SHOPIFY_INVENTORY_2024
            self._available = header.need("available (not editable)")
            self._on_hand_new = header.find("on hand (new)")
            self._committed = header.find("committed (not editable)")
            self._unavailable = header.find("unavailable (not editable)")
        else:
            self.layout = Layout.SHOPIFY_INVENTORY_2023
            self._available = header.need("available")
            self._on_hand_new = self._committed = self._unavailable = None

        self._labels = header.names
        self._sku = header.need("sku")
        self._location = header.need("location")
        self._handle = header.find("handle")
        self._title = header.find("title")
        self._options = tuple(
            index
            for index in (header.find(column) for column in OPTION_COLUMNS)
            if index is not None
        )
        self.handles: set[str] | None = None if self._handle is None else set()

    def read(self, cells: list[str], row: int) -> Variant | None:
        handle = cell(cells, self._handle).strip()
        if handle and self.handles is not None:
            self.handles.add(handle)
        return Variant(
            row=row,
            sku=cells[self._sku],
            title=cell(cells, self._title).strip(),
            handle=handle,
            options=tuple(cells[index].strip() for index in self._options),
            location=cells[self._location],
        )

    def quantity(self, cells: list[str], row: int) -> int | Missing:
        if self._on_hand_new is not None and cells[self._on_hand_new].strip():
            on_hand = self._number(cells, self._on_hand_new, row)
            if isinstance(on_hand, Missing):
                return on_hand
            held = self._number(cells, self._committed, row)
            blocked = self._number(cells, self._unavailable, row)
            return on_hand - _units(held) - _units(blocked)
        return self._number(cells, self._available, row)

    def _number(self, cells: list[str], index: int | None, row: int) -> int | Missing:
        if index is None:
            return Missing.BLANK
        label = self._labels[index].strip()
        return parse_quantity(cells[index], label, name=self._name, row=row)


def _units(value: int | Missing) -> int:
    return 0 if isinstance(value, Missing) else value


class TrimmedInventory:
    """Read ``SKU,<location>…,location``, taking the quantity of one location."""

    layout = Layout.SHOPIFY_INVENTORY_TRIMMED
    has_locations = False
    has_barcodes = False
    handles = None

    def __init__(self, header: Header, *, location: str | None) -> None:
        self._name = header.file
        places: dict[str, int] = {}
        for index in range(1, len(header.names) - 1):
            places.setdefault(header.folded[index], index)
        listed = ", ".join(header.label(i) for i in sorted(places.values()))
        if location is None and len(places) > 1:
            raise InputError(
                f"{self._name} holds {len(places)} locations ({listed}); "
                "pick one with --location"
            )
        wanted = next(iter(places)) if location is None else fold(location)
        if wanted not in places:
            raise InputError(
                f"{self._name}: no location {location!r}; the file has: {listed}"
            )
        index = places[wanted]
        self._quantity = index
        self.location = header.label(index)

    def read(self, cells: list[str], row: int) -> Variant | None:
        return Variant(row=row, sku=cells[0])

    def quantity(self, cells: list[str], row: int) -> int | Missing:
        return parse_quantity(
            cells[self._quantity], self.location, name=self._name, row=row
        )
