"""Training and serving speed with another program computing beside rnnkit (issue 23).

For each task's default training (the issue's command: ``rnnkit text train`` on the UCI
sentences; text on an IMDB subset, seq, series, LM, translation) and for serving, throughput on a
quiet machine and with one CPU-bound process beside it in its own session (``setsid python3 -c
'while True: pass'``, started and stopped here), under the thread policy
(``RNNKIT_THREAD_POLICY=on``, the default) and without it (``off``: torch's default threads and
libgomp's spinning, rnnkit before the policy). Every cell runs in a fresh interpreter so that the
environment takes effect before torch starts. Training cells time a fixed number of optimizer
steps after the first (the first pays for warm-up); serving cells a fixed number of predict
requests from 8 concurrent clients against ``rnnkit serve`` in a subprocess.

This VM's throughput drifts by up to 40% between identical runs of a few seconds, so every cell
runs ``--rounds`` times (3 by default), the four cells of a task interleaved in a rotating order,
and the table shows medians.

    python -m benchmarks.bench_threads [--quick] [--rounds 3] [--data DIR] [--only text,lm]

Refuses to start when the 1-minute load average is 0.5 or more (``--force`` runs anyway and says
so above the table): the quiet columns would not be quiet.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import SHARED_DATA, machine, table

TASKS = ["text-uci", "text", "seq", "series", "lm", "translate", "serve"]
# about 5 s per quiet cell
STEPS = {"text-uci": 150, "text": 20, "seq": 80, "series": 1000, "lm": 40, "translate": 50,
         "serve": 2500}
CAP_SECONDS = 20.0  # a collapsed cell stops here; its throughput is still steps / seconds
CONDITIONS = [("off", False), ("on", False), ("off", True), ("on", True)]
MAX_LOAD = 0.5
BUSY_LOOP = [sys.executable, "-c", "while True: pass"]


# ---------------------------------------------------------------------------- one cell (child)


def _count_steps(steps: int) -> dict[str, Any]:
    """Make every Trainer stop after ``steps`` optimizer steps past the first (or after
    :data:`CAP_SECONDS`), and record the time they took."""
    import torch

    from rnnkit.train import trainer

    state: dict[str, Any] = {"done": 0, "first": None, "last": None, "threads": []}
    original = trainer.Trainer._after_batch

    def counting(self: Any, run: Any, epoch: int, done: int, epoch_start: float) -> bool:
        now = time.perf_counter()
        if state["first"] is None:
            state["first"] = now
        else:
            state["done"] += 1
            state["last"] = now
            state["threads"].append(torch.get_num_threads())
            if state["done"] >= steps or now - state["first"] > CAP_SECONDS:
                self.request_stop("callback", immediately=True)
        return bool(original(self, run, epoch, done, epoch_start))

    trainer.Trainer._after_batch = counting  # type: ignore[method-assign]
    return state


def _text_data(data: Path, imdb: bool) -> tuple[list[str], list[Any]]:
    files = sorted((data / "imdb_aclImdb").glob("imdb_train_*.csv*"))
    if imdb and files:
        from rnnkit.data import read_text_dataset

        found = read_text_dataset(files[:1], "text", "label")
        return list(found.texts)[:4000], list(found.labels)[:4000]
    from rnnkit.data.datasets import load_uci_sentiment

    uci = load_uci_sentiment("all")
    return list(uci.texts), list(uci.labels)


def _fit_task(task: str, data: Path) -> None:
    import numpy as np

    endless = {"epochs": 10_000, "patience": None, "verbose": 0, "seed": 0}
    if task in ("text", "text-uci"):
        from rnnkit.tasks import TextClassifier

        texts, labels = _text_data(data, imdb=task == "text")
        TextClassifier(**endless).fit(texts, labels)
    elif task == "seq":
        from rnnkit.tasks import SequenceClassifier

        rng = np.random.default_rng(0)
        x = rng.normal(size=(2000, 40, 12)).astype("float32")
        y = (x[:, :, 0].sum(axis=1) > 0).astype(int)
        SequenceClassifier(**endless).fit(x, list(y))
    elif task == "series":
        from rnnkit.data.series import load_airline_passengers
        from rnnkit.tasks import Forecaster

        Forecaster(**{**endless, "epochs": 10_000}).fit(load_airline_passengers())
    elif task == "lm":
        from rnnkit.data.datasets import load_uci_sentiment
        from rnnkit.tasks import LanguageModel

        LanguageModel(**endless).fit("\n".join(load_uci_sentiment("all").texts))
    elif task == "translate":
        from rnnkit.tasks import Translator
        from rnnkit.tasks.translation_toys import date_pairs

        source, target = date_pairs(4000)
        Translator(**endless).fit(source, target)
    else:
        raise SystemExit(f"unknown task {task!r}")


def run_cell(task: str, steps: int, data: Path) -> dict[str, float]:
    """One training cell in this (fresh) interpreter: steps per second."""
    state = _count_steps(steps)
    _fit_task(task, data)
    seconds = (state["last"] or 0.0) - (state["first"] or 0.0)
    threads = state["threads"]  # the count most steps ran with (the governor may change it)
    return {"steps": state["done"], "seconds": seconds,
            "threads": max(set(threads), key=threads.count) if threads else 0,
            "per_second": state["done"] / seconds if seconds > 0 else 0.0}


def paired_quiet_cell(task: str, steps: int, rounds: int, data: Path) -> dict[str, Any]:
    """The policy's cost on a quiet machine, in one interpreter: fits with the policy on and off
    alternated (the switch is read at every re-check), so the VM's drift hits both alike."""
    import statistics

    from rnnkit.train import trainer

    original = trainer.Trainer._after_batch
    rates: dict[str, list[float]] = {"off": [], "on": []}
    for round_ in range(rounds + 1):  # round 0 warms up (kernels, caches) and is not counted
        for policy in ("off", "on") if round_ % 2 else ("on", "off"):
            os.environ["RNNKIT_THREAD_POLICY"] = policy
            trainer.Trainer._after_batch = original  # type: ignore[method-assign]
            state = _count_steps(steps)
            _fit_task(task, data)
            if round_:
                rates[policy].append(state["done"] / (state["last"] - state["first"]))
    return {"on_over_off": statistics.median(rates["on"]) / statistics.median(rates["off"]),
            "on": rates["on"], "off": rates["off"]}


