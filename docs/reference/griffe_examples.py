"""A Griffe extension for the API reference: read ``Example:`` sections as ``Examples:``.

rnnkit's docstrings head their doctests ``Example:``. Griffe's Google parser only treats the plural
``Examples:`` as runnable examples (rendered as code); the singular becomes an admonition whose
``>>>`` lines Markdown would read as nested block quotes. Renaming the heading when the docs are
built keeps the sources untouched and renders every example as Python code.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

EXAMPLE_HEADING = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    """Rewrite ``Example:`` headings to ``Examples:`` in every docstring."""

    def on_object(self, *, obj: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = EXAMPLE_HEADING.sub(r"\1Examples:", obj.docstring.value)
