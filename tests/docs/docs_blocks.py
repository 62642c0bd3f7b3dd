"""Find the runnable Python blocks of a Markdown page (shared by the docs tests).

A block runs when its fence is exactly ```python (or ```py / ```pycon) at the start of a line.
Other fence languages (```bash, ```console, ```text, plain ```) never run. A Python block that must
not run (a long training, a file the reader has to supply) is preceded by the marker line

    <!-- docs: no-run -->

(an HTML comment, invisible on the rendered page). Blocks whose first line starts with ``>>>`` are
doctests: they run with :mod:`doctest`, so their shown outputs are checked too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

NO_RUN = "<!-- docs: no-run -->"
RUNNABLE = {"python", "py", "pycon"}
FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")


@dataclass(frozen=True)
class Block:
    """One fenced code block: its language, its code, where it starts and whether it runs."""

    language: str
    code: str
    line: int  # 1-based line of the opening fence
    runs: bool

    @property
    def is_doctest(self) -> bool:
        return self.code.lstrip().startswith(">>>")


def code_blocks(text: str) -> list[Block]:
    """All fenced blocks at the start of a line, in page order."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    previous = ""  # the last non-blank line before the current one
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            if lines[i].strip():
                previous = lines[i].strip()
            i += 1
            continue
        fence, info = match["fence"], match["info"].strip()
        language = info.split()[0].strip("{}.").lower() if info else ""
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not (
            lines[j].startswith(fence[0] * len(fence)) and not lines[j].strip(fence[0]).strip()
        ):
            body.append(lines[j])
            j += 1
        runs = language in RUNNABLE and previous != NO_RUN
        blocks.append(Block(language, "\n".join(body) + "\n", i + 1, runs))
        previous = ""
        i = j + 1
    return blocks


def python_blocks(path: Path) -> list[Block]:
    """The Python blocks of a page (running or marked no-run)."""
    return [b for b in code_blocks(path.read_text(encoding="utf-8")) if b.language in RUNNABLE]