def run_paired(only: list[str], rounds: int, data: Path, quick: bool = False) -> str:
    """The table of :func:`paired_quiet_cell` per training task, each in a fresh process."""
    rows = []
    for task in [t for t in only if t != "serve"]:
        steps = max(5, STEPS[task] // (4 if quick else 2))
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_threads", "--paired-cell", task,
             "--steps", str(steps), "--rounds", str(rounds), "--data", str(data)],
            capture_output=True, text=True, check=True, timeout=30 * 60,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        print(f"  {task} paired: {result['on_over_off']:.3f}", file=sys.stderr)
        rows.append([task, f"{result['on_over_off']:.3f}",
                     "/".join(f"{v:.3g}" for v in result["off"]),
                     "/".join(f"{v:.3g}" for v in result["on"])])
    return (
        f"Quiet machine, policy on vs off alternated {rounds} times in one process per task "
        f"(half the steps of the table above; steps/s):\n\n"
        + table(["task", "median on / median off", "off", "on"], rows)
    )


# ---------------------------------------------------------------------------- serving


def serve_cell(requests: int, env: dict[str, str]) -> dict[str, float]:
    """Requests per second against ``rnnkit serve`` (started with ``env``) on loopback."""
    import asyncio

    from benchmarks.bench_serve import Server, train_bundle

    with tempfile.TemporaryDirectory() as root:
        bundle = train_bundle(Path(root))
        previous = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
        try:
            server = Server(bundle, batching=True)
        finally:
            os.environ.clear()
            os.environ.update(previous)
        with server:
            texts = ["a fine phone, works well", "terrible battery, returned it"] * 50
            started = time.perf_counter()
            done = asyncio.run(_fire(server.url, texts, requests))
            seconds = time.perf_counter() - started
    return {"steps": done, "seconds": seconds, "per_second": done / seconds}


async def _fire(url: str, texts: list[str], requests: int) -> int:
    import asyncio

    import httpx

    counter = iter(range(requests))
    done = 0
    deadline = time.perf_counter() + CAP_SECONDS

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal done
        for i in counter:
            if time.perf_counter() > deadline:
                return
            response = await http.post(f"{url}/models/uci/predict",
                                       json={"texts": [texts[i % len(texts)]]})
            done += response.status_code == 200

    async with httpx.AsyncClient(timeout=60) as http:
        await asyncio.gather(*(client(http) for _ in range(8)))
    return done


# ---------------------------------------------------------------------------- the table (parent)


def _measure(task: str, policy: str, loaded: bool, steps: int, data: Path) -> dict[str, Any]:
    env = {**os.environ, "RNNKIT_THREAD_POLICY": policy}
    busy = subprocess.Popen(BUSY_LOOP, start_new_session=True) if loaded else None
    try:
        if busy is not None:
            time.sleep(1.0)  # the busy loop is running before the cell starts
        if task == "serve":
            result = serve_cell(steps, env)
        else:
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.bench_threads", "--cell", task,
                 "--steps", str(steps), "--data", str(data)],
                env=env, capture_output=True, text=True, check=True, timeout=30 * 60,
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    return dict(result)


