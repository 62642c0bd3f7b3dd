"""Every `rnnkit ...` command of README.md runs as written, in README order, in one directory.

The commands are taken from the README's console/bash blocks as they are written (pipes and all,
run by bash), with options appended that make training take a second (:data:`FAST`). The files
they read come from the README's own ``rnnkit data get`` lines (the datasets that ship with
rnnkit); the only stand-ins are the IMDB shards the README reads from ``../shared/data`` (it says
so) and ``demo-bundle`` (made by ``make demo``; a copy of the README's first text bundle stands in).
A command whose subcommand or file is not known here fails the test, so a new README command
cannot go unchecked. The IMDB line (train shards, then ``--test`` with several test shards) must
train on exactly the train shards and test on exactly the test shards.

Speed: ``rnnkit`` is a bash function that runs each command in a fresh fork of one interpreter
that has imported torch, rnnkit and the numba kernels once (``warm_rnnkit.py``), so the commands
pay their work, not a dozen cold starts.
"""

from __future__ import annotations

import glob
import gzip
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_support import write_reviews
from warm_rnnkit import WarmRnnkit

README = Path(__file__).resolve().parents[2] / "README.md"
SHELL_BLOCKS = {"console", "bash", "sh", "shell"}
IMDB_DIR = "../shared/data/imdb_aclImdb"
TRAIN_SHARDS, TEST_SHARDS = (14, 16, 18), (5, 6, 7)

#: Options appended to each subcommand so that it runs in about a second (later options win): a
#: few epochs of a tiny model; the Shakespeare model's 15 minutes become a 2-second budget.
FAST: dict[tuple[str, str], list[str]] = {
    ("data", "get"): [],
    ("data", "list"): [],
    ("text", "train"): ["--epochs", "1", "--hidden-size", "8", "--max-tokens", "200"],
    ("text", "evaluate"): [],
    ("text", "predict"): [],
    ("series", "train"): ["--epochs", "2", "--ensemble", "1", "--hidden-size", "4"],
    ("series", "forecast"): [],
    ("seq", "train"): ["--epochs", "1", "--hidden-size", "8"],
    ("seq", "predict"): [],
    ("lm", "train"): ["--epochs", "1", "--hidden-size", "8", "--bptt", "32", "--batch-size", "64",
                      "--sample-length", "10", "--time-budget", "2"],
    ("lm", "generate"): [],
    ("translate", "train"): ["--epochs", "1", "--hidden-size", "8", "--embedding-dim", "8"],
    ("translate", "run"): [],
    ("serve", ""): [],  # started, asked for /models, stopped
}
#: Generated datasets get fewer rows (appended to ``rnnkit data get NAME``).
FAST_DATA = {"dates": ["--rows", "300"]}


def _imdb_shards(kind: str, sizes: tuple[int, ...]) -> Callable[[Path], None]:
    def write(work: Path) -> None:
        for i, n in enumerate(sizes):
            start = 1000 * i + (500 if kind == "test" else 0)  # no review in both
            write_reviews(work / IMDB_DIR / f"imdb_{kind}_{i:02d}.csv.gz", n, start)
    return write


#: The README's data files that no README command makes (they need ../shared/data), and how to
#: make a tiny copy.
DATA: dict[str, Callable[[Path], object]] = {
    f"{IMDB_DIR}/imdb_train_0*.csv.gz": _imdb_shards("train", TRAIN_SHARDS),
    f"{IMDB_DIR}/imdb_test_0*.csv.gz": _imdb_shards("test", TEST_SHARDS),
}
#: Bundles the README takes as made elsewhere (`make demo`), and the bundle that stands for them.
PROVIDED = {"demo-bundle": "sentiment"}
OUTPUT_OPTIONS = ("--out", "--plot-attention", "--plot")
QUIET = {"COLUMNS": "100", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1",
         "PYTHONIOENCODING": "utf-8"}


@dataclass(frozen=True)
class Command:
    line: int  # 1-based line in README.md
    text: str  # as written, continuation lines joined

    @property
    def words(self) -> list[str]:
        return shlex.split(re.split(r"\s[|#]\s", self.text + " ")[0])

    @property
    def key(self) -> tuple[str, str]:
        words = self.words
        return (words[1], "") if words[1] == "serve" else (words[1], words[2])


