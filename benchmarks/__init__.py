"""Benchmarks: ratios against baselines run in the same process (``make bench``).

Importing this package applies rnnkit's thread policy to the environment before any benchmark
imports torch, as the ``rnnkit`` command does (``RNNKIT_THREAD_POLICY=off`` to measure without).
"""

from rnnkit.threads import prepare_environment

prepare_environment()
