"""rnnkit.data.catalog: every shipped dataset round-trips to the plain files its SOURCE.txt
describes (sha256, rows); train and test files never share a row; generated sets are a function
of their seed; refusals leave files untouched."""

from __future__ import annotations

import hashlib
import re
from fnmatch import fnmatch
from pathlib import Path

import pytest
import tomllib

from rnnkit.data.catalog import (
    MAX_DATE_ROWS,
    SOURCE_FILE,
    dataset_info,
    list_datasets,
    write_dataset,
)
from rnnkit.data.datasets import bundled_path
from rnnkit.data.toy_pairs import DATE_SPAN_DAYS
from rnnkit.errors import ConfigError, DataError

REPO = Path(__file__).resolve().parents[2]
SHIPPED = [d.name for d in list_datasets() if not d.generated]


def data_rows(path: Path) -> list[str]:
    """One entry per data row: lines after ``@data`` (.ts), else lines minus a header line."""
    # Lines end at LF (or CRLF) only: a sentence may hold characters str.splitlines breaks at.
    text = path.read_bytes().decode("utf-8").replace("\r\n", "\n")
    lines = text.removesuffix("\n").split("\n")
    if "@data" in lines:
        return lines[lines.index("@data") + 1:]
    if path.name == "input.txt" or path.suffix == ".tsv":  # no header line
        return lines
    return lines[1:]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("datasets")
    for name in SHIPPED:
        write_dataset(name, root / name)
    return {name: root / name for name in SHIPPED}


@pytest.mark.parametrize("name", SHIPPED)
def test_written_files_are_the_ones_source_txt_lists(written: dict[str, Path], name: str) -> None:
    source = (written[name] / SOURCE_FILE).read_text(encoding="utf-8")
    assert source == (bundled_path(name) / SOURCE_FILE).read_text(encoding="utf-8")
    for file in dataset_info(name).files:
        path = written[name] / file.name
        if file.rows == 0:  # the authors' readme: kept, not data
            assert path.stat().st_size > 0
            continue
        listed = re.search(
            rf"^\s+{re.escape(file.name)}\s+(\d+) rows\s+(\d+) bytes\s+sha256=([0-9a-f]{{64}})",
            source, re.MULTILINE,
        )
        assert listed, f"{name}/SOURCE.txt does not list {file.name} with rows, bytes, sha256"
        rows, size, digest = int(listed[1]), int(listed[2]), listed[3]
        assert (rows, path.stat().st_size) == (file.rows, size)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
        assert len(data_rows(path)) == rows


def test_catalog_rows_add_up_and_names_are_unique() -> None:
    names = [d.name for d in list_datasets()]
    assert len(names) == len(set(names)) and "dates" in names
    assert dataset_info("japanese_vowels").rows == 270 + 370
    assert dataset_info("tiny_shakespeare").rows == 40000


@pytest.mark.parametrize("name", [d.name for d in list_datasets()
                                  if {f.role for f in d.files} >= {"train", "test"}])
def test_train_and_test_files_share_no_row(name: str, tmp_path: Path) -> None:
    files = {f.role: tmp_path / f.name for f in dataset_info(name).files}
    write_dataset(name, tmp_path, **({"rows": 2000} if dataset_info(name).generated else {}))
    train, test = (set(data_rows(files[r])) for r in ("train", "test"))
    assert train and test and not train & test
    if name == "dates":  # no date is in both files, whatever its written form
        dates = [{line.split("\t")[1] for line in rows} for rows in (train, test)]
        assert not dates[0] & dates[1]


def test_dates_follow_seed_and_rows(tmp_path: Path) -> None:
    a = write_dataset("dates", tmp_path / "a", rows=50, seed=7)
    b = write_dataset("dates", tmp_path / "b", rows=50, seed=7)
    c = write_dataset("dates", tmp_path / "c", rows=50, seed=8)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert a[0].read_bytes() != c[0].read_bytes()
    lines = a[0].read_text().splitlines()
    assert len(lines) == 50 and len(a[1].read_text().splitlines()) == 5
    source, target = lines[0].split("\t")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", target) and source != target
    assert "--rows 50 --seed 7" in a[2].read_text()
    assert MAX_DATE_ROWS + MAX_DATE_ROWS // 10 <= DATE_SPAN_DAYS
    for rows in (0, MAX_DATE_ROWS + 1):
        with pytest.raises(ConfigError, match=f"--rows {rows}: give 1 to {MAX_DATE_ROWS}"):
            write_dataset("dates", tmp_path / "d", rows=rows)


def test_refusals_write_nothing_and_force_replaces(tmp_path: Path) -> None:
    mine = tmp_path / "test.tsv"
    mine.write_text("my own file\n")
    with pytest.raises(DataError, match="test.tsv already exists; use --force"):
        write_dataset("dates", tmp_path, rows=20)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.tsv"]  # train.tsv not written
    assert mine.read_text() == "my own file\n"
    write_dataset("dates", tmp_path, rows=20, force=True)
    assert len(mine.read_text().splitlines()) == 2
    with pytest.raises(DataError, match="no dataset named 'vowels'; choose one of: .*dates"):
        write_dataset("vowels", tmp_path / "x")
    with pytest.raises(ConfigError, match="apply to generated datasets"):
        write_dataset("tiny_shakespeare", tmp_path / "y", seed=1)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_shipped_files_are_package_data_and_the_large_ones_compressed() -> None:
    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["rnnkit"]
    for name in SHIPPED:
        folder = bundled_path(name)
        for file in [*(f.stored for f in dataset_info(name).files), SOURCE_FILE]:
            path = folder / file
            relative = path.relative_to(folder.parents[1]).as_posix()  # datasets/<name>/<file>
            assert path.is_file() and any(fnmatch(relative, g) for g in globs), relative
            assert file.endswith(".gz") or path.stat().st_size < 300_000, relative
    sizes = sum(p.stat().st_size for p in (REPO / "src/rnnkit/datasets").rglob("*") if p.is_file())
    assert sizes < 1_300_000  # the repository stays lean: about 1.2 MB of data in all
