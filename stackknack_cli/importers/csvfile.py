"""Read a CSV export as a stream of SKU records, counting every row it leaves out."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from types import TracebackType

from stackknack_cli.errors import InputError
from stackknack_cli.importers.base import Header, RowReader, Variant
from stackknack_cli.importers.cells import (
    Missing,
    check_text,
    describe_options,
    fold,
    handle_options_key,
)
from stackknack_cli.importers.layouts import detect_layout
from stackknack_cli.importers.records import (
    KEYS,
    ImportRecord,
    ImportSummary,
    Key,
    Layout,
    MissingSku,
    Occurrence,
    SkipReason,
)
from stackknack_cli.importers.table import Source, Table, open_table

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
PROGRESS_EVERY = 1000
WITHOUT_LOCATIONS = frozenset({Layout.SHOPIFY_PRODUCTS, Layout.PLAIN})


def read_csv(
    source: Source,
    *,
    name: str | None = None,
    location: str | None = None,
    key: Key | None = None,
    progress: Progress | None = None,
) -> ImportPlan:
    """Open a CSV export and recognise its layout; iterate the plan for its records.

    ``source`` is a path or a binary stream. ``name`` labels the file in messages
    (default: the path). ``location`` picks one location of an inventory export.
    ``key`` gives variants without a SKU a fallback key: ``"handle-options"`` or
    ``"barcode"``. ``progress`` is called with (rows read, bytes read) every
    thousand rows and at the end.

    Raises InputError here for an unreadable file, an unknown header or an option the
    layout cannot honour, and while iterating for the first bad row. Nothing is
    written anywhere.
    """
    if key is not None and key not in KEYS:
        raise InputError(f"unknown key {key!r}; use one of: {', '.join(KEYS)}")

    table = open_table(source, name=name)
    try:
        return ImportPlan(table, location=location, key=key, progress=progress)
    except BaseException:
        table.close()
        raise


class ImportPlan:
    """The records of one CSV file, read once, and the summary of that reading.

    Use it as a context manager so that the file is closed even when the loop stops
    early; it is also closed once the records are exhausted.
    """

    def __init__(
        self,
        table: Table,
        *,
        location: str | None,
        key: Key | None,
        progress: Progress | None,
    ) -> None:
        self.name = table.name
        self.size = table.size
        self._table = table
        self._key = key
        self._location = location
        self._progress = progress
        self._started = False

        header = Header(table.header, name=table.name)
        self._reader: RowReader = detect_layout(header, location=location)
        self.summary = ImportSummary(
            layout=self._reader.layout,
            encoding=table.encoding,
            delimiter=table.delimiter,
            location=self._reader.location,
        )
        self._check_options()
        log.debug("import: %s read as %s", self.name, self.layout)

    @property
    def layout(self) -> Layout:
        return self._reader.layout

    def __iter__(self) -> Iterator[ImportRecord]:
        if self._started:
            raise RuntimeError("an ImportPlan can be iterated only once")
        self._started = True
        return self._records()

    def __enter__(self) -> ImportPlan:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (a stream passed in by the caller stays open)."""
        self._table.close()

    def _check_options(self) -> None:
        reader = self._reader
        if self._location is not None and reader.layout in WITHOUT_LOCATIONS:
            raise InputError(
                f"{self.name} is a {reader.layout} file without locations; "
                "import it without --location"
            )
        if self._key == "handle-options" and reader.handles is None:
            raise InputError(
                f"{self.name} has no Handle column, so key 'handle-options' "
                "cannot be built"
            )
        if self._key == "barcode" and not reader.has_barcodes:
            raise InputError(
                f"{self.name} has no barcode column, so key 'barcode' cannot be used"
            )

    def _records(self) -> Iterator[ImportRecord]:
        try:
            if self.layout is Layout.EBAY_LISTINGS:
                yield from self._unshared(self._read_rows())
            else:
                yield from self._read_rows()
        finally:
            self.close()

    def _unshared(self, records: Iterator[ImportRecord]) -> Iterator[ImportRecord]:
        """Hold back every listing whose custom label another listing shares.

        An eBay download is read whole first (a seller's listings, not a catalogue
        of millions), so that no shared label is imported before its twin is seen.
        """
        kept = list(records)
        shared = self.summary.duplicate_skus
        summary = self.summary
        for record in kept:
            if record.sku in shared:
                summary.records -= 1
                summary.skipped[SkipReason.SHARED_CUSTOM_LABEL] += 1
                continue
            yield record
        if shared:
            summary.skipped[SkipReason.SHARED_CUSTOM_LABEL] += summary.skipped.pop(
                SkipReason.DUPLICATE_SKU, 0
            )

    def _read_rows(self) -> Iterator[ImportRecord]:
        reader, summary, name = self._reader, self.summary, self.name
        width = len(self._table.header)
        places = _Locations(name, self._location)
        seen: dict[str, tuple[int, int]] = {}
        number = 1

        for cells in self._table.rows():
            number += 1
            if not any(cells):
                continue
            if len(cells) != width:
                cells = _fit(cells, width, name=name, row=number)
            summary.rows += 1
            if self._progress is not None and summary.rows % PROGRESS_EVERY == 0:
                self._progress(summary.rows, self._table.position())

            variant = reader.read(cells, number)
            if variant is None:
                summary.skipped[SkipReason.IMAGE_ONLY] += 1
                continue
            if reader.has_locations and not places.accept(variant.location):
                if places.wanted is not None:
                    summary.skipped[SkipReason.OTHER_LOCATION] += 1
                continue

            record = self._record(variant, reader.quantity(cells, number))
            if record is None:
                continue
            first = seen.get(record.sku)
            if first is not None:
                self._note_duplicate(record, first)
                continue
            seen[record.sku] = (number, record.quantity)
            summary.records += 1
            yield record

        places.finish()
        if reader.has_locations:
            summary.location = places.chosen
        summary.products = None if reader.handles is None else len(reader.handles)
        summary.complete = True
        if self._progress is not None:
            self._progress(summary.rows, self._table.position())
        log.info(
            "import: %s gave %d records from %d rows",
            name,
            summary.records,
            summary.rows,
        )

    def _record(self, variant: Variant, quantity: int | Missing) -> ImportRecord | None:
        summary, name, row = self.summary, self.name, variant.row
        summary.variants += 1
        if variant.untracked:
            summary.untracked += 1

        sku = variant.sku.strip()
        if sku != variant.sku and sku:
            # "A " and "A" are one SKU to every channel's search; keep them one here.
            summary.trimmed += 1
        check_text(sku, "SKU", name=name, row=row)
        barcode = variant.barcode
        if barcode.startswith("'"):
            # Excel keeps digits as text when they start with an apostrophe, and some
            # exports write that apostrophe into the file.
            barcode = barcode[1:]
            summary.apostrophes_stripped += 1
        check_text(barcode, "barcode", name=name, row=row)
        if isinstance(quantity, int) and quantity < 0:
            summary.negative.append(Occurrence(row, sku, quantity))
            quantity = 0

        key, source = sku, "sku"
        if not sku.strip():
            key, source = self._fallback(variant, barcode), str(self._key)
        if not key:
            blank = (
                SkipReason.NO_CUSTOM_LABEL
                if self.layout is Layout.EBAY_LISTINGS
                else SkipReason.NO_SKU
            )
            summary.skipped[blank] += 1
            options = describe_options(variant.options)
            summary.no_sku.append(
                MissingSku(row, variant.handle, options, variant.title)
            )
            return None
        if isinstance(quantity, Missing):
            reason = (
                SkipReason.NOT_STOCKED
                if quantity is Missing.NOT_STOCKED
                else SkipReason.NO_QUANTITY
            )
            summary.skipped[reason] += 1
            if reason is SkipReason.NO_QUANTITY:
                summary.no_quantity.append(row)
            return None

        return ImportRecord(
            sku=key,
            quantity=quantity,
            title=variant.title,
            row=row,
            variant=describe_options(variant.options),
            barcode=barcode,
            key_source=source,
        )

    def _fallback(self, variant: Variant, barcode: str) -> str:
        if self._key == "handle-options":
            return handle_options_key(variant.handle, variant.options)
        if self._key == "barcode":
            return barcode
        return ""

    def _note_duplicate(self, record: ImportRecord, first: tuple[int, int]) -> None:
        self.summary.skipped[SkipReason.DUPLICATE_SKU] += 1
        rows = self.summary.duplicate_skus.setdefault(
            record.sku, [Occurrence(first[0], record.sku, first[1])]
        )
        rows.append(Occurrence(record.row, record.sku, record.quantity))


