"""End-to-end behaviour of the local Shopify simulator, over HTTP on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from stackknack_cli.sandbox import shopify_schema
from stackknack_cli.sandbox.server import SimServer
from stackknack_cli.sandbox.shopify import ShopifySimulator
from stackknack_cli.sandbox.shopify_shop import SaleRefusedError
from tests.conftest import shared_path

START = 1_780_000_000.0  # 2026-05-28T20:26:40Z
API = "/admin/api/2026-04/graphql.json"

SET = """
mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup {
      id reason
      changes { name delta quantityAfterChange item { id } location { id } }
    }
    userErrors { code field message }
  }
}
"""

LEVEL = """
query Level($sku: String!) {
  productVariants(first: 1, query: $sku) {
    nodes {
      inventoryQuantity
      inventoryItem {
        id
        inventoryLevels(first: 5) {
          nodes {
            location { id }
            quantities(names: ["available", "committed", "on_hand"]) { name quantity }
          }
        }
      }
    }
  }
}
"""


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def sim(clock: Clock, sleeps: list[float]) -> ShopifySimulator:
    return ShopifySimulator(clock=clock, sleep=sleeps.append, seed=7)


@pytest.fixture
def server(sim: ShopifySimulator) -> Iterator[SimServer]:
    running = SimServer(sim.app).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def client(server: SimServer, sim: ShopifySimulator) -> Iterator[httpx.Client]:
    headers = {"X-Shopify-Access-Token": sim.access_token}
    with httpx.Client(base_url=server.base_url, headers=headers) as opened:
        yield opened


def gql(client: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    response = client.post(API, json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def level_of(client: httpx.Client, sku: str) -> tuple[str, str, dict[str, int]]:
    node = gql(client, LEVEL, sku=f"sku:{sku}")["data"]["productVariants"]["nodes"][0]
    level = node["inventoryItem"]["inventoryLevels"]["nodes"][0]
    quantities = {q["name"]: q["quantity"] for q in level["quantities"]}
    return node["inventoryItem"]["id"], level["location"]["id"], quantities


def set_input(item: str, location: str, quantity: int, **extra: Any) -> dict[str, Any]:
    entry = {"inventoryItemId": item, "locationId": location, "quantity": quantity}
    entry.update(extra)
    return {
        "name": "available",
        "reason": "correction",
        "referenceDocumentUri": "gid://stackknack/SyncJob/1",
        "quantities": [entry],
    }


def test_wrong_or_missing_token_is_refused_with_401(server: SimServer) -> None:
    query = {"query": "{ shop { name } }"}
    missing = httpx.post(server.base_url + API, json=query)
    wrong = httpx.post(
        server.base_url + API,
        json=query,
        headers={"X-Shopify-Access-Token": "shpat_wrong"},
    )

    assert missing.status_code == wrong.status_code == 401
    assert "Invalid API key or access token" in wrong.json()["errors"]


def test_token_header_name_is_case_insensitive(
    server: SimServer, sim: ShopifySimulator
) -> None:
    response = httpx.post(
        server.base_url + API,
        json={"query": "{ shop { name myshopifyDomain } }"},
        headers={"x-shopify-access-token": sim.access_token},
    )

    assert response.json()["data"]["shop"]["myshopifyDomain"] == sim.shop.domain
    assert response.headers["X-Shopify-API-Version"] == "2026-04"


def test_older_version_falls_forward_and_bad_version_is_not_found(
    server: SimServer, client: httpx.Client
) -> None:
    old = client.post("/admin/api/2024-01/graphql.json", json={"query": "{shop{name}}"})
    bad = client.post("/admin/api/latest/graphql.json", json={"query": "{shop{name}}"})

    assert old.headers["X-Shopify-API-Version"] == "2026-04"
    assert bad.status_code == 404


def test_product_variants_paginate_across_pages(
    sim: ShopifySimulator, client: httpx.Client
) -> None:
    for n in range(5):
        sim.seed(f"SKU-{n}", quantity=n)
    query = """query Page($after: String) {
      productVariants(first: 2, after: $after) {
        edges { cursor node { sku } }
        pageInfo { hasNextPage endCursor }
      }
    }"""
    seen, after, pages = [], None, 0
    while True:
        page = gql(client, query, after=after)["data"]["productVariants"]
        seen += [e["node"]["sku"] for e in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert seen == [f"SKU-{n}" for n in range(5)]
    assert pages == 3


def test_sku_query_returns_only_that_variant(
    sim: ShopifySimulator, client: httpx.Client
) -> None:
    sim.seed("TEE-RED", title="Red tee", quantity=4)
    sim.seed("TEE-BLUE", title="Blue tee", quantity=1)

    nodes = gql(
        client,
        '{ productVariants(first: 10, query: "sku:TEE-BLUE") '
        "{ nodes { sku inventoryQuantity displayName product { title } } } }",
    )

    assert nodes["data"]["productVariants"]["nodes"] == [
        {
            "sku": "TEE-BLUE",
            "inventoryQuantity": 1,
            "displayName": "Blue tee - Default Title",
            "product": {"title": "Blue tee"},
        }
    ]


def test_orders_filter_by_updated_at_and_show_edits(
    sim: ShopifySimulator, client: httpx.Client, clock: Clock
) -> None:
    sim.seed("MUG", quantity=10)
    early = sim.sell("MUG", 1)
    clock.now += 3600
    sim.sell("MUG", 2)
    clock.now += 3600
    sim.reduce_line_item(early, "MUG", 1)
    query = """query Since($q: String) {
      orders(first: 10, sortKey: UPDATED_AT, query: $q) {
        nodes {
          id name updatedAt
          lineItems(first: 5) { nodes { sku quantity currentQuantity } }
        }
      }
    }"""

    recent = gql(client, query, q="updated_at:>='2026-05-28T21:00:00Z'")
    nodes = recent["data"]["orders"]["nodes"]

    assert [n["name"] for n in nodes] == ["#1002", "#1001"]
    assert nodes[1]["lineItems"]["nodes"] == [
        {"sku": "MUG", "quantity": 1, "currentQuantity": 0}
    ]
    assert nodes[1]["updatedAt"] == "2026-05-28T22:26:40Z"


def test_set_quantities_with_matching_change_from_quantity_writes(
    sim: ShopifySimulator, client: httpx.Client
) -> None:
    sim.seed("CAP", quantity=5)
    item, location, _ = level_of(client, "CAP")

    body = gql(
        client, SET, input=set_input(item, location, 8, changeFromQuantity=5), key="k-1"
    )
    payload = body["data"]["inventorySetQuantities"]

    assert payload["userErrors"] == []
    changes = {c["name"]: c for c in payload["inventoryAdjustmentGroup"]["changes"]}
    assert changes["available"]["delta"] == 3
    assert changes["on_hand"]["quantityAfterChange"] == 8
    assert sim.available("CAP") == 8


def test_stale_change_from_quantity_writes_nothing_in_the_call(
    sim: ShopifySimulator, client: httpx.Client
) -> None:
    sim.seed("A", quantity=5)
    sim.seed("B", quantity=5)
    item_a, location, _ = level_of(client, "A")
    item_b, _, _ = level_of(client, "B")
    data = set_input(item_a, location, 1, changeFromQuantity=5)
    data["quantities"].append(
        {
            "inventoryItemId": item_b,
            "locationId": location,
            "quantity": 1,
            "changeFromQuantity": 4,
        }
    )

    payload = gql(client, SET, input=data, key="k-2")["data"]["inventorySetQuantities"]

    assert payload["inventoryAdjustmentGroup"] is None
    assert payload["userErrors"] == [
        {
            "code": "CHANGE_FROM_QUANTITY_STALE",
            "field": ["input", "quantities", "1", "changeFromQuantity"],
            "message": "changeFromQuantity no longer matches the stored quantity.",
        }
    ]
    assert (sim.available("A"), sim.available("B")) == (5, 5)


def test_null_change_from_quantity_skips_the_check(
    sim: ShopifySimulator, client: httpx.Client
) -> None:
    sim.seed("NULLCAS", quantity=5)
    item, location, _ = level_of(client, "NULLCAS")

    body = gql(
        client,
        SET,
        input=set_input(item, location, 2, changeFromQuantity=None),
        key="k-null",
    )

    assert body["data"]["inventorySetQuantities"]["userErrors"] == []
    assert sim.available("NULLCAS") == 2


def test_idempotent_retry_returns_original_result_and_applies_once(
    sim: ShopifySimulator, client: httpx.Client
) -> None:
    sim.seed("SOCK", quantity=5)
    item, location, _ = level_of(client, "SOCK")
    data = set_input(item, location, 9, changeFromQuantity=5)

    first = gql(client, SET, input=data, key="same")["data"]
    sim.sell("SOCK", 2)
    retry = gql(client, SET, input=data, key="same")["data"]
    changed = gql(
        client,
        SET,
        input=set_input(item, location, 1, changeFromQuantity=7),
        key="same",
    )["data"]["inventorySetQuantities"]

    assert retry == first
    assert sim.available("SOCK") == 7
    assert changed["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"


def test_missing_idempotent_directive_is_refused(
    sim: ShopifySimulator, client: httpx.Client
) -> None:
    sim.seed("HAT", quantity=5)
    item, location, _ = level_of(client, "HAT")
    query = SET.replace(" @idempotent(key: $key)", "").replace(", $key: String!", "")

    body = gql(client, query, input=set_input(item, location, 1, changeFromQuantity=5))

    assert body["data"] == {"inventorySetQuantities": None}
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "@idempotent" in body["errors"][0]["message"]
    assert sim.available("HAT") == 5


def test_missing_change_from_quantity_is_refused_at_runtime(
    sim: ShopifySimulator, client: httpx.Client
) -> None:
    sim.seed("BAG", quantity=5)
    item, location, _ = level_of(client, "BAG")

    body = gql(client, SET, input=set_input(item, location, 1), key="k-3")

    assert body["errors"][0]["extensions"]["code"] == "INVALID_FIELD_ARGUMENTS"
    assert "changeFromQuantity" in body["errors"][0]["message"]
    assert sim.available("BAG") == 5


def test_published_schema_accepts_omitted_change_from_quantity_but_not_compare() -> (
    None
):
    path = shared_path("specs", "shopify", "admin_schema_2025-01.json.gz")
    schema = shopify_schema.published_schema(path)
    assert schema is not None
    from graphql import parse

    document = parse(SET)
    entry = {
        "inventoryItemId": "gid://shopify/InventoryItem/1",
        "locationId": "gid://shopify/Location/1",
        "quantity": 1,
    }
    omitted = {"input": set_input("i", "l", 1) | {"quantities": [entry]}, "key": "k"}
    old = {"input": set_input("i", "l", 1, compareQuantity=1), "key": "k"}

    # changeFromQuantity is a nullable Int: only the runtime can insist on it.
    assert shopify_schema.check_document(schema, document, None, omitted) == []
    errors = shopify_schema.check_document(schema, document, None, old)
    assert "compareQuantity" in errors[0].message


def test_published_schema_validation_rejects_what_shopify_rejects(
    client: httpx.Client,
) -> None:
    shared_path("specs", "shopify", "admin_schema_2025-01.json.gz")

    unknown = gql(client, "{ shop { nosuchfield } }")
    gap = gql(client, "{ shop { contactEmail } }")

    assert unknown["errors"][0]["extensions"]["code"] == "undefinedField"
    assert unknown["errors"][0]["message"] == (
        "Field 'nosuchfield' doesn't exist on type 'Shop'"
    )
    assert gap["errors"][0]["extensions"]["code"] == "NOT_SIMULATED"


def test_published_schema_loads_once_and_quickly() -> None:
    path = shared_path("specs", "shopify", "admin_schema_2025-01.json.gz")
    shopify_schema.published_schema.cache_clear()
    started = time.perf_counter()
    first = shopify_schema.published_schema(path)
    elapsed = time.perf_counter() - started

    assert shopify_schema.published_schema(path) is first
    assert elapsed < 2.0


def test_absent_published_schema_skips_validation(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "absent.json.gz"

    with caplog.at_level("INFO"):
        assert shopify_schema.published_schema(missing) is None
        assert shopify_schema.published_schema(missing) is None

    assert sum("skipped" in r.message for r in caplog.records) == 1


def test_item_not_stocked_and_bundle_are_refused(
    sim: ShopifySimulator, client: httpx.Client
) -> None:
    sim.seed("KIT", quantity=3, bundle=True)
    sim.seed("LOCAL", quantity=3)
    other = sim.add_location("Warehouse")
    kit, location, _ = level_of(client, "KIT")
    local, _, _ = level_of(client, "LOCAL")
    data = set_input(kit, location, 1, changeFromQuantity=None)
    data["quantities"].append(
        {
            "inventoryItemId": local,
            "locationId": other,
            "quantity": 1,
            "changeFromQuantity": None,
        }
    )

    errors = gql(client, SET, input=data, key="k-4")["data"]["inventorySetQuantities"]

    assert [e["code"] for e in errors["userErrors"]] == [
        "NON_MUTABLE_INVENTORY_ITEM",
        "ITEM_NOT_STOCKED_AT_LOCATION",
    ]
    assert sim.available("LOCAL") == 3


def test_every_response_reports_cost_and_throttles_when_bucket_is_empty(
    sim: ShopifySimulator, client: httpx.Client, clock: Clock
) -> None:
    for n in range(250):
        sim.seed(f"X-{n}", quantity=1)
    heavy = "{ productVariants(first: 250) { nodes { id product { id } } } }"

    first = gql(client, heavy)
    costs = [gql(client, heavy)["extensions"]["cost"] for _ in range(2)]
    throttled = gql(client, heavy)
    clock.now += 6
    recovered = gql(client, heavy)

    assert first["extensions"]["cost"]["requestedQueryCost"] == 502
    assert first["extensions"]["cost"]["actualQueryCost"] == 502
    assert costs[-1]["throttleStatus"] == {
        "maximumAvailable": 2000.0,
        "currentlyAvailable": 494,
        "restoreRate": 100.0,
    }
    assert throttled["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert throttled["extensions"]["cost"]["actualQueryCost"] is None
    assert "data" not in throttled
    assert recovered["data"]["productVariants"]["nodes"]


def test_actual_cost_counts_returned_items_and_restore_rate_refills(
    sim: ShopifySimulator, client: httpx.Client, clock: Clock
) -> None:
    for n in range(3):
        sim.seed(f"Y-{n}", quantity=1)

    cost = gql(
        client, "{ productVariants(first: 250) { nodes { id product { id } } } }"
    )

    assert cost["extensions"]["cost"]["actualQueryCost"] == 2 + 3 * 2
    for _ in range(20):
        gql(
            client,
            'mutation { inventorySetQuantities(input: {name: "available", '
            'reason: "correction", quantities: []}) @idempotent(key: "x") '
            "{ userErrors { code } } }",
        )
    drained = sim.throttle_status()["currentlyAvailable"]
    clock.now += 1

    assert sim.throttle_status()["currentlyAvailable"] == drained + 100


def test_single_query_over_1000_points_and_first_over_250_are_refused(
    client: httpx.Client,
) -> None:
    huge = gql(
        client,
        "{ productVariants(first: 250) { nodes { product { id } "
        "inventoryItem { inventoryLevels(first: 1) { nodes { id } } } } } }",
    )
    wide = gql(client, "{ productVariants(first: 251) { nodes { id } } }")

    assert huge["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert wide["errors"][0]["message"] == "first cannot exceed 250"


def test_injected_statuses_drops_delays_and_outage(
    sim: ShopifySimulator, client: httpx.Client, sleeps: list[float]
) -> None:
    query = {"query": "{ shop { name } }"}
    sim.faults.fail_next(1, status=503)
    sim.faults.fail_next(1, status=429, retry_after=2)
    sim.faults.fail_next(1, status=429)
    sim.faults.delay_next(1, seconds=3.5)

    statuses = [client.post(API, json=query) for _ in range(4)]
    sim.faults.drop_next(1)
    with pytest.raises(httpx.TransportError):
        client.post(API, json=query)
    sim.faults.set_down()
    down = [client.post(API, json=query).status_code for _ in range(3)]
    sim.faults.set_down(False)

    assert [r.status_code for r in statuses] == [503, 429, 429, 200]
    assert statuses[1].headers["Retry-After"] == "2.0"
    assert "Retry-After" not in statuses[2].headers
    assert sleeps == [3.5]
    assert down == [503, 503, 503]
    assert client.post(API, json=query).status_code == 200


def test_random_faults_follow_the_seed(clock: Clock) -> None:
    def pattern() -> list[bool]:
        sim = ShopifySimulator(clock=clock, seed=42)
        sim.faults.fail_randomly(0.5, status=502)
        return [sim.faults.take() is not None for _ in range(20)]

    first = pattern()

    assert first == pattern()
    assert 0 < sum(first) < 20


def test_fault_control_route_configures_failures(
    server: SimServer, client: httpx.Client
) -> None:
    control = httpx.post(
        server.base_url + "/_sandbox/faults",
        json={"mode": "fail", "count": 2, "status": 500},
    )

    answers = [
        client.post(API, json={"query": "{shop{name}}"}).status_code for _ in range(3)
    ]

    assert control.status_code == 200
    assert answers == [500, 500, 200]


def test_sale_moves_available_to_committed(
    sim: ShopifySimulator, client: httpx.Client, server: SimServer
) -> None:
    sim.seed("TOTE", quantity=4)

    sold = httpx.post(
        server.base_url + "/_sandbox/sell", json={"sku": "TOTE", "quantity": 3}
    )
    refused = httpx.post(
        server.base_url + "/_sandbox/sell", json={"sku": "TOTE", "quantity": 2}
    )
    _, _, quantities = level_of(client, "TOTE")

    assert sold.status_code == 201
    assert sold.json()["order"]["lineItems"][0]["currentQuantity"] == 3
    assert refused.status_code == 422
    assert quantities == {"available": 1, "committed": 3, "on_hand": 4}


def test_continue_policy_allows_overselling(sim: ShopifySimulator) -> None:
    sim.seed("PRE", quantity=1, policy="CONTINUE")
    sim.seed("DENY", quantity=1)

    sim.sell("PRE", 3)

    assert sim.available("PRE") == -2
    assert sim.quantity("PRE", "committed") == 3
    with pytest.raises(SaleRefusedError):
        sim.sell("DENY", 2)


def test_cancel_restocks_and_state_route_reports_locations(
    sim: ShopifySimulator, server: SimServer
) -> None:
    seeded = httpx.post(
        server.base_url + "/_sandbox/products",
        json={
            "products": [
                {
                    "sku": "BOX",
                    "title": "Box",
                    "quantities": {"Shop": 2, "Warehouse": 5},
                }
            ]
        },
    )
    order = sim.sell("BOX", 2, location="Shop")
    sim.cancel_order(order)

    state = httpx.get(server.base_url + "/_sandbox/state").json()

    assert seeded.status_code == 201
    assert [loc["name"] for loc in state["locations"]] == ["Shop", "Warehouse"]
    assert state["variants"][0]["levels"]["Shop"] == {
        "available": 2,
        "committed": 0,
        "on_hand": 2,
    }
    assert state["orders"][0]["cancelledAt"] is not None


def test_sandbox_routes_refuse_non_loopback_host(server: SimServer) -> None:
    response = httpx.get(
        server.base_url + "/_sandbox/state", headers={"Host": "evil.example"}
    )

    assert response.status_code == 403


def test_client_credentials_token_works_until_it_expires(
    sim: ShopifySimulator, server: SimServer, clock: Clock
) -> None:
    grant = httpx.post(
        server.base_url + "/admin/oauth/access_token",
        data={
            "grant_type": "client_credentials",
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
        },
    )
    token = grant.json()["access_token"]
    headers = {"X-Shopify-Access-Token": token}
    query = {"query": "{ shop { name } }"}

    fresh = httpx.post(server.base_url + API, json=query, headers=headers)
    clock.now += 86399
    expired = httpx.post(server.base_url + API, json=query, headers=headers)
    wrong = httpx.post(
        server.base_url + "/admin/oauth/access_token",
        data={
            "grant_type": "client_credentials",
            "client_id": sim.client_id,
            "client_secret": "nope",
        },
    )

    assert token.startswith("shpat_")
    assert grant.json()["expires_in"] == 86399
    assert "write_inventory" in grant.json()["scope"].split(",")
    assert fresh.status_code == 200
    assert expired.status_code == 401
    assert wrong.status_code == 401


def test_simulator_serves_without_the_shared_schema(
    tmp_path: Any, clock: Clock
) -> None:
    sim = ShopifySimulator(clock=clock, schema_path=tmp_path / "absent.json.gz")
    sim.seed("SOLO", quantity=2)
    running = SimServer(sim.app).start()
    try:
        body = httpx.post(
            running.base_url + API,
            json={"query": "{ productVariants(first: 5) { nodes { sku } } }"},
            headers={"X-Shopify-Access-Token": sim.access_token},
        ).json()
    finally:
        running.stop()

    assert body["data"]["productVariants"]["nodes"] == [{"sku": "SOLO"}]


REFUNDS = """
query Refunds($id: ID!) {
  order(id: $id) {
    cancelledAt
    lineItems(first: 5) { nodes { quantity currentQuantity refundableQuantity } }
    refunds(first: 5) {
      id
      refundLineItems(first: 5) {
        nodes {
          quantity restockType restocked location { name } lineItem { id }
        }
      }
    }
  }
}
"""


def test_refunds_show_restock_type_and_move_stock_as_shopify_does(
    sim: ShopifySimulator, client: httpx.Client
) -> None:
    sim.seed("TEE", quantities={"Shop": 5, "Warehouse": 0})
    order = sim.sell("TEE", 4, location="Shop")
    sim.fulfill_order(order)
    with pytest.raises(SaleRefusedError):
        sim.refund(order, "TEE", 1, restock_type="CANCEL")  # nothing unshipped

    sim.refund(order, "TEE", 1, restock_type="RETURN", location="Warehouse")
    sim.refund(order, "TEE", 2, restock_type="NO_RESTOCK")
    found = gql(client, REFUNDS, id=order)["data"]["order"]

    lines = [r["refundLineItems"]["nodes"][0] for r in found["refunds"]]
    assert [(x["quantity"], x["restockType"], x["restocked"]) for x in lines] == [
        (1, "RETURN", True),
        (2, "NO_RESTOCK", False),
    ]
    assert lines[0]["location"] == {"name": "Warehouse"}
    assert lines[1]["location"] is None
    assert found["lineItems"]["nodes"][0] == {
        "quantity": 4,
        "currentQuantity": 1,
        "refundableQuantity": 1,
    }
    assert (sim.available("TEE", "Shop"), sim.available("TEE", "Warehouse")) == (1, 1)


def test_cancelling_records_a_cancel_refund_of_the_unshipped_units(
    sim: ShopifySimulator, client: httpx.Client
) -> None:
    sim.seed("CAP", quantity=3)
    kept = sim.sell("CAP", 2)
    dropped = sim.sell("CAP", 1)

    sim.cancel_order(kept, restock=True)
    sim.cancel_order(dropped, restock=False)
    restocked = gql(client, REFUNDS, id=kept)["data"]["order"]
    not_restocked = gql(client, REFUNDS, id=dropped)["data"]["order"]

    assert restocked["cancelledAt"] is not None
    [line] = restocked["refunds"][0]["refundLineItems"]["nodes"]
    assert (line["quantity"], line["restockType"]) == (2, "CANCEL")
    [other] = not_restocked["refunds"][0]["refundLineItems"]["nodes"]
    assert (other["quantity"], other["restockType"]) == (1, "NO_RESTOCK")
    assert sim.available("CAP") == 2
    assert sim.quantity("CAP", "committed") == 0


def test_sandbox_fulfils_an_order_so_a_return_can_be_refunded(
    sim: ShopifySimulator, server: SimServer
) -> None:
    sim.seed("TEE", quantity=3)
    order = sim.sell("TEE", 2)
    url = server.base_url + "/_sandbox/orders/"

    before = httpx.post(
        url + "refund", json={"order_id": order, "sku": "TEE", "restock_type": "RETURN"}
    )
    shipped = httpx.post(url + "fulfill", json={"order_id": order})
    shipped_again = httpx.post(url + "fulfill", json={"order_id": order})
    returned = httpx.post(
        url + "refund", json={"order_id": order, "sku": "TEE", "restock_type": "RETURN"}
    )

    assert before.status_code == 422
    assert shipped.status_code == 200
    assert shipped.json()["order"]["lineItems"][0]["fulfilled"] == 2
    assert shipped_again.status_code == 422
    assert "nothing left to fulfil" in shipped_again.json()["errors"][0]
    assert returned.status_code == 200
    assert sim.quantity("TEE", "committed") == 0
    assert (sim.available("TEE"), sim.quantity("TEE", "on_hand")) == (2, 2)


def test_sandbox_cancels_without_restock_when_asked(
    sim: ShopifySimulator, server: SimServer
) -> None:
    sim.seed("CAP", quantity=3)
    order = sim.sell("CAP", 2)

    bad = httpx.post(
        server.base_url + "/_sandbox/orders/cancel",
        json={"order_id": order, "restock": "no"},
    )
    kept = httpx.post(
        server.base_url + "/_sandbox/orders/cancel",
        json={"order_id": order, "restock": False},
    )

    assert bad.status_code == 400
    assert kept.status_code == 200
    refund = kept.json()["order"]["refunds"][0]["refundLineItems"][0]
    assert refund["restockType"] == "NO_RESTOCK"
    assert sim.available("CAP") == 1


def test_sandbox_products_take_a_price(
    sim: ShopifySimulator, client: httpx.Client, server: SimServer
) -> None:
    url = server.base_url + "/_sandbox/products"

    seeded = httpx.post(url, json={"sku": "MUG", "quantity": 1, "price": "12.5"})
    refused = httpx.post(url, json={"sku": "JUG", "price": "twelve"})
    query = "{ productVariants(first: 5) { nodes { sku price } } }"
    found = gql(client, query)["data"]["productVariants"]["nodes"]

    assert seeded.status_code == 201
    assert refused.status_code == 400
    assert "price must be a number" in refused.json()["errors"][0]
    assert found == [{"sku": "MUG", "price": "12.50"}]
