"""rnnkit.io."""
