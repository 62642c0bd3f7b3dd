"""Every Python block of the documentation runs, so the docs cannot rot.

For each page under docs/ (the Chinese pages excepted, see below) the runnable blocks are executed
in page order, in one namespace per page, in a temporary working directory; ``>>>`` blocks run as
doctests, so their printed results are checked as well. What runs and what does not is decided by
``docs_blocks.py`` (fence language, and the ``<!-- docs: no-run -->`` marker).

The Chinese tutorials carry the same code as the English ones; instead of running it twice, the
test checks that each Chinese page's Python blocks are identical, in order, to its English twin.
"""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest
from docs_blocks import NO_RUN, Block, python_blocks

DOCS = Path(__file__).resolve().parents[2] / "docs"
ZH = DOCS / "zh"
ENGLISH_PAGES = sorted(p for p in DOCS.rglob("*.md") if ZH not in p.parents)
CHINESE_PAGES = sorted(ZH.rglob("*.md"))


def _page_id(path: Path) -> str:
    return str(path.relative_to(DOCS))


def _run_block(block: Block, namespace: dict, page: Path) -> None:
    name = f"{_page_id(page)}:{block.line}"
    if block.is_doctest:
        test = doctest.DocTestParser().get_doctest(block.code, namespace, name, str(page),
                                                   block.line - 1)
        runner = doctest.DocTestRunner(
            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
        )
        runner.run(test, clear_globs=False)
        namespace.update(test.globs)  # DocTest works on a copy of the namespace
        assert runner.failures == 0, f"{name}: doctest output differs (see the report above)"
    else:
        exec(compile(block.code, name, "exec"), namespace)


@pytest.mark.parametrize("page", ENGLISH_PAGES, ids=_page_id)
def test_docs_page_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    for block in python_blocks(page):
        if block.runs:
            _run_block(block, namespace, page)


@pytest.mark.parametrize("page", CHINESE_PAGES, ids=_page_id)
def test_docs_chinese_page_has_the_english_code(page: Path) -> None:
    twin = DOCS / page.relative_to(ZH)
    assert twin.is_file(), f"{_page_id(page)} has no English twin {_page_id(twin)}"
    chinese = [(b.code, b.runs) for b in python_blocks(page)]
    english = [(b.code, b.runs) for b in python_blocks(twin)]
    assert len(chinese) == len(english), (
        f"{_page_id(page)} has {len(chinese)} Python blocks, {_page_id(twin)} has {len(english)}"
    )
    for index, (zh_block, en_block) in enumerate(zip(chinese, english, strict=True), start=1):
        assert zh_block == en_block, (
            f"Python block {index} of {_page_id(page)} differs from the English page"
        )


def test_docs_block_finder_sees_markers_and_fences() -> None:
    text = "\n".join([
        "```python", "a = 1", "```",
        NO_RUN, "```python", "raise SystemExit", "```",
        "```bash", "rm -rf /", "```",
        "```python", ">>> 1 + 1", "2", "```",
        "```text", "output", "```",
    ])
    from docs_blocks import code_blocks

    blocks = code_blocks(text)
    assert [(b.language, b.runs, b.is_doctest) for b in blocks] == [
        ("python", True, False), ("python", False, False), ("bash", False, False),
        ("python", True, True), ("text", False, False),
    ]
    assert blocks[0].code == "a = 1\n" and blocks[0].line == 1


def test_docs_tutorials_exist_in_both_languages() -> None:
    english = {p.name for p in (DOCS / "tutorials").glob("*.md")}
    chinese = {p.name for p in (ZH / "tutorials").glob("*.md")}
    assert len(english) >= 6 and english == chinese
    nav = (DOCS.parent / "mkdocs.yml").read_text(encoding="utf-8")
    assert all(f"tutorials/{name}" in nav for name in english), "a tutorial missing from the nav"