class _Locations:
    """Follow the location names of an inventory export's rows."""

    def __init__(self, name: str, wanted: str | None) -> None:
        self.name = name
        self.wanted = None if wanted is None else fold(wanted)
        self.chosen: str | None = wanted
        self._seen: dict[str, str] = {}
        self._first: str | None = None
        self._several = False

    def accept(self, place: str) -> bool:
        """Say whether a row at this location is to be read."""
        folded = fold(place)
        if folded not in self._seen:
            self._seen[folded] = place.strip()
        if self.wanted is not None:
            if folded == self.wanted:
                self.chosen = self._seen[folded]
                return True
            return False
        if self._first is None:
            self._first = folded
            self.chosen = self._seen[folded]
        elif folded != self._first:
            # Keep reading to name every location, but yield nothing more.
            self._several = True
        return not self._several

    def finish(self) -> None:
        """Raise when the choice of location was missing or matched no row."""
        listed = ", ".join(self._seen.values())
        if self._several:
            raise InputError(
                f"{self.name} holds {len(self._seen)} locations ({listed}); "
                "pick one with --location"
            )
        if self.wanted is not None and self._seen and self.wanted not in self._seen:
            raise InputError(
                f"{self.name}: no location {self.chosen!r}; the file has: {listed}"
            )


def _fit(cells: list[str], width: int, *, name: str, row: int) -> list[str]:
    if len(cells) < width:
        return cells + [""] * (width - len(cells))
    if any(value.strip() for value in cells[width:]):
        raise InputError(
            f"{name} row {row} has {len(cells)} cells but the header has {width}; "
            "a value holding the delimiter is probably not quoted"
        )
    return cells[:width]
