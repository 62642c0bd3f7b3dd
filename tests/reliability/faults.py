"""Fault cases: each injects one fault into a real rnnkit run and checks what the user is promised.

A case is ``case(root, rng) -> Outcome``: it works inside the empty directory ``root``, draws its
random choices (kill moments, corrupted bytes, disk sizes) from ``rng`` and reports whether the
promise held. The promises:

- SIGKILL during a save: the bundle at the path loads afterwards and has the saved weights; the
  user's other files are untouched.
- SIGKILL during training: the previous bundle is byte-identical or replaced by a complete one;
  ``--resume`` finishes the run.
- A full disk while saving a bundle or a checkpoint: one line on stderr, exit status 2, the
  previous bundle byte-identical, no temporary directory left.
- A corrupted or tampered bundle: one line, exit status 2 (``RnnkitError`` in Python), within
  seconds; never a hang, a traceback or a NaN prediction.
- SIGKILL of the parent of ``--workers 2``: every worker exits within seconds and no temporary
  directory is left behind.

``tests/reliability/test_*.py`` run a few trials of each; ``benchmarks/bench_reliability.py`` runs
many and writes "cases tried, cases held" to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
TINY = ["--epochs", "2", "--hidden-size", "8", "--max-tokens", "200", "--seed", "0"]


@dataclass
class Outcome:
    """Whether one trial of a fault case kept its promise, and what was seen."""

    held: bool
    detail: str

    def __bool__(self) -> bool:
        return self.held


# ------------------------------------------------------------------ small shared helpers
def rnnkit_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "rnnkit", *args]


def child_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "COLUMNS": "100", "MPLBACKEND": "Agg", **extra}


def run_rnnkit(*args: str, timeout: float = 120, env: dict[str, str] | None = None,
               cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(rnnkit_command(*args), capture_output=True, text=True, timeout=timeout,
                          env=env or child_env(), cwd=cwd, check=False)


def write_reviews(path: Path, n: int = 60, seed: int = 0) -> Path:
    """A small two-class CSV whose classes a tiny model learns in two epochs."""
    rng = random.Random(seed)
    rows = ["text,label"]
    for i in range(n):
        good = i % 2 == 0
        words = ["a truly great and fun film"] if good else ["a dull and boring mess"]
        rows.append(f"{words[0]} {rng.choice(['indeed', 'really', 'so'])} "
                    f"{i},{'pos' if good else 'neg'}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` by relative path (empty when ``root`` is missing)."""
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def one_clean_line(stderr: str) -> bool:
    """A user error as promised: exactly one non-empty stderr line, no traceback."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    return len(lines) == 1 and "Traceback" not in stderr


def user_error(run: subprocess.CompletedProcess[str], progress: bool = False) -> str | None:
    """None when ``run`` failed as a user error should; else what was wrong with it.

    ``progress``: the command trained first, so its progress lines precede the error; then the
    error must be the single ``error:`` line and the last one.
    """
    if run.returncode != 2:
        return f"exit {run.returncode}, stderr {run.stderr[-300:]!r}"
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    if progress and lines and "Traceback" not in run.stderr:
        errors = [line for line in lines if line.startswith("error:")]
        if len(errors) == 1 and lines[-1] == errors[0]:
            return None
    if not one_clean_line(run.stderr):
        return f"stderr not one line: {run.stderr[-300:]!r}"
    return None


def _descendants(pid: int) -> set[int]:
    """Every living process below ``pid`` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone: it computes nothing and holds no file)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def wait_for_line(proc: subprocess.Popen[str], stream: str, accept: Callable[[str], bool],
                  timeout: float) -> str | None:
    """Read ``proc``'s stdout or stderr line by line until ``accept(line)``; None on EOF/timeout."""
    pipe = getattr(proc, stream)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = pipe.readline()
        if not line:
            return None
        if accept(line.strip()):
            return line.strip()
    return None


def kill_tree(proc: subprocess.Popen[str]) -> None:
    """Last-resort clean-up after a failed trial: SIGKILL ``proc`` and everything below it."""
    for pid in _descendants(proc.pid) | {proc.pid}:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.wait(timeout=10)


