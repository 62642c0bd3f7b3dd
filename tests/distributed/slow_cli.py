"""``python slow_cli.py ARGS`` = ``python -m rnnkit ARGS`` with every epoch
``RNNKIT_TEST_EPOCH_SLEEP`` seconds longer (a sleep after each checkpoint, on every rank), so that a
test has time to kill a run mid-training without burning CPU.

multiprocessing re-runs this file as ``__mp_main__`` in every worker it starts (spawn and
forkserver), so the slowdown reaches the workers too.
"""

from __future__ import annotations

import os
import time

from rnnkit.train import trainer

_save = trainer.Trainer._save


def _slow_save(self: trainer.Trainer, *args: object, **kwargs: object) -> None:
    _save(self, *args, **kwargs)  # type: ignore[arg-type]
    time.sleep(float(os.environ.get("RNNKIT_TEST_EPOCH_SLEEP", "0.5")))


trainer.Trainer._save = _slow_save  # type: ignore[method-assign]

if __name__ == "__main__":
    from rnnkit.cli import main

    main()
