"""Shoe sizes and style ids, normalised so a SKU can be matched to a StockX variant.

A size is US unless it says otherwise, and men's unless it carries a category:
``10``, ``US 10``, ``US M 10`` and ``10M`` are one size, while ``10W`` (women's),
``10Y`` (grade school, StockX's "Y") and ``10C`` (child and toddler, StockX's "C") are
others. UK and EU sizes are converted to US men's through the brand's own chart, since
brands disagree (a Nike US 13 is UK 12, an adidas US 13 is UK 12.5); without a chart,
or where a chart maps one UK size to two US sizes, the size is refused.

Chart figures are the men's footwear conversions Nike (also used by Jordan) and adidas
(also used by Yeezy) publish on their size guides; the US 13 rows were checked against
the labels quoted in a tennis-warehouse.com forum thread. Only facts are carried over.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from stackknack_cli.errors import InputError

CATEGORIES: dict[str, str] = {
    "": "M",
    "M": "M",
    "MEN": "M",
    "MENS": "M",
    "W": "W",
    "WMNS": "W",
    "WOMEN": "W",
    "WOMENS": "W",
    "Y": "Y",
    "GS": "Y",
    "YOUTH": "Y",
    "C": "C",
    "PS": "C",
    "TD": "C",
    "K": "C",
    "KIDS": "C",
}
"""Category words and letters as sellers write them, to StockX's letters."""

SYSTEMS = {"US": "US", "UK": "UK", "EU": "EU", "EUR": "EU"}
CATEGORY_NAMES = {"M": "men's", "W": "women's", "Y": "youth", "C": "child"}

_FRACTIONS = {"½": " 1/2", "⅓": " 1/3", "⅔": " 2/3"}
_SIZE = re.compile(
    r"^(?:(?P<system>US|UK|EUR|EU)\s*)?"
    r"(?:(?P<pre>[A-Z]+)\s*)?"
    r"(?P<number>\d{1,2}(?:\.\d{1,2})?(?:\s+[12]/[23])?)"
    r"\s*(?P<post>[A-Z]+)?"
    r"(?:\s*(?P<system_after>US|UK|EUR|EU))?$"
)


class SizeError(InputError):
    """A size that cannot be read, or cannot be converted to a US size."""


def _nike_rows() -> list[tuple[str, str, str]]:
    return [
        ("3.5", "3", "35.5"),
        ("4", "3.5", "36"),
        ("4.5", "4", "36.5"),
        ("5", "4.5", "37.5"),
        ("5.5", "5", "38"),
        ("6", "5.5", "38.5"),
        ("6.5", "6", "39"),
        ("7", "6", "40"),
        ("7.5", "6.5", "40.5"),
        ("8", "7", "41"),
        ("8.5", "7.5", "42"),
        ("9", "8", "42.5"),
        ("9.5", "8.5", "43"),
        ("10", "9", "44"),
        ("10.5", "9.5", "44.5"),
        ("11", "10", "45"),
        ("11.5", "10.5", "45.5"),
        ("12", "11", "46"),
        ("12.5", "11.5", "47"),
        ("13", "12", "47.5"),
        ("14", "13", "48.5"),
        ("15", "14", "49.5"),
        ("16", "15", "50.5"),
        ("17", "16", "51.5"),
        ("18", "17", "52.5"),
    ]


def _adidas_rows() -> list[tuple[str, str, str]]:
    # adidas steps EU sizes in thirds; UK is always half a size under US.
    eu = ["36", "36 2/3", "37 1/3"]
    for whole in range(38, 52, 2):
        eu += [str(whole), f"{whole} 2/3", f"{whole + 1} 1/3"]
    us = [Fraction(8 + step, 2) for step in range(23)]
    return [
        (_text(size), _text(size - Fraction(1, 2)), eu[index])
        for index, size in enumerate(us)
    ]


@dataclass(frozen=True)
class SizeChart:
    """One brand's men's chart: UK and EU sizes to US sizes (two if ambiguous)."""

    brand: str
    uk: Mapping[Fraction, tuple[Fraction, ...]]
    eu: Mapping[Fraction, tuple[Fraction, ...]]


def _chart(brand: str, rows: list[tuple[str, str, str]]) -> SizeChart:
    uk: dict[Fraction, tuple[Fraction, ...]] = {}
    eu: dict[Fraction, tuple[Fraction, ...]] = {}
    for us_text, uk_text, eu_text in rows:
        us = _number(us_text)
        uk[_number(uk_text)] = (*uk.get(_number(uk_text), ()), us)
        eu[_number(eu_text)] = (*eu.get(_number(eu_text), ()), us)
    return SizeChart(brand, uk, eu)


def _number(text: str) -> Fraction:
    whole, _, part = text.strip().partition(" ")
    value = Fraction(whole)
    if part:
        value += Fraction(part)
    # Sellers write adidas thirds as decimals (42.67); snap those to the third.
    thirds = round(value * 3)
    if value.denominator not in (1, 2, 3) and abs(value - Fraction(thirds, 3)) < 0.02:
        value = Fraction(thirds, 3)
    return value


