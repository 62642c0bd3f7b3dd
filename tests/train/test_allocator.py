"""The malloc policy (rnnkit.allocator): when it applies, that it stops the page faults of big
buffers, that training applies it, and that `rnnkit info` says so."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

from rnnkit.allocator import SWITCH, decide

BASE = {k: v for k, v in os.environ.items()
        if k not in (SWITCH, "LD_PRELOAD", "GLIBC_TUNABLES") and not k.startswith("MALLOC_")}
GLIBC = platform.libc_ver()[0] == "glibc"

# A fresh interpreter writes a 64 MB buffer (above glibc's 32 MiB ceiling for its adaptive mmap
# threshold), frees it, and prints the policy's decision and how much of it went back to the
# kernel (the resident size it lost), which is what the next step would have to page-fault in.
RETURNED = """
import json, os, sys
import numpy as np
from rnnkit.allocator import keep_freed_memory
decision = keep_freed_memory() if sys.argv[1] == "apply" else "not called"
def resident():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
buffer = np.ones(8_000_000)
held = resident()
del buffer
print(json.dumps({"decision": decision, "returned": held - resident()}))
"""


def _child(code: str, *args: str, **env: str) -> dict:
    run = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         check=False, env={**BASE, **env})
    assert run.returncode == 0, run.stderr
    return dict(json.loads(run.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(("environ", "libc", "expected"), [
    ({}, "glibc", "on"),
    ({SWITCH: "off"}, "glibc", "off: RNNKIT_MALLOC_POLICY=off"),
    ({SWITCH: " No "}, "glibc", "off: RNNKIT_MALLOC_POLICY= No "),
    ({SWITCH: "on"}, "glibc", "on"),
    ({"LD_PRELOAD": "/usr/lib/libtcmalloc.so"}, "glibc", "off: LD_PRELOAD set (another allocator)"),
    ({"MALLOC_TRIM_THRESHOLD_": "0"}, "glibc",
     "off: MALLOC_TRIM_THRESHOLD_ set (malloc tuned by the user)"),
    ({"GLIBC_TUNABLES": "glibc.malloc.mmap_max=0"}, "glibc",
     "off: GLIBC_TUNABLES set (malloc tuned by the user)"),
    ({}, "", "off: the C library is not glibc"),
    ({}, "musl", "off: the C library is musl"),
])
def test_when_the_policy_applies(environ: dict, libc: str, expected: str) -> None:
    assert decide(environ, libc) == expected


@pytest.mark.skipif(not GLIBC, reason="the policy only tunes glibc's malloc")
def test_a_freed_big_buffer_stays_in_the_process_once_the_policy_is_on() -> None:
    without = _child(RETURNED, "skip")
    switched_off = _child(RETURNED, "apply", **{SWITCH: "off"})
    applied = _child(RETURNED, "apply")
    assert without["returned"] > 50e6  # glibc unmaps it: the next step maps and zero-fills again
    assert switched_off["decision"] == "off: RNNKIT_MALLOC_POLICY=off"
    assert switched_off["returned"] > 50e6
    assert applied["decision"] == "on"
    assert applied["returned"] < 5e6  # kept for the next allocation


@pytest.mark.skipif(not GLIBC, reason="the policy only tunes glibc's malloc")
def test_training_applies_it_once_and_info_reports_it() -> None:
    code = """
import json
from rnnkit import allocator
from rnnkit.tasks import SequenceClassifier
before = allocator._applied
SequenceClassifier(hidden_size=4, epochs=1, verbose=0).fit([[[0.0], [1.0]], [[1.0], [0.0]]],
                                                           [0, 1])
print(json.dumps({"before": before, "after": allocator._applied,
                  "again": allocator.keep_freed_memory({SWITCH: "off"})}))
""".replace("{SWITCH: ", f"{{{SWITCH!r}: ")
    assert _child(code) == {"before": None, "after": "on", "again": "on"}
    info = subprocess.run([sys.executable, "-m", "rnnkit", "info", "--json"], capture_output=True,
                          text=True, check=True, env={**BASE, SWITCH: "off"})
    assert "malloc policy: off: RNNKIT_MALLOC_POLICY=off" in info.stdout
    assert json.loads(info.stdout.strip().splitlines()[-1])["malloc_policy"].startswith("off")
    info_on = subprocess.run([sys.executable, "-m", "rnnkit", "info"], capture_output=True,
                             text=True, check=True, env=BASE)
    assert "malloc policy: on, freed tensor memory is kept" in info_on.stdout
