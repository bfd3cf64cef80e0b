"""The two GraphQL schemas behind the Shopify simulator.

The subset schema (``data/shopify_subset.graphql``) is what the simulator executes. The
published schema is Shopify's own Admin schema read from ``../shared`` and patched for
the 2026-04 changes; documents are checked against it first, so a query that real
Shopify would refuse is refused here too. Both are built once per process.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    build_client_schema,
    build_schema,
    validate,
)
from graphql.execution.values import get_variable_values
from graphql.utilities import get_operation_ast

log = logging.getLogger(__name__)

PUBLISHED_SCHEMA = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "specs"
    / "shopify"
    / "admin_schema_2025-01.json.gz"
)

# Error codes Shopify added to the enum up to 2026-04 (changelog and enum pages).
_NEW_SET_QUANTITIES_CODES = (
    "CHANGE_FROM_QUANTITY_STALE",
    "IDEMPOTENCY_CONCURRENT_REQUEST",
    "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
)


@lru_cache(maxsize=1)
def subset_schema() -> GraphQLSchema:
    """Return the executable subset schema (cached)."""
    text = resources.files("stackknack_cli.sandbox").joinpath(
        "data/shopify_subset.graphql"
    )
    return build_schema(text.read_text(encoding="utf-8"))


@lru_cache(maxsize=4)
def published_schema(path: Path = PUBLISHED_SCHEMA) -> GraphQLSchema | None:
    """Return Shopify's published Admin schema patched to 2026-04, or None if absent.

    Reads the introspection file once per process; logs once (info) when it is missing.
    """
    if not path.exists():
        log.info(
            "shopify simulator: %s is absent; validation against the published "
            "schema is skipped",
            path,
        )
        return None
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        introspection = json.load(handle)["data"]
    _patch_to_2026_04(introspection["__schema"])
    schema = build_client_schema(introspection)
    # Shopify's schema breaks one newer spec rule (deprecated fields implementing
    # non-deprecated interface fields) that graphql-core enforces before validating
    # documents. Real Shopify serves it as is, so record it as checked.
    schema._validation_errors = []  # noqa: SLF001
    return schema


def _patch_to_2026_04(schema: dict[str, Any]) -> None:
    types = {t["name"]: t for t in schema["types"]}
    quantity_input = types["InventoryQuantityInput"]
    quantity_input["inputFields"] = [
        f for f in quantity_input["inputFields"] if f["name"] != "compareQuantity"
    ]
    quantity_input["inputFields"].append(
        {
            "name": "changeFromQuantity",
            "description": "Expected persisted quantity; null skips the check.",
            "type": {"kind": "SCALAR", "name": "Int", "ofType": None},
            "defaultValue": None,
            "isDeprecated": False,
            "deprecationReason": None,
        }
    )
    set_input = types["InventorySetQuantitiesInput"]
    set_input["inputFields"] = [
        f for f in set_input["inputFields"] if f["name"] != "ignoreCompareQuantity"
    ]
    codes = types["InventorySetQuantitiesUserErrorCode"]["enumValues"]
    known = {c["name"] for c in codes}
    for name in _NEW_SET_QUANTITIES_CODES:
        if name not in known:
            codes.append(
                {
                    "name": name,
                    "description": None,
                    "isDeprecated": False,
                    "deprecationReason": None,
                }
            )
    string = {"kind": "SCALAR", "name": "String", "ofType": None}
    schema["directives"].append(
        {
            "name": "idempotent",
            "description": "Makes a mutation safe to retry with the same key.",
            "isRepeatable": False,
            "locations": ["FIELD"],
            "args": [
                {
                    "name": "key",
                    "description": None,
                    "type": {"kind": "NON_NULL", "name": None, "ofType": string},
                    "defaultValue": None,
                }
            ],
        }
    )


def check_document(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> list[GraphQLError]:
    """Return the errors ``schema`` finds in the document and its variable values."""
    errors = list(validate(schema, document))
    if errors:
        return errors
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return [GraphQLError("An operation name is required")]
    coerced = get_variable_values(
        schema, operation.variable_definitions or (), variables or {}
    )
    return coerced if isinstance(coerced, list) else []


# graphql-core's wording for the commonest mistakes, and how Shopify (graphql-ruby)
# words and codes the same ones.
_RUBY_STYLE = (
    (
        re.compile(r"Cannot query field '(\w+)' on type '(\w+)'"),
        "undefinedField",
        "Field '{0}' doesn't exist on type '{1}'",
    ),
    (
        re.compile(r"Unknown argument '(\w+)' on field '\w+\.(\w+)'"),
        "argumentNotAccepted",
        "Field '{1}' doesn't accept argument '{0}'",
    ),
    (
        re.compile(r"Field '(\w+)' argument '(\w+)' of type .* is required"),
        "missingRequiredArguments",
        "Field '{0}' is missing required arguments: {1}",
    ),
)


def shopify_error(error: GraphQLError) -> dict[str, Any]:
    """Format a validation or variable error the way Shopify's API answers it."""
    formatted = dict(error.formatted)
    for pattern, code, message in _RUBY_STYLE:
        match = pattern.search(error.message)
        if match:
            formatted["message"] = message.format(*match.groups())
            formatted["extensions"] = {"code": code}
            return formatted
    code = "INVALID_VARIABLE" if error.message.startswith("Variable") else "VALIDATION"
    formatted["extensions"] = {"code": code}
    return formatted
