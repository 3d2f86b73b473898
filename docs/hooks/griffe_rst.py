"""A griffe extension for the API reference: the docstrings' Sphinx roles read as code spans.

passlens docstrings are Google style with a few Sphinx roles (``:func:`~passlens.curve```) and
``Example::`` literal blocks; mkdocstrings renders Markdown, so the roles become `` `curve` `` and
``::`` a colon (the indented block after it is already a Markdown code block). Indexing in prose
(``scores[S_g][None]``) would read as a Markdown reference link: its bracket is escaped.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import re

import griffe

sys.path.insert(0, str(Path(__file__).parent))
from passlens_docs import rst_to_markdown  # noqa: E402


_REF_LINK = re.compile(r"\]\[(\w+)\]")


def _escape_index(line: str) -> str:
    """``x[i][None]`` → ``x[i]\\[None]`` in prose lines (code: indented ≥ 4 or a doctest, kept)."""
    if line.startswith("    ") or line.lstrip().startswith(">>>") or "`" in line:
        return line
    return _REF_LINK.sub(r"]\\[\1]", line)


class RstRoles(griffe.Extension):
    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            text = rst_to_markdown(obj.docstring.value)
            obj.docstring.value = "\n".join(_escape_index(line) for line in text.split("\n"))
