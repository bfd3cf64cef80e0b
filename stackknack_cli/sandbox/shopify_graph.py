"""Resolvers that expose a ``Shop`` through the subset schema.

Objects are dicts; a field that takes arguments is a callable ``(info, **args)``, which
graphql-core's default resolver calls. Connections use opaque cursors (base64 JSON of
the sort value and ID, as Shopify's look) and Shopify's search syntax for ``query``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from graphql import GraphQLError, GraphQLResolveInfo
from graphql.execution.values import get_directive_values

from stackknack_cli.sandbox.shopify_shop import (
    QUANTITY_NAMES,
    AdjustmentGroup,
    Level,
    LineItem,
    Location,
    Order,
    Refund,
    RefundLine,
    Shop,
    UserError,
    Variant,
    WebhookSubscription,
    gid,
    iso,
    parse_gid,
)

T = TypeVar("T")
Obj = dict[str, Any]
ORDER_WINDOW_SECONDS = 60 * 24 * 3600


@dataclass
class Context:
    """What one request's resolvers may see besides the shop."""

    shop: Shop
    app: str
    scopes: frozenset[str]
    idempotency: dict[tuple[str, str], tuple[str, Any]]
    search_warnings: list[dict[str, Any]] = field(default_factory=list)


def root_value(ctx: Context) -> Obj:
    """Return the object behind Query and Mutation for one request."""
    shop = ctx.shop
    return {
        "shop": {
            "__typename": "Shop",
            "id": gid("Shop", 1),
            "name": shop.name,
            "myshopifyDomain": shop.domain,
            "currencyCode": shop.currency,
        },
        "currentAppInstallation": {
            "__typename": "AppInstallation",
            "id": gid("AppInstallation", 1),
            "accessScopes": [
                {"handle": scope, "description": scope.replace("_", " ")}
                for scope in sorted(ctx.scopes)
            ],
        },
        "location": lambda info, id=None: _location_by_gid(ctx, id),
        "locations": lambda info, **a: _locations(ctx, a),
        "productVariant": lambda info, id: _lookup(ctx, id, "ProductVariant"),
        "productVariants": lambda info, **a: _variants(ctx, a),
        "inventoryItem": lambda info, id: _lookup(ctx, id, "InventoryItem"),
        "inventoryLevel": lambda info, id: _lookup(ctx, id, "InventoryLevel"),
        "order": lambda info, id: _lookup(ctx, id, "Order"),
        "orders": lambda info, **a: _orders(ctx, a),
        "node": lambda info, id: _node(ctx, id),
        "nodes": lambda info, ids: [_node(ctx, i) for i in ids],
        "inventorySetQuantities": lambda info, input: _set_quantities(ctx, info, input),
        "webhookSubscriptions": lambda info, **a: _webhooks(ctx, a),
        "webhookSubscriptionCreate": lambda info, **a: _create_webhook(ctx, a),
    }


def location_obj(location: Location) -> Obj:
    return {
        "__typename": "Location",
        "id": gid("Location", location.id),
        "name": location.name,
        "isActive": location.is_active,
    }


def variant_obj(ctx: Context, variant: Variant) -> Obj:
    return {
        "__typename": "ProductVariant",
        "id": gid("ProductVariant", variant.id),
        "sku": variant.sku,
        "title": variant.title,
        "displayName": variant.display_name,
        "inventoryQuantity": ctx.shop.inventory_quantity(variant),
        "inventoryPolicy": variant.policy,
        "price": variant.price,
        "createdAt": iso(variant.created_at),
        "updatedAt": iso(variant.updated_at),
        "product": {
            "__typename": "Product",
            "id": gid("Product", variant.product_id),
            "title": variant.product_title,
            "status": variant.product_status,
            "tracksInventory": variant.tracked,
        },
        "inventoryItem": lambda info: item_obj(ctx, variant),
    }


def item_obj(ctx: Context, variant: Variant) -> Obj:
    def level_at(info: GraphQLResolveInfo[Any], locationId: str) -> Obj | None:  # noqa: N803
        location_id = parse_gid(locationId, "Location")
        level = ctx.shop.levels.get((variant.item_id, location_id or -1))
        return None if level is None else level_obj(ctx, level)

    return {
        "__typename": "InventoryItem",
        "id": gid("InventoryItem", variant.item_id),
        "sku": variant.sku,
        "tracked": variant.tracked,
        "variant": lambda info: variant_obj(ctx, variant),
        "inventoryLevel": level_at,
        "inventoryLevels": lambda info, **a: paginate(
            ctx.shop.levels_of(variant.item_id),
            a,
            sort=lambda lv: lv.id,
            build=lambda lv: level_obj(ctx, lv),
        ),
    }


