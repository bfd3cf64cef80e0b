"""The simulators' creation routes answer as the platforms do: Clover's item creation,
eBay's createOrReplaceInventoryItem and createOffer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stackknack_cli.sandbox.clover import CloverSimulator
from stackknack_cli.sandbox.ebay import EbaySimulator
from stackknack_cli.sandbox.server import Request, Response
from tests.conftest import shared_path

INV = "/sell/inventory/v1"


def _send(
    sim: Any, method: str, path: str, body: Any, headers: dict[str, str]
) -> Response:
    raw = json.dumps(body).encode() if body is not None else b""
    return sim.app(Request(method, path, {}, headers, raw))


def _body(response: Response) -> Any:
    return json.loads(response.body) if response.body else None


@pytest.fixture
def ebay() -> EbaySimulator:
    return EbaySimulator(seed=3)


def _ebay(
    sim: EbaySimulator, method: str, path: str, body: Any, *, language: bool = True
) -> Response:
    headers = {"authorization": f"Bearer {sim.access_token}"}
    if language:
        headers["content-language"] = "en-US"
    return _send(sim, method, f"{INV}{path}", body, headers)


def _offer(sku: str, **extra: Any) -> dict[str, Any]:
    return {
        "sku": sku,
        "marketplaceId": "EBAY_US",
        "format": "FIXED_PRICE",
        "availableQuantity": 2,
        "pricingSummary": {"price": {"value": "120.00", "currency": "USD"}},
        **extra,
    }


def test_ebay_inventory_item_put_is_a_full_replace_answered_204(ebay) -> None:
    item = {
        "product": {"title": "Dunk Low"},
        "condition": "NEW",
        "availability": {"shipToLocationAvailability": {"quantity": 3}},
    }

    created = _ebay(ebay, "PUT", "/inventory_item/DD-9", item)
    replaced = _ebay(ebay, "PUT", "/inventory_item/DD-9", {"product": {"title": "D"}})

    assert (created.status, replaced.status) == (204, 204)
    stored = _body(_ebay(ebay, "GET", "/inventory_item/DD-9", None))
    assert stored["availability"]["shipToLocationAvailability"]["quantity"] == 0
    assert stored["product"]["title"] == "D"


def test_ebay_writes_need_content_language_and_a_short_sku(ebay) -> None:
    body = {"product": {"title": "x"}}

    unlabelled = _ebay(ebay, "PUT", "/inventory_item/A", body, language=False)
    long_sku = _ebay(ebay, "PUT", "/inventory_item/" + "A" * 51, body)

    assert unlabelled.status == 400
    assert long_sku.status == 400
    assert _body(long_sku)["errors"][0]["errorId"] == 25709
    assert ebay.items == {}


def test_ebay_inventory_item_fields_are_checked_against_the_published_spec(
    ebay,
) -> None:
    shared_path("specs", "ebay", "sell_inventory_v1_oas3.json")

    unknown = _ebay(ebay, "PUT", "/inventory_item/B", {"colour": "red"})

    assert unknown.status == 400
    assert "colour" in _body(unknown)["errors"][0]["message"]
    assert ebay.items == {}


def test_ebay_offer_is_created_unpublished_and_a_second_one_is_refused(
    ebay,
) -> None:
    missing = _ebay(ebay, "POST", "/offer", _offer("DD-9"))
    _ebay(ebay, "PUT", "/inventory_item/DD-9", {"product": {"title": "Dunk"}})

    first = _ebay(ebay, "POST", "/offer", _offer("DD-9"))
    second = _ebay(ebay, "POST", "/offer", _offer("DD-9", availableQuantity=5))

    assert missing.status == 400
    assert _body(missing)["errors"][0]["errorId"] == 25702
    assert first.status == 201
    offer_id = _body(first)["offerId"]
    assert [o.status for o in ebay.offers_of("DD-9")] == ["UNPUBLISHED"]
    assert second.status == 400
    error = _body(second)["errors"][0]
    assert error["errorId"] == 25002
    assert "Offer entity already exists" in error["message"]
    assert error["parameters"] == [{"name": "offerId", "value": offer_id}]
    assert len(ebay.offers_of("DD-9")) == 1


def test_ebay_offer_needs_sku_marketplace_format_and_a_price_with_currency(
    ebay,
) -> None:
    _ebay(ebay, "PUT", "/inventory_item/DD-9", {"product": {"title": "Dunk"}})
    no_format = _offer("DD-9")
    del no_format["format"]
    no_currency = _offer("DD-9", pricingSummary={"price": {"value": "120.00"}})

    assert _ebay(ebay, "POST", "/offer", no_format).status == 400
    assert _ebay(ebay, "POST", "/offer", no_currency).status == 400
    assert ebay.offers_of("DD-9") == []


@pytest.fixture
def clover() -> CloverSimulator:
    return CloverSimulator(seed=7)


def _clover(sim: CloverSimulator, method: str, rest: str, body: Any) -> Response:
    headers = {"authorization": f"Bearer {sim.api_token}"}
    path = f"/v3/merchants/{sim.merchant_id}{rest}"
    return _send(sim, method, path, body, headers)


def test_clover_item_needs_a_name_and_whole_cents_and_has_no_stock_yet(
    clover,
) -> None:
    made = _clover(
        clover, "POST", "/items", {"name": "Dunk", "price": 12000, "sku": "S"}
    )
    nameless = _clover(clover, "POST", "/items", {"price": 100})
    decimal = _clover(clover, "POST", "/items", {"name": "x", "price": 1.5})

    assert made.status == 200
    item = _body(made)
    assert (item["name"], item["price"], item["sku"]) == ("Dunk", 12000, "S")
    assert _clover(clover, "GET", f"/item_stocks/{item['id']}", None).status == 404
    assert nameless.status == 400
    assert "name" in _body(nameless)["message"]
    assert decimal.status == 400
    assert clover.stock("S") is None


def test_clover_allows_two_items_with_one_sku(clover) -> None:
    body = {"name": "Dunk", "price": 100, "sku": "S"}

    first = _clover(clover, "POST", "/items", body)
    second = _clover(clover, "POST", "/items", body)

    assert first.status == second.status == 200
    assert _body(first)["id"] != _body(second)["id"]
