"""Faults injected into real runs: SIGKILL during save and training, a full disk, corrupted and
tampered bundles, the parent of ``--workers`` killed. Each trial must keep its promise (see
``faults.py``); ``benchmarks/bench_reliability.py`` runs many more trials of the same cases."""

from __future__ import annotations

import signal
from pathlib import Path

import faults
import pytest


@pytest.mark.parametrize("seed", range(3))
def test_sigkill_during_save_leaves_a_loadable_bundle(trial, seed: int) -> None:
    outcome = trial(faults.sigkill_during_save, seed)
    assert outcome, outcome.detail


def test_sigkill_during_cli_training_keeps_the_bundle_and_resume_finishes(trial) -> None:
    outcome = trial(faults.sigkill_during_training, 1)
    assert outcome, outcome.detail


@pytest.fixture(scope="module")
def mountable(workspace: Path) -> None:
    reason = faults.can_mount_tmpfs(workspace)
    if reason:
        pytest.skip(reason)


@pytest.mark.parametrize("seed", range(3))
def test_disk_full_while_saving_is_one_line_and_keeps_the_old_bundle(
    trial, mountable, seed: int
) -> None:
    outcome = trial(faults.disk_full_while_saving, seed)
    assert outcome, outcome.detail


def test_disk_full_after_cli_training_is_one_line_and_keeps_the_old_bundle(
    trial, mountable
) -> None:
    outcome = trial(faults.disk_full_cli_training, 0)
    assert outcome, outcome.detail
    assert "no fault injected" not in outcome.detail


def test_disk_full_for_the_checkpoint_is_one_line_and_leaves_nothing(trial, mountable) -> None:
    outcome = trial(faults.disk_full_checkpoint, 0)
    assert outcome, outcome.detail


@pytest.mark.parametrize("name", list(faults.CORRUPTIONS))
def test_corrupted_bundle_is_refused_in_one_line(trial, name: str) -> None:
    outcome = trial(faults.corrupted_bundle_in_process(name), 0)
    assert outcome, outcome.detail


@pytest.mark.parametrize("name",
                         ["config: num_layers 1000000", "weights: NaN", "config: deeply nested"])
def test_corrupted_bundle_from_the_cli_exits_2_quickly(trial, name: str) -> None:
    outcome = trial(faults.corrupted_bundle_cli(name), 0)
    assert outcome, outcome.detail


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_workers_die_with_their_parent(trial, sig: int) -> None:
    outcome = trial(lambda root, rng: faults.workers_die_with_parent(root, rng, sig), 0)
    assert outcome, outcome.detail
