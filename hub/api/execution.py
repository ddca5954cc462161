"""GraphQL execution with a short way for plain fields.

graphql-core completes every field the same way: a path, a resolve-info tuple, the resolver,
then the value's completion, several calls deep. Most of Salon's answers are long lists of
small objects (a runs page is 50 runs of params, tags and metric summaries) whose fields are
attributes read as they are: Strawberry marks such a field's resolver as its default one
(``_is_default``) and never looks at the info it is given. Profiled, that machinery was most
of a runs page's time in the hub.

``PlainFieldsExecution`` reads those fields directly. A plain field has no arguments, no
directives, and a resolver that needs no info: Strawberry's default one, or a lean one (below).
It is

- a leaf: a scalar or an enum, coerced as graphql-core coerces it;
- ``__typename``;
- an object, or a list of objects, none with a type check of its own and every selected field
  of which is plain in turn (a run with its params, tags and metric summaries).

An object whose selected fields are all plain is built as a dict in one loop, a list of them in
one comprehension. Any other field goes through graphql-core as before, and so does any object
or list where the short way meets something it does not expect (a null, a value its scalar
refuses, a resolver that raises): that object is then completed again by graphql-core, which
raises the error it always raised. Default resolvers only read attributes, so reading them twice
changes nothing; a lean method is called again, which is why only methods that compute their
answer from ``self`` should take nothing but ``self``.

Without middleware only: a schema extension that wraps every resolver sees every field.

``lean_resolvers`` shortens the other common case, a method of the type that takes nothing but
``self`` (``RunType.params``): Strawberry calls it through its own steps (an ``Info``, its
arguments converted, its field extensions chained) even when there is nothing to do; the lean
resolver calls the method with the source, and graphql-core does the rest as before.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, cast

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLString,
    Undefined,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path
from strawberry import Schema
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.fields.resolver import StrawberryResolver

# Scalars that give a str back as it is.
TEXT = (GraphQLString, GraphQLID)

# (response name, the field's resolver, what it is read as, whether it may be null, how to read
# it): what it is read as is a leaf type, the plan of an object or of a list's items, or the
# type's name for __typename; how to read it is one of the readers below.
PlainField = tuple[str, Any, Any, bool, Callable[..., Any]]


class NotPlain(Exception):
    """The short way met a value it does not complete itself."""


class PlainFieldsExecution(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, with plain fields read without graphql-core's steps."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Keyed by the identity of a grouped field set, kept alive beside its plan (as
        # graphql-core memoizes collected subfields) so that the id is not reused.
        self._plans: dict[int, tuple[GroupedFieldSet, list[PlainField] | None]] = {}
        self._fields: dict[int, tuple[FieldDetailsList, PlainField | None]] = {}

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        plan = self._plan(parent_type, grouped_field_set)
        if plan is not None:
            try:
                return plain_object(plan, source_value)
            except NotPlain:
                pass
        return super().execute_fields(
            parent_type, source_value, path, grouped_field_set, position_context
        )

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        kept = self._fields.get(id(field_details_list))
        if kept is None:
            name = field_details_list[0].node.name.value
            kept = (field_details_list, self._plain_field(parent_type, name, field_details_list))
            self._fields[id(field_details_list)] = kept
        plain = kept[1]
        if plain is not None and source is not None:
            try:
                return plain[4](plain, source)
            except NotPlain:
                pass
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        item_type = return_type.of_type
        if isinstance(item_type, GraphQLNonNull):
            item_type = item_type.of_type
        if (
            isinstance(result, list | tuple)
            and is_object_type(item_type)
            and item_type.is_type_of is None
            and not any(details.node.directives for details in field_details_list)
        ):
            grouped_field_set, deferred, _ = self.collect_subfields(item_type, field_details_list)
            plan = None if deferred else self._plan(item_type, grouped_field_set)
            if plan is not None:
                try:
                    return [plain_object(plan, item) for item in result]
                except NotPlain:
                    pass
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> list[PlainField] | None:
        """How to read every field of the set directly, or None if one is not plain."""
        kept = self._plans.get(id(grouped_field_set))
        if kept is not None:
            return kept[1]
        plan: list[PlainField] | None = []
        for name, field_details_list in grouped_field_set.items():
            plain = self._plain_field(parent_type, name, field_details_list)
            if plain is None:
                plan = None
                break
            plan.append(plain)  # type: ignore[union-attr]
        self._plans[id(grouped_field_set)] = (grouped_field_set, plan)
        return plan

    def _plain_field(
        self, parent_type: GraphQLObjectType, name: str, field_details_list: FieldDetailsList
    ) -> PlainField | None:
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            return None
        node = field_details_list[0].node
        if node.name.value == "__typename":
            return (name, None, parent_type.name, False, typename)
        field = self.schema.get_field(parent_type, node.name.value)
        if field is None or field.args or node.arguments:
            return None
        read_from = reader(field)
        if read_from is None:
            return None
        kind = field.type
        nullable = not isinstance(kind, GraphQLNonNull)
        if isinstance(kind, GraphQLNonNull):
            kind = kind.of_type
        if isinstance(kind, GraphQLScalarType | GraphQLEnumType):
            return (name, read_from, kind, nullable, plain_value)
        if any(details.node.directives for details in field_details_list):
            return None
        read: Callable[..., Any] = plain_nested_object
        if isinstance(kind, GraphQLList):
            kind, read = kind.of_type, plain_nested_list
            if isinstance(kind, GraphQLNonNull):
                kind = kind.of_type
        if not is_object_type(kind) or kind.is_type_of is not None:
            return None
        grouped_field_set, deferred, _ = self.collect_subfields(kind, field_details_list)
        plan = None if deferred else self._plan(kind, grouped_field_set)
        if plan is None:
            return None
        return (name, read_from, plan, nullable, read)


def reader(field: GraphQLField) -> Callable[[Any], Any] | None:
    """How to read a field from its source without an info: the attribute itself where
    Strawberry's default resolver would read it with ``getattr``, the method where a lean
    resolver would call it; None if the field's resolver needs more."""
    lean = getattr(field.resolve, LEAN, None)
    if lean is not None:
        return cast(Callable[[Any], Any], lean)
    if not getattr(field.resolve, "_is_default", False):
        return None
    definition = (field.extensions or {}).get("strawberry-definition")
    if definition is not None and definition.default_resolver is getattr:
        return operator.attrgetter(definition.python_name)
    return cast(Callable[[Any], Any], field.resolve)  # it takes the source alone too


