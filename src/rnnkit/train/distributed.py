"""Data-parallel training on PyTorch DistributedDataParallel (gloo): local workers or torchrun.

rnnkit does not ship its own distributed engine. Every worker is a process in a
``torch.distributed`` process group (gloo backend, CPU); the model is wrapped in
:class:`torch.nn.parallel.DistributedDataParallel`, which averages gradients during ``backward``.
Two ways to start the processes, running the same code:

- **Local workers** (``fit(..., workers=N)``, ``rnnkit ... train --workers N``):
  :func:`run_workers` starts N fresh Python processes on this machine (from a fork server that
  has imported torch once, or ``spawn``), forms the group
  on ``127.0.0.1`` and a free port, watches them, and stops all of them as soon as one dies.
  Workers die with the main process, however it ends (SIGKILL included), and a run's temporary
  directories and checkpoint lock never outlive it: see :mod:`rnnkit.train.lifeline`.
- **torchrun** (several machines): ``torchrun --nnodes M --nproc-per-node N --rdzv-backend c10d
  --rdzv-endpoint HOST:PORT -m rnnkit text train ...``. Every process runs the CLI;
  :func:`init_from_env` joins the group from torchrun's environment (``RANK``, ``WORLD_SIZE``,
  ``MASTER_ADDR``, ...) and torchrun's elastic agent tears the job down when a worker dies.

How a batch is shared (:class:`ShardedLoader`): every rank builds the *same* global batches (same
seed, same epoch) and keeps its contiguous slice of rows, so N workers see exactly the examples one
worker would. The Trainer scales each rank's mean loss by ``N * local_weight / global_weight``, so
DDP's average of the gradients is the gradient of the mean over the global batch, even when the
slices differ in size (a batch of 5 rows on 2 workers). Loaders that are already rank-local (the
streaming loader of :mod:`rnnkit.data.text_shards` reads different files on each rank) set
``shards_by_rank = True`` and are left alone; a rank that runs out of batches first takes
zero-weight steps until all are done, so every rank joins every all-reduce.

Only rank 0 prints progress and writes checkpoints and bundles; loss and metrics are summed over
ranks (all-reduce) before they are logged, so every rank sees the same epoch record and takes the
same early-stopping and schedule decisions. Rank 0 is the authority for the time budget and
learning-rate changes made by callbacks (broadcast after every batch).

Example (two local workers; both return here only after the group is torn down):
    >>> from rnnkit.train.distributed import context
    >>> context() is None          # not inside a process group
    True
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import json
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from rnnkit import errors
from rnnkit import threads as threads_policy  # `threads` names a count here
from rnnkit.errors import ConfigError, TrainingError
from rnnkit.train import lifeline

BACKEND = "gloo"
#: Seconds a collective may wait for a silent peer before it fails (``RNNKIT_DIST_TIMEOUT``).
DEFAULT_TIMEOUT = 300.0
#: Seconds between a worker's death and the forced end of the others.
GRACE_SECONDS = 3.0
#: Seconds to wait for SIGKILLed workers to be gone before saying they could not be stopped.
KILL_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class DistContext:
    """Where this process stands in the group: ``rank`` of ``world_size`` (0 = the main process)."""

    rank: int
    world_size: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def context() -> DistContext | None:
    """The process-group context when one with more than one process is running, else None."""
    if not (dist.is_available() and dist.is_initialized()):
        return None
    world = dist.get_world_size()
    if world < 2:
        return None
    return DistContext(dist.get_rank(), world)


def is_main_process() -> bool:
    """True outside a process group and on rank 0 inside one."""
    ctx = context()
    return ctx is None or ctx.is_main


def launched_by_torchrun() -> bool:
    """True when torchrun (or another launcher) set ``RANK``/``WORLD_SIZE`` for a group of > 1."""
    return "RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1


def collective_timeout() -> dt.timedelta:
    seconds = float(os.environ.get("RNNKIT_DIST_TIMEOUT", DEFAULT_TIMEOUT))
    return dt.timedelta(seconds=seconds)


def init_from_env() -> DistContext | None:
    """Join the process group described by torchrun's environment (gloo); None when there is none.

    Idempotent: returns the current context when the group already exists.
    """
    if dist.is_available() and dist.is_initialized():
        return context()
    if not launched_by_torchrun():
        return None
    dist.init_process_group(BACKEND, timeout=collective_timeout())
    # A rank that finishes first (only rank 0 evaluates and saves) must tear its group down
    # before the interpreter exits: left to process teardown, gloo's threads can abort the
    # process ("terminate called without an active exception"), which torchrun reports as a failure.
    atexit.register(_destroy_group)
    return context()


def _destroy_group() -> None:
    if dist.is_available() and dist.is_initialized():
        try:  # leave together, so that no rank tears down while a peer still talks to it
            dist.monitored_barrier(timeout=dt.timedelta(seconds=60))
        except RuntimeError:
            pass  # a peer is gone: nothing left to wait for
        dist.destroy_process_group()


# ------------------------------------------------------------------------------ batches


class EmptyShard:
    """Stands for "no rows for this rank in this step": the Trainer takes a zero-weight step on
    ``template`` (a real batch) so that the rank still joins the gradient all-reduce."""

    def __init__(self, template: Any) -> None:
        self.template = template


def _rows(value: Any) -> int | None:
    if isinstance(value, torch.Tensor) and value.dim() >= 1:
        return int(value.shape[0])
    return None


def batch_rows(batch: Any) -> int:
    """The number of rows (examples, or streams) of an ``(inputs, target)`` batch."""
    inputs, target = batch
    if target is not None and _rows(target) is not None:
        return int(target.shape[0])
    values = inputs.values() if isinstance(inputs, Mapping) else [inputs]
    for value in values:
        rows = _rows(value)
        if rows is not None:
            return rows
    raise ConfigError("batch: cannot shard a batch without tensors; give tensors with a batch axis")


def slice_batch(batch: Any, start: int, stop: int) -> Any:
    """Rows ``start:stop`` of every tensor with the batch's row count (other values unchanged).

    Padding is trimmed when the batch carries ``lengths``: the slice keeps only the steps its own
    longest sequence needs (the rows of one bucket are similar, so this rarely matters).
    """
    inputs, target = batch
    rows = batch_rows(batch)

    def cut(value: Any) -> Any:
        return value[start:stop] if _rows(value) == rows else value

    if isinstance(inputs, Mapping):
        local = {k: cut(v) for k, v in inputs.items()}
    else:
        local = cut(inputs)
    local_target = cut(target) if target is not None else None
    if isinstance(local, dict) and "lengths" in local and stop > start:
        width = max(1, int(local["lengths"].max()))
        x = local.get("x")
        if isinstance(x, torch.Tensor) and x.dim() >= 2 and x.shape[1] > width:
            local["x"] = x[:, :width]
            if (
                isinstance(local_target, torch.Tensor)
                and local_target.dim() >= 2
                and local_target.shape[1] == x.shape[1]
            ):
                local_target = local_target[:, :width]
    return (local, local_target)


def shard_bounds(rows: int, rank: int, world: int) -> tuple[int, int]:
    """Contiguous, balanced ``[start, stop)`` of ``rows`` for ``rank`` (sizes differ by at most 1).

    Example:
        >>> [shard_bounds(5, r, 2) for r in range(2)]
        [(0, 3), (3, 5)]
    """
    base, extra = divmod(rows, world)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


class ShardedLoader:
    """This rank's slice of every batch of a global loader (``set_epoch`` and ``len`` pass through).

    All ranks iterate the same global batches, so ``len`` is the same on every rank. A step whose
    global batch has fewer rows than there are ranks yields :class:`EmptyShard` on the ranks left
    without rows.

    Example:
        >>> import torch
        >>> batches = [({"x": torch.arange(5)[:, None]}, torch.arange(5))]
        >>> [t.tolist() for _, t in ShardedLoader(batches, rank=1, world_size=2)]
        [[3, 4]]
    """

    shards_by_rank = True

    def __init__(self, loader: Iterable[Any], rank: int, world_size: int) -> None:
        self.loader = loader
        self.rank = rank
        self.world_size = world_size

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.loader, "set_epoch"):
            self.loader.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.loader)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Any]:
        for batch in self.loader:
            if not isinstance(batch, Sequence) or len(batch) != 2:
                raise ConfigError(
                    "train_data: batches must be (inputs, target) pairs to be sharded"
                )
            start, stop = shard_bounds(batch_rows(batch), self.rank, self.world_size)
            if stop > start:
                yield slice_batch(batch, start, stop)
            else:
                yield EmptyShard(slice_batch(batch, 0, 1))


def shard_loader(loader: Any, ctx: DistContext) -> Any:
    """``loader`` itself when it is rank-aware (``shards_by_rank``), else a :class:`ShardedLoader`.
    """
    if loader is None or getattr(loader, "shards_by_rank", False):
        return loader
    return ShardedLoader(loader, ctx.rank, ctx.world_size)


def lockstep(batches: Iterator[Any]) -> Iterator[Any]:
    """Yield local batches until every rank is out of them; exhausted ranks yield EmptyShard.

    For rank-local loaders whose ranks hold different numbers of batches (one small all-reduce
    per step decides whether anybody still has data).
    """
    template: Any = None
    exhausted = False
    while True:
        batch = None if exhausted else next(batches, None)
        exhausted = batch is None
        if batch is not None and not isinstance(batch, EmptyShard):
            template = batch
        active = all_reduce_sum([0.0 if batch is None else 1.0])[0]
        if active == 0:
            return
        if batch is None:
            if template is None:
                raise TrainingError(
                    f"rank {dist.get_rank()} has no training data; give at least as many shards "
                    "(or examples) as workers"
                )
            batch = EmptyShard(template)
        yield batch


# ------------------------------------------------------------------------------ collectives


def all_reduce_sum(values: Sequence[float]) -> list[float]:
    """Element-wise sum over ranks of a few numbers (float64)."""
    tensor = torch.tensor(list(values), dtype=torch.float64)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.tolist()


def all_reduce_max(values: Sequence[float]) -> list[float]:
    """Element-wise maximum over ranks of a few numbers (float64)."""
    tensor = torch.tensor(list(values), dtype=torch.float64)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return tensor.tolist()


def broadcast_floats(values: Sequence[float], src: int = 0) -> list[float]:
    """Rank ``src``'s numbers on every rank (the count must match on all ranks)."""
    tensor = torch.tensor(list(values), dtype=torch.float64)
    dist.broadcast(tensor, src=src)
    return tensor.tolist()