def sigkill_after(command: list[str], stream: str, prefix: str, delay: float) -> bool:
    """Start ``command``, wait for a line starting with ``prefix`` on ``stream``, sleep ``delay``
    seconds and SIGKILL it; False when that line never came."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=child_env())
    try:
        if wait_for_line(proc, stream, lambda line: line.startswith(prefix), 90) is None:
            return False
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        return True
    finally:
        kill_tree(proc)
        proc.stdout.close()
        proc.stderr.close()


@contextlib.contextmanager
def tmpfs(where: Path, size_bytes: int) -> Iterator[Path]:
    """A tmpfs of ``size_bytes`` mounted at ``where`` (root only); unmounted afterwards."""
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(where)],
                   check=True, capture_output=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)


def can_mount_tmpfs(root: Path) -> str | None:
    """None when this process can mount a tmpfs; else the reason it cannot."""
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    try:
        with tmpfs(root / "probe", 64 * 1024):
            pass
    except (subprocess.CalledProcessError, OSError) as err:
        return f"cannot mount a tmpfs here: {err}"
    return None


# ------------------------------------------------------------------ a trained bundle to break
def trained_bundle(root: Path) -> Path:
    """A tiny text bundle trained in-process (a few seconds), written once per ``root``."""
    bundle = root / "trained"
    if (bundle / "config.json").is_file():
        return bundle
    from rnnkit.tasks import TextClassifier

    texts = [
        f"{'a truly great and fun film' if i % 2 == 0 else 'a dull and boring mess'} {i}"
        for i in range(40)
    ]
    labels = ["pos" if i % 2 == 0 else "neg" for i in range(40)]
    clf = TextClassifier(hidden_size=8, embedding_dim=8, epochs=1, seed=0, verbose=0)
    clf.fit(texts, labels)
    clf.save(bundle)
    return bundle


# ------------------------------------------------------------------ SIGKILL during a save
def sigkill_during_save(root: Path, rng: random.Random) -> Outcome:
    """Kill a process that re-saves a bundle in a loop on a slow disk; the bundle must load."""
    source = trained_bundle(root.parent)
    target = root / "model"
    shutil.copytree(source, target)
    neighbour = write_reviews(root / "data.csv")
    before = neighbour.read_bytes()
    saver = [sys.executable, str(HERE / "save_child.py"), str(target), "--slow-fsync", "0.05"]
    if not sigkill_after(saver, "stdout", "saving", rng.uniform(0.0, 0.6)):
        return Outcome(False, "the saver never started")
    import rnnkit

    try:
        clf = rnnkit.load(target)
        proba = clf.predict_proba(["a truly great film"])
    except Exception as err:  # noqa: BLE001 - any failure to load is the fault we look for
        return Outcome(False, f"bundle did not load after the kill: {type(err).__name__}: {err}")
    if not (proba == proba).all():
        return Outcome(False, "NaN prediction after the kill")
    if neighbour.read_bytes() != before:
        return Outcome(False, "a file beside the bundle changed")
    return Outcome(True, "loaded after the kill")


# ------------------------------------------------------------------ SIGKILL during CLI training
def sigkill_during_training(root: Path, rng: random.Random) -> Outcome:
    """Kill ``rnnkit text train --out B`` at a random moment; B stays whole; --resume finishes."""
    data = write_reviews(root / "reviews.csv", n=120)
    out = root / "model"
    shutil.copytree(trained_bundle(root.parent), out)
    old = tree_digest(out)
    data_bytes = data.read_bytes()
    args = ["text", "train", str(data), "--out", str(out), "--checkpoint-dir", str(root / "ckpt"),
            *TINY, "--epochs", "6"]
    if not sigkill_after(rnnkit_command(*args), "stderr", "read ", rng.uniform(0.5, 6.0)):
        return Outcome(False, "training never started")
    now = tree_digest(out)
    if now != old:
        import rnnkit

        try:
            rnnkit.load(out)
        except Exception as err:  # noqa: BLE001
            return Outcome(False, f"bundle neither old nor loadable: {type(err).__name__}: {err}")
    if data.read_bytes() != data_bytes:
        return Outcome(False, "the training data changed")
    resumed = run_rnnkit(*args, "--resume", timeout=300)
    if resumed.returncode != 0:
        return Outcome(False, f"--resume failed: {resumed.stderr[-400:]!r}")
    import rnnkit

    rnnkit.load(out)
    return Outcome(True, "old bundle kept or replaced whole; resume finished"
                   + (" (killed after the save)" if now != old else ""))


# ------------------------------------------------------------------ disk full while saving
def disk_full_while_saving(root: Path, rng: random.Random) -> Outcome:
    """Re-save a bundle onto a tmpfs with room for the old bundle and part of the new one."""
    source = trained_bundle(root.parent)
    size = sum(p.stat().st_size for p in source.iterdir())
    # tmpfs counts whole 4 KiB pages per file: leave room for the old bundle plus a random part
    # of a new one, so the write fails at a different file from trial to trial.
    pages = sum(-(-p.stat().st_size // 4096) for p in source.iterdir())
    room = (pages + 2) * 4096 + int(rng.uniform(0.05, 0.9) * size)
    disk = root / "disk"
    with tmpfs(disk, room):
        target = disk / "model"
        shutil.copytree(source, target)
        old = tree_digest(target)
        code = (
            "import sys, rnnkit\n"
            "from rnnkit import RnnkitError\n"
            "clf = rnnkit.load(sys.argv[1])\n"
            "try:\n"
            "    clf.save(sys.argv[2])\n"
            "except RnnkitError as err:\n"
            "    print(f'error: {err}', file=sys.stderr); sys.exit(2)\n"
        )
        run = subprocess.run([sys.executable, "-c", code, str(source), str(target)],
                             capture_output=True, text=True, timeout=120, env=child_env(),
                             check=False)
        left = sorted(p.name for p in disk.iterdir())
        now = tree_digest(target)
    if run.returncode == 0:
        return Outcome(True, f"the new bundle fitted into {room} bytes (no fault injected)")
    problem = user_error(run)
    if problem:
        return Outcome(False, problem)
    if now != old:
        return Outcome(False, "the previous bundle changed")
    if left != ["model"]:
        return Outcome(False, f"left behind on the disk: {left}")
    return Outcome(True, run.stderr.strip())


def disk_full_cli_training(root: Path, rng: random.Random) -> Outcome:
    """``rnnkit text train --out`` onto a nearly full disk: exit 2, one line, old bundle kept."""
    source = trained_bundle(root.parent)
    pages = sum(-(-p.stat().st_size // 4096) for p in source.iterdir())
    room = (pages + 2) * 4096 + rng.randrange(4096, 40_000)
    data = write_reviews(root / "reviews.csv")
    disk = root / "disk"
    with tmpfs(disk, room):
        target = disk / "model"
        shutil.copytree(source, target)
        old = tree_digest(target)
        run = run_rnnkit("text", "train", str(data), "--out", str(target), *TINY, timeout=300)
        left = sorted(p.name for p in disk.iterdir())
        now = tree_digest(target)
    if run.returncode == 0:
        return Outcome(True, f"the new bundle fitted into {room} bytes (no fault injected)")
    problem = user_error(run, progress=True)
    if problem:
        return Outcome(False, problem)
    if now != old or left != ["model"]:
        return Outcome(False, f"old bundle changed or debris left: {left}")
    return Outcome(True, run.stderr.strip().splitlines()[-1])


def disk_full_checkpoint(root: Path, rng: random.Random) -> Outcome:
    """``--checkpoint-dir`` on a disk too small for a checkpoint: exit 2, one error line, no
    temporary file left, no bundle written."""
    data = write_reviews(root / "reviews.csv")
    disk = root / "disk"
    with tmpfs(disk, rng.randrange(4096, 32_768)):
        out = root / "model"
        run = run_rnnkit("text", "train", str(data), "--out", str(out), "--checkpoint-dir",
                         str(disk / "ckpt"), *TINY, timeout=300)
        left = sorted(str(p.relative_to(disk)) for p in disk.rglob("*") if p.is_file())
    problem = user_error(run, progress=True)
    if problem:
        return Outcome(False, problem)
    if left or out.exists():
        return Outcome(False, f"left behind: {left}, bundle written: {out.exists()}")
    return Outcome(True, run.stderr.strip().splitlines()[-1])


# ------------------------------------------------------------------ corrupted or tampered bundles
def _edit_config(edit: Callable[[dict], object]) -> Callable[[Path], None]:
    def apply(bundle: Path) -> None:
        config = json.loads((bundle / "config.json").read_text(encoding="utf-8"))
        edit(config)
        (bundle / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return apply


def _set_param(name: str, value: object) -> Callable[[Path], None]:
    return _edit_config(lambda c: c["params"].__setitem__(name, value))


def _truncate(name: str, keep: float) -> Callable[[Path], None]:
    def apply(bundle: Path) -> None:
        data = (bundle / name).read_bytes()
        (bundle / name).write_bytes(data[: int(len(data) * keep)])
    return apply


def _flip_byte(name: str) -> Callable[[Path, random.Random], None]:
    def apply(bundle: Path, rng: random.Random) -> None:
        data = bytearray((bundle / name).read_bytes())
        at = rng.randrange(len(data))
        data[at] ^= 1 << rng.randrange(8)
        (bundle / name).write_bytes(bytes(data))
    return apply


def _weights_header(edit: Callable[[dict], None]) -> Callable[[Path], None]:
    """Rewrite the safetensors JSON header (shapes, offsets) and keep the data bytes."""
    def apply(bundle: Path) -> None:
        raw = (bundle / "weights.safetensors").read_bytes()
        n = int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8:8 + n])
        edit(header)
        blob = json.dumps(header).encode()
        (bundle / "weights.safetensors").write_bytes(
            len(blob).to_bytes(8, "little") + blob + raw[8 + n :]
        )

    return apply


def _huge_first_tensor(header: dict) -> None:
    name = next(k for k in header if k != "__metadata__")
    header[name]["shape"] = [10**12]


def _nan_weights(bundle: Path) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(bundle / "weights.safetensors"))
    name = sorted(tensors)[0]
    tensors[name] = tensors[name].clone()
    tensors[name].view(-1)[0] = float("nan")
    save_file(tensors, str(bundle / "weights.safetensors"))


def _deep_nesting(bundle: Path) -> None:
    (bundle / "config.json").write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")


def _huge_vocabulary_file(bundle: Path) -> None:
    with open(bundle / "vectorizer.json", "ab") as fh:
        fh.truncate(3 * 1024**3)  # sparse: 3 GiB on paper, nothing on disk


def _resigned(corruption: Callable[[Path], None]) -> Callable[[Path], None]:
    """``corruption``, then the manifest and ``config_sha256`` recomputed as rnnkit would: a
    deliberate edit that the checksums cannot catch, so the checks behind them must."""
    def apply(bundle: Path) -> None:
        from rnnkit.io.bundle import CONFIG_DIGEST_KEY, _config_digest

        corruption(bundle)
        config = json.loads((bundle / "config.json").read_text(encoding="utf-8"))
        for name in config.get("files", {}) if isinstance(config.get("files"), dict) else {}:
            if (bundle / name).is_file():
                data = (bundle / name).read_bytes()
                config["files"][name] = {"bytes": len(data),
                                         "sha256": hashlib.sha256(data).hexdigest()}
        config[CONFIG_DIGEST_KEY] = _config_digest(config)
        (bundle / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return apply


CORRUPTIONS: dict[str, Callable[..., None]] = {
    "config: num_layers 1000000": _set_param("num_layers", 1_000_000),
    "config: hidden_size 8000": _set_param("hidden_size", 8000),
    "config: hidden_size 1e9": _set_param("hidden_size", 1e9),
    "config: hidden_size 'eight'": _set_param("hidden_size", "eight"),
    "config: cell 'transformer'": _set_param("cell", "transformer"),
    "config: no params": _edit_config(lambda c: c.pop("params")),
    "config: no classes": _edit_config(lambda c: c.pop("classes")),
    "config: no files": _edit_config(lambda c: c.pop("files")),
    "config: files a string": _edit_config(lambda c: c.__setitem__("files", "all")),
    "config: classes a number": _edit_config(lambda c: c.__setitem__("classes", 3)),
    "config: a list": lambda b: (b / "config.json").write_text("[1, 2]", encoding="utf-8"),
    "config: deeply nested": _deep_nesting,
    "config: truncated": _truncate("config.json", 0.5),
    "config: empty": _truncate("config.json", 0.0),
    "config: one flipped bit": _flip_byte("config.json"),
    "weights: truncated": _truncate("weights.safetensors", 0.7),
    "weights: empty": _truncate("weights.safetensors", 0.0),
    "weights: one flipped bit": _flip_byte("weights.safetensors"),
    "weights: header claims 10^12 values": _weights_header(_huge_first_tensor),
    "weights: NaN": _nan_weights,
    "weights: missing": lambda b: (b / "weights.safetensors").unlink(),
    "vectorizer: one flipped bit": _flip_byte("vectorizer.json"),
    "vectorizer: missing": lambda b: (b / "vectorizer.json").unlink(),
    "vectorizer: 3 GiB (sparse)": _huge_vocabulary_file,
    "bundle: a file, not a directory": lambda b: (shutil.rmtree(b), b.write_text("x")),
}
# The same edits made on purpose, checksums recomputed: the validation behind them must hold.
CORRUPTIONS.update({
    f"{name}, checksums recomputed": _resigned(CORRUPTIONS[name])
    for name in [
        "config: num_layers 1000000", "config: hidden_size 8000", "config: hidden_size 1e9",
        "config: hidden_size 'eight'", "config: cell 'transformer'", "config: no params",
        "config: no classes", "config: classes a number", "weights: NaN",
        "weights: header claims 10^12 values",
    ]
})


def _corrupt(bundle: Path, name: str, rng: random.Random) -> None:
    corruption = CORRUPTIONS[name]
    if corruption.__code__.co_argcount == 2 and "rng" in corruption.__code__.co_varnames:
        corruption(bundle, rng)
    else:
        corruption(bundle)


def corrupted_bundle_cli(name: str) -> Callable[[Path, random.Random], Outcome]:
    """``rnnkit text predict`` on a bundle with corruption ``name``: exit 2, one line, < 60 s."""
    def case(root: Path, rng: random.Random) -> Outcome:
        bundle = root / "model"
        shutil.copytree(trained_bundle(root.parent), bundle)
        _corrupt(bundle, name, rng)
        started = time.monotonic()
        try:
            run = run_rnnkit("text", "predict", str(bundle), "a fine film", "--json", timeout=60)
        except subprocess.TimeoutExpired:
            return Outcome(False, "hung for 60 s")
        seconds = time.monotonic() - started
        if run.returncode == 0:
            record = json.loads(run.stdout.strip().splitlines()[-1])
            if record.get("probability") is None or record["probability"] != record["probability"]:
                return Outcome(False, f"answered with probability {record.get('probability')}")
            return Outcome(False, "the corrupted bundle was used without complaint")
        problem = user_error(run)
        return Outcome(problem is None, problem or f"{run.stderr.strip()} ({seconds:.1f} s)")
    return case


# ------------------------------------------------------------------ parent of --workers killed
def workers_die_with_parent(root: Path, rng: random.Random, sig: int = signal.SIGKILL) -> Outcome:
    """Kill the main process of ``--workers 2`` mid-training: workers gone, temp dirs gone."""
    tmp = root / "tmp"
    tmp.mkdir()
    data = write_reviews(root / "reviews.csv", n=400)
    args = ["text", "train", str(data), "--out", str(root / "model"), "--workers", "2",
            *TINY, "--epochs", "40"]
    # slow_cli.py is `python -m rnnkit` with a one-second sleep after each epoch's checkpoint
    # (no CPU), so early stopping cannot end the run before the kill lands in it.
    slow = [sys.executable, str(HERE.parent / "distributed" / "slow_cli.py")]
    proc = subprocess.Popen([*slow, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=child_env(TMPDIR=str(tmp), RNNKIT_TEST_EPOCH_SLEEP="1"))
    workers: set[int] = set()
    try:
        if wait_for_line(proc, "stderr", lambda line: line.startswith("Epoch 1/"), 120) is None:
            return Outcome(False, "the workers never reached their first epoch")
        time.sleep(rng.uniform(0.2, 2.0))
        workers = {p for p in _descendants(proc.pid) if _is_python(p)}
        if not workers:
            return Outcome(False, "the run had no worker process left to kill")
        proc.send_signal(sig)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(alive(p) for p in workers):
            time.sleep(0.2)
        survivors = [p for p in workers if alive(p)]
        left = sorted(p.name for p in tmp.iterdir() if p.name.startswith("rnnkit-"))
        if survivors:
            return Outcome(
                False, f"{len(survivors)} of {len(workers)} processes alive 20 s after the kill"
            )
        if left:
            return Outcome(False, f"temporary directories left: {left}")
        return Outcome(True, f"{len(workers)} processes gone, no temporary directory left")
    finally:
        for pid in workers:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        kill_tree(proc)
        proc.stdout.close()
        proc.stderr.close()


def _is_python(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return b"python" in Path(f"/proc/{pid}/cmdline").read_bytes()
    return False


def corrupted_bundle_in_process(name: str) -> Callable[[Path, random.Random], Outcome]:
    """``rnnkit.load`` + ``predict_proba`` on a bundle with corruption ``name``: a one-line
    ``RnnkitError`` within 30 s (SIGALRM stops a hang)."""
    def case(root: Path, rng: random.Random) -> Outcome:
        import rnnkit

        bundle = root / "model"
        shutil.copytree(trained_bundle(root.parent), bundle)
        _corrupt(bundle, name, rng)

        def hung(signum: int, frame: object) -> None:
            raise TimeoutError("loading took more than 30 s")

        previous = signal.signal(signal.SIGALRM, hung)
        signal.alarm(30)
        try:
            proba = rnnkit.load(bundle).predict_proba(["a fine film"])
        except rnnkit.RnnkitError as err:
            message = str(err)
            if "\n" in message or not message:
                return Outcome(False, f"message not one line: {message!r}")
            return Outcome(True, message)
        except Exception as err:  # noqa: BLE001 - anything else is the fault we look for
            return Outcome(False, f"{type(err).__name__}: {str(err)[:200]}")
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        if not (proba == proba).all():
            return Outcome(False, "NaN prediction")
        return Outcome(False, "the corrupted bundle was used without complaint")
    return case
