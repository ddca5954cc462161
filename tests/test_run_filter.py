"""The filter language parses into a tree and refuses what it cannot read, with a reason."""

from __future__ import annotations

import pytest

from hub.errors import FilterSyntaxError
from hub.run_filter import And, Comparison, Field, Not, Or, parse_filter, parse_sort


def test_issue_example_parses_into_a_tree() -> None:
    tree = parse_filter("metrics.val_acc > 0.8 and params.lr = '0.01' and tags.team = 'vision'")
    assert tree == And(
        (
            Comparison(Field("metric", "val_acc"), ">", 0.8),
            Comparison(Field("param", "lr"), "=", "0.01"),
            Comparison(Field("tag", "team"), "=", "vision"),
        )
    )


def test_precedence_not_and_or_and_parentheses() -> None:
    tree = parse_filter("status = 'failed' or not name like 'x%' and metrics.loss < 1")
    assert isinstance(tree, Or)
    assert isinstance(tree.items[1], And)
    assert isinstance(tree.items[1].items[0], Not)
    grouped = parse_filter("(status = 'failed' or status = 'killed') and user = 'ana'")
    assert isinstance(grouped, And) and isinstance(grouped.items[0], Or)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("metrics.`val/loss` < 0.5", Field("metric", "val/loss")),
        ("metrics.val/loss < 0.5", Field("metric", "val/loss")),
        ("params.optimizer.lr = '0.1'", Field("param", "optimizer.lr")),
        ("attributes.status = 'running'", Field("attribute", "status")),
        ("STATUS = 'running'", Field("attribute", "status")),
    ],
)
def test_field_spellings(text: str, field: Field) -> None:
    tree = parse_filter(text)
    assert isinstance(tree, Comparison)
    assert tree.field == field


def test_in_lists_null_checks_and_keywords_inside_names() -> None:
    tree = parse_filter("status in ('finished', 'failed') and tags.owner is not null")
    assert isinstance(tree, And)
    assert tree.items[0] == Comparison(Field("attribute", "status"), "in", ("finished", "failed"))
    assert tree.items[1] == Comparison(Field("tag", "owner"), "is not", None)
    # "android" starts with "and" but is one word.
    assert parse_filter("tags.android = 'yes'") == Comparison(Field("tag", "android"), "=", "yes")


def test_blank_means_no_filter() -> None:
    assert parse_filter(None) is None
    assert parse_filter("   ") is None


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("metrics.acc >", "ends too early"),
        ("metrics.acc > 0.5 and", "ends too early"),
        ("colour = 'red'", "Unknown field 'colour'"),
        ("metrics.acc = 'high'", "compares with numbers"),
        ("name = 'a'; DROP TABLE runs", "unexpected character ';'"),
        ("name = 'unterminated", "Could not read the filter"),
        ("metrics. > 1", "Could not read the filter"),
    ],
)
def test_bad_filters_say_what_is_wrong(text: str, needle: str) -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter(text)
    assert needle in caught.value.message


def test_oversized_filters_are_refused() -> None:
    with pytest.raises(FilterSyntaxError, match="longer than"):
        parse_filter("name = '" + "x" * 5000 + "'")
    with pytest.raises(FilterSyntaxError, match="more than 64 comparisons"):
        parse_filter(" or ".join(f"metrics.m{i} > {i}" for i in range(70)))


def test_sort_keys() -> None:
    keys = parse_sort(["metrics.`val/acc` desc", "name", "params.lr ASC"])
    assert [(k.field, k.descending) for k in keys] == [
        (Field("metric", "val/acc"), True),
        (Field("attribute", "name"), False),
        (Field("param", "lr"), False),
    ]
    with pytest.raises(FilterSyntaxError, match="sort order"):
        parse_sort(["metrics.acc sideways"])
