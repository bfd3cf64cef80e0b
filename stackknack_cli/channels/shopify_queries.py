"""The GraphQL documents the Shopify adapter sends, and what each page of them costs.

Shopify prices a query before running it: one point per object, nothing for scalars,
and a connection costs two points plus ``first`` times the cost of one node. A single
query may not ask for more than 1,000 points, and a cheaper query waits less for the
bucket to refill, so page sizes here are computed from each query's node cost.
"""

from __future__ import annotations

MAX_QUERY_COST = 1000
MAX_PAGE = 250


def connection_cost(first: int, node_cost: int) -> int:
    """Return the points Shopify reserves for a connection of ``first`` nodes."""
    return 2 + first * node_cost


def fit_page(node_cost: int, *, overhead: int = 0, budget: int = MAX_QUERY_COST) -> int:
    """Return the largest page (at most 250) whose query stays within ``budget``."""
    room = budget - overhead - connection_cost(0, node_cost)
    return max(1, min(MAX_PAGE, room // node_cost))


SHOP = "query Shop { shop { name } }"

SCOPES = "query Scopes { currentAppInstallation { accessScopes { handle } } }"

REQUIRED_SCOPES = (
    "read_products",
    "read_inventory",
    "write_inventory",
    "read_orders",
    "read_locations",
)
"""What stackknack needs of a shop (write_inventory implies read_inventory there)."""

LOCATIONS = """
query Locations($first: Int!, $after: String) {
  locations(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id name isActive }
  }
}
"""
LOCATION_NODE_COST = 1

# A variant, its product, its inventory item, the level at one location and that
# level's quantity list: five objects.
VARIANTS = """
query Variants($first: Int!, $after: String, $location: ID!) {
  productVariants(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      sku
      title
      product { id title status }
      inventoryItem {
        id
        inventoryLevel(locationId: $location) {
          quantities(names: ["available"]) { name quantity }
        }
      }
    }
  }
}
"""
VARIANT_NODE_COST = 5

LINE_ITEM_FIELDS = """
pageInfo { hasNextPage endCursor }
nodes { id sku quantity currentQuantity variant { id inventoryItem { id } } }
"""
# A line item, its variant and the variant's inventory item.
LINE_ITEM_NODE_COST = 3
LINES_PER_ORDER = 10

REFUND_LINE_FIELDS = """
pageInfo { hasNextPage endCursor }
nodes { id quantity restockType location { id } lineItem { id } }
"""
# A refund line item, its restock location and the line item it refunds.
REFUND_LINE_NODE_COST = 3
REFUNDS_PER_ORDER = 3
"""Refunds read with an order; an order with more has them read one by one."""
REFUND_LINES_PER_REFUND = 3
# Shopify's page on costs does not say how a plain list (``refunds``) is charged;
# each refund is priced as if charged on its own, which can only overestimate.
REFUND_COST = 1 + connection_cost(REFUND_LINES_PER_REFUND, REFUND_LINE_NODE_COST)

ORDERS = f"""
query Orders($first: Int!, $after: String, $query: String!, $lines: Int!) {{
  orders(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      id
      createdAt
      updatedAt
      cancelledAt
      lineItems(first: $lines) {{ {LINE_ITEM_FIELDS} }}
      refunds(first: {REFUNDS_PER_ORDER}) {{
        id
        createdAt
        refundLineItems(first: {REFUND_LINES_PER_REFUND}) {{ {REFUND_LINE_FIELDS} }}
      }}
    }}
  }}
}}
"""
ORDER_NODE_COST = (
    1
    + connection_cost(LINES_PER_ORDER, LINE_ITEM_NODE_COST)
    + REFUNDS_PER_ORDER * REFUND_COST
)

ORDER_REFUNDS = """
query OrderRefunds($id: ID!) {
  node(id: $id) { ... on Order { refunds { id createdAt } } }
}
"""

REFUND_LINES = f"""
query RefundLines($id: ID!, $first: Int!, $after: String) {{
  node(id: $id) {{
    ... on Refund {{
      refundLineItems(first: $first, after: $after) {{ {REFUND_LINE_FIELDS} }}
    }}
  }}
}}
"""

ORDER_LINES = f"""
query OrderLines($id: ID!, $first: Int!, $after: String) {{
  node(id: $id) {{
    ... on Order {{
      lineItems(first: $first, after: $after) {{ {LINE_ITEM_FIELDS} }}
    }}
  }}
}}
"""

# The item, its level at one location and that level's quantity list.
LEVELS = """
query Levels($ids: [ID!]!, $location: ID!) {
  nodes(ids: $ids) {
    ... on InventoryItem {
      id
      inventoryLevel(locationId: $location) {
        quantities(names: ["available"]) { name quantity }
      }
    }
  }
}
"""
LEVEL_NODE_COST = 3

AVAILABLE = 'quantities(names: ["available"]) { name quantity }'
# A further counting location adds its level and that level's quantity list.
COUNT_LOCATION_COST = 2


def count_alias(index: int) -> str:
    """Return the alias, and variable name, of the ``index``-th further counting
    location (from 1); the push location is read as plain ``inventoryLevel``."""
    return f"count{index}"


def _further_levels(others: int, indent: str) -> tuple[str, str]:
    names = [count_alias(i) for i in range(1, others + 1)]
    definitions = "".join(f", ${name}: ID!" for name in names)
    fields = "".join(
        f"\n{indent}{name}: inventoryLevel(locationId: ${name}) {{ {AVAILABLE} }}"
        for name in names
    )
    return definitions, fields


def variants_query(others: int) -> str:
    """Return ``VARIANTS`` reading ``others`` further counting locations as well."""
    if others == 0:
        return VARIANTS
    definitions, fields = _further_levels(others, " " * 8)
    return f"""
query Variants($first: Int!, $after: String, $location: ID!{definitions}) {{
  productVariants(first: $first, after: $after) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      id
      sku
      title
      product {{ id title status }}
      inventoryItem {{
        id
        inventoryLevel(locationId: $location) {{ {AVAILABLE} }}{fields}
      }}
    }}
  }}
}}
"""


def levels_query(others: int) -> str:
    """Return ``LEVELS`` reading ``others`` further counting locations as well."""
    if others == 0:
        return LEVELS
    definitions, fields = _further_levels(others, " " * 6)
    return f"""
query Levels($ids: [ID!]!, $location: ID!{definitions}) {{
  nodes(ids: $ids) {{
    ... on InventoryItem {{
      id
      inventoryLevel(locationId: $location) {{ {AVAILABLE} }}{fields}
    }}
  }}
}}
"""


def variant_node_cost(others: int) -> int:
    """Return the cost of one variant of ``variants_query(others)``."""
    return VARIANT_NODE_COST + COUNT_LOCATION_COST * others


def level_node_cost(others: int) -> int:
    """Return the cost of one item of ``levels_query(others)``."""
    return LEVEL_NODE_COST + COUNT_LOCATION_COST * others


SET_QUANTITIES = """
mutation SetAvailable($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id }
    userErrors { code field message }
  }
}
"""

# A subscription and its endpoint: two objects.
WEBHOOKS = """
query Webhooks($first: Int!, $after: String) {
  webhookSubscriptions(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      topic
      endpoint { ... on WebhookHttpEndpoint { callbackUrl } }
    }
  }
}
"""
WEBHOOK_NODE_COST = 2

SUBSCRIBE = """
mutation Subscribe($topic: WebhookSubscriptionTopic!, $url: URL!) {
  webhookSubscriptionCreate(
    topic: $topic
    webhookSubscription: {callbackUrl: $url, format: JSON}
  ) {
    webhookSubscription { id }
    userErrors { field message }
  }
}
"""