def level_obj(ctx: Context, level: Level) -> Obj:
    level_gid = f"{gid('InventoryLevel', level.id)}?inventory_item_id={level.item_id}"

    def quantities(info: GraphQLResolveInfo[Any], names: list[str]) -> list[Obj]:
        unknown = [n for n in names if n not in QUANTITY_NAMES]
        if unknown:
            raise GraphQLError(f"Invalid quantity names: {', '.join(unknown)}")
        return [
            {
                "__typename": "InventoryQuantity",
                "id": f"{level_gid}&name={name}",
                "name": name,
                "quantity": level.quantity(name),
                "updatedAt": iso(level.updated_at),
            }
            for name in names
        ]

    variant = ctx.shop.variant_by_item(level.item_id)
    assert variant is not None
    return {
        "__typename": "InventoryLevel",
        "id": level_gid,
        "updatedAt": iso(level.updated_at),
        "quantities": quantities,
        "item": lambda info: item_obj(ctx, variant),
        "location": lambda info: location_obj(ctx.shop.locations[level.location_id]),
    }


def order_obj(ctx: Context, order: Order) -> Obj:
    return {
        "__typename": "Order",
        "id": gid("Order", order.id),
        "name": order.name,
        "createdAt": iso(order.created_at),
        "processedAt": iso(order.created_at),
        "updatedAt": iso(order.updated_at),
        "cancelledAt": None if order.cancelled_at is None else iso(order.cancelled_at),
        "lineItems": lambda info, **a: paginate(
            order.line_items,
            a,
            sort=lambda li: li.id,
            build=lambda li: line_obj(ctx, li),
        ),
        "refunds": lambda info, first=None: [
            refund_obj(ctx, order, refund) for refund in order.refunds[:first]
        ],
    }


def refund_obj(ctx: Context, order: Order, refund: Refund) -> Obj:
    lines = {line.id: line for line in order.line_items}

    def refund_line(item: RefundLine) -> Obj:
        location = ctx.shop.locations.get(item.location_id or -1)
        return {
            "__typename": "RefundLineItem",
            "id": gid("RefundLineItem", item.id),
            "quantity": item.quantity,
            "restockType": item.restock_type,
            "restocked": item.restock_type != "NO_RESTOCK",
            "location": None if location is None else location_obj(location),
            "lineItem": line_obj(ctx, lines[item.line_id]),
        }

    return {
        "__typename": "Refund",
        "id": gid("Refund", refund.id),
        "createdAt": iso(refund.created_at),
        "updatedAt": iso(refund.created_at),
        "note": refund.note,
        "refundLineItems": lambda info, **a: paginate(
            refund.lines, a, sort=lambda item: item.id, build=refund_line
        ),
    }


def line_obj(ctx: Context, line: LineItem) -> Obj:
    variant = ctx.shop.variants.get(line.variant_id)
    open_units = line.current_quantity - line.fulfilled
    return {
        "__typename": "LineItem",
        "id": gid("LineItem", line.id),
        "sku": line.sku,
        "name": line.title,
        "title": line.title,
        "quantity": line.quantity,
        "currentQuantity": line.current_quantity,
        "unfulfilledQuantity": open_units,
        "refundableQuantity": line.current_quantity,
        "variant": None if variant is None else variant_obj(ctx, variant),
    }


def group_obj(ctx: Context, group: AdjustmentGroup) -> Obj:
    def change(c: Any) -> Obj:
        variant = ctx.shop.variant_by_item(c.item_id)
        return {
            "name": c.name,
            "delta": c.delta,
            "quantityAfterChange": c.after,
            "ledgerDocumentUri": None,
            "item": None if variant is None else item_obj(ctx, variant),
            "location": location_obj(ctx.shop.locations[c.location_id]),
        }

    return {
        "__typename": "InventoryAdjustmentGroup",
        "id": gid("InventoryAdjustmentGroup", group.id),
        "createdAt": iso(group.created_at),
        "reason": group.reason,
        "referenceDocumentUri": group.reference,
        "changes": [change(c) for c in group.changes],
    }


