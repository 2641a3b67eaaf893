"""The test matrix: one `db` fixture runs a test on every live backend.

SQLite always runs; PostgreSQL and MariaDB run on every run (under CI=true an
unreachable server fails the test instead of skipping it); Oracle and SQL
Server run when AR_TEST_ORACLE_URL / AR_TEST_MSSQL_URL name a server.
"""
from __future__ import annotations

import os
import socket
from typing import Iterator
from urllib.parse import urlsplit

import pytest

LOCAL_URLS = {
    'sqlite': 'sqlite://',
    'postgresql': os.environ.get('AR_TEST_PG_URL', 'postgresql://postgres@127.0.0.1:5432/test'),
    'mysql': os.environ.get('AR_TEST_MYSQL_URL', 'mysql://root@127.0.0.1:3306/test'),
}
REMOTE_URL_VARIABLES = {'oracle': 'AR_TEST_ORACLE_URL', 'mssql': 'AR_TEST_MSSQL_URL'}
ALWAYS_EXPECTED = ('postgresql', 'mysql')  # must be reachable under CI=true


def matrix_urls() -> dict[str, str]:
    """Backend name -> URL of every backend the matrix covers in this run."""
    urls = dict(LOCAL_URLS)
    for name, variable in REMOTE_URL_VARIABLES.items():
        if os.environ.get(variable):
            urls[name] = os.environ[variable]
    return urls


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or '127.0.0.1', parts.port or 0), timeout=2):
            return True
    except OSError:
        return False


def require_server(name: str) -> str:
    """The URL of a live backend; fail under CI=true, skip elsewhere, if it is unreachable."""
    url = matrix_urls()[name]
    if name != 'sqlite' and not _reachable(url):
        message = f'{name} server at {urlsplit(url).hostname}:{urlsplit(url).port} is not reachable'
        if os.environ.get('CI') == 'true' and name in ALWAYS_EXPECTED:
            pytest.fail(message + ' (CI=true: every PostgreSQL and MariaDB test must run)')
        pytest.skip(message)
    return url


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if 'db' not in metafunc.fixturenames:
        return
    names = list(matrix_urls())
    marker = metafunc.definition.get_closest_marker('backends')
    if marker is not None:
        names = [name for name in names if name in marker.args]
    metafunc.parametrize('db', names, indirect=True)


class LiveDatabase:
    """One live backend for one test: configures models on it and cleans up after."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        self.models: list[type] = []
        self._backend = None

    def use(self, *models: type, create: bool = True) -> None:
        """Configure the models on this database and (re)create their tables, in order."""
        for model in models:
            model.configure(self.url)
            self.models.append(model)
        self._backend = models[0].backend() if models else self._backend
        if create:
            for model in reversed(models):
                model.drop_table(if_exists=True)
            for model in models:
                model.create_table()

    @property
    def backend(self):
        if self._backend is None:
            raise RuntimeError('call db.use(Model, ...) first')
        return self._backend

    def teardown(self) -> None:
        backend = self._backend
        for model in reversed(self.models):
            try:
                model.drop_table(if_exists=True)
            except Exception:  # a test that broke the connection must not hide its own failure
                pass
        if backend is not None:
            backend.close()


@pytest.fixture
def db(request: pytest.FixtureRequest) -> Iterator[LiveDatabase]:
    """A live backend of the matrix (parametrized by pytest_generate_tests)."""
    name = request.param
    live = LiveDatabase(name, require_server(name))
    try:
        yield live
    finally:
        live.teardown()
