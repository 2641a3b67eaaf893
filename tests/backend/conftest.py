"""`live`: a bare StorageBackend on every backend of the matrix (no models needed).

SQLite runs on a WAL file database here rather than ':memory:', so that tests can watch one
thread's transaction from another connection the way they do on a server.
"""
from __future__ import annotations

import itertools
import os
from typing import Iterator

import pytest

from activerecord.backend.base import StorageBackend
from activerecord.backend.registry import backend_class_for
from activerecord.backend.typing import ConnectionConfig

from conftest import parametrize_matrix, require_server

_tables = itertools.count(1)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_matrix(metafunc, 'live')


class Live:
    """A backend of the matrix, a URL to open more of them, and scratch tables dropped afterwards."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        self.backends: list[StorageBackend] = []
        self.tables: list[str] = []
        self.backend = self.open()

    def open(self, **overrides) -> StorageBackend:
        """Another backend (own pool) on the same database."""
        config = ConnectionConfig.from_url(self.url, **overrides)
        backend = backend_class_for(config.scheme)(config)
        self.backends.append(backend)
        return backend

    def table(self, columns: str = 'id INTEGER PRIMARY KEY, name VARCHAR(50)') -> str:
        """A fresh scratch table; returns its quoted name."""
        # The pid keeps runs of the suite on one shared server from dropping each other's tables.
        name = f'ar_core_{os.getpid()}_{next(_tables)}'
        quoted = self.backend.dialect.quote(name)
        self._drop(quoted)
        self.backend.execute(f'CREATE TABLE {quoted} ({columns})')
        self.tables.append(quoted)
        return quoted

    def _drop(self, quoted: str) -> None:
        try:
            self.backend.execute(f'DROP TABLE {quoted}')
        except Exception:  # absent: nothing to drop
            pass

    def close(self) -> None:
        for quoted in self.tables:
            self._drop(quoted)
        for backend in self.backends:
            backend.close()


@pytest.fixture
def live(request: pytest.FixtureRequest, tmp_path) -> Iterator[Live]:
    name = request.param
    url = require_server(name)
    if name == 'sqlite':
        url = f'sqlite:///{tmp_path}/live.db?journal_mode=WAL'
    handle = Live(name, url)
    try:
        yield handle
    finally:
        handle.close()
