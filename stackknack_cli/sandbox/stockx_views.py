"""The JSON shapes the StockX simulator answers with, named as in the spec."""

from __future__ import annotations

from typing import Any

from stackknack_cli.sandbox.stockx_market import (
    Batch,
    Listing,
    Market,
    Operation,
    Order,
    Variant,
    iso,
)

ACTIVE_ORDER_STATUSES = frozenset(
    {
        "CREATED",
        "CCAUTHORIZATIONFAILED",
        "SHIPPED",
        "RECEIVED",
        "AUTHENTICATING",
        "AUTHENTICATED",
        "PAYOUTPENDING",
        "PAYOUTCOMPLETED",
        "SYSTEMFULFILLED",
        "PAYOUTFAILED",
        "SUSPENDED",
        "PENDING",
    }
)


def _product_ref(market: Market, variant: Variant) -> dict[str, Any]:
    product = market.products[variant.product_id]
    return {
        "productId": product.id,
        "productName": product.title,
        "styleId": product.style_id,
    }


def _variant_ref(variant: Variant) -> dict[str, Any]:
    name = f"{variant.product_id}:{variant.size}"
    return {"variantId": variant.id, "variantName": name, "variantValue": variant.size}


def listing_json(market: Market, listing: Listing) -> dict[str, Any]:
    order = market.orders.get(listing.order_number or "")
    last = [op for op in market.operations.values() if op.listing_id == listing.id]
    return {
        "listingId": listing.id,
        "status": listing.status,
        "amount": listing.amount,
        "currencyCode": listing.currency,
        "inventoryType": listing.inventory_type,
        "createdAt": iso(listing.created_at),
        "updatedAt": iso(listing.updated_at),
        "batch": {"batchId": listing.batch_id} if listing.batch_id else None,
        "ask": {
            "askId": listing.ask_id,
            "askCreatedAt": iso(listing.created_at),
            "askUpdatedAt": iso(listing.updated_at),
        },
        "authenticationDetails": None,
        "order": {
            "orderNumber": order.number,
            "orderCreatedAt": iso(order.created_at),
            "orderStatus": order.status,
        }
        if order
        else None,
        "product": _product_ref(market, listing.variant),
        "initiatedShipments": None,
        "variant": _variant_ref(listing.variant),
        "lastOperation": operation_json(last[-1], short=True) if last else None,
    }


def operation_json(
    operation: Operation, *, short: bool = False, base_url: str = ""
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "operationId": operation.id,
        "operationType": operation.kind,
        "operationStatus": operation.status,
        "operationInitiatedBy": "USER",
        "operationInitiatedVia": "PUBLIC-API",
        "changes": {"additions": {}, "updates": {}, "removals": {}},
        "error": operation.error,
    }
    if short:
        body["operationCreatedAt"] = iso(operation.created_at)
        body["operationUpdatedAt"] = iso(max(operation.created_at, operation.due_at))
        return body
    path = f"/selling/listings/{operation.listing_id}/operations/{operation.id}"
    body.update(
        {
            "listingId": operation.listing_id,
            "operationUrl": f"{base_url}{path}",
            "createdAt": iso(operation.created_at),
            "updatedAt": iso(operation.created_at),
        }
    )
    return body


def batch_json(batch: Batch) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for item in batch.items:
        key = item.status.lower()
        counts[key] = counts.get(key, 0) + 1
    return {
        "batchId": batch.id,
        "status": batch.status,
        "completedAt": iso(batch.completed_at) if batch.completed_at else None,
        "createdAt": iso(batch.created_at),
        "updatedAt": iso(batch.completed_at or batch.created_at),
        "totalItems": len(batch.items),
        "itemStatuses": counts,
    }


def batch_items_json(
    market: Market, batch: Batch, status: str | None
) -> dict[str, Any]:
    rows = []
    for item in batch.items:
        if status and item.status != status.upper():
            continue
        listing = market.listings.get(item.listing_id or "")
        row: dict[str, Any] = {
            "itemId": item.id,
            "status": item.status,
            "listingInput": dict(item.payload),
            "result": {
                "listingId": item.listing_id,
                "askId": listing.ask_id if listing else None,
            },
        }
        if item.error:
            row["error"] = item.error
        rows.append(row)
    return {"items": rows}


def order_json(market: Market, order: Order) -> dict[str, Any]:
    listing = order.listing
    return {
        "orderNumber": order.number,
        "listingId": listing.id,
        "askId": listing.ask_id,
        "amount": listing.amount,
        "currencyCode": listing.currency,
        "status": order.status,
        "createdAt": iso(order.created_at),
        "updatedAt": iso(order.updated_at),
        "product": _product_ref(market, listing.variant),
        "variant": _variant_ref(listing.variant),
        "authenticationDetails": None,
        "payout": None,
        "initiatedShipments": None,
        "inventoryType": listing.inventory_type,
    }


def variant_json(variant: Variant) -> dict[str, Any]:
    women = variant.size.endswith("W")
    value = variant.size.rstrip("WYC")
    label = f"US {'W' if women else 'M'} {value}"
    conversion = {"size": label, "type": "us w" if women else "us m"}
    return {
        "productId": variant.product_id,
        "variantId": variant.id,
        "variantName": f"{variant.product_id}:{variant.size}",
        "variantValue": variant.size,
        "sizeChart": {
            "availableConversions": [conversion],
            "defaultConversion": conversion,
        },
    }


def page(rows: list[Any], key: str, number: int, size: int) -> dict[str, Any]:
    start = (number - 1) * size
    return {
        "count": len(rows),
        "pageSize": size,
        "pageNumber": number,
        "hasNextPage": start + size < len(rows),
        key: rows[start : start + size],
    }
