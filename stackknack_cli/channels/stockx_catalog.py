"""Link our SKUs to StockX variants by style id and size, since StockX has no SKU.

A SKU such as ``DZ5485-612-9.5`` reads as style ``DZ5485-612`` and size ``9.5``; a SKU
that does not end in a size takes the size from its title (``... / US 9.5``). It is
matched first against the variants the seller already lists (``fetch_listings``), then,
if a channel is given, against StockX's catalogue (two calls per style, cached).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stackknack_cli.channels.base import RemoteListing
from stackknack_cli.channels.sizes import (
    SizeError,
    matching,
    same_style,
    size_from_title,
    split_sku,
)

if TYPE_CHECKING:
    from stackknack_cli.channels.stockx import StockXChannel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkProposal:
    """A SKU and the StockX variant it should link to (``None`` with a reason)."""

    sku: str
    variant_id: str | None
    style_id: str = ""
    size: str = ""
    source: str = ""
    """``listings`` or ``catalog``: where the variant was found."""
    reason: str = ""


def sku_style_size(sku: str, title: str = "") -> tuple[str, str] | None:
    """Return (style id, size) read from a SKU, or from the SKU and its title."""
    parts = split_sku(sku)
    if parts is not None:
        return parts
    size = size_from_title(title) if title else None
    return (sku.strip(), size) if size else None


def match_listing(
    sku_style: str,
    size: str,
    candidates: Iterable[RemoteListing],
    *,
    brand: str | None = None,
) -> str | None:
    """Return the variant id of the one listing of this style and size, else ``None``.

    Raises ``SizeError`` when ``size`` cannot be read or converted for ``brand``.
    """
    rows = [
        (c.channel_ref, c.details.get("style_id"), c.details.get("size"))
        for c in candidates
    ]
    found = matching(sku_style, size, rows, brand=brand)
    return found[0] if len(found) == 1 else None


def match_variant(
    sku_style: str,
    size: str,
    product: Mapping[str, Any],
    variants: Sequence[Mapping[str, Any]],
) -> str | None:
    """Return the catalogue variant of ``product`` in ``size``, if there is one."""
    style = product.get("styleId")
    if not same_style(sku_style, style):
        return None
    rows = [(str(v.get("variantId")), style, v.get("variantValue")) for v in variants]
    found = matching(sku_style, size, rows, brand=product.get("brand"))
    return found[0] if len(found) == 1 else None


class CatalogLookup:
    """Catalogue searches by style id, each style looked up once."""

    def __init__(self, channel: StockXChannel) -> None:
        self.channel = channel
        self._products: dict[
            str, list[tuple[dict[str, Any], list[dict[str, Any]]]]
        ] = {}

    def variants_of(
        self, style: str
    ) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        key = style.upper()
        if key not in self._products:
            products = [
                product
                for product in self.channel.search_catalog(style)
                if same_style(style, product.get("styleId"))
            ]
            self._products[key] = [
                (product, self.channel.product_variants(str(product["productId"])))
                for product in products
            ]
        return self._products[key]

    def find(self, style: str, size: str) -> str | None:
        found = {
            variant_id
            for product, variants in self.variants_of(style)
            if (variant_id := match_variant(style, size, product, variants))
        }
        return found.pop() if len(found) == 1 else None


def propose_links(
    items: Iterable[tuple[str, str]],
    listings: Sequence[RemoteListing],
    *,
    channel: StockXChannel | None = None,
    brand: str | None = None,
) -> list[LinkProposal]:
    """Propose a variant for each (SKU, title); a proposal is never applied here.

    With ``channel``, SKUs not among ``listings`` are looked up in the catalogue
    (network calls, paced like any other).
    """
    lookup = CatalogLookup(channel) if channel is not None else None
    proposals = []
    for sku, title in items:
        parts = sku_style_size(sku, title)
        if parts is None:
            proposals.append(
                LinkProposal(sku, None, reason="no style and size in SKU or title")
            )
            continue
        style, size = parts
        try:
            variant_id = match_listing(style, size, listings, brand=brand)
            source = "listings"
            if variant_id is None and lookup is not None:
                variant_id, source = lookup.find(style, size), "catalog"
        except SizeError as exc:
            proposals.append(LinkProposal(sku, None, style, size, reason=str(exc)))
            continue
        reason = "" if variant_id else "no single StockX variant of this style and size"
        proposals.append(
            LinkProposal(
                sku, variant_id, style, size, source if variant_id else "", reason
            )
        )
    return proposals
