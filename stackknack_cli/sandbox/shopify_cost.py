"""Shopify's calculated query cost, and the limits checked alongside it.

Rules from Shopify's rate-limit page: scalars and enums cost 0, objects 1, a connection
2 plus ``first``/``last`` times the cost of one item, each mutation field 10. Abstract
selections cost the most expensive of their possible types. The actual cost counts the
items a connection really returned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values

MAX_PAGE_SIZE = 250
MAX_INPUT_ARRAY = 250
MAX_SINGLE_QUERY_COST = 1000
MUTATION_COST = 10

_Parent = GraphQLObjectType | GraphQLInterfaceType


@dataclass
class Cost:
    requested: int = 0
    actual: int = 0
    errors: list[GraphQLError] = field(default_factory=list)


class CostCalculator:
    """Compute requested (before running) and actual (from the result) costs."""

    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Any,
    ) -> None:
        """``variables`` is what ``get_variable_values`` returned (not errors)."""
        self.schema = schema
        self.operation = operation
        self.fragments = fragments
        self.variables = variables
        self.errors: list[GraphQLError] = []

    def requested(self) -> int:
        """Return the requested cost; limit violations land in ``self.errors``."""
        root = self._root_type()
        if self.operation.operation == OperationType.MUTATION:
            fields = self._fields(self.operation.selection_set, root)
            for node, definition in fields:
                self._check_input_sizes(node, definition)
            return MUTATION_COST * len(fields)
        return self._selection_cost(self.operation.selection_set, root, None)

    def actual(self, data: Mapping[str, Any] | None) -> int:
        """Return the cost of what ``data`` (the execution result) really holds."""
        root = self._root_type()
        if self.operation.operation == OperationType.MUTATION:
            return MUTATION_COST * len(self._fields(self.operation.selection_set, root))
        if data is None:
            return 0
        return self._selection_cost(self.operation.selection_set, root, data)

    def _root_type(self) -> GraphQLObjectType:
        if self.operation.operation == OperationType.MUTATION:
            root = self.schema.mutation_type
        else:
            root = self.schema.query_type
        assert root is not None
        return root

    def _fields(
        self, selection_set: SelectionSetNode, parent: _Parent
    ) -> list[tuple[FieldNode, GraphQLField]]:
        found: list[tuple[FieldNode, GraphQLField]] = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                definition = parent.fields.get(selection.name.value)
                if definition is not None:
                    found.append((selection, definition))
            else:
                sub_set, sub_parent = self._fragment(selection, parent)
                found.extend(self._fields(sub_set, sub_parent))
        return found

    def _fragment(
        self, selection: Any, parent: _Parent
    ) -> tuple[SelectionSetNode, _Parent]:
        if isinstance(selection, FragmentSpreadNode):
            selection = self.fragments[selection.name.value]
        assert isinstance(selection, InlineFragmentNode | FragmentDefinitionNode)
        condition = selection.type_condition
        target = self.schema.get_type(condition.name.value) if condition else parent
        assert isinstance(target, GraphQLObjectType | GraphQLInterfaceType)
        return selection.selection_set, target

    def _selection_cost(
        self,
        selection_set: SelectionSetNode | None,
        parent: _Parent,
        data: Mapping[str, Any] | None,
    ) -> int:
        if selection_set is None:
            return 0
        common = 0
        per_type: dict[str, int] = {}
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                common += self._field_cost(selection, parent, data)
                continue
            sub_set, target = self._fragment(selection, parent)
            cost = self._selection_cost(sub_set, target, data)
            if target is parent:
                common += cost
            else:
                per_type[target.name] = per_type.get(target.name, 0) + cost
        return common + max(per_type.values(), default=0)

    def _field_cost(
        self, node: FieldNode, parent: _Parent, data: Mapping[str, Any] | None
    ) -> int:
        definition = parent.fields.get(node.name.value)
        if definition is None or node.name.value.startswith("__"):
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        if isinstance(named, GraphQLUnionType):
            # The unions served (a webhook's endpoint) hold scalars only: one object.
            return 1
        assert isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
        value = None if data is None else data.get(_key(node))
        if data is not None and value is None:
            return 0
        if named.name.endswith("Connection"):
            return self._connection_cost(node, definition, named, value)
        if data is None:
            self._check_input_sizes(node, definition)
        items = _as_items(definition, value)
        if items is None:
            multiplier = self._list_multiplier(node, definition)
            child = self._selection_cost(node.selection_set, named, None)
            return multiplier * (1 + child)
        costs = [
            1 + self._selection_cost(node.selection_set, named, item)
            for item in items
            if item is not None
        ]
        if self._list_multiplier(node, definition) == 1:
            # A plain list (quantities, changes) is charged once, like one object.
            return max(costs, default=0)
        return sum(costs)

    def _connection_cost(
        self,
        node: FieldNode,
        definition: GraphQLField,
        connection: _Parent,
        value: Mapping[str, Any] | None,
    ) -> int:
        if value is None:
            size = self._page_size(node, definition)
            return 2 + size * self._item_cost(node, connection, None, 0)
        lists = [
            value.get(_key(child)) or [] for child, _ in self._items(node, connection)
        ]
        count = max((len(items) for items in lists), default=0)
        return 2 + sum(
            self._item_cost(node, connection, value, i) for i in range(count)
        )

    def _items(
        self, node: FieldNode, connection: _Parent
    ) -> list[tuple[FieldNode, GraphQLField]]:
        selection = node.selection_set or SelectionSetNode(selections=())
        return [
            (child, definition)
            for child, definition in self._fields(selection, connection)
            if child.name.value in ("edges", "nodes")
        ]

    def _item_cost(
        self,
        node: FieldNode,
        connection: _Parent,
        value: Mapping[str, Any] | None,
        index: int,
    ) -> int:
        # An item costs the dearer of its two spellings: edges { node } or nodes.
        best = 0
        for child, definition in self._items(node, connection):
            named = get_named_type(definition.type)
            assert isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
            item = None
            if value is not None:
                items = value.get(_key(child)) or []
                if index >= len(items):
                    continue
                item = items[index]
            cost = self._selection_cost(child.selection_set, named, item)
            if child.name.value == "nodes":
                cost += 1
            best = max(best, cost)
        return best

    def _page_size(self, node: FieldNode, definition: GraphQLField) -> int:
        args = get_argument_values(definition, node, self.variables)
        first, last = args.get("first"), args.get("last")
        if first is None and last is None:
            self._error(node, "you must provide one of first or last")
            return 0
        if first is not None and last is not None:
            self._error(node, "providing both first and last is not supported")
        size = first if first is not None else last
        assert isinstance(size, int)
        argument = "first" if first is not None else "last"
        if size > MAX_PAGE_SIZE:
            self._error(node, f"{argument} cannot exceed {MAX_PAGE_SIZE}")
        if size < 0:
            self._error(node, f"{argument} cannot be negative")
        return max(size, 0)

    def _list_multiplier(self, node: FieldNode, definition: GraphQLField) -> int:
        if not _is_list(definition) or node.name.value != "nodes":
            return 1
        ids = get_argument_values(definition, node, self.variables).get("ids") or []
        return len(ids)

    def _check_input_sizes(self, node: FieldNode, definition: GraphQLField) -> None:
        args = get_argument_values(definition, node, self.variables)
        for size in _array_sizes(args):
            if size > MAX_INPUT_ARRAY:
                self.errors.append(
                    GraphQLError(
                        f"The input array size of {size} is greater than the maximum "
                        f"allowed of {MAX_INPUT_ARRAY}.",
                        node,
                        extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"},
                    )
                )

    def _error(self, node: FieldNode, message: str) -> None:
        self.errors.append(GraphQLError(message, node))


def _key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


def _is_list(definition: GraphQLField) -> bool:
    field_type = definition.type
    if isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    return isinstance(field_type, GraphQLList)


def _as_items(definition: GraphQLField, value: Any) -> list[Any] | None:
    if value is None:
        return None
    if _is_list(definition) and isinstance(value, list):
        return value
    return [value]


def _array_sizes(value: Any) -> list[int]:
    if isinstance(value, Mapping):
        return [size for item in value.values() for size in _array_sizes(item)]
    if isinstance(value, Sequence) and not isinstance(value, str):
        nested = [size for item in value for size in _array_sizes(item)]
        return [len(value), *nested]
    return []
