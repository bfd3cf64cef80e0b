"""Writing quantities to StockX: one listing per unit, asynchronous, checked on.

Setting a variant to N units means holding N ACTIVE STANDARD listings. Going up creates
listings at the ask the user set (``Push.details["ask"]`` and ``["currency"]``, else
the price of a listing the variant still has); going down deletes the newest listings
first; 0 deletes them all. One listing changes through the single-listing call, more
through StockX's batch calls, at most 100 items each (a longer change continues in the
next batch once the first settles). The changes of many variants pushed together share
batches, and a shared batch is checked on once per round.

Nothing is done until StockX says so: a write answers PENDING with an operation string
the engine hands back in ``Push.operation``, and the next push checks on it instead of
writing again. SUCCEEDED re-counts the listings (DONE); FAILED answers REFUSED with
StockX's reason, which the engine retries from scratch or dead-letters.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from stackknack_cli.channels.base import Push, PushResult, PushStatus
from stackknack_cli.channels.http import was_ambiguous
from stackknack_cli.errors import ChannelError, ChannelUnavailableError

if TYPE_CHECKING:
    from stackknack_cli.channels.stockx import StockXChannel

log = logging.getLogger(__name__)

BATCH_LIMIT = 100
"""StockX's most items in one batch call."""
MAX_LISTINGS = 500
"""Most asks kept for one variant: one listing is one unit, and a count beyond this
is a typo that would otherwise create listings batch after batch."""
FINISHED_BATCH = frozenset({"COMPLETED", "FAILED", "PARTIALLY_COMPLETED", "CANCELED"})
DEFAULT_CURRENCY = "USD"


@dataclass(frozen=True)
class Operation:
    """An asynchronous write in flight, as kept in the outbox between pushes.

    ``kind`` is ``listing`` (ids: listing id, operation id), or ``create`` or
    ``delete`` (ids: batch id). ``more`` says the write was cut at the batch limit.
    """

    kind: str
    ids: tuple[str, ...]
    more: bool = False

    def encode(self) -> str:
        return ":".join([self.kind, *self.ids, *(["more"] if self.more else [])])

    @classmethod
    def decode(cls, text: str) -> Operation:
        parts = text.split(":")
        more = parts[-1] == "more"
        if more:
            parts = parts[:-1]
        kind, ids = parts[0], tuple(parts[1:])
        expected = 2 if kind == "listing" else 1
        if kind not in ("listing", "create", "delete") or len(ids) != expected:
            raise ChannelError(f"stockx: cannot read the stored operation {text!r}")
        return cls(kind, ids, more)


@dataclass(frozen=True)
class Outcome:
    """What StockX reports for an operation: still going, failed (why), or done."""

    state: str
    reason: str = ""


def ask_of(push: Push, rows: Sequence[Mapping[str, Any]]) -> tuple[str, str] | None:
    """Return the (amount, currency) to list new units at, or ``None`` if unknown."""
    currency = push.details.get("currency")
    amount = push.details.get("ask")
    if amount in (None, ""):
        priced = [row for row in rows if row.get("amount")]
        if not priced:
            return None
        latest = max(priced, key=lambda row: str(row.get("updatedAt") or ""))
        amount = latest["amount"]
        currency = currency or latest.get("currencyCode")
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return None
    if not value.is_finite() or value <= 0:
        return None
    text = (
        str(value.quantize(Decimal(1))) if value == value.to_integral() else str(value)
    )
    return text, str(currency or DEFAULT_CURRENCY)


def _shelf_rows(
    channel: StockXChannel, variant_ids: Iterable[str]
) -> dict[str, list[dict[str, Any]]]:
    from stackknack_cli.channels.stockx import SHELF, is_shelf_ask

    wanted = sorted(set(variant_ids))
    rows: dict[str, list[dict[str, Any]]] = {ref: [] for ref in wanted}
    for start in range(0, len(wanted), channel.page_size):
        chunk = wanted[start : start + channel.page_size]
        for listing in channel.listings(
            variant_ids=chunk, statuses=("ACTIVE",), inventory_types=(SHELF,)
        ):
            ref = str((listing.get("variant") or {}).get("variantId"))
            if ref in rows and is_shelf_ask(listing):
                rows[ref].append(listing)
    return rows


def _accepted(channel: StockXChannel, method: str, path: str, body: Any) -> Any:
    response = channel.send(method, path, body=body)
    if response.status_code in (400, 404, 409, 422):
        raise _Refused(response, uncertain=was_ambiguous(response))
    channel.expect_ok(response, method, path)
    return response.json()


