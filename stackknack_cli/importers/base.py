"""The parts every layout shares: the header, one variant row, the reader protocol."""

from __future__ import annotations

from typing import NamedTuple, Protocol

from stackknack_cli.errors import InputError
from stackknack_cli.importers.cells import Missing, fold
from stackknack_cli.importers.records import Layout


class Variant(NamedTuple):
    """The text of one variant row, before its quantity is read."""

    row: int
    sku: str
    title: str = ""
    handle: str = ""
    options: tuple[str, ...] = ()
    barcode: str = ""
    location: str = ""
    untracked: bool = False


class RowReader(Protocol):
    """Turns the cells of one layout's rows into variants and quantities."""

    @property
    def layout(self) -> Layout: ...

    @property
    def has_locations(self) -> bool:
        """Whether rows carry a location name that the caller must choose from."""

    @property
    def location(self) -> str | None:
        """The location whose quantity column was chosen from the header, if any."""

    @property
    def handles(self) -> set[str] | None:
        """The distinct handles read so far, or None when the layout has none."""

    @property
    def has_barcodes(self) -> bool: ...

    def read(self, cells: list[str], row: int) -> Variant | None:
        """Return the row's variant, or None for an image-only row."""

    def quantity(self, cells: list[str], row: int) -> int | Missing:
        """Read the row's quantity; raise InputError when it is not a number."""


class Header:
    """The column names of a file, found by name whatever their case or spacing."""

    def __init__(self, names: list[str], *, name: str) -> None:
        while names and not names[-1].strip():
            names = names[:-1]
        self.names = names
        self.file = name
        self.folded = [fold(column) for column in names]
        self._index: dict[str, int] = {}
        for index, column in enumerate(self.folded):
            self._index.setdefault(column, index)

    def __contains__(self, column: str) -> bool:
        return column in self._index

    def find(self, column: str) -> int | None:
        """Return the index of a column given in folded form, or None."""
        return self._index.get(column)

    def need(self, column: str) -> int:
        """Return the index of a column that the layout cannot do without."""
        index = self._index.get(column)
        if index is None:
            raise InputError(f"{self.file}: no {column!r} column")
        return index

    def label(self, index: int) -> str:
        """Return a column's name as the file spells it."""
        return self.names[index].strip()


def cell(cells: list[str], index: int | None) -> str:
    """Return a cell by optional index; a missing column reads as blank."""
    return "" if index is None else cells[index]
