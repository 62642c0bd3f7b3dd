"""Every `rnnkit ...` command of README.md runs, in README order, on small copies of its data.

The commands are taken from the README's console/bash blocks as they are written (globs, ``$D``,
pipes and all, run by bash), with options appended that make training take a second. The tables
below say which tiny file stands for each data file the README names; a command whose subcommand
or file is not in them fails the test, so a new README command cannot go unchecked. The IMDB line
(train shards, then ``--test`` with several test shards) must train on exactly the train shards
and test on exactly the test shards.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_support import review_rows, write_reviews, write_ts

README = Path(__file__).resolve().parents[2] / "README.md"
SHELL_BLOCKS = {"console", "bash", "sh", "shell"}
IMDB_DIR = "../shared/data/imdb_aclImdb"
TRAIN_SHARDS, TEST_SHARDS = (14, 16, 18), (5, 6, 7)

#: Options appended to each subcommand so that it trains in about a second (later options win).
FAST: dict[tuple[str, str], list[str]] = {
    ("text", "train"): ["--epochs", "1", "--hidden-size", "8", "--max-tokens", "200"],
    ("text", "evaluate"): [],
    ("text", "predict"): [],
    ("series", "train"): ["--epochs", "2", "--ensemble", "1", "--hidden-size", "4"],
    ("series", "forecast"): [],
    ("seq", "train"): ["--epochs", "1", "--hidden-size", "8"],
    ("seq", "predict"): [],
    ("lm", "train"): ["--epochs", "1", "--hidden-size", "8", "--num-layers", "1", "--bptt", "16",
                      "--batch-size", "4", "--sample-length", "10"],
    ("lm", "generate"): [],
    ("translate", "train"): ["--epochs", "1", "--hidden-size", "8", "--embedding-dim", "8"],
    ("translate", "run"): [],
    ("serve", ""): [],  # started, asked for /models, stopped
}


def _imdb_shards(kind: str, sizes: tuple[int, ...]) -> Callable[[Path], None]:
    def write(work: Path) -> None:
        for i, n in enumerate(sizes):
            write_reviews(work / IMDB_DIR / f"imdb_{kind}_{i:02d}.csv.gz", n, 1000 * i + len(kind))
    return write


def _tsv_reviews(path: Path) -> None:
    path.write_text("\n".join(["text\tlabel",
                               *(r.replace(",", "\t") for r in review_rows(12, 300))])
                    + "\n", encoding="utf-8")


def _play(path: Path) -> None:
    lines = ["ROMEO:", "But soft, what light through yonder window breaks?", "JULIET:",
             "O Romeo, Romeo, wherefore art thou Romeo?"]
    path.write_text("\n".join(lines * 15) + "\n", encoding="utf-8")


def _dates(path: Path) -> None:
    days = ["Monday", "Tuesday", "Friday"]
    months = [("March", "Mar", 3), ("December", "Dec", 12), ("July", "Jul", 7)]
    rows = []
    for i in range(60):
        name, short, number = months[i % 3]
        day, year = 1 + i % 28, 1990 + i % 35
        source = f"{days[i % 3]}, {name} {day}, {year}" if i % 2 else f"{short} {day} {year}"
        rows.append(f"{source}\t{year}-{number:02d}-{day:02d}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


#: The README's data files (as spelled there, ``$D`` = work/uea) and how to make a tiny copy.
DATA: dict[str, Callable[[Path], object]] = {
    "reviews.csv": lambda w: write_reviews(w / "reviews.csv", 40),
    "test.tsv": lambda w: _tsv_reviews(w / "test.tsv"),
    "$D/JapaneseVowels_TRAIN.ts": lambda w: write_ts(w / "uea" / "JapaneseVowels_TRAIN.ts", 24),
    "$D/JapaneseVowels_TEST.ts": lambda w: write_ts(w / "uea" / "JapaneseVowels_TEST.ts", 10, 1),
    "input.txt": lambda w: _play(w / "input.txt"),
    "dates.tsv": lambda w: _dates(w / "dates.tsv"),
    f"{IMDB_DIR}/imdb_train_0*.csv.gz": _imdb_shards("train", TRAIN_SHARDS),
    f"{IMDB_DIR}/imdb_test_0*.csv.gz": _imdb_shards("test", TEST_SHARDS),
}
#: Bundles the README takes as made elsewhere (`make demo`), and the bundle that stands for them.
PROVIDED = {"demo-bundle": "sentiment"}
OUTPUT_OPTIONS = ("--out", "--plot-attention", "--plot")
#: One thread per command: two commands run side by side on two cores.
QUIET = {"COLUMNS": "100", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}


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


def unmapped(command: Command, made: set[str]) -> list[str]:
    """What the tables cannot supply for ``command``: its subcommand or data files."""
    missing = (
        [] if command.key in FAST else [f"subcommand {' '.join(command.key)} (add it to FAST)"]
    )
    for word in command.words[2:]:
        if _is_path(word) and word not in DATA and word not in _outputs(command) | made:
            missing.append(f"file {word} (add it to DATA)")
    return missing


def test_the_readme_has_the_commands_this_test_knows() -> None:
    assert len(COMMANDS) >= 10
    made: set[str] = set(PROVIDED)
    for command in COMMANDS:
        assert not unmapped(command, made), (f"README.md line {command.line}: {command.text}",
                                             unmapped(command, made))
        made |= _outputs(command)
    assert sum("imdb_test_0*" in c.text for c in COMMANDS) == 1


# --------------------------------------------------------------------------------------- running
def _shell(command: Command, work: Path) -> subprocess.CompletedProcess[str]:
    """Run the README line with bash, the fast options inserted before a pipe or comment."""
    tail = re.search(r"\s[|#]\s", command.text + " ")
    cut = tail.start() if tail else len(command.text)
    fast = " ".join(FAST[command.key])
    script = ('set -o pipefail; rnnkit() { "$RNNKIT_PYTHON" -m rnnkit "$@"; }; '
              f"{command.text[:cut]} {fast}{command.text[cut:]}")
    env = {**os.environ, "RNNKIT_PYTHON": sys.executable, "D": str(work / "uea"), **QUIET}
    return subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(command: Command, work: Path) -> subprocess.CompletedProcess[str]:
    """Start `rnnkit serve ...` on a free port, list the models over HTTP, stop it."""
    words = command.words[1:]
    port = _free_port()
    words[words.index("--port") + 1] = str(port)
    proc = subprocess.Popen([sys.executable, "-m", "rnnkit", *words], cwd=work, text=True,
                            env={**os.environ, **QUIET}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    names: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and not names:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/models", timeout=5) as reply:
                    names = [m["name"] for m in json.load(reply)["models"]]
            except OSError:
                time.sleep(0.3)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=60)
    bundles = [w for w in words[1:] if not w.startswith("-") and w != str(port)]
    status = 0 if sorted(names) == sorted(bundles) else 1
    return subprocess.CompletedProcess(words, status, out, err + f"\nmodels served: {names}")


def _outputs(command: Command) -> set[str]:
    words = command.words
    return {words[i + 1] for i, w in enumerate(words[:-1]) if w in OUTPUT_OPTIONS}


def chains(commands: list[Command]) -> tuple[list[list[Command]], list[Command]]:
    """Commands grouped so that each uses only what earlier ones of its group made (the groups
    can run side by side), and the commands that use what several groups made (run last)."""
    groups: list[list[Command]] = []
    made_by: dict[str, int] = {}
    last: list[Command] = []
    for command in commands:
        used = {made_by[PROVIDED.get(w, w)] for w in command.words if PROVIDED.get(w, w) in made_by}
        if len(used) > 1:
            last.append(command)
            continue
        group = used.pop() if used else len(groups)
        if group == len(groups):
            groups.append([])
        groups[group].append(command)
        made_by.update(dict.fromkeys(_outputs(command), group))
    return groups, last


def _run_in_order(
    commands: list[Command], work: Path
) -> dict[int, subprocess.CompletedProcess[str]]:
    results = {}
    for command in commands:
        for name, stand_in in PROVIDED.items():
            if name in command.words and not (work / name).exists() and (work / stand_in).is_dir():
                shutil.copytree(work / stand_in, work / name)
        run = _serve(command, work) if command.key == ("serve", "") else _shell(command, work)
        results[command.line] = run
    return results


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, subprocess.CompletedProcess[str]]:
    """Every README command, in README order within each group, in one working directory; two
    groups at a time (one thread each), which halves the wall time on two cores."""
    work = tmp_path_factory.mktemp("readme") / "work"
    work.mkdir()
    for write in DATA.values():
        write(work)
    groups, last = chains(COMMANDS)
    results: dict[int, subprocess.CompletedProcess[str]] = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for done in pool.map(lambda group: _run_in_order(group, work), groups):
            results.update(done)
    results.update(_run_in_order(last, work))
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

