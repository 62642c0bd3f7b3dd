"""The rnnkit version, in a module that imports nothing (``rnnkit.io`` writes it into bundles)."""

__version__ = "0.1.0"
