"""The Shopify channel: ``available`` quantities over Admin GraphQL.

What the channel holds for a listing is ``available`` summed over the counting
locations: the push location and any further ones chosen at ``connect`` or with
``stackknack shopify locations``. Pushes write the push location only, so that the
sum becomes the target.

Quantities are set with ``inventorySetQuantities`` as a compare-and-swap
(``changeFromQuantity``) under an ``@idempotent`` key, both required from API version
2026-04. Shopify moves ``available`` to ``committed`` on its own orders, so sales read
here are for the engine's ledger, never to be subtracted on Shopify again.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx

from stackknack_cli.channels import shopify_queries as q
from stackknack_cli.channels.base import (
    Push,
    PushResult,
    PushStatus,
    RemoteListing,
    ReturnLine,
    SaleLine,
    SalesBatch,
)
from stackknack_cli.channels.http import RetryLater, RetryPolicy
from stackknack_cli.channels.shopify_auth import TokenProvider
from stackknack_cli.channels.shopify_graphql import ShopifyGraphQL
from stackknack_cli.channels.shopify_returns import order_returns
from stackknack_cli.errors import ChannelError, ConfigError
from stackknack_cli.times import parse_time

log = logging.getLogger(__name__)

DEFAULT_API_VERSION = "2026-04"
REASON = "correction"
KEY_NAMESPACE = uuid.UUID("5d0c2f8e-51a3-4b53-9a55-3f1c7be0a6d4")

STALE_CODES = frozenset({"CHANGE_FROM_QUANTITY_STALE", "COMPARE_QUANTITY_STALE"})
BATCH_CONFIG_CODES = frozenset({"INVALID_LOCATION"})

Json = dict[str, Any]


@dataclass(frozen=True)
class Location:
    id: str
    name: str


@dataclass(frozen=True)
class Stocking:
    """An inventory item's ``available`` at each counting location, push location
    first, and whether the push location stocks the item at all."""

    levels: tuple[int, ...]
    stocked: bool

    @property
    def elsewhere(self) -> int:
        """Units at the counting locations other than the push location."""
        return sum(self.levels[1:])


class ShopifyChannel:
    """A Shopify store, read at its counting locations and written at one of them.

    The caller owns ``client``. Every method makes network calls and retries throttling,
    429, 5xx and transport errors under ``policy``; past them it raises
    ``ChannelUnavailableError``. A token that renewal cannot fix raises
    ``CredentialError``.
    """

    name = "shopify"
    # Not confirmed in Shopify's docs as the per-call maximum of quantities; 250 matches
    # the largest page Shopify serves and keeps one mutation's payload small.
    batch_size = 250
    # Why a listing can still hold more than its target after a push (``_spread``).
    above_target_hint = (
        "other counting locations alone hold more than the target; move units to "
        "the push location in Shopify, or stop counting that location "
        "(stackknack shopify locations --ignore)"
    )

    def __init__(
        self,
        client: httpx.Client,
        shop_url: str,
        location_id: str | None,
        *,
        tokens: TokenProvider,
        policy: RetryPolicy,
        api_version: str = DEFAULT_API_VERSION,
        count_location_ids: Sequence[str] = (),
    ) -> None:
        self.graphql = ShopifyGraphQL(
            client, shop_url, tokens=tokens, policy=policy, api_version=api_version
        )
        self.endpoint = self.graphql.endpoint
        self.use_locations(location_id, count_location_ids)

    # TODO: count only lines shipped from counting locations: needs fulfillment orders
    # (every Shopify order counts as a sale today, whichever location ships it).
    def use_locations(self, push_id: str | None, count_ids: Sequence[str]) -> None:
        """Push to ``push_id``; count it and ``count_ids`` towards what is held."""
        self.location_id = push_id
        self.count_location_ids = tuple(
            ref for ref in dict.fromkeys(count_ids) if ref and ref != push_id
        )

    def check(self) -> str:
        """Return the shop's name."""
        data = self.graphql.query(q.SHOP, {})
        return str(data["shop"]["name"])

    def list_locations(self) -> list[Location]:
        """Return the store's active locations."""
        first = q.fit_page(q.LOCATION_NODE_COST)
        nodes = self.graphql.paginate(q.LOCATIONS, {"first": first}, ("locations",))
        return [Location(n["id"], n["name"]) for n in nodes if n.get("isActive", True)]

    def missing_scopes(self) -> list[str]:
        """Return the scopes stackknack needs that the app was not granted."""
        data = self.graphql.query(q.SCOPES, {})
        granted = {
            str(scope.get("handle"))
            for scope in (data.get("currentAppInstallation") or {}).get("accessScopes")
            or []
        }
        # Shopify lists write_x without read_x when both were granted.
        implied = {f"read_{s.removeprefix('write_')}" for s in granted}
        return [s for s in q.REQUIRED_SCOPES if s not in granted | implied]

    def webhook_subscriptions(self) -> list[tuple[str, str]]:
        """Return (topic, callback URL) of the shop's webhook subscriptions."""
        first = q.fit_page(q.WEBHOOK_NODE_COST)
        nodes = self.graphql.paginate(
            q.WEBHOOKS, {"first": first}, ("webhookSubscriptions",)
        )
        return [
            (str(n["topic"]), str((n.get("endpoint") or {}).get("callbackUrl") or ""))
            for n in nodes
        ]

    def subscribe(self, topic: str, url: str) -> str:
        """Create a webhook subscription; return its id. Raises ``ChannelError``."""
        data = self.graphql.query(q.SUBSCRIBE, {"topic": topic, "url": url})
        payload = data.get("webhookSubscriptionCreate") or {}
        errors = payload.get("userErrors") or []
        if errors:
            message = "; ".join(str(e.get("message")) for e in errors)
            raise ChannelError(f"shopify refused the {topic} subscription: {message}")
        return str((payload.get("webhookSubscription") or {}).get("id"))

    def fetch_listings(self) -> Iterator[RemoteListing]:
        """Yield every variant with ``available`` summed over the counting locations."""
        others = len(self.count_location_ids)
        variables = {
            "first": q.fit_page(q.variant_node_cost(others)),
            **self._location_variables(),
        }
        document = q.variants_query(others)
        for node in self.graphql.paginate(document, variables, ("productVariants",)):
            yield _listing(node, others)

    def fetch_sales(self, since: datetime) -> SalesBatch:
        """Return sale lines and returns of orders updated at or after ``since`` (UTC).

        A line's quantity is what the order took and did not put back: its
        ``quantity`` less the units of its restocked refund lines and edits. A unit
        refunded with NO_RESTOCK, or cancelled without restocking, stays in the sale
        (``currentQuantity`` leaves it out) and its return is recorded after it.
        Returns are the orders' refund lines and units edited out (see
        ``shopify_returns``). ``newest`` is the latest ``updatedAt`` seen, cancelled
        orders included.
        """
        variables = {
            "first": q.fit_page(q.ORDER_NODE_COST),
            "query": orders_query(since),
            "lines": q.LINES_PER_ORDER,
        }
        lines: list[SaleLine] = []
        returns: list[ReturnLine] = []
        newest: datetime | None = None
        counting = {r for r in (self.location_id, *self.count_location_ids) if r}
        for order in self.graphql.paginate(q.ORDERS, variables, ("orders",)):
            updated = parse_time(order.get("updatedAt"))
            if updated is not None and (newest is None or updated > newest):
                newest = updated
            nodes = self._line_nodes(order)
            found = order_returns(self.graphql, order, nodes, counting=counting)
            lines.extend(self._sale_lines(order, nodes, found))
            returns.extend(found)
        return SalesBatch(lines, newest, returns)

    def read_quantities(self, refs: Sequence[str]) -> dict[str, int]:
        """Return ``available`` summed over the counting locations for each inventory
        item that exists.

        A location that does not stock the item adds 0.
        """
        levels = self.read_levels(refs)
        return {ref: sum(found) for ref, found in levels.items()}

    def read_levels(self, refs: Sequence[str]) -> dict[str, list[int]]:
        """Return ``available`` at each counting location, push location first, for
        each inventory item that exists; as many items a query as its cost allows."""
        return {ref: list(s.levels) for ref, s in self.read_stocking(refs).items()}

    def read_stocking(self, refs: Sequence[str]) -> dict[str, Stocking]:
        """Return the levels of each inventory item that exists, as ``read_levels``,
        and whether the push location stocks it."""
        others = len(self.count_location_ids)
        document = q.levels_query(others)
        variables = self._location_variables()
        step = q.fit_page(q.level_node_cost(others))
        found: dict[str, Stocking] = {}
        for start in range(0, len(refs), step):
            ids = list(refs[start : start + step])
            data = self.graphql.query(document, {"ids": ids, **variables})
            for node in data.get("nodes") or []:
                if node and node.get("id"):
                    stocked = _available(node.get("inventoryLevel"))[1]
                    levels = tuple(_levels(node, others))
                    found[node["id"]] = Stocking(levels, stocked)
        return found

    def push(self, pushes: Sequence[Push]) -> list[PushResult]:
        """Set ``available`` for each push, compare-and-swap, one mutation per batch.

        A push whose ``expected`` is None is compared against a quantity read just
        before. A stale compare gives MISMATCH with the quantity re-read; an item
        Shopify will not set gives REFUSED, and the rest of the batch is sent again
        without it.
        """
        results: list[PushResult] = []
        for start in range(0, len(pushes), self.batch_size):
            results.extend(self._push_batch(pushes[start : start + self.batch_size]))
        return results

    def _push_batch(self, pushes: Sequence[Push]) -> list[PushResult]:
        location = self._location()
        results: dict[int, PushResult] = {}
        pending = _without_duplicates(pushes, results)

        # What the other counting locations hold, per outbox entry: a push sets the
        # push location to the rest of its target.
        elsewhere: dict[int, int] = {}
        if self.count_location_ids:
            sends = self._spread(pending, results, elsewhere)
        else:
            sends = self._compared(pending, results)

        stale: list[Push] = []
        while sends:
            applied, failures = self._set_quantities(sends, location)
            for index, (code, message) in failures.items():
                push = sends[index][0]
                if code in STALE_CODES:
                    stale.append(push)
                else:
                    results[push.entry_id] = _refused(push, f"{code}: {message}")
            rest = [s for i, s in enumerate(sends) if i not in failures]
            if applied or not failures:
                for push, _ in rest:
                    holds = push.target + elsewhere.get(push.entry_id, 0)
                    results[push.entry_id] = PushResult(
                        push.entry_id, PushStatus.DONE, holds=holds
                    )
                break
            if rest:
                log.warning(
                    "shopify: resending %d quantities without refused ones", len(rest)
                )
            sends = rest

        results.update(self._mismatches(stale))
        return [results[p.entry_id] for p in pushes]

    def _compared(
        self, pending: Sequence[Push], results: dict[int, PushResult]
    ) -> list[tuple[Push, int]]:
        """Pair each push with the quantity its compare-and-set expects."""
        unknown = [p.channel_ref for p in pending if p.expected is None]
        live = self.read_quantities(unknown) if unknown else {}
        sends: list[tuple[Push, int]] = []
        for push in pending:
            before = (
                push.expected
                if push.expected is not None
                else live.get(push.channel_ref)
            )
            if before is None:
                results[push.entry_id] = _refused(push, "inventory item not found")
            else:
                sends.append((push, before))
        return sends

    def _spread(
        self,
        pending: Sequence[Push],
        results: dict[int, PushResult],
        elsewhere: dict[int, int],
    ) -> list[tuple[Push, int]]:
        """Turn each push into one for the push location alone: its target less what
        the other counting locations hold, never below 0.

        The levels are read first. A sum other than ``expected`` is a MISMATCH with
        nothing written; a push location already right is DONE without a write. When
        the other locations alone hold more than the target, the push location is set
        to 0 and the result says the listing holds more than the target. The push
        location's compare-and-set uses the quantity just read.
        """
        levels = self.read_levels([p.channel_ref for p in pending])
        sends: list[tuple[Push, int]] = []
        for push in pending:
            found = levels.get(push.channel_ref)
            if found is None:
                results[push.entry_id] = _refused(push, "inventory item not found")
                continue
            here, others = found[0], sum(found[1:])
            if push.expected is not None and here + others != push.expected:
                results[push.entry_id] = PushResult(
                    push.entry_id, PushStatus.MISMATCH, holds=here + others
                )
                continue
            if others > push.target:
                # TODO: sync's report omits listings left above target: stock shows them
                log.warning(
                    "shopify: %s: other counting locations hold %d, more than %d",
                    push.channel_ref,
                    others,
                    push.target,
                )
            quantity = max(0, push.target - others)
            if quantity == here:
                results[push.entry_id] = PushResult(
                    push.entry_id, PushStatus.DONE, holds=here + others
                )
                continue
            sends.append((replace(push, target=quantity), here))
            elsewhere[push.entry_id] = others
        return sends

    def _set_quantities(
        self, sends: Sequence[tuple[Push, int]], location: str
    ) -> tuple[bool, dict[int, tuple[str, str]]]:
        """Send one mutation; return whether Shopify applied it, and item failures."""
        entry_ids = sorted(p.entry_id for p, _ in sends)
        first, last = entry_ids[0], entry_ids[-1]
        document = f"gid://stackknack/OutboxEntry/{first}"
        if first != last:
            document = f"gid://stackknack/OutboxBatch/{first}-{last}"
        quantities = [
            {
                "inventoryItemId": push.channel_ref,
                "locationId": location,
                "quantity": push.target,
                "changeFromQuantity": before,
            }
            for push, before in sends
        ]
        variables = {
            "input": {
                "name": "available",
                "reason": REASON,
                "referenceDocumentUri": document,
                "quantities": quantities,
            },
            "key": idempotency_key(sends),
        }

        data = self.graphql.query(q.SET_QUANTITIES, variables, inspect=_retry_if_busy)
        payload = data.get("inventorySetQuantities") or {}
        if _previous_attempt_failed(payload):
            # Shopify keeps a failed attempt's key and wants a new one. The
            # changeFromQuantity compare still guards against applying twice.
            variables["key"] = str(
                uuid.uuid5(KEY_NAMESPACE, f"{variables['key']}/again")
            )
            data = self.graphql.query(
                q.SET_QUANTITIES, variables, inspect=_retry_if_busy
            )
            payload = data.get("inventorySetQuantities") or {}
        failures: dict[int, tuple[str, str]] = {}
        for error in payload.get("userErrors") or []:
            code = str(error.get("code") or "ERROR")
            message = str(error.get("message") or "")
            index = _quantity_index(error.get("field"), len(sends))
            if index is None:
                raise _batch_error(code, message, location)
            # A refusal outranks a stale compare on the same item: retrying cannot help.
            if index not in failures or failures[index][0] in STALE_CODES:
                failures[index] = (code, message)
        # Shopify applies a batch with a user error all or not at all, as far as its
        # docs tell; an adjustment group in the answer means the rest went through.
        applied = payload.get("inventoryAdjustmentGroup") is not None
        return applied, failures

    def _mismatches(self, stale: Sequence[Push]) -> dict[int, PushResult]:
        if not stale:
            return {}
        live = self.read_quantities([p.channel_ref for p in stale])
        results: dict[int, PushResult] = {}
        for push in stale:
            holds = live.get(push.channel_ref)
            if holds is None:
                results[push.entry_id] = _refused(push, "inventory item not found")
            else:
                results[push.entry_id] = PushResult(
                    push.entry_id, PushStatus.MISMATCH, holds=holds
                )
        return results

    def _line_nodes(self, order: Json) -> list[Json]:
        """Return every line item of ``order``, reading past the first page."""
        connection = order.get("lineItems") or {}
        nodes: list[Json] = list(connection.get("nodes") or [])
        info = connection.get("pageInfo") or {}
        if info.get("hasNextPage"):
            variables = {
                "id": order["id"],
                "first": q.fit_page(q.LINE_ITEM_NODE_COST),
                "after": info.get("endCursor"),
            }
            nodes.extend(
                self.graphql.paginate(q.ORDER_LINES, variables, ("node", "lineItems"))
            )
        return nodes

    # TODO: pre-read restock to an uncounted location stalls the push: netted as counted
    def _sale_lines(
        self, order: Json, nodes: Sequence[Json], returns: Sequence[ReturnLine]
    ) -> Iterator[SaleLine]:
        occurred = parse_time(order.get("createdAt"))
        back: Counter[str] = Counter()
        kept: Counter[str] = Counter()
        for gone in returns:
            (back if gone.restocked else kept)[gone.line_id] += gone.quantity
        cancelled = bool(order.get("cancelledAt"))
        for node in nodes:
            line_id = str(node.get("id"))
            ordered = node.get("quantity")
            if cancelled:
                # A cancelled line's currentQuantity falls to 0 whatever was
                # restocked: only its restocked refund lines came back.
                taken = ordered - back[line_id] if isinstance(ordered, int) else 0
                quantity = max(taken, kept[line_id])
            else:
                quantity = int(node.get("currentQuantity") or 0) + kept[line_id]
            if quantity <= 0:
                continue
            variant = node.get("variant") or {}
            item = variant.get("inventoryItem") or {}
            yield SaleLine(
                order_id=order["id"],
                line_id=node["id"],
                quantity=quantity,
                sku=_sku(node.get("sku")),
                channel_ref=item.get("id"),
                occurred_at=occurred,
            )

    def _location(self) -> str:
        if not self.location_id:
            raise ConfigError(
                "no Shopify location chosen; run: stackknack connect shopify --location"
            )
        return self.location_id

    def _location_variables(self) -> dict[str, str]:
        variables = {"location": self._location()}
        for index, ref in enumerate(self.count_location_ids, start=1):
            variables[q.count_alias(index)] = ref
        return variables


