"""Read single cells as text: quantities, keys, and values a spreadsheet rewrote."""

from __future__ import annotations

import re
from enum import Enum

from stackknack_cli.errors import InputError

# Shopify's name for the only variant of a product that has no options.
DEFAULT_OPTION = "Default Title"

_INTEGER = re.compile(r"\s*([+-]?)\s*([0-9]+)\s*")
# Excel and LibreOffice show long numbers as 6.93217E+12 and save them that way;
# the digits after the sixth are gone. The explicit exponent sign keeps SKUs such
# as "12E4" acceptable.
_REWRITTEN = re.compile(r"\s*[+-]?[0-9]+(?:[.,][0-9]+)?[eE][+-][0-9]+\s*")


MAX_QUANTITY = 10_000_000
"""More units than any reseller holds of one SKU: such a cell is not a quantity."""
MAX_TEXT = 255
"""The longest SKU or barcode accepted (Shopify allows 255; eBay 50)."""


class Missing(Enum):
    """A quantity cell that holds no number."""

    BLANK = "blank"
    NOT_STOCKED = "not stocked"


def parse_quantity(text: str, column: str, *, name: str, row: int) -> int | Missing:
    """Read a whole number of units, allowing a sign and surrounding spaces.

    Raises InputError naming the row and column for anything else, and for a count
    beyond ``MAX_QUANTITY``.
    """
    value: int | None = None
    if text.isascii() and text.isdigit():
        value = int(text)
    else:
        match = _INTEGER.fullmatch(text)
        if match:
            value = -int(match[2]) if match[1] == "-" else int(match[2])
    if value is not None:
        if abs(value) > MAX_QUANTITY:
            raise InputError(
                f"{name} row {row}: {column} {text.strip()[:20]!r} is beyond "
                f"{MAX_QUANTITY:,} units; is this column really a quantity?"
            )
        return value

    stripped = text.strip()
    if not stripped:
        return Missing.BLANK
    if stripped.casefold() == "not stocked":
        return Missing.NOT_STOCKED

    check_text(text, column, name=name, row=row)
    raise InputError(f"{name} row {row}: {column} {text!r} is not a whole number")


def check_text(value: str, label: str, *, name: str, row: int) -> None:
    """Refuse a value that a spreadsheet turned into scientific notation, one with
    control characters (a line break, a NUL), or one too long to be an identifier."""
    if len(value) > MAX_TEXT:
        raise InputError(
            f"{name} row {row}: {label} is {len(value):,} characters long; "
            f"the most a {label} may have is {MAX_TEXT}"
        )
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise InputError(
            f"{name} row {row}: {label} {value[:40]!r} holds a control character "
            "(a line break or similar); fix the cell"
        )
    if ("E" in value or "e" in value) and _REWRITTEN.fullmatch(value):
        raise InputError(
            f"{name} row {row}: {label} {value!r} looks like a number a spreadsheet "
            "rewrote; export it as text"
        )


def describe_options(options: tuple[str, ...]) -> str:
    """Join the filled option values with `` / ``; a default variant gives ``""``."""
    values = [value for value in options if value]
    if values == [DEFAULT_OPTION]:
        return ""
    return " / ".join(values)


def handle_options_key(handle: str, options: tuple[str, ...]) -> str:
    """Build the fallback key for a variant without a SKU: ``handle/Value1/Value2``.

    A product's single default variant is keyed by its handle alone. Returns ``""``
    when the handle is blank, because option values alone do not identify a variant.
    """
    if not handle:
        return ""
    values = [value for value in options if value]
    if values == [DEFAULT_OPTION]:
        return handle
    return "/".join([handle, *values])


def fold(text: str) -> str:
    """Normalise a column or location name: spaces collapsed, case folded."""
    return " ".join(text.split()).casefold()
