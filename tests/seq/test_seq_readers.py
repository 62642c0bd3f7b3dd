"""Sequence sources: NumPy npz/npy, sktime .ts, CSV rows, MNIST idx (gzip), format detection."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from rnnkit import DataError
from rnnkit.data.sequences import (
    detect_format,
    idx_labels_path,
    read_idx,
    read_sequences,
    read_ts,
)

TS_HEADER = "# a comment\n@problemName toy\n@timeStamps false\n@univariate false\n@dimensions 2\n" \
            "@equalLength false\n@classLabel true up down\n@data\n"


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> Path:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


# ------------------------------------------------------------------------------ npz / npy
def test_npz_with_lengths_gives_ragged_sequences(tmp_path) -> None:
    x = np.arange(2 * 4 * 3, dtype=np.float64).reshape(2, 4, 3)
    path = tmp_path / "data.npz"
    np.savez(path, x=x, y=np.array([1.0, 0.0]), lengths=np.array([4, 2]))
    ds = read_sequences(path)
    assert [s.shape for s in ds.sequences] == [(4, 3), (2, 3)]
    assert ds.labels == [1, 0] and ds.sequences[0].dtype == np.float32
    np.testing.assert_array_equal(ds.sequences[1], x[1, :2])


def test_npz_univariate_string_labels_and_gzip(tmp_path) -> None:
    path = tmp_path / "uni.npz"
    np.savez(path, X=np.ones((3, 5)), y=np.array(["a", "b", "a"]))
    gz = tmp_path / "uni.npz.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    ds = read_sequences(gz)
    assert ds.feature_size == 1 and len(ds.sequences[0]) == 5 and ds.labels == ["a", "b", "a"]


def test_npy_takes_labels_from_another_file(tmp_path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((4, 6, 2), dtype=np.float32))
    np.save(tmp_path / "y.npy", np.array([3, 1, 3, 1]))
    ds = read_sequences(tmp_path / "x.npy", labels=tmp_path / "y.npy")
    assert ds.labels == [3, 1, 3, 1] and ds.sequences[0].shape == (6, 2)
    assert read_sequences(tmp_path / "x.npy").labels is None


def test_npz_errors_are_clear(tmp_path) -> None:
    np.savez(tmp_path / "nox.npz", data=np.zeros((2, 3, 1)))
    with pytest.raises(DataError, match=r"no array 'x' \(found: data\)"):
        read_sequences(tmp_path / "nox.npz")
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = np.zeros((2, 1)), np.zeros((3, 1))
    np.savez(tmp_path / "obj.npz", x=ragged)
    with pytest.raises(DataError, match="no unpickling"):
        read_sequences(tmp_path / "obj.npz")
    np.savez(tmp_path / "len.npz", x=np.zeros((2, 3, 1)), lengths=np.array([3, 7]))
    with pytest.raises(DataError, match=r"lengths\[1\]=7"):
        read_sequences(tmp_path / "len.npz")
    np.savez(tmp_path / "y.npz", x=np.zeros((2, 3, 1)), y=np.array([1, 2, 3]))
    with pytest.raises(DataError, match="one label each"):
        read_sequences(tmp_path / "y.npz")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="not a readable NumPy file"):
        read_sequences(tmp_path / "junk.npz")


# ------------------------------------------------------------------------------ .ts
def test_ts_variable_length_multivariate(tmp_path) -> None:
    path = tmp_path / "toy.ts"
    path.write_text(TS_HEADER + "1,2,3:4,5,6:up\n7.5,-8e-1:9,10:down\n", encoding="utf-8")
    ds = read_ts(path)
    assert [s.shape for s in ds.sequences] == [(3, 2), (2, 2)]
    np.testing.assert_allclose(ds.sequences[1], [[7.5, 9], [-0.8, 10]])
    assert ds.labels == ["up", "down"] and ds.classes == ["down", "up"]


def test_ts_missing_values_refused_by_default_or_interpolated(tmp_path) -> None:
    path = tmp_path / "gaps.ts"
    path.write_text(TS_HEADER.replace("@missing", "") + "1,?,3,?:?,?,?,?:up\n1,2:3,4:down\n")
    with pytest.raises(DataError,
                       match=r"line 9 dimension 0 has a missing value '\?'.*interpolate"):
        read_ts(path)
    ds = read_sequences(path, missing="interpolate")
    # linear inside, carried at the end
    np.testing.assert_allclose(ds.sequences[0][:, 0], [1, 2, 3, 3])
    np.testing.assert_allclose(ds.sequences[0][:, 1], [0, 0, 0, 0])  # all missing -> 0
    with pytest.raises(DataError, match="missing='sometimes' is unknown"):
        read_ts(path, missing="sometimes")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("1,2:3,4:sideways\n", "sideways are not declared"),
        ("1,2:up\n", "1 dimension(s) but @dimensions says 2"),
        ("1,2:3:up\n", "different lengths"),
        ("1,x:3,4:up\n", "'x' is not a number"),
        ("", "no cases after @data"),
    ],
)
def test_ts_malformed_files(tmp_path, body: str, fragment: str) -> None:
    path = tmp_path / "bad.ts"
    path.write_text(TS_HEADER + body)
    with pytest.raises(DataError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        read_ts(path)


def test_ts_without_data_section(tmp_path) -> None:
    path = tmp_path / "nodata.ts"
    path.write_text("@problemName x\n@classLabel true a b\n")
    with pytest.raises(DataError, match="no @data"):
        read_ts(path)


# ------------------------------------------------------------------------------ CSV
def test_csv_header_detected_label_by_name_and_reshape(tmp_path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("\ufeffclass,t0a,t0b,t1a,t1b,t2a,t2b\r\nx,1,2,3,4,5,6\r\ny,6,5,4,3,2,1\r\n",
                    encoding="utf-8")
    ds = read_sequences(path, label_column="class", features=2)
    assert ds.labels == ["x", "y"] and ds.sequences[0].tolist() == [[1, 2], [3, 4], [5, 6]]
    same = read_sequences(path, label_column=0, timesteps=3)
    np.testing.assert_array_equal(same.sequences[1], ds.sequences[1])


def test_csv_default_label_is_last_column_no_header_ragged_rows(tmp_path) -> None:
    path = tmp_path / "ragged.csv.gz"
    path.write_bytes(gzip.compress(b"1,2,3,4,0\n5,6,,,1\n"))
    ds = read_sequences(path, label_column=-1, header=False)
    assert ds.labels == [0, 1] and [len(s) for s in ds.sequences] == [4, 2]
    assert read_sequences(path).labels == [0, 1]
    hole = _write(tmp_path / "hole.csv", "1,,3,0\n")
    with pytest.raises(DataError, match="line 1: '' is not a number"):
        read_sequences(hole)
    tab = tmp_path / "series.tsv"
    tab.write_text("0.5\t1.5\t2.5\ta\n1\t2\t3\tb\n")
    ds = read_sequences(tab)
    assert ds.labels == ["a", "b"] and ds.sequences[0].shape == (3, 1)


def test_csv_errors_name_the_line(tmp_path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("1,2,3,0\n4,oops,6,1\n")
    with pytest.raises(DataError, match="line 2: 'oops' is not a number"):
        read_sequences(path)
    with pytest.raises(DataError, match="not a multiple of features=2"):
        read_sequences(tmp_path / "bad.csv", features=2, label_column=1)
    with pytest.raises(DataError, match="timesteps\\*features"):
        read_sequences(_write(tmp_path / "ok.csv", "1,2,3,0\n"), timesteps=2, features=2)
    with pytest.raises(DataError, match="label_column='stars' is not a column"):
        read_sequences(_write(tmp_path / "h.csv", "a,b,label\n1,2,x\n"), label_column="stars")
    with pytest.raises(DataError, match="empty"):
        read_sequences(_write(tmp_path / "empty.csv", ""))
    with pytest.raises(DataError, match="not valid utf-8"):
        read_sequences(_write(tmp_path / "bin.csv", b"1,2\xff,0\n"))


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


# ------------------------------------------------------------------------------ idx
def test_idx_gzip_images_as_rows_or_pixels_with_labels_found_beside(tmp_path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 4, 3))
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([7, 2, 1, 0, 4]))
    assert (
        idx_labels_path(tmp_path / "t10k-images-idx3-ubyte.gz")
        == tmp_path / "t10k-labels-idx1-ubyte.gz"
    )
    ds = read_sequences(tmp_path / "t10k-images-idx3-ubyte.gz")
    assert len(ds) == 5 and ds.sequences[0].shape == (4, 3) and ds.labels == [7, 2, 1, 0, 4]
    np.testing.assert_array_equal(ds.sequences[2], images[2])
    pixels = read_idx(tmp_path / "t10k-images-idx3-ubyte.gz", image_steps="pixels")
    assert pixels.sequences[0].shape == (12, 1)
    np.testing.assert_array_equal(pixels.sequences[3][:, 0], images[3].reshape(-1))


def test_idx_labels_given_explicitly_or_missing(tmp_path) -> None:
    write_idx(tmp_path / "digits.bin", np.zeros((3, 2, 2)), compress=False)
    write_idx(tmp_path / "answers.bin", np.array([1, 2, 3]))
    assert detect_format(tmp_path / "digits.bin") == "idx"  # from the magic bytes
    ds = read_sequences(tmp_path / "digits.bin", labels=tmp_path / "answers.bin")
    assert ds.labels == [1, 2, 3]
    assert read_sequences(tmp_path / "digits.bin", has_labels=False).labels is None
    with pytest.raises(DataError, match="no labels file found.*--labels"):
        read_sequences(tmp_path / "digits.bin")
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((3, 2, 2)))
    with pytest.raises(DataError, match="train-labels-idx1-ubyte"):
        read_sequences(tmp_path / "train-images-idx3-ubyte.gz")
    write_idx(tmp_path / "few.bin", np.array([1, 2]))
    with pytest.raises(DataError, match="pair the images with their own labels"):
        read_sequences(tmp_path / "digits.bin", labels=tmp_path / "few.bin")


def test_idx_truncated_and_foreign_files(tmp_path) -> None:
    path = write_idx(tmp_path / "cut-images-idx3-ubyte", np.zeros((4, 3, 3)), compress=False)
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DataError, match="truncated"):
        read_idx(path, has_labels=False)
    (tmp_path / "x-images-idx3-ubyte").write_bytes(b"hello world")
    with pytest.raises(DataError, match="not an idx file"):
        read_idx(tmp_path / "x-images-idx3-ubyte", has_labels=False)


def test_format_detection_and_unknown_format(tmp_path) -> None:
    np.save(tmp_path / "a", np.zeros((1, 2, 1)))
    (tmp_path / "a.npy").rename(tmp_path / "noext")
    assert detect_format(tmp_path / "noext") == "npy"
    (tmp_path / "series").write_text("@problemName x\n@data\n")
    assert detect_format(tmp_path / "series") == "ts"
    assert detect_format(tmp_path / "data.csv.gz") == "csv"
    with pytest.raises(DataError, match="format='parquet' is unknown"):
        read_sequences(tmp_path / "noext", "parquet")
    with pytest.raises(DataError, match="does not exist"):
        read_sequences(tmp_path / "missing.ts")


def test_japanese_vowels_from_shared_data(shared_data) -> None:
    root = shared_data / "japanese_vowels"
    train = read_sequences(root / "JapaneseVowels_TRAIN.ts")
    test = read_sequences(root / "JapaneseVowels_TEST.ts")
    assert (len(train), len(test), train.feature_size) == (270, 370, 12)
    assert (
        train.classes == list(range(1, 10))
        and 7 <= train.lengths.min() <= train.lengths.max() <= 29
    )