def _lookup(ctx: Context, value: str, kind: str) -> Obj | None:
    node = _node(ctx, value)
    return node if node is not None and node["__typename"] == kind else None


def _node(ctx: Context, value: str) -> Obj | None:
    shop = ctx.shop
    kind = value.split("/")[3] if value.count("/") >= 4 else ""
    number = parse_gid(value, kind)
    if number is None:
        return None
    if kind == "ProductVariant" and number in shop.variants:
        return variant_obj(ctx, shop.variants[number])
    if kind == "InventoryItem" and (variant := shop.variant_by_item(number)):
        return item_obj(ctx, variant)
    if kind == "InventoryLevel":
        level = next((lv for lv in shop.levels.values() if lv.id == number), None)
        return None if level is None else level_obj(ctx, level)
    if kind == "Location" and number in shop.locations:
        return location_obj(shop.locations[number])
    if kind == "Order" and number in shop.orders and _order_visible(ctx, number):
        return order_obj(ctx, shop.orders[number])
    if kind == "Refund":
        for order in shop.iter_orders():
            for refund in order.refunds:
                if refund.id == number and _order_visible(ctx, order.id):
                    return refund_obj(ctx, order, refund)
    if kind == "InventoryAdjustmentGroup" and number in shop.groups:
        return group_obj(ctx, shop.groups[number])
    return None


def _location_by_gid(ctx: Context, value: str | None) -> Obj | None:
    if value is None:
        # Shopify answers the shop's primary location when no ID is given.
        first = next(iter(ctx.shop.locations.values()), None)
        return None if first is None else location_obj(first)
    return _lookup(ctx, value, "Location")


def _locations(ctx: Context, args: dict[str, Any]) -> Obj:
    found = [
        loc
        for loc in ctx.shop.locations.values()
        if loc.is_active or args.get("includeInactive")
    ]
    return paginate(found, args, sort=lambda loc: loc.id, build=location_obj)


def _variants(ctx: Context, args: dict[str, Any]) -> Obj:
    terms = parse_search(args.get("query"))
    known = {"sku", "id", "product_id", "title"}
    _warn_unknown(ctx, "productVariants", args.get("query"), terms, known)
    found = [v for v in ctx.shop.variants.values() if _variant_matches(v, terms)]
    sort_key = args.get("sortKey", "ID")
    sorters: dict[str, Callable[[Variant], Any]] = {
        "ID": lambda v: v.id,
        "SKU": lambda v: v.sku or "",
        "TITLE": lambda v: v.display_name,
    }
    return paginate(
        found, args, sort=sorters[sort_key], build=lambda v: variant_obj(ctx, v)
    )


def _orders(ctx: Context, args: dict[str, Any]) -> Obj:
    terms = parse_search(args.get("query"))
    known = {"updated_at", "created_at", "processed_at", "id", "name"}
    _warn_unknown(ctx, "orders", args.get("query"), terms, known)
    found = [
        o
        for o in ctx.shop.iter_orders()
        if _order_visible(ctx, o.id) and _order_matches(o, terms)
    ]
    sorters: dict[str, Callable[[Order], Any]] = {
        "CREATED_AT": lambda o: int(o.created_at),
        "PROCESSED_AT": lambda o: int(o.created_at),
        "UPDATED_AT": lambda o: int(o.updated_at),
        "ID": lambda o: o.id,
    }
    sort = sorters[args.get("sortKey", "PROCESSED_AT")]
    return paginate(found, args, sort=sort, build=lambda o: order_obj(ctx, o))


def _order_visible(ctx: Context, order_id: int) -> bool:
    # Without read_all_orders Shopify shows only the last 60 days of orders.
    if "read_all_orders" in ctx.scopes:
        return True
    return ctx.shop.orders[order_id].created_at >= ctx.shop.clock() - (
        ORDER_WINDOW_SECONDS
    )


