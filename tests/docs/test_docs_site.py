"""The site builds with ``mkdocs build --strict`` and loads nothing from other servers.

Also: every picture a page shows exists under docs/img/, is a PNG under 150 KB, and every PNG in
docs/img/ is shown somewhere.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
IMAGE_LINK = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
# Attributes and CSS that make a browser fetch something (not plain <a href> links to other sites).
EXTERNAL_ASSET = re.compile(
    r"""<(?:script|img|iframe|source|audio|video)\b[^>]*\bsrc=["']?(?:https?:)?//"""
    r"""|<link\b[^>]*\bhref=["']?(?:https?:)?//"""
    r"""|url\(\s*["']?(?:https?:)?//"""
    r"""|@import\s+["'](?:https?:)?//""",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    mkdocs = Path(sys.executable).with_name("mkdocs")
    command = [str(mkdocs)] if mkdocs.exists() else [sys.executable, "-m", "mkdocs"]
    result = subprocess.run(
        [*command, "build", "--strict", "--site-dir", str(out)], cwd=REPO, capture_output=True,
        text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_docs_site_builds_strict(site: Path) -> None:
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    for page in ["index.html", "zh/index.html", "tutorials/scratch_sentiment.html",
                 "zh/tutorials/scratch_sentiment.html", "reference/nn.html"]:
        assert page in pages
    reference = (site / "reference" / "nn.html").read_text(encoding="utf-8")
    assert 'id="rnnkit.nn.LSTM"' in reference  # rendered from the docstrings
    # Docstring examples (">>>") render as highlighted code, not as nested block quotes.
    assert "&gt;&gt;&gt;" in reference and "<blockquote>" not in reference


def test_docs_site_loads_no_external_assets(site: Path) -> None:
    offenders = []
    for path in site.rglob("*"):
        if path.suffix in {".html", ".css"}:
            for match in EXTERNAL_ASSET.finditer(
                path.read_text(encoding="utf-8", errors="replace")
            ):
                offenders.append(f"{path.relative_to(site)}: {match.group(0)}")
    assert not offenders, "\n".join(offenders[:20])


def test_docs_images_exist_are_small_and_used() -> None:
    shown = set()
    for page in DOCS.rglob("*.md"):
        for target in IMAGE_LINK.findall(page.read_text(encoding="utf-8")):
            assert not target.startswith(("http:", "https:", "//")), (
                f"{page}: external image {target}"
            )
            path = (page.parent / target).resolve()
            assert path.is_file(), f"{page.relative_to(DOCS)} shows {target}, which does not exist"
            shown.add(path)
    images = set((DOCS / "img").glob("*.png"))
    assert images, "docs/img/ holds the tutorials' pictures"
    for image in images:
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{image.name} is not a PNG"
        assert image.stat().st_size < 150_000, f"{image.name} is {image.stat().st_size} bytes"
    assert images <= shown, f"pictures no page shows: {sorted(p.name for p in images - shown)}"


def test_docs_make_images_runs_the_same_blocks_as_the_tests() -> None:
    """docs/make_images.py draws the pictures by running the pages: the same blocks the tests run.
    """
    import importlib.util

    from docs_blocks import python_blocks

    spec = importlib.util.spec_from_file_location("make_images", DOCS / "make_images.py")
    assert spec is not None and spec.loader is not None
    make_images = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_images)
    for page, names in make_images.PAGES.items():
        path = DOCS / page
        expected = [b.code for b in python_blocks(path) if b.runs]
        assert make_images.python_blocks(path.read_text(encoding="utf-8")) == expected, page
        code = "".join(expected)
        for name in names:  # the page's own code writes every picture the script copies
            assert f'"{name}"' in code, f"{page} does not save {name}"
