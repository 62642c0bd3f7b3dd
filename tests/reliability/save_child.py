"""Child process of the SIGKILL-during-save case: re-saves one bundle in a loop on a slow disk.

Usage: python save_child.py BUNDLE [--slow-fsync S]

Loads BUNDLE, then saves the same model back to BUNDLE again and again, printing "saving N" before
each save (flushed), so the parent can kill it while a save is under way. fsync of regular files
is slowed down by S seconds (a slow disk): most kills then land inside the write.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from kill_child import _slow_down_file_fsync as slow_down_fsync  # noqa: E402 - the same slow disk


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("bundle")
    parser.add_argument("--slow-fsync", type=float, default=0.0)
    args = parser.parse_args()
    import rnnkit

    model = rnnkit.load(args.bundle)
    if args.slow_fsync:
        slow_down_fsync(args.slow_fsync)
    for n in range(1000):
        print(f"saving {n}", flush=True)
        model.save(args.bundle)


if __name__ == "__main__":
    main()