def orders_query(since: datetime) -> str:
    """Return Shopify's search string for orders updated at or after ``since``."""
    moment = (
        since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)
    )
    # Fractions of a second are dropped, which only moves the bound earlier.
    return f"updated_at:>='{moment.strftime('%Y-%m-%dT%H:%M:%SZ')}'"


def idempotency_key(sends: Sequence[tuple[Push, int]]) -> str:
    """Derive the ``@idempotent`` key from the pushes and the values sent with them.

    The same batch sent again gets the same key, so Shopify answers with its first
    result. A different set or different values get a new key, since Shopify refuses
    to reuse a key with other parameters.
    """
    parts = [f"{p.key}:{p.target}:{before}" for p, before in sends]
    digest = hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()
    return str(uuid.uuid5(KEY_NAMESPACE, digest))


def choose_location(locations: Sequence[Location], wanted: str | None) -> Location:
    """Pick the location to sync, by gid, numeric id or name.

    Raises ``ConfigError`` listing the choices when ``wanted`` matches none, or when it
    is None and the store has more than one active location.
    """
    if wanted:
        for location in locations:
            numeric = location.id.rsplit("/", 1)[-1]
            if (
                wanted in (location.id, numeric)
                or wanted.lower() == location.name.lower()
            ):
                return location
    elif len(locations) == 1:
        return locations[0]

    if not locations:
        raise ConfigError("shopify has no active location to sync")
    choices = ", ".join(f"{loc.id} ({loc.name})" for loc in locations)
    lead = (
        f"no shopify location matches {wanted!r}"
        if wanted
        else (f"shopify has {len(locations)} active locations")
    )
    raise ConfigError(f"{lead}; choose one with --location: {choices}")


