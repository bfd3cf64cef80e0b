"""Check request bodies against eBay's published OpenAPI documents, lightly.

Only what the documents state is checked: property types, required properties and
enums where a schema lists them (eBay's documents mostly describe enums in prose), and
properties the schema does not know. A missing document is logged once and skipped.
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_SPEC_DIR = Path(__file__).resolve().parents[3] / "shared" / "specs" / "ebay"
INVENTORY_SPEC = "sell_inventory_v1_oas3.json"
FULFILLMENT_SPEC = "sell_fulfillment_v1_oas3.json"

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


@functools.lru_cache(maxsize=8)
def _load(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        log.info("ebay sim: %s is absent; request bodies are not validated", path)
        return None
    return document if isinstance(document, dict) else None


class SpecValidator:
    """The request schemas of one OpenAPI document, by path and method."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.document = _load(path)

    @property
    def available(self) -> bool:
        return self.document is not None

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while self.document is not None and "$ref" in schema:
            name = str(schema["$ref"]).rsplit("/", 1)[-1]
            schema = self.document["components"]["schemas"][name]
        return schema

    def problems(self, template: str, method: str, body: Any) -> list[str]:
        """Return what is wrong with ``body`` for the operation (empty when fine)."""
        if self.document is None:
            return []
        operation = self.document["paths"].get(template, {}).get(method.lower())
        if operation is None or "requestBody" not in operation:
            return []
        content = operation["requestBody"].get("content", {})
        schema = content.get("application/json", {}).get("schema")
        if schema is None:
            return []
        found: list[str] = []
        self._check(schema, body, "body", found)
        return found

    def _check(
        self, schema: dict[str, Any], value: Any, where: str, out: list[str]
    ) -> None:
        schema = self._resolve(schema)
        kind = schema.get("type") or ("object" if "properties" in schema else None)
        allowed = _TYPES.get(str(kind))
        is_bool = isinstance(value, bool)
        if allowed is not None and (
            not isinstance(value, allowed) or (is_bool and kind != "boolean")
        ):
            out.append(f"{where} must be {kind}")
            return
        if "enum" in schema and value not in schema["enum"]:
            out.append(f"{where} must be one of {', '.join(map(str, schema['enum']))}")
        if kind == "array":
            for index, element in enumerate(value):
                self._check(schema.get("items", {}), element, f"{where}[{index}]", out)
        if kind == "object":
            properties = schema.get("properties", {})
            for name in schema.get("required", []):
                if name not in value:
                    out.append(f"{where}.{name} is required")
            for name, element in value.items():
                if name not in properties:
                    out.append(f"{where}.{name} is not a known field")
                    continue
                self._check(properties[name], element, f"{where}.{name}", out)
