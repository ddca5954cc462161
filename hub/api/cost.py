"""A cost limit for GraphQL documents, as a validation rule (Strawberry has none built in).

Every field costs 1, times how many times it may be resolved: a list field counts as many
items as its ``first``/``limit`` argument asks for (the largest page when the argument is a
variable), or as :data:`ASSUMED_LIST` when it has none. A connection's page size applies to
its ``nodes``. A document whose estimate exceeds the limit is refused before anything runs,
with a message saying how to make it cheaper.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
)

ASSUMED_LIST = 20
PAGE_ARGUMENTS = ("first", "limit")
# Lists whose length is bounded by what they hold, not by a page: "Type.field" → at most.
BOUNDED_LISTS = {"Comment.reactions": 8}  # one entry per kind of reaction (comments.EMOJI)


def _unwrap(kind: Any) -> tuple[Any, bool]:
    is_list = False
    while isinstance(kind, GraphQLNonNull | GraphQLList):
        is_list = is_list or isinstance(kind, GraphQLList)
        kind = kind.of_type
    return kind, is_list


def cost_rule(max_cost: int, max_page: int) -> type[ValidationRule]:
    """A rule refusing documents estimated to cost more than ``max_cost``."""

    class CostLimit(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.context = context

        def _page(self, node: FieldNode) -> int | None:
            for argument in node.arguments or ():
                if argument.name.value in PAGE_ARGUMENTS:
                    if isinstance(argument.value, IntValueNode):
                        return max(0, int(argument.value.value))
                    if isinstance(argument.value, VariableNode):
                        return max_page
            return None

        def _selections(
            self,
            selection_set: SelectionSetNode | None,
            parent: GraphQLNamedType,
            pending: int | None,
            seen: frozenset[str],
        ) -> int:
            if selection_set is None:
                return 0
            total = 0
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    total += self._field(selection, parent, pending, seen)
                elif isinstance(selection, InlineFragmentNode):
                    kind = parent
                    if selection.type_condition is not None:
                        kind = (
                            self.context.schema.get_type(selection.type_condition.name.value)
                            or parent
                        )
                    total += self._selections(selection.selection_set, kind, pending, seen)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.context.get_fragment(name)
                    if fragment is None or name in seen:
                        continue
                    condition = self.context.schema.get_type(fragment.type_condition.name.value)
                    total += self._selections(
                        fragment.selection_set, condition or parent, pending, seen | {name}
                    )
            return total

        def _field(
            self,
            node: FieldNode,
            parent: GraphQLNamedType,
            pending: int | None,
            seen: frozenset[str],
        ) -> int:
            fields = getattr(parent, "fields", None)
            definition = fields.get(node.name.value) if fields else None
            if definition is None:  # __typename, or an unknown field another rule reports
                return 1
            kind, is_list = _unwrap(definition.type)
            page = self._page(node)
            multiplier, inherited = 1, None
            if is_list:
                bound = BOUNDED_LISTS.get(f"{parent.name}.{node.name.value}")
                multiplier = page if page is not None else pending or bound or ASSUMED_LIST
            elif page is not None:
                inherited = page  # a connection: its page size applies to its nodes
            inner = 0
            if isinstance(kind, GraphQLObjectType | GraphQLInterfaceType) or hasattr(kind, "types"):
                inner = self._selections(node.selection_set, kind, inherited, seen)
            return multiplier * (1 + inner)

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            root = self.context.schema.get_root_type(node.operation)
            if root is None:
                return
            cost = self._selections(node.selection_set, root, None, frozenset())
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"This query could cost about {cost:,} field reads; the limit is "
                        f"{max_cost:,}. Ask for fewer items per page (first/limit) or fewer "
                        "nested lists, and page with the cursor.",
                        node,
                    )
                )

    return CostLimit