class _Refused(Exception):
    def __init__(self, response: Any, *, uncertain: bool = False) -> None:
        from stackknack_cli.channels.stockx import message_of

        super().__init__(f"HTTP {response.status_code}: {message_of(response)}")
        # A retry refused after an attempt that may have landed (a listing deleted
        # by the first try is "DELETED" to the second): the engine re-reads.
        self.uncertain = uncertain


def _create(
    channel: StockXChannel, variant_id: str, count: int, ask: tuple[str, str]
) -> Operation:
    amount, currency = ask
    item = {"variantId": variant_id, "amount": amount, "currencyCode": currency}
    if count == 1:
        payload = _accepted(
            channel, "POST", "/selling/listings", {**item, "active": True}
        )
        return Operation("listing", (payload["listingId"], payload["operationId"]))
    size = min(count, BATCH_LIMIT)
    items = [{**item, "quantity": 1, "active": True} for _ in range(size)]
    path = "/selling/batch/create-listing"
    payload = _accepted(channel, "POST", path, {"items": items})
    return Operation("create", (payload["batchId"],), more=count > BATCH_LIMIT)


def _delete(channel: StockXChannel, rows: Sequence[Mapping[str, Any]]) -> Operation:
    if len(rows) == 1:
        listing_id = str(rows[0]["listingId"])
        payload = _accepted(channel, "DELETE", f"/selling/listings/{listing_id}", None)
        return Operation("listing", (listing_id, payload["operationId"]))
    items = [{"listingId": str(row["listingId"])} for row in rows[:BATCH_LIMIT]]
    payload = _accepted(
        channel, "POST", "/selling/batch/delete-listing", {"items": items}
    )
    return Operation("delete", (payload["batchId"],), more=len(rows) > BATCH_LIMIT)


def start_write(
    channel: StockXChannel, push: Push, rows: Sequence[Mapping[str, Any]]
) -> PushResult:
    """Start the one write that moves the variant from ``rows`` toward the target."""
    live = len(rows)
    if push.target == live:
        return PushResult(push.entry_id, PushStatus.DONE, holds=live)
    if push.target > MAX_LISTINGS:
        reason = (
            f"{push.target:,} asks of one StockX size is beyond the {MAX_LISTINGS} "
            "stackknack creates; check the count (stackknack adjust)"
        )
        return PushResult(
            push.entry_id, PushStatus.REFUSED, reason=reason, permanent=True
        )
    if push.target > live:
        ask = ask_of(push, rows)
        if ask is None:
            reason = (
                f"no ask price is known for StockX variant {push.channel_ref}; "
                "set the listing's ask before restocking it"
            )
            return PushResult(
                push.entry_id, PushStatus.REFUSED, reason=reason, permanent=True
            )
        operation = _create(channel, push.channel_ref, push.target - live, ask)
    else:
        newest = sorted(rows, key=lambda row: str(row.get("createdAt") or ""))
        operation = _delete(channel, newest[push.target :][::-1])
    log.info(
        "stockx: %s started for %s (%d to %d)",
        operation.kind,
        push.channel_ref,
        live,
        push.target,
    )
    return PushResult(
        push.entry_id,
        PushStatus.PENDING,
        holds=live,
        reason="waiting for StockX",
        operation=operation.encode(),
    )


def _failed_items(channel: StockXChannel, kind: str, batch_id: str) -> str:
    path = f"/selling/batch/{kind}-listing/{batch_id}/items"
    payload = channel.get_json(path, [("status", "FAILED")])
    items = payload.get("items") if isinstance(payload, dict) else None
    reasons = sorted({str(item.get("error") or "no reason") for item in items or []})
    return "; ".join(reasons[:3]) or "no reason given"


