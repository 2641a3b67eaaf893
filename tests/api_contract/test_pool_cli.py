"""API.md, "Pooling", "Custom backends" and "Command line"."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from activerecord import ActiveRecord
from activerecord.backend.base import StorageBackend
from activerecord.backend.dialect import Dialect
from activerecord.backend.types import TypeMap
from activerecord.backend.typing import ConnectionConfig
from activerecord.errors import PoolTimeout

ROOT = Path(__file__).parents[2]
STATUS_KEYS = {'size', 'open', 'checked_out', 'idle', 'overflow'}


class Pooled(ActiveRecord):
    __table_name__ = 'apic_pooled'
    id: int
    n: int = 0


def _url(db: Any, **query: Any) -> str:
    extra = '&'.join(f'{key}={value}' for key, value in query.items())
    return db.url + ('&' if '?' in db.url else '?') + extra


def test_status_overflow_timeout_and_close(db: Any) -> None:
    db.use(Pooled)
    Pooled.configure(_url(db, pool_size=1, max_overflow=1, pool_timeout=0.5))
    backend = Pooled.backend()
    assert backend is not db.backend
    status = backend.pool.status()
    assert STATUS_KEYS <= set(status) and status['size'] == 1 and status['open'] == 0
    Pooled.create_table()     # another backend: on SQLite another ':memory:' database
    holding, release = threading.Barrier(3), threading.Event()

    def hold() -> None:
        with Pooled.transaction():
            Pooled.query().count()
            holding.wait(10)
            release.wait(10)

    holders = [threading.Thread(target=hold) for _ in range(2)]
    for thread in holders:
        thread.start()
    try:
        holding.wait(10)
        busy = backend.pool.status()
        assert (busy['open'], busy['checked_out'], busy['idle'], busy['overflow']) == (2, 2, 0, 1)
        with pytest.raises(PoolTimeout) as caught:
            Pooled.query().count()
        assert STATUS_KEYS <= set(caught.value.status) and caught.value.status['checked_out'] == 2
        assert 'checked_out=2' in str(caught.value)
    finally:
        release.set()
        for thread in holders:
            thread.join(10)
    after = backend.pool.status()
    assert after['checked_out'] == 0 and after['open'] <= after['size'] and after['idle'] == after['open']
    assert Pooled.query().count() == 0
    backend.close()
    assert backend.pool.status()['open'] == 0


def _session_id(backend: Any, name: str) -> Any:
    sql = {'postgresql': 'SELECT pg_backend_pid() AS sid', 'mysql': 'SELECT CONNECTION_ID() AS sid'}[name]
    return backend.fetch_one(sql)['sid']


@pytest.mark.backends('postgresql', 'mysql')
def test_pre_ping_replaces_a_dead_connection_and_recycle_an_old_one(db: Any) -> None:
    import time
    db.use(Pooled, create=False)
    Pooled.configure(_url(db, pool_size=1, pool_pre_ping='true'))
    backend = Pooled.backend()
    first = _session_id(backend, db.name)
    kill = 'SELECT pg_terminate_backend(?)' if db.name == 'postgresql' else 'KILL ?'
    db.backend.execute(kill, (first,))
    time.sleep(0.2)
    second = _session_id(backend, db.name)      # no error: the dead connection was pinged and replaced
    assert second != first
    backend.close()
    Pooled.configure(_url(db, pool_size=1, pool_recycle=0.3))
    recycling = Pooled.backend()
    before = _session_id(recycling, db.name)
    assert _session_id(recycling, db.name) == before
    time.sleep(0.5)
    assert _session_id(recycling, db.name) != before
    recycling.close()


def test_the_custom_backend_guide_and_its_worked_example_exist() -> None:
    guide = (ROOT / 'docs' / 'custom-backend.md').read_text()
    for word in ('StorageBackend', 'driver_module', 'dialect_class', 'paramstyle', 'type_map_class'):
        assert word in guide
    example = ROOT / 'docs' / 'examples' / 'mysql_connector_backend.py'
    spec = importlib.util.spec_from_file_location('apic_connector_example', example)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    backends = [value for value in vars(module).values()
                if isinstance(value, type) and issubclass(value, StorageBackend) and value.__module__ == module.__name__]
    assert len(backends) == 1
    [backend] = backends
    assert backend.driver_module and backend.paramstyle
    assert issubclass(backend.dialect_class, Dialect) and issubclass(backend.dialect_class.type_map_class, TypeMap)
    assert 'docs/examples' in (ROOT / 'tests' / 'backend' / 'test_custom_backend.py').read_text() or \
        'mysql_connector_backend' in (ROOT / 'tests' / 'backend' / 'test_custom_backend.py').read_text()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-m', 'activerecord', *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={**os.environ, 'PYTHONPATH': str(ROOT)})


def test_demo_runs_end_to_end_on_sqlite(tmp_path: Path) -> None:
    for args in ((), ('--url', f'sqlite:///{tmp_path}/demo.db')):
        result = _cli('demo', *args)
        assert result.returncode == 0, result.stderr
        text = result.stdout.upper()
        for word in ('CREATE TABLE', 'INSERT', 'SELECT', 'UPDATE', 'DELETE', 'ROLLBACK'):
            assert word in text, word


def test_check_reports_version_features_tls_and_pool(db: Any) -> None:
    result = _cli('check', db.url)
    assert result.returncode == 0, result.stderr
    out = result.stdout.lower()
    for word in ('version', 'tls', 'pool', 'savepoints', 'checked_out'):
        assert word in out, word


def test_check_says_which_host_and_port_failed_without_traceback_or_password() -> None:
    result = _cli('check', 'postgresql://app:Pa55-w0rd@127.0.0.1:1/db?connect_timeout=2')
    assert result.returncode != 0
    both = result.stdout + result.stderr
    assert '127.0.0.1' in both and ':1' in both and 'refused' in both.lower()
    assert 'Traceback' not in both and 'Pa55-w0rd' not in both


def test_a_connection_coming_back_is_rolled_back(db: Any, tmp_path: Path) -> None:
    url = f'sqlite:///{tmp_path}/r.db' if db.name == 'sqlite' else db.url
    db.use(Pooled, create=False)
    Pooled.configure(url + ('&' if '?' in url else '?') + 'pool_size=1')
    backend = Pooled.backend()
    Pooled.drop_table(if_exists=True)
    Pooled.create_table()
    backend.execute('BEGIN')                  # left open by hand on the pooled connection...
    backend.execute('INSERT INTO apic_pooled (n) VALUES (?)', (1,))
    # ...was rolled back when the connection came back, so the INSERT committed on its own
    watcher = ConnectionConfig.from_url(url, pool_size=2)
    other = type(backend)(watcher)
    try:
        assert other.fetch_all('SELECT n FROM apic_pooled') == [{'n': 1}]
    finally:
        other.close()
        Pooled.drop_table(if_exists=True)
        backend.close()