def _retry_if_busy(data: Json) -> None:
    payload = data.get("inventorySetQuantities") or {}
    for error in payload.get("userErrors") or []:
        if error.get("code") == "IDEMPOTENCY_CONCURRENT_REQUEST":
            raise RetryLater("shopify: the same push is still in progress")


def _previous_attempt_failed(payload: Json) -> bool:
    return any(
        error.get("code") == "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED"
        for error in payload.get("userErrors") or []
    )


def _batch_error(code: str, message: str, location: str) -> Exception:
    if code in BATCH_CONFIG_CODES:
        return ConfigError(
            f"shopify location {location} was not found; "
            "run: stackknack connect shopify --location"
        )
    return ChannelError(f"shopify refused the quantity update: {code}: {message}")


def _quantity_index(field: Any, count: int) -> int | None:
    # Shopify names the offending input as a path such as
    # ["input", "quantities", "2", "changeFromQuantity"].
    if not isinstance(field, list) or "quantities" not in field:
        return None
    position = field.index("quantities") + 1
    if position >= len(field):
        return None
    try:
        index = int(field[position])
    except (TypeError, ValueError):
        return None
    return index if 0 <= index < count else None


def _without_duplicates(
    pushes: Sequence[Push], results: dict[int, PushResult]
) -> list[Push]:
    # Shopify refuses a batch naming one item twice; the later push waits a cycle.
    seen: set[str] = set()
    kept: list[Push] = []
    for push in pushes:
        if push.channel_ref in seen:
            results[push.entry_id] = PushResult(
                push.entry_id, PushStatus.RETRY, reason="same item earlier in batch"
            )
            continue
        seen.add(push.channel_ref)
        kept.append(push)
    return kept


