"""Run the four platform simulators together on 127.0.0.1, as ``stackknack sandbox``
and the demo do, and find a running sandbox from another process."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from stackknack_cli import config
from stackknack_cli.sandbox.clover import CloverSimulator
from stackknack_cli.sandbox.ebay import EbaySimulator
from stackknack_cli.sandbox.server import SimServer
from stackknack_cli.sandbox.shopify import ShopifySimulator
from stackknack_cli.sandbox.stockx import StockXSimulator

CATALOG = Path(__file__).parent / "data" / "sneakers.csv"
CHANNELS = ("shopify", "clover", "ebay", "stockx")
DEFAULT_ASK = "200"
"""The StockX ask price of seeded listings (StockX amounts are strings in dollars)."""


def catalog_prices(path: Path) -> dict[str, Decimal]:
    """Return the price of each SKU in a catalogue CSV that has them (a Shopify
    product export's ``Variant SKU`` and ``Variant Price``, or ``sku`` and
    ``price``); empty when it has none or cannot be read as text. Unreadable
    prices are left out."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return _prices(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error):
        return {}


def _prices(reader: Iterator[list[str]]) -> dict[str, Decimal]:
    header = [name.strip().lower() for name in next(reader, [])]
    sku_at = _column(header, "variant sku", "sku")
    price_at = _column(header, "variant price", "price")
    if sku_at is None or price_at is None:
        return {}
    prices: dict[str, Decimal] = {}
    for row in reader:
        if len(row) <= max(sku_at, price_at) or not row[sku_at].strip():
            continue
        try:
            price = Decimal(row[price_at].strip())
        except InvalidOperation:
            continue
        if price.is_finite() and price >= 0:
            prices.setdefault(row[sku_at].strip(), price)
    return prices


def _column(header: list[str], *names: str) -> int | None:
    return next((header.index(name) for name in names if name in header), None)


def state_file() -> Path:
    """Where a running ``stackknack sandbox`` records its addresses."""
    return config.home_dir() / "sandbox.json"


