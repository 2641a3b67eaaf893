"""Docs that run: every ```python block of README.md and docs/**/*.md is executed.

The conventions (see docs/contributing.md, "Examples that run"):
- A page's blocks run in order in one namespace, in a fresh temporary working directory, on
  SQLite unless marked otherwise; docs/examples is importable.
- `<!-- server: postgresql -->` (or mysql, oracle, mssql) on the line before a block runs it on
  that live server, with `DATABASE_URL` set to the server's URL. PostgreSQL and MariaDB must be
  reachable under CI=true; an Oracle or SQL Server block runs when AR_TEST_ORACLE_URL /
  AR_TEST_MSSQL_URL names a server, and is only compiled otherwise.
- `<!-- runs-against: replicated-postgres -->` (or replicated-mariadb, pgbouncer) runs a block
  against throwaway servers started for it (tests/support/docs_fixtures.py: once per run of this
  module, for every block that names them), with the fixture's names (PRIMARY_URL, REPLICA_URLS,
  ...) set in the namespace. Under CI=true a fixture that cannot start fails the page.
- `<!-- production-config -->` marks a block that shows a remote production setup: compiled only.
- `<!-- excerpt: PATH -->` marks a block quoted from a file of the repository: its lines must
  appear, in order and together, in that file (so the quote cannot drift from the code).
"""
from __future__ import annotations

import os
import re
import sys
import types
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from activerecord.backend import registry
from conftest import ALWAYS_EXPECTED, matrix_urls, require_server
from tests.support.docs_fixtures import FIXTURES, Names
from tests.support.servers import ServerError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / 'docs' / 'examples'
SERVERS = ('postgresql', 'mysql', 'oracle', 'mssql')

_FENCE = re.compile(r'^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$',
                    re.M | re.S)
_MARK = re.compile(r'<!--\s*(?P<kind>server|production-config|excerpt|runs-against)\s*(?::\s*(?P<value>[^\s>]+))?\s*-->\s*$')


@dataclass
class Block:
    page: Path
    line: int
    code: str
    kind: str | None = None     # None (run on SQLite), 'server', 'production-config', 'excerpt', 'runs-against'
    value: str | None = None    # the server name, the excerpt's file or the live fixture's name

    @property
    def where(self) -> str:
        page = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page
        return f'{page}:{self.line}'


def pages() -> list[Path]:
    found = [ROOT / 'README.md'] + sorted((ROOT / 'docs').rglob('*.md'))
    return [page for page in found if page.exists()]


def python_blocks(page: Path) -> list[Block]:
    """The page's ```python blocks, each with the marker comment on the line before it, if any."""
    text = page.read_text(encoding='utf-8')
    blocks = []
    for match in _FENCE.finditer(text):
        if match['lang'].lower() not in ('python', 'py', 'python3'):
            continue
        start = match.start()
        line = text.count('\n', 0, start) + 1
        before = text[:start].rstrip('\n').rsplit('\n', 1)[-1].strip()
        marker = _MARK.search(before)
        code = _dedent(match['body'], match['indent'])
        block = Block(page, line, code)
        if marker:
            block.kind, block.value = marker['kind'], marker['value']
            if block.kind == 'server' and block.value not in SERVERS:
                raise AssertionError(f'{block.where}: unknown server {block.value!r}; one of {SERVERS}')
            if block.kind == 'runs-against' and block.value not in FIXTURES:
                raise AssertionError(f'{block.where}: unknown fixture {block.value!r}; one of {sorted(FIXTURES)}')
        blocks.append(block)
    return blocks


def _dedent(body: str, indent: str) -> str:
    return '\n'.join(line[len(indent):] if line.startswith(indent) else line for line in body.split('\n'))


DOC_PAGES = [page for page in pages() if python_blocks(page)]


class LiveFixtures:
    """The throwaway servers of `runs-against` blocks, each started when a block first names it."""

    def __init__(self) -> None:
        self._stack = ExitStack()
        self._started: dict[str, Names] = {}

    def names(self, fixture: str) -> Names:
        """The fixture's names (its servers started now if they are not yet running)."""
        if fixture not in self._started:
            try:
                self._started[fixture] = FIXTURES[fixture](self._stack)
            except ServerError as error:
                message = f'live fixture {fixture!r} did not start: {error}'
                if os.environ.get('CI') == 'true':
                    pytest.fail(message + ' (CI=true: every docs block must run)')
                pytest.skip(message)
        return self._started[fixture]

    def close(self) -> None:
        """Stop and delete every server started (each fixture's close is bounded in time)."""
        self._stack.close()
        self._started.clear()


@pytest.fixture(scope='module')
def live_fixtures() -> Iterator[LiveFixtures]:
    """One LiveFixtures for every page of this module: a fixture starts once, however many blocks use it."""
    fixtures = LiveFixtures()
    try:
        yield fixtures
    finally:
        fixtures.close()


@pytest.mark.parametrize('page', DOC_PAGES, ids=[str(page.relative_to(ROOT)) for page in DOC_PAGES])
def test_every_python_block_of_the_page_runs(page: Path, tmp_path: Path, monkeypatch,
                                             live_fixtures: LiveFixtures) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(EXAMPLES))
    # The page runs as a module of its own, so that pydantic can resolve the models' annotations.
    module = types.ModuleType(f'docs_page_{page.stem.replace("-", "_")}')
    sys.modules[module.__name__] = module
    namespace = module.__dict__
    # held, not only their ids: a closed one the registry drops must not lend its id to a new one
    opened_before = {id(backend): backend for backend in registry._backends.values()}
    ran = 0
    try:
        for block in python_blocks(page):
            if block.kind == 'excerpt':  # a quote, possibly a method's body: checked against its file
                _check_excerpt(block)
                continue
            code = compile(block.code, block.where, 'exec')
            if block.kind == 'production-config':
                continue
            if block.kind == 'server':
                url = _server_url(block.value)
                if url is None:
                    continue  # no server of that kind named for this run: compiled only
                namespace['DATABASE_URL'] = url
            if block.kind == 'runs-against':
                namespace.update(live_fixtures.names(block.value))
            exec(code, namespace)
            ran += 1
    finally:
        _clean_up(namespace, opened_before)
        sys.modules.pop(module.__name__, None)
    assert ran or all(block.kind for block in python_blocks(page))