def plain_object(plan: list[PlainField], source: Any) -> dict[str, Any]:
    """The object's fields, read and completed as graphql-core would; NotPlain otherwise."""
    if source is None:
        raise NotPlain
    return {field[0]: field[4](field, source) for field in plan}


def resolved(field: PlainField, source: Any) -> Any:
    """What the field's resolver gives for the source; NotPlain if it raises."""
    try:
        return field[1](source)
    except Exception as error:
        raise NotPlain from error


def plain_value(field: PlainField, source: Any) -> Any:
    """One leaf field of the source, coerced by its type; NotPlain where graphql-core would
    raise or must decide (a null in a non-null field)."""
    _, resolve, kind, nullable, _ = field
    try:
        value = resolve(source)
    except Exception as error:
        raise NotPlain from error
    if value is None:
        if nullable:
            return None
        raise NotPlain
    if type(value) is str and kind in TEXT:
        return value  # what graphql-core's String and ID give back for a str
    if isinstance(value, Exception):
        raise NotPlain
    try:
        coerced = kind.coerce_output_value(value)
    except Exception as error:
        raise NotPlain from error
    if coerced is None or coerced is Undefined:
        raise NotPlain
    return coerced


def typename(field: PlainField, source: Any) -> str:
    return str(field[2])


def plain_nested_object(field: PlainField, source: Any) -> dict[str, Any] | None:
    """An object field whose selected fields are all plain."""
    value = resolved(field, source)
    if value is None and field[3]:
        return None
    return plain_object(field[2], value)


def plain_nested_list(field: PlainField, source: Any) -> list[dict[str, Any]] | None:
    """A list of objects whose selected fields are all plain: a null item (even where the list
    allows one) is left to graphql-core."""
    value = resolved(field, source)
    if value is None and field[3]:
        return None
    if not isinstance(value, list | tuple):
        raise NotPlain
    plan = field[2]
    return [plain_object(plan, item) for item in value]


def lean_resolvers(schema: Schema) -> int:
    """Give every field whose resolver is a method taking only ``self`` (no arguments, no
    info, no field extensions such as permissions, not async) a resolver that calls it
    directly; how many fields. Nothing changes where the schema converts exceptions to
    results (Strawberry's exception handlers run inside its own resolver)."""
    if schema.exception_handlers:
        return 0
    count = 0
    for kind in schema._schema.type_map.values():
        if not isinstance(kind, GraphQLObjectType) or kind.name.startswith("__"):
            continue
        for field in kind.fields.values():
            definition = (field.extensions or {}).get("strawberry-definition")
            resolver = getattr(definition, "base_resolver", None)
            if definition is None or resolver is None or field.args:
                continue
            if definition.extensions or definition.arguments:
                continue
            if resolver.is_async or len(resolver.signature.parameters) != 1:
                continue
            if resolver.self_parameter is None or definition.is_subscription:
                continue
            field.resolve = _lean(resolver)
            count += 1
    return count


# Where a lean resolver keeps its method, which the short way calls with the source alone.
LEAN = "_salon_lean"


def _lean(resolver: StrawberryResolver[Any]) -> Any:
    def resolve(source: Any, info: Any) -> Any:
        return resolver(source)

    setattr(resolve, LEAN, resolver.wrapped_func)
    return resolve
