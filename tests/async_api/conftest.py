"""Fixtures of the async API tests: `api` runs a scenario through the sync API or its twins."""
from __future__ import annotations

import pytest

from .driver import Api


@pytest.fixture(params=['sync', 'async'])
def api(request: pytest.FixtureRequest) -> Api:
    """The API a scenario runs through (every scenario runs both ways, on every live backend)."""
    return Api(request.param)
