"""rnnkit.serve: the HTTP API and web page for trained bundles (FastAPI + uvicorn).

Example:
    >>> from rnnkit.serve import create_app, ServeLimits
    >>> app = create_app({}, limits=ServeLimits(max_items=8))
    >>> app.state.limits.max_items
    8
"""

from __future__ import annotations

from rnnkit.serve.app import create_app
from rnnkit.serve.schemas import ServeLimits

__all__ = ["ServeLimits", "create_app"]
