"""Run the Shopify and Clover simulators together on 127.0.0.1, as ``stackknack
sandbox`` and the demo do, and find a running sandbox from another process."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from stackknack_cli import config
from stackknack_cli.sandbox.clover import CloverSimulator
from stackknack_cli.sandbox.server import SimServer
from stackknack_cli.sandbox.shopify import ShopifySimulator

CATALOG = Path(__file__).parent / "data" / "sneakers.csv"
CHANNELS = ("shopify", "clover")


def state_file() -> Path:
    """Where a running ``stackknack sandbox`` records its addresses."""
    return config.home_dir() / "sandbox.json"


class Sandbox:
    """Both simulators, each on its own free port of 127.0.0.1."""

    def __init__(self, *, seed: int = 0) -> None:
        self.shopify = ShopifySimulator(seed=seed)
        self.clover = CloverSimulator(seed=seed)
        self._servers = {
            "shopify": SimServer(self.shopify.app),
            "clover": SimServer(self.clover.app),
        }

    def url(self, channel: str) -> str:
        return self._servers[channel].base_url

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

    def seed(self, items: Iterable[tuple[str, str, int]]) -> int:
        """List every (SKU, title, quantity) on both channels; return how many."""
        count = 0
        for sku, title, quantity in items:
            self.shopify.seed(sku, title=title, quantity=quantity)
            self.clover.seed(name=title, sku=sku, quantity=quantity, price=0)
            count += 1
        return count

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
