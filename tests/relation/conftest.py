"""Fixture of the relation tests: the social schema on a live backend."""
from __future__ import annotations

import pytest

from .models import ALL_MODELS


@pytest.fixture
def social(db):
    """The relation test schema (users, posts, comments, profiles, groups...) on a live backend."""
    db.use(*ALL_MODELS)
    return db