def readme_commands() -> list[Command]:
    """The `rnnkit` lines of the README's console/bash blocks (``$ `` prompt dropped)."""
    commands: list[Command] = []
    fence = None
    lines = README.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            fence = None if fence is not None else line[3:].strip().lower()
        elif fence in SHELL_BLOCKS:
            text = line[2:] if line.startswith("$ ") else line
            if text.startswith("rnnkit "):
                start = i
                while text.endswith("\\") and i + 1 < len(lines):
                    i += 1
                    text = text[:-1].rstrip() + " " + lines[i].strip()
                commands.append(Command(start + 1, text))
        i += 1
    return commands


COMMANDS = readme_commands()


def _is_path(word: str) -> bool:
    """A word that names a file: a slash, a glob or a file suffix (numbers and texts are not)."""
    if " " in word or re.fullmatch(r"[-+]?\d+(\.\d+)?", word):
        return False
    return "/" in word or "*" in word or re.search(r"\.[A-Za-z][A-Za-z0-9]*$", word) is not None


def _made(word: str, made: set[str]) -> bool:
    """``word`` is a file or folder an earlier command made, or a file inside such a folder."""
    return any(word == m or word.startswith(m.rstrip("/") + "/") for m in made)


def unmapped(command: Command, made: set[str]) -> list[str]:
    """What the tables cannot supply for ``command``: its subcommand or data files."""
    missing = (
        [] if command.key in FAST else [f"subcommand {' '.join(command.key)} (add it to FAST)"]
    )
    for word in command.words[2:]:
        if _is_path(word) and word not in DATA and not _made(word, _outputs(command) | made):
            missing.append(f"file {word} (get it with `rnnkit data get` in the README)")
    return missing


def test_the_readme_has_the_commands_this_test_knows() -> None:
    assert len(COMMANDS) >= 10
    made: set[str] = set(PROVIDED)
    for command in COMMANDS:
        assert not unmapped(command, made), (f"README.md line {command.line}: {command.text}",
                                             unmapped(command, made))
        assert "$" not in command.text, f"README.md line {command.line}: a shell variable"
        made |= _outputs(command)
    assert sum("imdb_test_0*" in c.text for c in COMMANDS) == 1
    fetched = {c.words[3] for c in COMMANDS if c.key == ("data", "get")}
    assert {"uci_sentiment", "japanese_vowels", "tiny_shakespeare", "dates"} <= fetched


def test_the_readme_opens_with_the_two_make_commands() -> None:
    text = README.read_text(encoding="utf-8")
    first_block = text.split("```", 2)[1].splitlines()
    assert [line.split("#")[0].strip() for line in first_block[1:] if line.strip()] == [
        "make demo", "make test"]


# --------------------------------------------------------------------------------------- running
def _appended(command: Command) -> list[str]:
    if command.key == ("data", "get"):
        return FAST_DATA.get(command.words[3], [])
    return FAST[command.key]


def _shell(command: Command, work: Path, warm: WarmRnnkit) -> subprocess.CompletedProcess[str]:
    """Run the README line with bash, the fast options inserted before a pipe or comment."""
    tail = re.search(r"\s[|#]\s", command.text + " ")
    cut = tail.start() if tail else len(command.text)
    fast = " ".join(_appended(command))
    client = " ".join(map(shlex.quote, warm.client))
    script = (f'set -o pipefail; rnnkit() {{ {client} "$@"; }}; '
              f"{command.text[:cut]} {fast}{command.text[cut:]}")
    return subprocess.run(["bash", "-c", script], cwd=work, env=_env(), capture_output=True,
                          text=True, timeout=300, check=False)


def _env() -> dict[str, str]:
    return {**os.environ, **QUIET}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(command: Command, work: Path, warm: WarmRnnkit) -> subprocess.CompletedProcess[str]:
    """Start `rnnkit serve ...` on a free port, list the models over HTTP, stop it."""
    words = command.words[1:]
    port = _free_port()
    words[words.index("--port") + 1] = str(port)
    proc = subprocess.Popen([*warm.client, *words], cwd=work, text=True, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    names: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and not names:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/models", timeout=5) as reply:
                    names = [m["name"] for m in json.load(reply)["models"]]
            except OSError:
                time.sleep(0.2)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=60)
    bundles = [w for w in words[1:] if not w.startswith("-") and w != str(port)]
    status = 0 if sorted(names) == sorted(bundles) else 1
    return subprocess.CompletedProcess(words, status, out, err + f"\nmodels served: {names}")