def paginate(
    items: Sequence[T],
    args: dict[str, Any],
    *,
    sort: Callable[[T], Any],
    build: Callable[[T], Obj],
) -> Obj:
    """Cut one page out of ``items`` the way a Shopify connection does."""
    reverse = bool(args.get("reverse"))
    ordered = sorted(items, key=lambda i: (sort(i), _item_id(i)), reverse=reverse)
    keys = [(sort(i), _item_id(i)) for i in ordered]
    start, end = 0, len(ordered)
    if args.get("after") is not None:
        after = _decode_cursor(args["after"])
        start = _first_index(keys, lambda k: k < after if reverse else k > after)
    if args.get("before") is not None:
        before = _decode_cursor(args["before"])
        end = _first_index(keys, lambda k: k <= before if reverse else k >= before)
    window = list(range(start, max(start, end)))
    first, last = args.get("first"), args.get("last")
    page = window[:first] if first is not None else window[-last:] if last else []
    edges = [
        {"cursor": _encode_cursor(keys[i]), "node": build(ordered[i])} for i in page
    ]
    return {
        "edges": edges,
        "nodes": [e["node"] for e in edges],
        "pageInfo": {
            "hasNextPage": bool(page) and page[-1] < len(ordered) - 1
            if first is not None
            else end < len(ordered),
            "hasPreviousPage": bool(page) and page[0] > 0
            if last is not None
            else start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _item_id(item: Any) -> int:
    return int(item.id)


def _encode_cursor(key: tuple[Any, int]) -> str:
    payload = json.dumps({"last_id": key[1], "last_value": key[0]})
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded))
        return (payload["last_value"], int(payload["last_id"]))
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise GraphQLError("Invalid cursor for current pagination sort.") from exc


def _first_index(
    keys: list[tuple[Any, int]], test: Callable[[tuple[Any, int]], bool]
) -> int:
    return next((i for i, key in enumerate(keys) if test(key)), len(keys))


_TERM = re.compile(r"""(?:(\w+):)?(>=|<=|>|<)?("[^"]*"|'[^']*'|\S+)""")


@dataclass
class Term:
    field: str | None
    op: str
    value: str


def parse_search(query: str | None) -> list[list[Term]]:
    """Parse Shopify search syntax into OR-groups of AND-ed terms."""
    groups: list[list[Term]] = [[]]
    for match in _TERM.finditer(query or ""):
        name, op, value = match.group(1), match.group(2) or "=", match.group(3)
        if name is None and value == "OR":
            groups.append([])
            continue
        if name is None and value == "AND":
            continue
        groups[-1].append(Term(name, op, value.strip("'\"")))
    return [g for g in groups if g] or [[]]


def _warn_unknown(
    ctx: Context,
    path: str,
    query: str | None,
    groups: list[list[Term]],
    known: set[str],
) -> None:
    bad = {t.field for g in groups for t in g if t.field and t.field not in known}
    if bad:
        # Shopify ignores unknown filters and reports them in extensions.search.
        ctx.search_warnings.append(
            {
                "path": [path],
                "query": query,
                "warnings": [
                    {"field": f, "message": "Invalid search field for this query."}
                    for f in sorted(bad)
                ],
            }
        )


def _variant_matches(variant: Variant, groups: list[list[Term]]) -> bool:
    def one(term: Term) -> bool:
        if term.field == "sku":
            return _text_equal(variant.sku or "", term.value)
        if term.field == "id":
            return _compare(variant.id, term.op, int(term.value))
        if term.field == "product_id":
            return _compare(variant.product_id, term.op, int(term.value))
        if term.field == "title":
            return _text_equal(variant.title, term.value)
        if term.field is None:
            text = f"{variant.display_name} {variant.sku or ''}".lower()
            return term.value.lower() in text
        return True

    return any(all(one(t) for t in group) for group in groups)


def _order_matches(order: Order, groups: list[list[Term]]) -> bool:
    def one(term: Term) -> bool:
        if term.field in ("updated_at", "created_at", "processed_at"):
            stamp = order.updated_at if term.field == "updated_at" else order.created_at
            return _compare(int(stamp), term.op, _parse_time(term.value))
        if term.field == "id":
            return _compare(order.id, term.op, int(term.value))
        if term.field == "name":
            return order.name.lstrip("#") == term.value.lstrip("#")
        return True

    return any(all(one(t) for t in group) for group in groups)


def _text_equal(actual: str, wanted: str) -> bool:
    if wanted.endswith("*"):
        return actual.lower().startswith(wanted[:-1].lower())
    return actual.lower() == wanted.lower()


