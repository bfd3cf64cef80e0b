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
nodes { id sku currentQuantity variant { id inventoryItem { id } } }
"""
# A line item, its variant and the variant's inventory item.
LINE_ITEM_NODE_COST = 3
LINES_PER_ORDER = 10

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
    }}
  }}
}}
"""
ORDER_NODE_COST = 1 + connection_cost(LINES_PER_ORDER, LINE_ITEM_NODE_COST)

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
