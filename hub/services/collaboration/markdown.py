"""Markdown people write (comments, pages) rendered as HTML that is safe to show anywhere.

markdown-it-py parses CommonMark with raw HTML turned off; nh3 (the Ammonia sanitizer) then
keeps only the tags and attributes below and only http, https and mailto links, so a
``javascript:`` link or a smuggled ``<script>`` never reaches a reader's browser. @mentions
outside code become ``<span class="mention">`` when they name someone the text mentions, and
references to objects (``[[run:NAME]]`` on wiki pages) ``<span class="reference">`` with the
words the caller gives for them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token

MENTION = re.compile(r"(?<![\w@/.+-])@([a-z0-9][a-z0-9._-]{0,63})", re.IGNORECASE)
TAGS = {
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "img",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "span",
}
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"style"},
    "td": {"style"},
}
_CLEANER = nh3.Cleaner(
    tags=TAGS,
    attributes=ATTRIBUTES,
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer nofollow",
    allowed_classes={"span": {"mention", "reference"}, "code": {"language-python", "language-sql"}},
    filter_style_properties={"text-align"},
)
_PARSER = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_PARSER.enable("strikethrough")


def _name(match: re.Match[str]) -> str:
    return match.group(1).rstrip(".-_").lower()  # "@ada." at a sentence's end names ada


def _texts(tokens: Iterable[Token]) -> Iterable[tuple[Token, int]]:
    """Text tokens outside code and links, with their place among their parent's children."""
    for token in tokens:
        if token.type != "inline" or not token.children:
            continue
        inside_link = 0
        for i, child in enumerate(token.children):
            if child.type == "link_open":
                inside_link += 1
            elif child.type == "link_close":
                inside_link -= 1
            elif child.type == "text" and not inside_link:
                yield token, i


def mentioned(body: str) -> list[str]:
    """The names @mentioned in ``body``, in order, each once (code is not read for them)."""
    names: dict[str, None] = {}
    for parent, i in _texts(_PARSER.parse(body)):
        assert parent.children is not None
        for match in MENTION.finditer(parent.children[i].content):
            names[_name(match)] = None
    return list(names)


def _split(text: str, names: frozenset[str], references: dict[str, str]) -> list[Token]:
    """The text as tokens: plain text, the mentions of ``names`` and the ``references``."""
    found: list[tuple[int, int, Token]] = []
    for match in MENTION.finditer(text):
        name = _name(match)
        if name in names:
            end = match.start() + len(name) + 1
            found.append(
                (match.start(), end, Token("mention", "span", 0, content=text[match.start() : end]))
            )
    for written, words in references.items():
        start = text.find(written)
        while start >= 0:
            end = start + len(written)
            found.append((start, end, Token("reference", "span", 0, content=words)))
            start = text.find(written, end)
    parts: list[Token] = []
    last = 0
    for start, end, token in sorted(found, key=lambda f: f[0]):
        if start < last:  # a mention inside a reference's name
            continue
        parts += [Token("text", "", 0, content=text[last:start]), token]
        last = end
    return [*parts, Token("text", "", 0, content=text[last:])] if parts else []


@functools.lru_cache(maxsize=2048)
def render(
    body: str,
    names: frozenset[str] = frozenset(),
    references: tuple[tuple[str, str], ...] = (),
) -> str:
    """``body`` as sanitized HTML; @mentions of ``names`` are marked up, and each text of
    ``references`` (as written, outside code and links) is replaced by its words."""
    tokens = _PARSER.parse(body)
    wanted = dict(references)
    for parent, i in reversed(list(_texts(tokens))):  # from the end: splicing keeps places
        assert parent.children is not None
        if parts := _split(parent.children[i].content, names, wanted):
            parent.children[i : i + 1] = parts
    return str(_CLEANER.clean(_PARSER.renderer.render(tokens, _PARSER.options, {})))


def _span(kind: str) -> Callable[[object, list[Token], int, object, object], str]:
    def rule(self: object, tokens: list[Token], idx: int, options: object, env: object) -> str:
        return f'<span class="{kind}">{escapeHtml(tokens[idx].content)}</span>'

    return rule


_PARSER.add_render_rule("mention", _span("mention"))
_PARSER.add_render_rule("reference", _span("reference"))


def plain(body: str, limit: int = 140) -> str:
    """A one-line excerpt of ``body`` for feeds and inboxes (Markdown left as typed)."""
    text = " ".join(body.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