def _outputs(command: Command) -> set[str]:
    words = command.words
    return {words[i + 1] for i, w in enumerate(words[:-1]) if w in OUTPUT_OPTIONS}


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one working directory of the README's commands, with the IMDB stand-ins."""
    folder = tmp_path_factory.mktemp("readme") / "work"
    folder.mkdir()
    for write in DATA.values():
        write(folder)
    return folder


@pytest.fixture(scope="module")
def runs(work: Path) -> dict[int, subprocess.CompletedProcess[str]]:
    """Every README command, in README order, in ``work``."""
    warm = WarmRnnkit.start(work.parent / "rnnkit.sock", _env())
    results: dict[int, subprocess.CompletedProcess[str]] = {}
    try:
        for command in COMMANDS:
            for name, stand_in in PROVIDED.items():
                if name in command.words and not (work / name).exists():
                    if (work / stand_in).is_dir():
                        shutil.copytree(work / stand_in, work / name)
            run = (_serve if command.key == ("serve", "") else _shell)(command, work, warm)
            results[command.line] = run
    finally:
        warm.stop()
    return results


@pytest.mark.parametrize("command", COMMANDS, ids=[f"line{c.line}" for c in COMMANDS])
def test_readme_command_runs(
    runs: dict[int, subprocess.CompletedProcess[str]], command: Command
) -> None:
    run = runs[command.line]
    assert run.returncode == 0, (
        f"README.md line {command.line}: {command.text}\n{run.stderr[-3000:]}"
    )
    assert "Traceback" not in run.stderr


def test_imdb_shards_train_on_the_train_shards_and_test_on_the_test_shards(
    runs: dict[int, subprocess.CompletedProcess[str]],
) -> None:
    (command,) = [c for c in COMMANDS if "imdb_test_0*" in c.text]
    run = runs[command.line]
    assert run.returncode == 0, run.stderr
    assert f"read {sum(TRAIN_SHARDS)} training texts" in run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1])["test"]["count"] == sum(TEST_SHARDS)


def test_the_shakespeare_training_is_capped_by_its_appended_budget(
    runs: dict[int, subprocess.CompletedProcess[str]],
) -> None:
    (command,) = [c for c in COMMANDS if c.key == ("lm", "train")]
    assert "--time-budget 900" in command.text  # the README's; the appended 2 s wins
    assert "time budget of 2 s reached" in runs[command.line].stderr


def _rows(path: Path) -> set[str]:
    """The data rows of a file: lines after ``@data`` in a .ts file, else every line but a header
    line (the first column when it is a TSV)."""
    data = path.read_bytes()
    lines = (gzip.decompress(data) if path.suffix == ".gz" else data).decode().splitlines()
    if "@data" in lines:
        return set(lines[lines.index("@data") + 1:])
    return {line.split("\t")[0].strip() for line in lines[1:] if line.strip()}


def _files(words: list[str], work: Path) -> list[Path]:
    """The files ``words`` name in ``work``, globs expanded as bash does."""
    found = [sorted(glob.glob(str(work / w))) for w in words if _is_path(w)]
    return [Path(f) for names in found for f in names if Path(f).is_file()]


def test_readme_training_and_test_files_share_no_row(
    runs: dict[int, subprocess.CompletedProcess[str]], work: Path
) -> None:
    """What a README model is tested on (``--test``, or ``evaluate`` of its bundle) is not in
    its training files: the datasets' train/test splits, and the UCI sources the README picks."""
    checked = 0
    for command in COMMANDS:
        if command.words[2] != "train" or "--test" not in command.words:
            test_of = [c for c in COMMANDS if c.words[2] == "evaluate"
                       and c.words[3] in _outputs(command)]
        else:
            test_of = [command]
        words = command.words[3:]
        cut = min((i for i, w in enumerate(words) if w.startswith("-")), default=len(words))
        trained = set().union(*(_rows(f) for f in _files(words[:cut], work)))
        for other in test_of:
            words = other.words
            tested = _files(words[words.index("--test") + 1:] if "--test" in words
                            else words[4:], work)
            for file in tested:
                assert not trained & _rows(file), (command.text, file)
                checked += 1
    assert checked >= 3 + len(TEST_SHARDS)  # UCI sentences, Japanese vowels, dates, IMDB