def run(quick: bool = False, data: Path | None = None, only: list[str] | None = None,
        force: bool = False, rounds: int = 3) -> str:
    load = os.getloadavg()[0]
    warning = ""
    if load >= MAX_LOAD:
        message = (f"the 1-minute load average is {load:.2f} (>= {MAX_LOAD}): the quiet columns "
                   "would not be quiet")
        if not force:
            raise SystemExit(f"bench_threads: {message}; wait for a quiet machine or pass --force")
        warning = f"**WARNING: {message}; measured anyway (--force).**\n\n"
    data = Path(data) if data else SHARED_DATA
    rows, spreads = [], []
    for task in only or TASKS:
        steps = max(5, STEPS[task] // (4 if quick else 1))
        samples: dict[tuple[str, bool], list[dict[str, Any]]] = {c: [] for c in CONDITIONS}
        for round_ in range(rounds):
            shift = round_ % len(CONDITIONS)  # rotate: drift and warm caches hit all cells alike
            for policy, loaded in CONDITIONS[shift:] + CONDITIONS[:shift]:
                samples[policy, loaded].append(_measure(task, policy, loaded, steps, data))
                print(f"  {task} {policy} {'loaded' if loaded else 'quiet'}: "
                      f"{samples[policy, loaded][-1]['per_second']:.3g}/s", file=sys.stderr)
        cells = {c: _median([s["per_second"] for s in samples[c]]) for c in CONDITIONS}
        quiet_old, loaded_old = cells["off", False], cells["off", True]
        quiet_new, loaded_new = cells["on", False], cells["on", True]
        threads = "/".join(_threads(samples["on", loaded]) for loaded in (False, True))
        rows.append([task, quiet_old, loaded_old, _ratio(loaded_old, quiet_old), quiet_new,
                     loaded_new, _ratio(loaded_new, quiet_new), _ratio(quiet_new, quiet_old),
                     threads])
        spreads.append(f"{task}: " + ", ".join(
            f"{policy} {'loaded' if loaded else 'quiet'} "
            + "/".join(f"{s['per_second']:.3g}" for s in samples[policy, loaded])
            for policy, loaded in CONDITIONS))
    unit = "steps/s (serve: requests/s)"
    return (
        "## Threads: speed beside a busy process (issue 23)\n\n"
        + warning
        + f"Machine: {machine()}; 1-minute load before: {load:.2f}. Throughput in {unit}, median "
        f"of {rounds} interleaved rounds; loaded = one `setsid` busy loop beside it; old = "
        "`RNNKIT_THREAD_POLICY=off`; threads new = the torch thread count most steps of the "
        "quiet/loaded cells ran with under the policy. text-uci is the issue's command "
        "(`rnnkit text train` on the UCI sentences, as an estimator).\n\n"
        + table(["task", "quiet old", "loaded old", "ratio old", "quiet new", "loaded new",
                 "ratio new", "quiet new/old", "threads new"], rows)
        + "\n\nEvery round (steps/s): " + "; ".join(spreads)
        + "\n\nReproduce: `python -m benchmarks.bench_threads` on an otherwise idle machine."
    )


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _threads(samples: list[dict[str, Any]]) -> str:
    found = sorted({int(s["threads"]) for s in samples if "threads" in s})
    return ",".join(map(str, found)) or "-"


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the steps")
    parser.add_argument("--data", type=Path, default=SHARED_DATA,
                        help="folder with imdb_aclImdb/ (else the bundled UCI sentences)")
    parser.add_argument("--only", default=",".join(TASKS), help="comma-separated tasks")
    parser.add_argument("--force", action="store_true", help="run even on a busy machine")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repeats of each cell")
    parser.add_argument("--paired", action="store_true",
                        help="only the quiet on/off comparison, alternated in one process")
    parser.add_argument("--cell", help=argparse.SUPPRESS)  # internal: one training cell
    parser.add_argument("--paired-cell", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cell:
        print(json.dumps(run_cell(args.cell, args.steps or STEPS[args.cell], args.data)))
        return
    if args.paired_cell:
        print(json.dumps(paired_quiet_cell(args.paired_cell, args.steps, args.rounds, args.data)))
        return
    if args.paired:
        section = run_paired(args.only.split(","), args.rounds, args.data, quick=args.quick)
        print(section)
        paired = Path(__file__).resolve().parent / "results" / "threads_paired.md"
        paired.parent.mkdir(parents=True, exist_ok=True)
        paired.write_text(section + "\n", encoding="utf-8")
        return
    section = run(quick=args.quick, data=args.data, only=args.only.split(","), force=args.force,
                  rounds=args.rounds)
    print(section)
    results = Path(__file__).resolve().parent / "results" / "threads.md"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(section + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
