"""What a Shopify order says came back: its refund lines, and units edited out.

A refund line's ``restockType`` says whether its units went back to stock: RETURN (a
fulfilled unit came back), CANCEL (an unfulfilled one, as when an order is cancelled
with restocking) and the older LEGACY_RESTOCK do; NO_RESTOCK does not, and is read
only so that the units it took out of a line are known. Shopify puts a restocked unit
back at the refund line's ``location`` itself.

An order edit that lowers a line shows only as ``currentQuantity`` falling without a
refund to explain it: quantity - currentQuantity - refunded units were removed. Each
removed unit is one return under its own key, so a second edit adds only its own.
Shopify's order does not say whether an edit restocked (``orderEditSetQuantity``'s
``restock``), nor where, so the listing is pushed the new count: if Shopify did put
the unit back, the push finds it holding more and writes the central count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any

from stackknack_cli.channels import shopify_queries as q
from stackknack_cli.channels.base import ReturnLine
from stackknack_cli.channels.shopify_graphql import ShopifyGraphQL
from stackknack_cli.times import parse_time

Json = dict[str, Any]

RESTOCK_CAUSES = {"RETURN": "return", "CANCEL": "cancel", "LEGACY_RESTOCK": "return"}
"""Restock types that put units back, and the cause the journal shows for each."""


def order_returns(
    graphql: ShopifyGraphQL,
    order: Json,
    lines: Sequence[Json],
    *,
    counting: Collection[str],
) -> list[ReturnLine]:
    """Return the refund lines of ``order`` and the units edited out of ``lines``.

    ``counting`` holds the locations whose stock the channel counts: a restock to
    one of them is already on the listing. Reads refunds that did not fit in the
    orders page (more than ``REFUNDS_PER_ORDER``, or long ones) with further queries.
    """
    found: list[ReturnLine] = []
    refunded: Counter[str] = Counter()
    for refund, nodes in _refunds(graphql, order):
        occurred = parse_time(refund.get("createdAt"))
        for node in nodes:
            back = _refund_line(order, refund, node, counting, occurred)
            if back is not None:
                refunded[back.line_id] += back.quantity
                found.append(back)
    if not order.get("cancelledAt"):
        # A cancelled order's lines fall to 0 whether or not anything was restocked;
        # only its refund lines tell.
        found.extend(_edits(order, lines, refunded))
    return found


def _refund_line(
    order: Json,
    refund: Json,
    node: Json,
    counting: Collection[str],
    occurred: datetime | None,
) -> ReturnLine | None:
    line_id = (node.get("lineItem") or {}).get("id")
    quantity = int(node.get("quantity") or 0)
    if not line_id or quantity <= 0:
        return None
    cause = RESTOCK_CAUSES.get(str(node.get("restockType")))
    location = (node.get("location") or {}).get("id")
    # RefundLineItem.id is nullable in the schema; the refund and line name it then.
    key = node.get("id") or f"{refund.get('id')}/{line_id}"
    return ReturnLine(
        key=str(key),
        order_id=str(order["id"]),
        line_id=str(line_id),
        quantity=quantity,
        cause=cause or "refund",
        restocked=cause is not None,
        counted_by_channel=cause is not None and location in counting,
        occurred_at=occurred,
    )


# TODO: edits that did not restock still count back: Order shows no edit restock flag
def _edits(
    order: Json, lines: Sequence[Json], refunded: Counter[str]
) -> Iterator[ReturnLine]:
    occurred = parse_time(order.get("updatedAt"))
    for node in lines:
        line_id = str(node.get("id") or "")
        ordered = node.get("quantity")
        if not line_id or not isinstance(ordered, int):
            continue
        current = int(node.get("currentQuantity") or 0)
        removed = ordered - current - refunded[line_id]
        for unit in range(1, removed + 1):
            yield ReturnLine(
                key=f"{line_id}/removed/{unit}",
                order_id=str(order["id"]),
                line_id=line_id,
                quantity=1,
                cause="edit",
                occurred_at=occurred,
            )


def _refunds(graphql: ShopifyGraphQL, order: Json) -> list[tuple[Json, list[Json]]]:
    """Return every refund of ``order`` with all of its refund lines."""
    refunds: list[Json] = [r for r in order.get("refunds") or [] if r]
    if len(refunds) >= q.REFUNDS_PER_ORDER:
        data = graphql.query(q.ORDER_REFUNDS, {"id": order["id"]})
        known = {r.get("id") for r in refunds}
        listed = ((data.get("node") or {}).get("refunds")) or []
        refunds += [r for r in listed if r and r.get("id") not in known]

    complete: list[tuple[Json, list[Json]]] = []
    for refund in refunds:
        connection = refund.get("refundLineItems")
        nodes: list[Json] = []
        after: str | None = None
        if connection is not None:
            nodes = list(connection.get("nodes") or [])
            info = connection.get("pageInfo") or {}
            after = info.get("endCursor") if info.get("hasNextPage") else None
        if connection is None or after is not None:
            variables = {
                "id": refund["id"],
                "first": q.fit_page(q.REFUND_LINE_NODE_COST),
                "after": after,
            }
            path = ("node", "refundLineItems")
            nodes.extend(graphql.paginate(q.REFUND_LINES, variables, path))
        complete.append((refund, nodes))
    return complete
