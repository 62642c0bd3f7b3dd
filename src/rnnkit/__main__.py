"""``python -m rnnkit`` runs the command line (needed by ``torchrun -m rnnkit``)."""

from rnnkit.cli import main

main()