def _text(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    if value.denominator == 2:
        return f"{value.numerator // 2}.5"
    whole = value.numerator // value.denominator
    return f"{whole} {value - whole}"


CHARTS: dict[str, SizeChart] = {
    "nike": _chart("Nike", _nike_rows()),
    "adidas": _chart("adidas", _adidas_rows()),
}
BRANDS: dict[str, str] = {
    "nike": "nike",
    "nike sb": "nike",
    "jordan": "nike",
    "air jordan": "nike",
    "adidas": "adidas",
    "adidas originals": "adidas",
    "yeezy": "adidas",
}


def chart_for(brand: str | None) -> SizeChart | None:
    """Return the size chart of ``brand`` (Nike, Jordan, adidas, Yeezy), or ``None``."""
    if not brand:
        return None
    key = BRANDS.get(" ".join(brand.lower().split()))
    return CHARTS[key] if key else None


@dataclass(frozen=True, order=True)
class Size:
    """A US size in one category: M (men's), W, Y or C."""

    category: str
    value: Fraction

    def __str__(self) -> str:
        """StockX's own spelling: ``10`` for men's, ``10W``, ``5Y``, ``10C``."""
        suffix = "" if self.category == "M" else self.category
        return f"{_text(self.value)}{suffix}"

    @property
    def label(self) -> str:
        return f"US {self.category} {_text(self.value)}"


def _clean(text: str) -> str:
    cleaned = text.strip().upper()
    for glyph, spelled in _FRACTIONS.items():
        cleaned = cleaned.replace(glyph, spelled)
    cleaned = re.sub(r"(?<=\d),(?=\d)", ".", cleaned)
    cleaned = cleaned.replace("'", "").replace("’", "")
    return " ".join(cleaned.split())


def parse_size(text: str, *, brand: str | None = None) -> Size:
    """Read ``text`` as a size, converting UK and EU through ``brand``'s chart.

    Raises ``SizeError`` for text that is no size, an unknown category, a UK or EU
    size with no chart for the brand, or one the chart cannot map to a single US size.
    """
    cleaned = _clean(text)
    match = _SIZE.match(cleaned)
    if match is None:
        raise SizeError(f"cannot read {text!r} as a shoe size (try e.g. 'US 10')")
    post = match["post"]
    system = match["system"] or match["system_after"]
    if post in SYSTEMS and system is None:
        # "44 EU": the system written after the number.
        system, post = post, None
    system = SYSTEMS.get(system or "US", "US")
    words = [word for word in (match["pre"], post) if word]
    if len(words) > 1:
        raise SizeError(f"{text!r} names two size categories")
    word = words[0] if words else ""
    if word not in CATEGORIES:
        raise SizeError(f"{text!r} has an unknown size category {word!r}")
    category = CATEGORIES[word]
    value = _number(match["number"])
    if system == "US":
        if value <= 0 or (value * 2).denominator != 1:
            raise SizeError(f"{text!r} is not a whole or half US size")
        return Size(category, value)
    return _convert(text, system, category, value, brand)


def _convert(
    text: str, system: str, category: str, value: Fraction, brand: str | None
) -> Size:
    chart = chart_for(brand)
    if chart is None:
        known = "Nike, Jordan, adidas, Yeezy"
        raise SizeError(
            f"{text!r} is a {system} size and there is no {system}-to-US chart for "
            f"{brand or 'an unnamed brand'} (charts exist for {known}); "
            f"use the US size instead"
        )
    if category != "M":
        raise SizeError(
            f"{text!r}: only men's {system} sizes convert; use the US "
            f"{CATEGORY_NAMES[category]} size instead"
        )
    table = chart.uk if system == "UK" else chart.eu
    found = table.get(value, ())
    if len(found) != 1:
        why = "is not on" if not found else "maps to more than one US size in"
        raise SizeError(
            f"{text!r} {why} the {chart.brand} men's chart; use the US size instead"
        )
    return Size("M", found[0])


def normalise_size(text: str, *, brand: str | None = None) -> str:
    """Return StockX's spelling of a size (``US M 10`` gives ``10``); see parse_size."""
    return str(parse_size(text, brand=brand))


def same_size(left: str, right: str, *, brand: str | None = None) -> bool:
    """Tell whether two size texts name one size; unreadable text matches nothing."""
    try:
        return parse_size(left, brand=brand) == parse_size(right, brand=brand)
    except SizeError:
        return False


def style_parts(style_id: str | None) -> frozenset[str]:
    """Split a style id such as ``AAA-111/BBB-222`` into comparable parts.

    Case, spaces, dashes and dots are dropped (``DD1391 100`` is ``DD1391-100``).
    """
    if not style_id:
        return frozenset()
    parts = re.split(r"[/,|]", style_id)
    keys = (re.sub(r"[\s\-_.]", "", part).upper() for part in parts)
    return frozenset(key for key in keys if key)


def same_style(left: str | None, right: str | None) -> bool:
    """Tell whether two style ids share a part (``AAA-111/BBB-222`` matches either)."""
    return bool(style_parts(left) & style_parts(right))


def split_sku(sku: str) -> tuple[str, str] | None:
    """Split a SKU written as style then size (``DZ5485-612-9.5``) into both parts.

    Returns ``None`` when the last dash-separated part is no US size.
    """
    style, dash, size = sku.strip().rpartition("-")
    if not dash or not style:
        return None
    try:
        parse_size(size)
    except SizeError:
        return None
    return style, size


def size_from_title(title: str) -> str | None:
    """Return the size after the last ``/`` of a title (``... / US 9.5``), if any."""
    _, slash, tail = title.rpartition("/")
    if not slash:
        return None
    try:
        parse_size(tail)
    except SizeError:
        return None
    return tail.strip()


def matching(
    style_id: str,
    size: str,
    candidates: Iterable[tuple[str, str | None, str | None]],
    *,
    brand: str | None = None,
) -> list[str]:
    """Return the ids of ``(id, style id, size)`` candidates of this style and size.

    Raises ``SizeError`` when ``size`` itself cannot be read or converted.
    """
    wanted = parse_size(size, brand=brand)
    found = []
    for ref, candidate_style, candidate_size in candidates:
        if not candidate_size or not same_style(style_id, candidate_style):
            continue
        try:
            if parse_size(candidate_size, brand=brand) == wanted:
                found.append(ref)
        except SizeError:
            continue
    return found
