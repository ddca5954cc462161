"""Jupyter notebooks shown read-only, cell by cell, safe to display.

nbformat reads and validates the file. Each cell becomes sanitized HTML: Markdown cells through
the same renderer as comments; code as escaped text; outputs as escaped text, PNG/JPEG/GIF
plots as data URIs, and HTML outputs (pandas tables) through nh3 with table tags only. Nothing
a notebook carries can run in a reader's browser: no scripts, widgets or JavaScript outputs.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import html
import re
from typing import Any

import nbformat
import nh3

from hub.errors import InvalidInput, LimitExceeded
from hub.services.collaboration.markdown import render

MAX_BYTES = 20 * 1024 * 1024
MAX_CELLS = 2000
IMAGES = ("image/png", "image/jpeg", "image/gif")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TABLES = nh3.Cleaner(
    tags={
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "div",
        "p",
        "span",
        "br",
        "b",
        "i",
        "strong",
        "em",
        "code",
        "pre",
    },
    attributes={},
    url_schemes=set(),
)


@dataclasses.dataclass(frozen=True, slots=True)
class Cell:
    index: int
    kind: str  # markdown | code | raw
    source: str
    html: str  # the cell, rendered and sanitized (source and outputs)
    execution_count: int | None = None


def read(text: str) -> Any:
    """The notebook in ``text`` (nbformat 4), or InvalidInput saying what is wrong."""
    if len(text.encode()) > MAX_BYTES:
        raise LimitExceeded(f"The notebook is larger than {MAX_BYTES // 2**20} MB.", field="body")
    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except Exception as exc:  # nbformat raises JSON, validation and version errors alike
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(
            f"This is not a Jupyter notebook nbformat can read: {first}", field="body"
        ) from None
    if len(notebook.cells) > MAX_CELLS:
        raise LimitExceeded(f"The notebook has more than {MAX_CELLS:,} cells.", field="body")
    return notebook


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _pre(text: str) -> str:
    return f"<pre>{html.escape(_ANSI.sub('', text))}</pre>"


def _image(kind: str, data: Any) -> str:
    raw = _text(data).replace("\n", "")
    try:
        base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return ""
    return f'<img alt="plot" src="data:{kind};base64,{raw}">'


def _output(output: Any) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        return _pre(_text(output.get("text")))
    if kind == "error":
        return _pre("\n".join(_text(line) for line in output.get("traceback", [])))
    data = output.get("data", {})
    for image in IMAGES:
        if image in data:
            return _image(image, data[image])
    if "text/html" in data:
        return str(_TABLES.clean(_text(data["text/html"])))
    if "text/markdown" in data:
        return render(_text(data["text/markdown"]))
    if "text/plain" in data:
        return _pre(_text(data["text/plain"]))
    return ""


def cells(notebook: Any) -> list[Cell]:
    shown = []
    for index, cell in enumerate(notebook.cells):
        source = _text(cell.get("source"))
        if cell.cell_type == "markdown":
            body = render(source)
        elif cell.cell_type == "code":
            outputs = "".join(_output(o) for o in cell.get("outputs", []))
            body = f'<pre><code class="language-python">{html.escape(source)}</code></pre>'
            body += outputs
        else:
            body = _pre(source)
        shown.append(Cell(index, cell.cell_type, source, body, cell.get("execution_count")))
    return shown


def title_of(notebook: Any, fallback: str) -> str:
    """The first Markdown heading, or ``fallback``."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in _text(cell.source).splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()[:200] or fallback
    return fallback
