"""Fixtures for the series tests (helpers live in series_helpers.py)."""

from __future__ import annotations

import pytest
from series_helpers import seasonal_series


@pytest.fixture(scope="session")
def make_seasonal():
    """The :func:`series_helpers.seasonal_series` generator."""
    return seasonal_series
