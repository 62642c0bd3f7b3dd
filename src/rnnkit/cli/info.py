"""``rnnkit info``: what runs the recurrent layers on this machine; ``--compile`` builds the
numba kernels ahead of use (for container images and CI caches).

    rnnkit info
    rnnkit info --compile --json
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from rnnkit.cells import CELLS
from rnnkit.cli.common import AsJson, emit_json

NAMES = CELLS  # kernel kind -> layer name: the kinds are cell names


def _rule(bound: int) -> str:
    from rnnkit.nn.kernels.dispatch import ANY_SIZE  # torch is loaded by now; not at CLI start

    if bound >= ANY_SIZE:
        return "any H"
    return f"H <= {bound}" if bound > 0 else "never (torch's oneDNN kernel)"


def describe(status: dict[str, Any], version: str) -> list[str]:
    """The human-readable lines of ``rnnkit info``."""
    numba = status["numba"] or "not installed (layers use torch's kernels)"
    spread = {"openmp": "torch's OpenMP threads", "pool": "a private thread pool"}
    lines = [
        f"rnnkit {version} · torch {status['torch']} · {status['threads']} threads · numba {numba}",
        f"backend choice: {status['kernels']} (RNNKIT_KERNELS); kernel work runs on "
        f"{spread[status['work_units_on']]} (RNNKIT_KERNEL_THREADS)",
        "numba kernels in training: "
        + ", ".join(f"{NAMES[k]} {_rule(v)}" for k, v in status["size_rule"].items()),
    ]
    extra = [
        f"{NAMES[k]} H <= {r['max_hidden']} and batch x H <= {r['max_batch_x_hidden']}"
        for k, r in status["inference_rule"].items()
        if status["size_rule"][k] < r["max_hidden"]
    ]
    if extra:
        lines.append("also without autograd: " + ", ".join(extra))
    if "compiled" in status:
        done = [f"{name} {s:.2f} s" for name, s in status["compiled"].items() if s is not None]
        lines.append("compiled or loaded from numba's cache: " + (", ".join(done) or "none"))
    if status["failure"]:
        lines.append(f"numba kernels unavailable: {status['failure']}")
    return lines + describe_threads(status["thread_policy"]) + [describe_malloc(status)]


def describe_malloc(status: dict[str, Any]) -> str:
    """The malloc policy's line of ``rnnkit info`` (see rnnkit.allocator)."""
    if status["malloc_policy"] == "on":
        return ("malloc policy: on, freed tensor memory is kept for the next step "
                "(RNNKIT_MALLOC_POLICY=off turns it off)")
    return f"malloc policy: {status['malloc_policy']}"


def describe_threads(policy: dict[str, Any]) -> list[str]:
    """The thread policy's lines of ``rnnkit info`` (see rnnkit.threads)."""
    if not policy["enabled"]:
        return [f"thread policy: off (RNNKIT_THREAD_POLICY): torch's default threads, "
                f"OpenMP's default waiting; {policy['reason']}"]
    wait = ", ".join(f"{k}={v}" for k, v in policy["wait"].items()) or "spin, then sleep"
    return [
        f"thread policy: {policy['threads']} intra-op thread{'s' * (policy['threads'] != 1)} "
        f"(kernels too) now: {policy['reason']}",
        f"OpenMP waiting: {wait} ({policy['wait_source']}); re-checked about every second "
        "while training and serving; RNNKIT_THREAD_POLICY=off turns it off",
    ]


def info(
    compile_kernels: Annotated[
        bool,
        typer.Option(
            "--compile",
            help="Compile (or load from numba's disk cache) every kernel for float32 and float64 "
                 "now, and time it.",
        ),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Versions, threads and the kernels run here.

    --compile builds the numba kernels now (for container images and CI caches).
    """
    from rnnkit import __version__
    from rnnkit.allocator import status as malloc_status
    from rnnkit.nn.kernels.status import kernel_status
    from rnnkit.threads import status as thread_status

    status = kernel_status(compile=compile_kernels)
    status["thread_policy"] = thread_status()
    status["malloc_policy"] = malloc_status()
    for line in describe(status, __version__):
        typer.echo(line)
    if as_json:
        emit_json({"rnnkit": __version__, **status})
