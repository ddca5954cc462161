"""The GraphQL schema: feature modules composed into one Query and one Mutation."""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import ASTValidationRule, DocumentNode, GraphQLSchema
from graphql.error import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.name_converter import NameConverter
from strawberry.schema.schema import validate_document

from hub import __version__
from hub.api.audit import AuditQueries
from hub.api.bookings import BookingMutations, BookingQueries
from hub.api.cluster import ClusterMutations, ClusterQueries
from hub.api.cost import cost_rule
from hub.api.datasets import DatasetMutations, DatasetQueries
from hub.api.discussions import (
    DigestMutations,
    DigestQueries,
    DiscussionMutations,
    DiscussionQueries,
)
from hub.api.erasures import ErasureMutations, ErasureQueries
from hub.api.execution import PlainFieldsExecution, lean_resolvers
from hub.api.holds import HoldMutations, HoldQueries
from hub.api.lineage import LineageMutations
from hub.api.live import Subscription
from hub.api.metrics import FLOAT_LIST, FloatList, MetricQueries
from hub.api.model_cards import ModelCardMutations, ModelCardQueries
from hub.api.models import ModelMutations, ModelQueries
from hub.api.pages import PageMutations, PageQueries
from hub.api.people import PeopleMutations, PeopleQueries
from hub.api.privacy import PrivacyMutations
from hub.api.projects import ProjectQueries
from hub.api.retention import RetentionMutations, RetentionQueries
from hub.api.reviews import ReviewMutations, ReviewQueries
from hub.api.runs import RunMutations, RunQueries
from hub.api.share_links import ShareLinkMutations, ShareLinkQueries
from hub.api.tasks import TaskMutations, TaskQueries
from hub.api.trash import TrashMutations, TrashQueries
from hub.api.webhooks import WebhookMutations, WebhookQueries
from hub.errors import SalonError
from hub.logs import name_operation
from hub.settings import Settings

log = logging.getLogger("salon.graphql")


@strawberry.type(description="Everything you can read.")
class Query(
    ProjectQueries,
    RunQueries,
    MetricQueries,
    DatasetQueries,
    DiscussionQueries,
    DigestQueries,
    TaskQueries,
    PageQueries,
    ClusterQueries,
    BookingQueries,
    ModelQueries,
    ModelCardQueries,
    ReviewQueries,
    WebhookQueries,
    ShareLinkQueries,
    PeopleQueries,
    AuditQueries,
    TrashQueries,
    HoldQueries,
    ErasureQueries,
    RetentionQueries,
):
    @strawberry.field(description="The hub's version.")
    def version(self) -> str:
        return __version__


@strawberry.type(description="Everything you can change.")
class Mutation(
    RunMutations,
    DatasetMutations,
    LineageMutations,
    DiscussionMutations,
    DigestMutations,
    TaskMutations,
    PageMutations,
    ClusterMutations,
    BookingMutations,
    ModelMutations,
    ModelCardMutations,
    ReviewMutations,
    WebhookMutations,
    ShareLinkMutations,
    PeopleMutations,
    TrashMutations,
    HoldMutations,
    PrivacyMutations,
    ErasureMutations,
    RetentionMutations,
):
    pass


def _is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    if error.path is None and error.message.startswith("Variable '$"):
        return False  # a variable of the wrong shape (an unknown enum value): the caller's to fix
    return original is not None and not isinstance(original, SalonError)


