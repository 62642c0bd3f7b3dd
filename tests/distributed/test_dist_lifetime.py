"""Nothing of a ``--workers 2`` run outlives it: SIGKILL or SIGTERM of the main process, or the
death of its fork server, ends every worker and removes the run's temporary directories, the
"stopped" message is true when printed, and a second run on the same checkpoint is refused while
the first one lives (see rnnkit.train.lifeline).

The CLI runs through slow_cli.py: every epoch sleeps EPOCH_SLEEP seconds after its checkpoint, so
workers left behind by a killed main process would still be alive when the tests look (early
stopping needs at least 3 more epochs), and each run gets a private TMPDIR (a short one: see
``run_tmp``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dist_helpers import parent_pids

from rnnkit.errors import TrainingError
from rnnkit.train import lifeline

SLOW_CLI = Path(__file__).with_name("slow_cli.py")
EPOCH_SLEEP = "8"
TRAIN = ["--workers", "2", "--epochs", "40", "--hidden-size", "8", "--batch-size", "8",
         "--max-tokens", "50", "--seed", "0"]


# ------------------------------------------------------------------------------ helpers


@pytest.fixture
def run_tmp() -> Iterator[Path]:
    """The runs' private TMPDIR, in the system's temporary directory rather than under tmp_path:
    the fork server's socket path must fit in 107 bytes, and tmp_path (deeper under pytest-xdist)
    made the runs fall back to spawn, which has no fork server to test."""
    path = Path(tempfile.mkdtemp(prefix="dist-lifetime-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _write_reviews(path: Path, n: int = 48) -> Path:
    good, bad = ["great", "fun", "fine", "superb"], ["dull", "bad", "boring", "weak"]
    rows = ["text,label"]
    for i in range(n):
        words = good if i % 2 == 0 else bad
        rows.append(f"{words[i % 4]} film {words[(i + 1) % 4]} "
                    f"plot,{'pos' if i % 2 == 0 else 'neg'}")
    path.write_text("\n".join(rows) + "\n")
    return path


def _start(tmp_path: Path, run_tmp: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "TMPDIR": str(run_tmp), "OMP_NUM_THREADS": "1",
           "RNNKIT_TEST_EPOCH_SLEEP": EPOCH_SLEEP, "COLUMNS": "100"}
    data = _write_reviews(tmp_path / "reviews.csv")
    command = [sys.executable, str(SLOW_CLI), "text", "train", str(data), "--out",
               str(tmp_path / "model"), *TRAIN, *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=tmp_path)


def _wait_for_first_epoch(job: subprocess.Popen[str], tmp_path: Path) -> None:
    checkpoint = tmp_path / "model.checkpoints" / "checkpoint.safetensors"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert checkpoint.exists(), job.communicate(timeout=30)


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid``: its fork server and resource tracker, and the workers."""
    parents, found, frontier = parent_pids(), [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return sorted(found)


def _workers(main: int, family: list[int]) -> list[int]:
    """The grandchildren among ``family``: forked by the fork server, not started by ``main``."""
    parents = parent_pids()
    return [pid for pid in family if parents.get(pid) not in (main, None)]


def _alive(pids: list[int]) -> list[int]:
    """Those of ``pids`` still running (a zombie, exited but not reaped, counts as gone)."""
    return [pid for pid in pids if lifeline.pid_alive(pid)]


def _wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return _alive(pids)


def _run_dirs(run_tmp: Path) -> list[str]:
    return sorted(p.name for p in run_tmp.iterdir() if p.name.startswith("rnnkit-"))


def _kill_all(job: subprocess.Popen[str], pids: list[int]) -> None:
    for pid in [job.pid, *pids]:
        if lifeline.pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    job.communicate()


# ------------------------------------------------------------------------------ whole runs


def test_sigkill_of_the_main_process_ends_its_workers_and_removes_its_temp_dirs(
    tmp_path: Path, run_tmp: Path,
) -> None:
    job = _start(tmp_path, run_tmp)
    family: list[int] = []
    try:
        _wait_for_first_epoch(job, tmp_path)
        family = _descendants(job.pid)
        assert len(_workers(job.pid, family)) == 2 and len(_run_dirs(run_tmp)) == 2, (
            family,
            _run_dirs(run_tmp),
        )
        job.send_signal(signal.SIGKILL)
        job.wait(timeout=30)
        assert _wait_gone(family, 15) == []  # workers, fork server and resource tracker
        assert _run_dirs(run_tmp) == []  # removed by the workers on their way out
    finally:
        _kill_all(job, family)


def test_a_second_run_on_the_checkpoint_is_refused_and_sigterm_ends_the_first_cleanly(
    tmp_path: Path, run_tmp: Path,
) -> None:
    job = _start(tmp_path, run_tmp)
    family: list[int] = []
    try:
        _wait_for_first_epoch(job, tmp_path)
        family = _descendants(job.pid)
        workers = _workers(job.pid, family)
        assert len(workers) == 2
        second = subprocess.run(
            [sys.executable, "-m", "rnnkit", "text", "train", str(tmp_path / "reviews.csv"),
             "--out", str(tmp_path / "model"), *TRAIN, "--resume"],
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
            env={**os.environ, "TMPDIR": str(run_tmp), "OMP_NUM_THREADS": "1"},
        )
        assert second.returncode == 2, second.stderr
        assert "Traceback" not in second.stderr and "Resuming" not in second.stderr
        assert second.stderr.strip().splitlines()[-1].startswith(
            f"error: checkpoint directory {tmp_path / 'model.checkpoints'} is in use by another "
            f"training run (pid {job.pid})"
        )

        job.send_signal(signal.SIGTERM)
        job.wait(timeout=60)
        assert _alive(workers) == [] and _run_dirs(run_tmp) == []  # before the main process exited
        _, stderr = job.communicate(timeout=30)
        assert job.returncode == 128 + signal.SIGTERM, stderr
        assert "Traceback" not in stderr
        assert stderr.strip().splitlines()[-1].startswith("error: training stopped by SIGTERM; ")
        assert _wait_gone(family, 15) == []
        assert not (tmp_path / "model.checkpoints" / lifeline.LOCK_NAME).exists()
    finally:
        _kill_all(job, family)


def test_stopped_means_stopped_when_the_fork_server_dies(
    tmp_path: Path, run_tmp: Path,
) -> None:
    job = _start(tmp_path, run_tmp)
    family: list[int] = []
    try:
        _wait_for_first_epoch(job, tmp_path)
        family = _descendants(job.pid)
        server = next(
            pid for pid in family if b"forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()
        )
        workers = _workers(job.pid, family)
        assert len(workers) == 2 and {parent_pids()[pid] for pid in workers} == {server}
        os.kill(server, signal.SIGKILL)
        job.wait(timeout=60)
        assert _alive(workers) == []  # true at the moment the message is printed
        _, stderr = job.communicate(timeout=30)
        assert job.returncode == 2 and "Traceback" not in stderr
        assert stderr.strip().splitlines()[-1].startswith(
            "error: the fork server that started the workers died; all 2 workers were stopped."
        )
        assert _run_dirs(run_tmp) == []
    finally:
        _kill_all(job, family)


# ------------------------------------------------------------------------------ the pieces


def test_checkpoint_lock_is_exclusive_and_leaves_no_trace(tmp_path: Path) -> None:
    directory = tmp_path / "new" / "run.checkpoints"
    with lifeline.CheckpointLock(directory) as lock:
        assert lock.fds and (directory / lifeline.LOCK_NAME).read_text() == f"{os.getpid()}\n"
        with pytest.raises(TrainingError,
                           match=rf"in use by another training run \(pid {os.getpid()}\)"):
            lifeline.CheckpointLock(directory).__enter__()
    assert not (tmp_path / "new").exists()  # created for the run, nothing checkpointed: removed
    with lifeline.CheckpointLock(directory):  # free again
        pass


def test_stale_temp_dirs_of_dead_runs_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    dead = int(finished.stdout)
    names = [f"rnnkit-fit-{dead}-abc", f"rnnkit-workers-{dead}-def",
             f"rnnkit-fit-{os.getpid()}-ghi", "rnnkit-fit-xyz", "other-123-x"]
    for name in names:
        (tmp_path / name).mkdir()
    (tmp_path / names[0] / "bundle").mkdir()
    assert sorted(lifeline.remove_stale_tempdirs(str(tmp_path))) == sorted(names[:2])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])