def check_on(channel: StockXChannel, operation: Operation) -> Outcome:
    """Ask StockX how an operation or batch stands."""
    if operation.kind == "listing":
        listing_id, operation_id = operation.ids
        path = f"/selling/listings/{listing_id}/operations/{operation_id}"
        payload = channel.get_json(path)
        if not isinstance(payload, dict):
            return Outcome("failed", f"StockX has no operation {operation_id}")
        status = str(payload.get("operationStatus") or "PENDING")
        if status == "FAILED":
            return Outcome("failed", str(payload.get("error") or "no reason given"))
        return Outcome("succeeded" if status == "SUCCEEDED" else "pending")

    (batch_id,) = operation.ids
    payload = channel.get_json(f"/selling/batch/{operation.kind}-listing/{batch_id}")
    if not isinstance(payload, dict):
        return Outcome("failed", f"StockX has no batch {batch_id}")
    status = str(payload.get("status") or "").upper()
    if not payload.get("completedAt") and status not in FINISHED_BATCH:
        return Outcome("pending")
    counts = payload.get("itemStatuses") or {}
    failed = sum(
        int(value)
        for key, value in counts.items()
        if "FAIL" in str(key).upper() and isinstance(value, int | float)
    )
    if failed or status == "FAILED":
        reason = _failed_items(channel, operation.kind, batch_id)
        return Outcome("failed", f"{failed} of the batch failed: {reason}")
    return Outcome("succeeded")


def _guarded(push: Push, action: Any) -> PushResult:
    try:
        result: PushResult = action()
        return result
    except ChannelUnavailableError as exc:
        log.warning("stockx: push to %s deferred: %s", push.channel_ref, exc)
        return PushResult(push.entry_id, PushStatus.RETRY, reason=str(exc))
    except _Refused as exc:
        return PushResult(
            push.entry_id, PushStatus.REFUSED, reason=str(exc), uncertain=exc.uncertain
        )
    except (ChannelError, KeyError, TypeError) as exc:
        # A CredentialError is no ChannelError: it stops the whole batch.
        return PushResult(push.entry_id, PushStatus.REFUSED, reason=str(exc))


def push_all(channel: StockXChannel, pushes: Sequence[Push]) -> list[PushResult]:
    """Apply pushes as ``Channel.push`` describes (see the module docstring)."""
    results: list[PushResult] = []
    seen: set[str] = set()
    fresh: list[Push] = []
    failed: list[tuple[Push, PushResult]] = []
    settled: dict[int, Operation] = {}
    outcomes: dict[str, Outcome] = {}
    for push in pushes:
        if push.channel_ref in seen:
            reason = "another push for this variant is in this batch"
            results.append(PushResult(push.entry_id, PushStatus.RETRY, reason=reason))
            continue
        seen.add(push.channel_ref)
        if push.operation is None:
            fresh.append(push)
            continue
        result = _guarded(
            push, lambda push=push: _poll(channel, push, settled, outcomes)
        )
        if result.entry_id in settled:
            fresh.append(push)
        elif result.status is PushStatus.REFUSED:
            failed.append((push, result))
        else:
            results.append(result)

    if not fresh and not failed:
        return results
    try:
        live = _shelf_rows(
            channel, [push.channel_ref for push in fresh + [p for p, _ in failed]]
        )
    except ChannelUnavailableError as exc:
        return results + [
            PushResult(push.entry_id, PushStatus.RETRY, reason=str(exc))
            for push in fresh + [p for p, _ in failed]
        ]
    # A write that failed may have landed in part (a batch PARTIALLY_COMPLETED, a
    # retried call refused for what its first try did): what StockX now holds is
    # the base for the next try.
    results.extend(
        replace(result, holds=len(live[push.channel_ref])) for push, result in failed
    )
    batched: list[tuple[Push, Sequence[Mapping[str, Any]]]] = []
    for push in fresh:
        rows = live[push.channel_ref]
        if _joins_batch(push, rows, settled):
            batched.append((push, rows))
            continue
        results.append(
            _guarded(push, lambda p=push, r=rows: _next(channel, p, r, settled))
        )
    return results + _write_together(channel, batched)


def _joins_batch(
    push: Push, rows: Sequence[Mapping[str, Any]], settled: Mapping[int, Operation]
) -> bool:
    """Tell whether a fresh write can share a batch with other variants' writes."""
    live = len(rows)
    if push.entry_id in settled or push.target == live:
        return False
    if push.expected is not None and live != push.expected:
        return False
    if push.target > MAX_LISTINGS:
        return False  # refused on its own path, with its reason
    change = abs(push.target - live)
    priced = push.target < live or ask_of(push, rows) is not None
    return 0 < change < BATCH_LIMIT and priced