class MaskUnexpectedErrors(MaskErrors):
    """Hide unexpected errors from clients; log each once with an id the client is shown."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=_is_unexpected)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        error_id = secrets.token_hex(4)
        log.error(
            "unexpected error %s at %s",
            error_id,
            error.path,
            exc_info=error.original_error,
        )
        self.error_message = f"Unexpected error (id {error_id}); the hub's log has the details."
        return super().anonymise_error(error)


class NamedInAccessLog(SchemaExtension):
    """The operation's name (``query SearchRuns``) goes on the request's access line."""

    def on_execute(self) -> Iterator[None]:
        name = self.execution_context.operation_name
        if name:
            name_operation(name)
        yield


class SalonSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: object = None) -> None:
        # Expected failures are the caller's business; unexpected ones are logged by the
        # masking extension with their id.
        return None


class SyntaxSafeParserCache(ParserCache):
    """Strawberry's parser cache, but a document that does not parse is left to Strawberry's
    own parse, which answers with the syntax error: raised from the cache, it escaped the
    subscription handler (logged as unhandled, and the client got a bare ``complete``)."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        try:
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        except GraphQLError:
            context.graphql_document = None
        yield


class ValidationByText(SchemaExtension):
    """Strawberry's ``ValidationCache``, keyed by the document's text. Strawberry keys its
    cache by the parsed document, and graphql-core's syntax nodes are dataclasses hashed node
    by node on every request (75 nodes for a three-line query), while a text keeps its hash.
    The parser cache gives the same document for the same text, so both keys say the same. A
    document given already parsed (no text) is validated by itself, uncached."""

    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self._validate = functools.lru_cache(maxsize=maxsize)(_validate_text)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            schema, rules = context.schema._schema, context.validation_rules
            if context.query is None:
                context.pre_execution_errors = validate_document(schema, document, rules)
            else:
                context.pre_execution_errors = self._validate(
                    schema, _Text(context.query, document), rules
                )
        yield


class KeptNames(NameConverter):
    """Strawberry's names, each converted once: it turns every argument's Python name into
    its GraphQL name again on every call of a resolver with arguments."""

    def __init__(self) -> None:
        super().__init__()
        self._names: dict[str, str] = {}

    def apply_naming_config(self, name: str) -> str:
        converted = self._names.get(name)
        if converted is None:
            converted = self._names[name] = super().apply_naming_config(name)
        return converted


class _Text:
    """A document, equal to another (and hashed) by the text it was parsed from."""

    __slots__ = ("document", "text")

    def __init__(self, text: str, document: DocumentNode) -> None:
        self.text = text
        self.document = document

    def __hash__(self) -> int:
        return hash(self.text)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Text) and other.text == self.text


def _validate_text(
    schema: GraphQLSchema, text: _Text, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    return validate_document(schema, text.document, rules)


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    """The schema with its limits (depth, aliases, tokens, cost) and error masking. It is
    built once per process for the same limits (building takes 0.1-0.2 s): it holds no state
    of the app it serves, which each request's context carries."""
    settings = settings or Settings()
    return _built(
        settings.graphql_max_depth,
        settings.graphql_max_aliases,
        settings.graphql_max_tokens,
        settings.graphql_max_cost,
        settings.max_page_size,
        settings.production,
    )


@functools.cache
def _built(
    max_depth: int,
    max_aliases: int,
    max_tokens: int,
    max_cost: int,
    max_page_size: int,
    production: bool,
) -> strawberry.Schema:
    extensions: list[Any] = [
        QueryDepthLimiter(max_depth=max_depth),
        MaxAliasesLimiter(max_alias_count=max_aliases),
        MaxTokensLimiter(max_token_count=max_tokens),
        # Clients send the same few documents with new variables: parse and validate once.
        SyntaxSafeParserCache(maxsize=512),
        ValidationByText(maxsize=512),
        AddValidationRules([cost_rule(max_cost, max_page_size)]),
        MaskUnexpectedErrors,
        NamedInAccessLog,
    ]
    if production:
        extensions.append(DisableIntrospection())
    schema = SalonSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        scalar_overrides={FloatList: FLOAT_LIST},
        execution_context_class=PlainFieldsExecution,
        config=StrawberryConfig(disable_field_suggestions=production, name_converter=KeptNames()),
    )
    lean_resolvers(schema)
    return schema


def sdl() -> str:
    """The schema in SDL, as checked in at schema/hub.graphql."""
    return build_schema().as_str() + "\n"