def test_sigterm_raises_interrupted_and_the_handler_is_restored() -> None:
    before = signal.getsignal(signal.SIGTERM)
    assert before is signal.SIG_DFL  # else signals_raise leaves SIGTERM alone, by design
    with pytest.raises(lifeline.Interrupted) as caught, lifeline.signals_raise():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises long before this ends
    assert caught.value.exit_status == 143 and "\n" not in str(caught.value)
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_tmpdir_too_deep_for_the_fork_server_socket_falls_back_to_spawn(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 90)
    deep.mkdir()
    code = (
        "from rnnkit.train.distributed import _process_context as c; print(c().get_start_method())"
    )
    methods = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "TMPDIR": str(tmpdir)}).stdout.strip()
        for tmpdir in (tmp_path, deep)
    ]
    assert methods == ["forkserver", "spawn"]  # not "OSError: AF_UNIX path too long" at start


REAPER_SCRIPT = """
import os, sys
from rnnkit.train import lifeline
line = lifeline.Lifeline().__enter__()
line.reap_on_death([sys.argv[1]])
line.started()
if sys.argv[2] == "die":
    os._exit(9)  # as after SIGKILL: no finally, no __exit__
line.__exit__(None, None, None)
print("exists" if os.path.isdir(sys.argv[1]) else "gone")
"""


@pytest.mark.parametrize("end", ["die", "exit"])
def test_the_reaper_removes_the_dirs_only_when_the_main_process_dies(
    tmp_path: Path, end: str
) -> None:
    scratch = tmp_path / "rnnkit-fit-1-x"
    (scratch / "bundle").mkdir(parents=True)
    (scratch / "bundle" / "weights").write_bytes(b"w")
    run = subprocess.run([sys.executable, "-c", REAPER_SCRIPT, str(scratch), end],
                         capture_output=True, text=True, timeout=60, check=False)
    if end == "exit":  # the living main process still needs them (fit loads its bundle from there)
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == "exists"
        return
    assert run.returncode == 9
    deadline = time.monotonic() + 10
    while scratch.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not scratch.exists()