def _write_together(
    channel: StockXChannel, batched: Sequence[tuple[Push, Sequence[Mapping[str, Any]]]]
) -> list[PushResult]:
    """Send many variants' creates, and their deletes, in as few batches as StockX
    allows; each push is PENDING on the batch that carries its units."""
    creates = [(p, r) for p, r in batched if p.target > len(r)]
    deletes = [(p, r) for p, r in batched if p.target < len(r)]
    results: list[PushResult] = []
    for group, kind in ((creates, "create"), (deletes, "delete")):
        for chunk in _chunks(group):
            if len(chunk) == 1:
                push, rows = chunk[0]
                results.append(
                    _guarded(push, lambda p=push, r=rows: start_write(channel, p, r))
                )
                continue
            results.extend(_batch(channel, kind, chunk))
    return results


def _chunks(
    group: Sequence[tuple[Push, Sequence[Mapping[str, Any]]]],
) -> Iterable[list[tuple[Push, Sequence[Mapping[str, Any]]]]]:
    chunk: list[tuple[Push, Sequence[Mapping[str, Any]]]] = []
    size = 0
    for push, rows in group:
        units = abs(push.target - len(rows))
        if chunk and size + units > BATCH_LIMIT:
            yield chunk
            chunk, size = [], 0
        chunk.append((push, rows))
        size += units
    if chunk:
        yield chunk


def _batch(
    channel: StockXChannel,
    kind: str,
    chunk: Sequence[tuple[Push, Sequence[Mapping[str, Any]]]],
) -> list[PushResult]:
    items: list[dict[str, Any]] = []
    for push, rows in chunk:
        if kind == "create":
            ask = ask_of(push, rows)
            assert ask is not None  # checked by _joins_batch
            item: dict[str, Any] = {
                "variantId": push.channel_ref,
                "amount": ask[0],
                "currencyCode": ask[1],
                "quantity": 1,
                "active": True,
            }
            items.extend(item for _ in range(push.target - len(rows)))
        else:
            newest = sorted(rows, key=lambda row: str(row.get("createdAt") or ""))
            items.extend(
                {"listingId": str(row["listingId"])}
                for row in newest[push.target :][::-1]
            )

    def send() -> PushResult:
        path = f"/selling/batch/{kind}-listing"
        payload = _accepted(channel, "POST", path, {"items": items})
        operation = Operation(kind, (payload["batchId"],)).encode()
        return PushResult(0, PushStatus.PENDING, operation=operation)

    sent = _guarded(chunk[0][0], send)
    log.info("stockx: %s batch for %d variants: %s", kind, len(chunk), sent.status)
    return [
        PushResult(
            push.entry_id,
            sent.status,
            holds=len(rows) if sent.status is PushStatus.PENDING else None,
            reason=sent.reason or "waiting for StockX",
            operation=sent.operation,
            uncertain=sent.uncertain,
        )
        for push, rows in chunk
    ]


def _poll(
    channel: StockXChannel,
    push: Push,
    settled: dict[int, Operation],
    seen: dict[str, Outcome],
) -> PushResult:
    assert push.operation is not None
    operation = Operation.decode(push.operation)
    # Pushes written in one batch share it: StockX is asked once per round.
    outcome = seen.get(push.operation)
    if outcome is None:
        outcome = seen[push.operation] = check_on(channel, operation)
    if outcome.state == "pending":
        return PushResult(
            push.entry_id,
            PushStatus.PENDING,
            reason="waiting for StockX",
            operation=push.operation,
        )
    if outcome.state == "failed":
        log.warning("stockx: write to %s failed: %s", push.channel_ref, outcome.reason)
        return PushResult(push.entry_id, PushStatus.REFUSED, reason=outcome.reason)
    settled[push.entry_id] = operation
    return PushResult(push.entry_id, PushStatus.DONE)


def _next(
    channel: StockXChannel,
    push: Push,
    rows: Sequence[Mapping[str, Any]],
    settled: Mapping[int, Operation],
) -> PushResult:
    done = settled.get(push.entry_id)
    live = len(rows)
    if done is None:
        if push.expected is not None and live != push.expected:
            return PushResult(push.entry_id, PushStatus.MISMATCH, holds=live)
        return start_write(channel, push, rows)
    # A write cut at the batch limit goes on; ``push.target`` is the newest count
    # waiting for the listing (the engine sends that with a write under way).
    if live != push.target and done.more:
        return start_write(channel, push, rows)
    if live != push.target:
        # A sale or a change made on StockX meanwhile, or a newer count now waiting;
        # the engine carries on from what StockX holds.
        log.info(
            "stockx: %s holds %d after its write, not %d",
            push.channel_ref,
            live,
            push.target,
        )
    return PushResult(push.entry_id, PushStatus.DONE, holds=live)