def broadcast_bytes(data: bytes | None, src: int = 0) -> bytes | None:
    """Rank ``src``'s bytes (or None) on every rank; used to share a checkpoint file."""
    size = torch.tensor([-1 if data is None else len(data)], dtype=torch.int64)
    dist.broadcast(size, src=src)
    if int(size) < 0:
        return None
    buffer = (
        torch.frombuffer(bytearray(data), dtype=torch.uint8)
        if data is not None and dist.get_rank() == src
        else torch.empty(int(size), dtype=torch.uint8)
    )
    if int(size):
        dist.broadcast(buffer, src=src)
    return buffer.numpy().tobytes()


def gather_objects(obj: Any) -> list[Any]:
    """Every rank's ``obj`` (picklable), in rank order (metric states, token counts)."""
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def merge_metric_states(states: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Combine one streaming metric's states from several ranks.

    Scalars (counts, sums) add up; square matrices (confusion) are padded to the largest and
    added; 1-D arrays (stored scores and labels, e.g. for AUC) are concatenated.
    """
    merged: dict[str, np.ndarray] = {}
    for key in states[0]:
        parts = [np.asarray(s[key]) for s in states]
        first = parts[0]
        if first.ndim == 0:
            merged[key] = np.asarray(sum(p.item() for p in parts))
        elif first.ndim == 1:
            merged[key] = np.concatenate(parts)
        else:
            n = max(p.shape[0] for p in parts)
            total = np.zeros((n, n), dtype=first.dtype)
            for p in parts:
                total[: p.shape[0], : p.shape[1]] += p
            merged[key] = total
    return merged


# ------------------------------------------------------------------------------ model


def wrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """``DistributedDataParallel(model)`` for CPU/gloo.

    No buffer sync in forward: rnnkit's models hold no batch statistics, and a language model's
    carried hidden state must stay per rank.
    """
    import inspect

    from torch.nn.parallel import DistributedDataParallel

    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters:
        return DistributedDataParallel(model, forward_sync_buffers=False)
    return DistributedDataParallel(model, broadcast_buffers=False)


# ------------------------------------------------------------------------------ local workers


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (for the group's rendezvous on this machine)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def default_threads(workers: int) -> int:
    """Torch threads per local worker: the thread policy's free CPUs shared out (at least 1;
    with ``RNNKIT_THREAD_POLICY=off`` all cores shared out, as before the policy)."""
    if threads_policy.enabled(os.environ):
        return threads_policy.GOVERNOR.decide(workers=workers).threads
    return max(1, (os.cpu_count() or 1) // workers)


def _process_context(preload: Sequence[str] = ()) -> Any:
    """Fresh interpreters for the workers: a fork server that has imported torch, the trainer and
    ``preload`` (e.g. the estimator's module) once (fast and fork-safe: the server itself never
    runs torch's thread pools), else ``spawn``. The modules come as names from the caller, so the
    training layer never imports the task layer."""
    if "forkserver" in multiprocessing.get_all_start_methods() and _fork_server_socket_fits():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["torch", "rnnkit.train.trainer", *preload])
        return ctx
    return multiprocessing.get_context("spawn")


def _fork_server_socket_fits() -> bool:
    """False under a TMPDIR too deep for the fork server's Unix socket (``listener-XXXXXXXX`` in
    multiprocessing's temporary directory; at most 107 bytes), where it would fail to start."""
    from multiprocessing import util

    return len(os.fsencode(os.path.join(util.get_temp_dir(), "listener-12345678"))) <= 107


def _worker_entry(
    rank: int,
    world: int,
    port: int,
    target: Callable[..., Any],
    args: tuple[Any, ...],
    error_dir: str,
    threads: int | None,
    guard: lifeline.WorkerGuard,
    policy_threads: bool = False,
) -> None:
    guard.engage()  # first: from here on, this process dies with the main process
    os.environ.update(
        {
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": str(world),
            "LOCAL_WORLD_SIZE": str(world),
        }
    )
    if threads is not None and policy_threads:
        threads_policy.GOVERNOR.adopt(threads)  # its share; the Trainer re-checks it
    elif threads is not None:
        torch.set_num_threads(threads)
    try:
        dist.init_process_group(BACKEND, rank=rank, world_size=world, timeout=collective_timeout())
        try:
            target(*args)
        finally:
            dist.destroy_process_group()
    except BaseException as err:  # report to the parent, then exit non-zero
        report = {
            "type": type(err).__name__,
            "message": str(err),
            "traceback": traceback.format_exc(),
        }
        with contextlib.suppress(OSError):  # the run may be over and its directory gone
            Path(error_dir, f"rank{rank}.json").write_text(json.dumps(report), encoding="utf-8")
        raise SystemExit(1) from None


def run_workers(
    target: Callable[..., Any],
    args: tuple[Any, ...],
    workers: int,
    threads: int | None = None,
    grace: float = GRACE_SECONDS,
    *,
    scratch_dirs: Sequence[str] = (),
    held_fds: Sequence[int] = (),
    preload: Sequence[str] = (),
) -> None:
    """Run ``target(*args)`` in ``workers`` new processes forming a gloo group on this machine.

    ``target`` must be importable (a module-level function) and ``args`` picklable. Each process
    uses ``threads`` torch threads (default: the cores shared out; ``OMP_NUM_THREADS`` wins when
    set). Returns when all processes end normally.

    The workers die with this process, however it ends: if it is killed, they remove
    ``scratch_dirs`` (and their own report directory) and exit; they keep ``held_fds`` (e.g. a
    checkpoint lock) open until then. ``preload`` names modules the fork server imports once for
    all workers (``fit_in_workers`` passes the estimator's module). SIGTERM/SIGHUP to this process
    raise :class:`~rnnkit.train.lifeline.Interrupted` after the workers were stopped.

    Raises:
        TrainingError: a worker died (e.g. SIGKILL) or exited with an error; every other worker is
            stopped first (SIGTERM, then SIGKILL after ``grace`` seconds) and the message names
            the rank. Errors a user can fix (rnnkit's own) keep their class. Also raised, naming
            the pids, when a worker could not be stopped at all.
    """
    if workers < 2:
        raise ConfigError(f"workers={workers}: run_workers needs at least 2 processes")
    policy_threads = threads is None and "OMP_NUM_THREADS" not in os.environ
    if policy_threads:
        threads = default_threads(workers)
    policy_threads = policy_threads and threads_policy.enabled(os.environ)
    mp = _process_context(preload)
    with (
        lifeline.signals_raise(),
        lifeline.OwnedTempDir("workers") as error_dir,
        lifeline.Lifeline() as line,
    ):
        guard = line.guard(cleanup=(error_dir, *scratch_dirs), held=held_fds)
        line.reap_on_death((error_dir, *scratch_dirs))
        port = free_port()
        processes = [
            mp.Process(
                target=_worker_entry,
                args=(rank, workers, port, target, args, error_dir, threads, guard,
                      policy_threads),
                name=f"rnnkit-worker-{rank}",
            )
            for rank in range(workers)
        ]
        started: list[lifeline.ProcessId] = []
        try:
            for process in processes:
                process.start()
                started.append(lifeline.ProcessId.of(process.pid))
            line.started()
            failed = _watch(processes)
        except BaseException:  # SIGTERM (Interrupted), Ctrl-C, or a failed start
            _stop_all(processes, started, grace)
            raise
        _stop_all(processes, started, grace)
        if failed is not None:
            raise _failure(processes, failed, error_dir)


def _watch(processes: list[Any]) -> int | None:
    """Wait until all exit (None) or one fails; return the rank to blame for the failure."""
    pending = {p.sentinel: rank for rank, p in enumerate(processes)}
    while pending:
        ready = multiprocessing.connection.wait(list(pending), timeout=1.0)
        for sentinel in ready:
            rank = pending.pop(sentinel)  # type: ignore[call-overload]
            processes[rank].join()
            if processes[rank].exitcode != 0:
                time.sleep(0.2)  # let a crash that caused this one show up too
                return _root_cause(processes, rank)
    return None


def _root_cause(processes: list[Any], first: int) -> int:
    """A worker killed by a signal is the cause of the others' failures; else the first failure."""
    for rank, process in enumerate(processes):
        code = process.exitcode
        if code is not None and code < 0:
            return rank
    return first


def _stop_all(processes: list[Any], started: list[lifeline.ProcessId], grace: float) -> None:
    """End every worker (SIGTERM, then SIGKILL after ``grace`` seconds) and make sure they are gone.

    Works on the pids themselves, not on what multiprocessing believes: when the fork server has
    died, it reports every worker as ended (exit code 255) while they may still run.

    Raises:
        TrainingError: naming the pids still alive after SIGKILL.
    """
    alive = [pid for pid in started if pid.alive()]
    for pid in alive:
        pid.signal(signal.SIGTERM)
    alive = _wait_gone(processes, alive, grace)
    for pid in alive:
        pid.signal(signal.SIGKILL)
    alive = _wait_gone(processes, alive, KILL_WAIT_SECONDS)
    if alive:
        pids = " ".join(str(p.pid) for p in alive)
        raise TrainingError(
            f"could not stop worker processes {pids} (still running after SIGKILL); "
            f"end them (kill -9 {pids}) before resuming"
        )


def _wait_gone(
    processes: list[Any], pids: list[lifeline.ProcessId], timeout: float
) -> list[lifeline.ProcessId]:
    """Wait up to ``timeout`` seconds for ``pids`` to end; return those still alive."""
    deadline = time.monotonic() + timeout
    while True:
        for process in processes:  # reaps direct children (spawn) and reads forkserver statuses
            if process.pid is not None:
                process.join(timeout=0)
        pids = [pid for pid in pids if pid.alive()]
        if not pids or time.monotonic() >= deadline:
            return pids
        time.sleep(0.02)


def _fork_server_died() -> bool:
    """True when the fork server that started the workers is no longer running."""
    from multiprocessing import forkserver

    pid = getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None)
    return isinstance(pid, int) and not lifeline.pid_alive(pid)