def _compare(actual: float, op: str, wanted: float) -> bool:
    return {
        "=": actual == wanted,
        ">": actual > wanted,
        ">=": actual >= wanted,
        "<": actual < wanted,
        "<=": actual <= wanted,
    }[op]


def _parse_time(value: str) -> int:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise GraphQLError(f"Invalid date in search query: {value!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _set_quantities(
    ctx: Context, info: GraphQLResolveInfo[Any], data: dict[str, Any]
) -> Obj:
    for index, entry in enumerate(data["quantities"]):
        if "changeFromQuantity" not in entry:
            # 2026-04: the field is nullable in the schema but must be present.
            raise GraphQLError(
                "InventoryQuantityInput must include the following argument: "
                "changeFromQuantity",
                extensions={
                    "code": "INVALID_FIELD_ARGUMENTS",
                    "field": ["input", "quantities", str(index)],
                },
            )
    key = _idempotency_key(info)
    if key is None:
        raise GraphQLError(
            "The @idempotent directive is required for this mutation but was not "
            "provided.",
            extensions={"code": "BAD_REQUEST"},
        )
    fingerprint = json.dumps(data, sort_keys=True)
    stored = ctx.idempotency.get((ctx.app, key))
    if stored is not None and stored[0] != fingerprint:
        mismatch = UserError(
            "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
            ["idempotent", "key"],
            "This idempotency key was used with different parameters.",
        )
        return _payload(ctx, None, [mismatch])
    if stored is not None:
        return _payload(ctx, *stored[1])
    result = ctx.shop.set_quantities(
        data["name"],
        data["reason"],
        data.get("referenceDocumentUri"),
        data["quantities"],
    )
    ctx.idempotency[(ctx.app, key)] = (fingerprint, result)
    return _payload(ctx, *result)


def _idempotency_key(info: GraphQLResolveInfo[Any]) -> str | None:
    directive = info.schema.get_directive("idempotent")
    assert directive is not None
    values = get_directive_values(directive, info.field_nodes[0], info.variable_values)
    return None if values is None else str(values["key"])


def _payload(
    ctx: Context, group: AdjustmentGroup | None, errors: list[UserError]
) -> Obj:
    return {
        "inventoryAdjustmentGroup": None if group is None else group_obj(ctx, group),
        "userErrors": [
            {"code": e.code, "field": e.field, "message": e.message} for e in errors
        ],
    }


def webhook_obj(hook: WebhookSubscription) -> Obj:
    return {
        "__typename": "WebhookSubscription",
        "id": gid("WebhookSubscription", hook.id),
        "topic": hook.topic,
        "format": hook.format,
        "createdAt": iso(hook.created_at),
        "updatedAt": iso(hook.created_at),
        "endpoint": {
            "__typename": "WebhookHttpEndpoint",
            "callbackUrl": hook.callback_url,
        },
    }


def _webhooks(ctx: Context, args: dict[str, Any]) -> Obj:
    topics = args.get("topics")
    found = [
        hook
        for hook in ctx.shop.webhooks.values()
        if not topics or hook.topic in topics
    ]
    return paginate(found, args, sort=lambda hook: hook.id, build=webhook_obj)


def _create_webhook(ctx: Context, args: dict[str, Any]) -> Obj:
    """webhookSubscriptionCreate: HTTPS callbacks only, one per topic and address."""
    topic = args["topic"]
    data = args["webhookSubscription"]
    url = str(data.get("callbackUrl") or "")
    errors = []
    if not url.startswith("https://"):
        errors.append("Address protocol is not supported; use https")
    elif any(
        hook.topic == topic and hook.callback_url == url
        for hook in ctx.shop.webhooks.values()
    ):
        errors.append("Address for this topic has already been taken")
    if errors:
        field = ["webhookSubscription", "callbackUrl"]
        return {
            "userErrors": [{"field": field, "message": m} for m in errors],
            "webhookSubscription": None,
        }
    hook = WebhookSubscription(
        ctx.shop.next_id("webhook"),
        topic,
        url,
        str(data.get("format") or "JSON"),
        ctx.shop.clock(),
    )
    ctx.shop.webhooks[hook.id] = hook
    return {"userErrors": [], "webhookSubscription": webhook_obj(hook)}