def _server_url(name: str) -> str | None:
    """The live server's URL; None when no server of that kind is named for this run."""
    if name in ALWAYS_EXPECTED:
        return require_server(name)  # fails under CI=true, skips elsewhere, when unreachable
    if name not in matrix_urls():
        return None
    return require_server(name)


def _check_excerpt(block: Block) -> None:
    source = ROOT / block.value
    assert source.exists(), f'{block.where}: the excerpt names {block.value}, which does not exist'
    wanted = [line.strip() for line in block.code.splitlines() if line.strip() and line.strip() != '...']
    have = [line.strip() for line in source.read_text(encoding='utf-8').splitlines() if line.strip()]
    for start in range(len(have) - len(wanted) + 1):
        if have[start:start + len(wanted)] == wanted:
            return
    raise AssertionError(f'{block.where}: the excerpt is not (or no longer) in {block.value}')


def _clean_up(namespace: dict, opened_before: dict) -> None:
    """Drop the tables of the page's models, and close every backend the page opened."""
    from activerecord import ActiveRecord
    from activerecord.backend.base import StorageBackend
    models = [value for value in namespace.values()
              if isinstance(value, type) and issubclass(value, ActiveRecord) and value is not ActiveRecord]
    for _ in range(3):  # foreign keys: a table may only go after the tables that point to it
        for model in list(models):
            try:
                model.drop_table(if_exists=True)
                models.remove(model)
            except Exception:  # unconfigured, abstract, or still referenced: retried, then left
                pass
    # Shared backends (one per config) outlive a page unless closed: an in-memory database
    # of one page must not be found again by the next page that configures an equal config.
    opened = [backend for backend in registry._backends.values() if id(backend) not in opened_before]
    opened += [value for value in namespace.values() if isinstance(value, StorageBackend)]
    for backend in {id(backend): backend for backend in opened}.values():
        backend.close()


# -- the runner's own conventions ----------------------------------------------------------

def test_markers_are_read(tmp_path: Path) -> None:
    page = tmp_path / 'page.md'
    page.write_text('Text\n\n<!-- server: postgresql -->\n```python\nx = 1\n```\n\n'
                    '<!-- production-config -->\n```python\ny = 2\n```\n\n```bash\nls\n```\n\n'
                    '- item\n\n  ```python\n  z = 3\n  ```\n\n'
                    '<!-- runs-against: pgbouncer -->\n```python\nw = 4\n```\n', encoding='utf-8')
    blocks = python_blocks(page)
    assert [(block.kind, block.value, block.code.strip()) for block in blocks] == [
        ('server', 'postgresql', 'x = 1'), ('production-config', None, 'y = 2'), (None, None, 'z = 3'),
        ('runs-against', 'pgbouncer', 'w = 4')]


def test_an_unknown_fixture_is_refused(tmp_path: Path) -> None:
    page = tmp_path / 'page.md'
    page.write_text('<!-- runs-against: no-such-cluster -->\n```python\nx = 1\n```\n', encoding='utf-8')
    with pytest.raises(AssertionError, match="unknown fixture 'no-such-cluster'"):
        python_blocks(page)


def test_every_page_with_python_is_collected() -> None:
    names = {str(page.relative_to(ROOT)) for page in DOC_PAGES}
    assert {'README.md', 'docs/index.md', 'docs/custom-backend.md', 'docs/backends/sqlite.md'} <= names


def test_a_stale_excerpt_is_caught(tmp_path: Path) -> None:
    block = Block(ROOT / 'README.md', 1, 'def no_such_function_in_this_file():\n    pass\n', 'excerpt',
                  'docs/examples/mysql_connector_backend.py')
    with pytest.raises(AssertionError, match='no longer'):
        _check_excerpt(block)


def test_a_live_fixture_starts_once_and_stops_with_the_module(monkeypatch) -> None:
    events: list[str] = []

    def starter(stack: ExitStack) -> Names:
        events.append('start')
        stack.callback(events.append, 'stop')
        return {'PGBOUNCER_URL': 'postgresql://postgres@127.0.0.1:1/postgres'}

    monkeypatch.setitem(FIXTURES, 'pgbouncer', starter)
    fixtures = LiveFixtures()
    assert fixtures.names('pgbouncer') == fixtures.names('pgbouncer') == {
        'PGBOUNCER_URL': 'postgresql://postgres@127.0.0.1:1/postgres'}
    assert events == ['start']
    fixtures.close()
    assert events == ['start', 'stop']


def test_a_live_fixture_that_cannot_start_fails_under_ci(monkeypatch) -> None:
    def starter(stack: ExitStack) -> Names:
        raise ServerError('pgbouncer is not installed')

    monkeypatch.setitem(FIXTURES, 'pgbouncer', starter)
    monkeypatch.setenv('CI', 'true')
    with pytest.raises(pytest.fail.Exception, match="'pgbouncer' did not start: pgbouncer is not installed"):
        LiveFixtures().names('pgbouncer')
    monkeypatch.setenv('CI', 'false')
    with pytest.raises(pytest.skip.Exception, match='did not start'):
        LiveFixtures().names('pgbouncer')
