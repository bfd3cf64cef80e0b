"""A light check of StockX requests against the published OpenAPI file.

It knows required fields, types, enums, ``additionalProperties: false``, numeric
bounds, string lengths and ``maxItems``; ``$ref``, ``allOf``, ``anyOf`` and
``nullable`` are followed. When the file is absent nothing is checked (logged once).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_SPEC = (
    Path(__file__).resolve().parents[3] / "shared" / "specs" / "stockx" / "stockx.json"
)
"""Where the spec sits beside a checkout; never copied into the project."""

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


class SpecValidator:
    """Find the operation for a method and path; list what a request gets wrong."""

    def __init__(self, path: Path | None = DEFAULT_SPEC) -> None:
        self.spec: dict[str, Any] | None = None
        if path is not None and path.exists():
            self.spec = json.loads(path.read_text(encoding="utf-8"))
        else:
            log.info(
                "stockx sandbox: no OpenAPI file at %s; requests not checked", path
            )
        self._routes: list[tuple[str, re.Pattern[str], dict[str, Any]]] = []
        for template, operations in (self.spec or {}).get("paths", {}).items():
            pattern = re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$")
            for method, operation in operations.items():
                self._routes.append((method.upper(), pattern, operation))

    @property
    def active(self) -> bool:
        return self.spec is not None

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema and self.spec is not None:
            node: Any = self.spec
            for part in schema["$ref"].lstrip("#/").split("/"):
                node = node[part]
            schema = node
        return schema

    def problems(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> list[str]:
        """Return what is wrong with a request (empty when fine or unknown)."""
        for route_method, pattern, operation in self._routes:
            if route_method == method and pattern.match(path):
                return self._check(operation, query, body)
        return []

    def _check(
        self, operation: dict[str, Any], query: dict[str, list[str]], body: Any
    ) -> list[str]:
        found: list[str] = []
        for parameter in operation.get("parameters", []):
            if parameter.get("in") != "query":
                continue
            name = parameter["name"]
            values = query.get(name)
            if not values:
                if parameter.get("required"):
                    found.append(f"{name} is required")
                continue
            found += self._query_value(name, values[0], parameter.get("schema", {}))
        content = (operation.get("requestBody") or {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
        if schema is not None:
            if body is None and (operation.get("requestBody") or {}).get("required"):
                found.append("a JSON body is required")
            elif body is not None:
                found += self.check_value(body, schema, "body")
        return found

    def _query_value(self, name: str, raw: str, schema: dict[str, Any]) -> list[str]:
        schema = self._resolve(schema)
        value: Any = raw
        if schema.get("type") == "integer":
            try:
                value = int(raw)
            except ValueError:
                return [f"{name} must be an integer"]
        return self.check_value(value, schema, name)

    def check_value(self, value: Any, schema: dict[str, Any], where: str) -> list[str]:
        schema = self._resolve(schema)
        if value is None:
            return [] if schema.get("nullable") else [f"{where} must not be null"]
        if "allOf" in schema:
            return [
                p
                for part in schema["allOf"]
                for p in self.check_value(value, part, where)
            ]
        if "anyOf" in schema:
            options = [self.check_value(value, part, where) for part in schema["anyOf"]]
            return [] if any(not option for option in options) else options[0]
        found: list[str] = []
        kind = schema.get("type")
        allowed = _TYPES.get(str(kind))
        if allowed and (
            not isinstance(value, allowed)
            or (kind != "boolean" and isinstance(value, bool))
        ):
            return [f"{where} must be of type {kind}"]
        if "enum" in schema and value not in schema["enum"]:
            found.append(
                f"{where} must be one of {', '.join(map(str, schema['enum']))}"
            )
        if isinstance(value, int | float) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                found.append(f"{where} must be at least {schema['minimum']}")
            if "maximum" in schema and value > schema["maximum"]:
                found.append(f"{where} must be at most {schema['maximum']}")
        if isinstance(value, str):
            if len(value) < schema.get("minLength", 0):
                found.append(f"{where} is too short")
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                found.append(f"{where} is too long")
        if isinstance(value, list):
            if "maxItems" in schema and len(value) > schema["maxItems"]:
                found.append(f"{where} has more than {schema['maxItems']} items")
            for index, item in enumerate(value):
                found += self.check_value(
                    item, schema.get("items", {}), f"{where}[{index}]"
                )
        if isinstance(value, dict):
            found += self._object(value, schema, where)
        return found

    def _object(
        self, value: dict[str, Any], schema: dict[str, Any], where: str
    ) -> list[str]:
        found = []
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                found.append(f"{where}.{name} is required")
        for name, item in value.items():
            if name in properties:
                found += self.check_value(item, properties[name], f"{where}.{name}")
            elif schema.get("additionalProperties") is False:
                found.append(f"{where}.{name} is not allowed")
        return found