class Sandbox:
    """The four simulators, each on its own free port of 127.0.0.1.

    ``latency`` seconds are added to every API call (benchmarks use it; 0 by default).
    """

    def __init__(self, *, seed: int = 0, latency: float = 0.0) -> None:
        self.shopify = ShopifySimulator(seed=seed)
        self.clover = CloverSimulator(seed=seed)
        self.ebay = EbaySimulator(seed=seed, out_of_stock_control=True)
        self.stockx = StockXSimulator(seed=seed)
        self.stockx_variants: dict[str, str] = {}
        """Inventory SKU -> StockX variant id of the seeded catalogue."""
        self._servers = {
            "shopify": SimServer(self.shopify.app, latency=latency),
            "clover": SimServer(self.clover.app, latency=latency),
            "ebay": SimServer(self.ebay.app, latency=latency),
            "stockx": SimServer(self.stockx.app, latency=latency),
        }

    def url(self, channel: str) -> str:
        return self._servers[channel].base_url

    def calls(self, channel: str) -> int:
        """Return how many API requests ``channel``'s simulator has received."""
        return sum(self._servers[channel].calls.values())

    def start(self) -> Sandbox:
        for server in self._servers.values():
            server.start()
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            server.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def seed(
        self,
        items: Iterable[tuple[str, str, int]],
        prices: Mapping[str, Decimal] | None = None,
    ) -> int:
        """List every (SKU, title, quantity) on all four channels; return how many.

        ``prices`` (SKU to dollars) become the Shopify, Clover and eBay prices; a
        SKU left out is priced 0 on Shopify and Clover. On StockX a SKU must read
        as a style id and a size (``DZ5485-612-9.5``, or a title ending in
        ``US 9.5``); others are left off StockX, as a reseller would.
        """
        from stackknack_cli.channels.stockx_catalog import sku_style_size

        rows = list(items)
        styles: dict[str, list[tuple[str, str, str, int]]] = defaultdict(list)
        for sku, title, quantity in rows:
            price = (prices or {}).get(sku)
            self.shopify.seed(
                sku, title=title, quantity=quantity, price=f"{price or 0:.2f}"
            )
            cents = int(price * 100) if price is not None else 0
            self.clover.seed(name=title, sku=sku, quantity=quantity, price=cents)
            if price is None:
                self.ebay.seed(sku, quantity=quantity, title=title)
            else:
                listed = f"{price:.2f}"
                self.ebay.seed(sku, quantity=quantity, title=title, price=listed)
            parts = sku_style_size(sku, title)
            if parts is not None:
                styles[parts[0]].append((sku, title, parts[1], quantity))

        for style, variants in styles.items():
            product_title = variants[0][1].split(" / ")[0]
            sizes = [size for _, _, size, _ in variants]
            ids = self.stockx.seed_product(product_title, style, sizes=sizes)
            for sku, _, size, quantity in variants:
                self.stockx_variants[sku] = ids[size]
                if quantity > 0:
                    self.stockx.seed_listings(ids[size], DEFAULT_ASK, quantity=quantity)
        return len(rows)

    def sell(self, channel: str, sku: str, quantity: int = 1) -> str:
        """Make a sale of ``sku`` on ``channel`` as a shopper would; return its id."""
        if channel == "shopify":
            return self.shopify.sell(sku, quantity)
        if channel == "clover":
            return self.clover.sell(sku, quantity)
        if channel == "ebay":
            return self.ebay.sell(sku, quantity)
        orders = [self.stockx.sell(self.stockx_variants[sku]) for _ in range(quantity)]
        return ",".join(orders)

    def held(self, channel: str, sku: str) -> int:
        """Return what ``channel`` offers of ``sku`` now (its own count)."""
        if channel == "shopify":
            return self.shopify.available(sku)
        if channel == "clover":
            return int(self.clover.stock(sku) or 0)
        if channel == "ebay":
            items = self.ebay.state()["items"]
            item = next(i for i in items if i["sku"] == sku)
            return int(item["availability"]["shipToLocationAvailability"]["quantity"])
        variant = self.stockx_variants.get(sku)
        return self.stockx.active_count(variant) if variant else 0

    def describe(self) -> dict[str, Any]:
        """Return each simulator's base URL and the credentials it accepts."""
        shop = self.shopify.credentials()
        return {
            "shopify": {
                "base_url": self.url("shopify"),
                "shop": shop["shop"],
                "access_token": shop["access_token"],
                "client_id": shop["client_id"],
                "client_secret": shop["client_secret"],
                "api_version": shop["api_version"],
            },
            "clover": {
                "base_url": self.url("clover"),
                "merchant_id": self.clover.merchant_id,
                "api_token": self.clover.api_token,
                "client_id": self.clover.client_id,
                "refresh_token": self.clover.refresh_token,
            },
            "ebay": {
                "base_url": self.url("ebay"),
                "client_id": self.ebay.client_id,
                "client_secret": self.ebay.client_secret,
                "ru_name": self.ebay.ru_name,
                "consent_code": self.ebay.consent_code,
            },
            "stockx": {
                "base_url": self.url("stockx"),
                "api_key": self.stockx.api_key,
                "client_id": self.stockx.client_id,
                "client_secret": self.stockx.client_secret,
                "redirect_uri": self.stockx.redirect_uri,
                "auth_code": self.stockx.auth_code,
            },
        }


def write_state(sandbox: Sandbox) -> Path:
    """Record the running sandbox's addresses (not its secrets) for ``sandbox sell``."""
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    urls = {channel: sandbox.url(channel) for channel in CHANNELS}
    path.write_text(json.dumps(urls, indent=1), encoding="utf-8")
    return path


def read_state() -> dict[str, str]:
    from stackknack_cli.errors import ConfigError

    path = state_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"no sandbox is running (no {path}); start one with: stackknack sandbox"
        ) from None
    except ValueError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    return {str(k): str(v) for k, v in data.items()}
