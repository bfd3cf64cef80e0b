"""An in-memory channel for engine tests: quantities and a list of sale lines."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from stackknack_cli.channels.base import (
    Push,
    PushResult,
    PushStatus,
    RemoteListing,
    SaleLine,
    SalesBatch,
)
from stackknack_cli.errors import ChannelUnavailableError


class FakeChannel:
    """Holds ``quantities`` by ref; pushes are compare-and-set like Shopify's."""

    def __init__(
        self, name: str, quantities: dict[str, int], batch_size: int = 10
    ) -> None:
        self.name = name
        self.batch_size = batch_size
        self.quantities = dict(quantities)
        self.sales: list[tuple[datetime, SaleLine]] = []
        self.down = False
        self.refuse: set[str] = set()
        self.push_calls: list[list[Push]] = []

    def sell(self, ref: str, line: SaleLine, when: datetime) -> None:
        self.quantities[ref] -= line.quantity
        self.sales.append((when, line))

    def check(self) -> str:
        return self.name

    def fetch_listings(self) -> Iterator[RemoteListing]:
        for ref, quantity in self.quantities.items():
            yield RemoteListing(channel_ref=ref, sku=ref, quantity=quantity)

    def fetch_sales(self, since: datetime) -> SalesBatch:
        if self.down:
            raise ChannelUnavailableError(f"{self.name} is down")
        lines = [line for when, line in self.sales if when >= since]
        newest = max((when for when, _ in self.sales if when >= since), default=None)
        return SalesBatch(lines, newest)

    def read_quantities(self, refs: Sequence[str]) -> dict[str, int]:
        return {ref: self.quantities[ref] for ref in refs if ref in self.quantities}

    def push(self, pushes: Sequence[Push]) -> list[PushResult]:
        if self.down:
            raise ChannelUnavailableError(f"{self.name} is down")
        self.push_calls.append(list(pushes))
        results = []
        for push in pushes:
            held = self.quantities[push.channel_ref]
            if push.channel_ref in self.refuse:
                results.append(
                    PushResult(push.entry_id, PushStatus.REFUSED, reason="nope")
                )
            elif push.expected is not None and held != push.expected:
                results.append(
                    PushResult(push.entry_id, PushStatus.MISMATCH, holds=held)
                )
            else:
                self.quantities[push.channel_ref] = push.target
                results.append(
                    PushResult(push.entry_id, PushStatus.DONE, holds=push.target)
                )
        return results
