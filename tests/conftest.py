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

BASE_URLS = {
    'postgresql': os.environ.get('AR_TEST_PG_URL', 'postgresql://postgres@127.0.0.1:5432/test'),
    'mysql': os.environ.get('AR_TEST_MYSQL_URL', 'mysql://root@127.0.0.1:3306/test'),
}
REMOTE_URL_VARIABLES = {'oracle': 'AR_TEST_ORACLE_URL', 'mssql': 'AR_TEST_MSSQL_URL'}
ALWAYS_EXPECTED = ('postgresql', 'mysql')  # must be reachable under CI=true
# Each run works in private databases (tests/support/run_databases.py), named by this id;
# the environment carries it so that subprocesses of the run use the same databases.
RUN_ID = os.environ.setdefault('AR_TEST_RUN_ID', str(os.getpid()))
PRIVATE_DATABASES = os.environ.get('AR_TEST_SHARED_DB') != '1'


def matrix_urls() -> dict[str, str]:
    """Backend name -> URL of every backend the matrix covers in this run."""
    from tests.support.run_databases import private_url
    urls = {'sqlite': 'sqlite://'}
    for name, base in BASE_URLS.items():
        urls[name] = private_url(base, RUN_ID) if PRIVATE_DATABASES else base
    for name, variable in REMOTE_URL_VARIABLES.items():
        if os.environ.get(variable):
            urls[name] = os.environ[variable]
    return urls


_DATABASE_VERBS = {'postgresql': ('create_postgresql', 'drop_postgresql'),
                   'mysql': ('create_mysql', 'drop_mysql')}


def pytest_configure(config: pytest.Config) -> None:
    """Create this run's private databases on the servers that are up."""
    if not PRIVATE_DATABASES:
        return
    from tests.support import run_databases
    for name, (create, _) in _DATABASE_VERBS.items():
        if _reachable(BASE_URLS[name]):
            getattr(run_databases, create)(BASE_URLS[name], run_databases.PREFIX + RUN_ID)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Drop this run's private databases (only the process that named them does)."""
    if not PRIVATE_DATABASES or str(os.getpid()) != RUN_ID:
        return
    from tests.support import run_databases
    for name, (_, drop) in _DATABASE_VERBS.items():
        if _reachable(BASE_URLS[name]):
            try:
                getattr(run_databases, drop)(BASE_URLS[name], run_databases.PREFIX + RUN_ID)
            except Exception as error:  # a failed clean-up must not hide the run's result
                print(f'could not drop the test database on {name}: {error}')


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


def parametrize_matrix(metafunc: pytest.Metafunc, fixture: str) -> None:
    """Run a test that uses `fixture` once per backend of the matrix (those its backends mark names)."""
    if fixture not in metafunc.fixturenames:
        return
    names = list(matrix_urls())
    marker = metafunc.definition.get_closest_marker('backends')
    if marker is not None:
        names = [name for name in names if name in marker.args]
    metafunc.parametrize(fixture, names, indirect=True)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_matrix(metafunc, 'db')


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