def _failure(processes: list[Any], rank: int, error_dir: str) -> Exception:
    code = processes[rank].exitcode
    report_path = Path(error_dir, f"rank{rank}.json")
    resume = "Resume from the last checkpoint with --resume (fit(..., resume=True))"
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return TrainingError(
            f"worker rank {rank} died ({name}); all {len(processes)} workers were stopped. {resume}"
        )
    if report_path.is_file():
        report = json.loads(report_path.read_text(encoding="utf-8"))
        cls = getattr(errors, report["type"], None)
        if isinstance(cls, type) and issubclass(cls, errors.RnnkitError):
            return cls(f"worker rank {rank}: {report['message']}")
        return TrainingError(
            f"worker rank {rank} failed with {report['type']}: {report['message']}\n"
            f"{report['traceback']}"
        )
    if code == 255 and _fork_server_died():  # multiprocessing's code for "status unknown"
        return TrainingError(
            "the fork server that started the workers died; all "
            f"{len(processes)} workers were stopped. {resume}"
        )
    return TrainingError(
        f"worker rank {rank} exited with code {code}; all {len(processes)} workers were stopped"
    )


# ------------------------------------------------------------------------------ estimators


def _fit_worker(estimator: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: str) -> None:
    estimator.fit(*args, **kwargs)
    if is_main_process():
        estimator.save(out, plots=False)