def _refused(push: Push, reason: str) -> PushResult:
    return PushResult(push.entry_id, PushStatus.REFUSED, reason=reason)


def _listing(node: Json, others: int = 0) -> RemoteListing:
    product = node.get("product") or {}
    item = node.get("inventoryItem") or {}
    _, stocked = _available(item.get("inventoryLevel"))
    quantity = sum(_levels(item, others))
    title = str(product.get("title") or "")
    variant_title = node.get("title")
    if variant_title and variant_title != "Default Title":
        title = f"{title} - {variant_title}"
    status = product.get("status")
    return RemoteListing(
        channel_ref=str(item.get("id")),
        sku=_sku(node.get("sku")),
        quantity=quantity,
        title=title,
        active=status in (None, "ACTIVE"),
        details={
            "variant_id": node.get("id"),
            "product_title": product.get("title"),
            "stocked": stocked,
        },
    )


def _levels(item: Json, others: int) -> list[int]:
    """Return ``available`` at the push location, then at each further counting
    location, from an inventory item read with ``levels_query(others)``."""
    keys = ["inventoryLevel", *(q.count_alias(i) for i in range(1, others + 1))]
    return [_available(item.get(key))[0] for key in keys]


def _available(level: Json | None) -> tuple[int, bool]:
    """Return (available, stocked) from an inventory level; not stocked reads as 0."""
    if not level:
        return 0, False
    for entry in level.get("quantities") or []:
        if entry.get("name") == "available":
            return int(entry.get("quantity") or 0), True
    return 0, True


def _sku(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None