def fit_in_workers(
    estimator: Any, args: tuple[Any, ...], kwargs: dict[str, Any], workers: int
) -> Any:
    """Run ``estimator.fit(*args, **kwargs)`` in ``workers`` local processes; return the fitted
    estimator rank 0 saved (loaded back through its bundle, so nothing is unpickled from disk).

    ``kwargs["checkpoint_dir"]`` (when given) is locked for the run, workers included: a second
    run on it is refused until every process of this one has exited.
    """
    with (
        lifeline.signals_raise(),
        lifeline.CheckpointLock(kwargs.get("checkpoint_dir")) as lock,
        lifeline.OwnedTempDir("fit") as out_root,
    ):
        out = str(Path(out_root) / "bundle")
        run_workers(
            _fit_worker, (estimator, args, kwargs, out), workers,
            scratch_dirs=(out_root,), held_fds=lock.fds, preload=(type(estimator).__module__,),
        )
        return type(estimator).load(out)


def check_workers(workers: int | None) -> int:
    """``workers`` as an int >= 1 (None -> 1); rejects nonsense with a ConfigError."""
    if workers is None:
        return 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers={workers!r}: give a positive number of processes")
    return workers


__all__ = [
    "DistContext",
    "EmptyShard",
    "ShardedLoader",
    "context",
    "init_from_env",
    "is_main_process",
    "launched_by_torchrun",
    "shard_loader",
    "shard_bounds",
    "slice_batch",
    "lockstep",
    "wrap_model",
    "run_workers",
    "fit_in_workers",
    "merge_metric_states",
    "check_workers",
]
