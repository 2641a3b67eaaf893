"""The statement skeleton and its hooks, the registry's dropping of closed backends."""
from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from activerecord import errors
from activerecord.backend import registry
from activerecord.backend.impl.sqlite.backend import SQLiteBackend
from activerecord.backend.typing import ConnectionConfig


def memory_backend(**hooks: Any) -> SQLiteBackend:
    backend_class = type('HookedSQLite', (SQLiteBackend,), hooks) if hooks else SQLiteBackend
    return backend_class(ConnectionConfig(database=':memory:', pool_size=1))


def test_a_read_error_is_translated_and_the_connection_given_back() -> None:
    backend = memory_backend()
    try:
        def read(cursor: Any) -> None:
            raise sqlite3.OperationalError('the read failed')
        with pytest.raises(errors.OperationalError, match='the read failed') as caught:
            backend._statement('SELECT 1', None, read)
        assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
        assert backend.pool.status()['checked_out'] == 0
        assert backend.fetch_value('SELECT ?', (7,)) == 7
    finally:
        backend.close()


def test_the_hooks_shape_the_verbs() -> None:
    closed: list[Any] = []

    def close_cursor(self: Any, cursor: Any) -> None:
        closed.append(cursor)
        SQLiteBackend.close_cursor(self, cursor)

    backend = memory_backend(affected_rows=lambda self, cursor: 42, close_cursor=close_cursor)
    try:
        backend.ping()                 # connected (the session setup's cursors are closed too)
        closed.clear()
        backend.execute('CREATE TABLE t (n INTEGER)')
        assert backend.execute('INSERT INTO t (n) VALUES (?)', (1,)) == 42
        assert len(closed) == 2        # every statement's cursor goes through the hook
    finally:
        backend.close()


def test_transactions_go_through_begin_and_end() -> None:
    calls: list[tuple[str, ...]] = []

    def begin(self: Any, pooled: Any, statements: Any) -> None:
        calls.append(('begin', *statements))
        SQLiteBackend.begin(self, pooled, statements)

    def end(self: Any, pooled: Any, statements: Any, commit: bool) -> None:
        calls.append(('commit' if commit else 'rollback', *statements))
        SQLiteBackend.end(self, pooled, statements, commit)

    backend = memory_backend(begin=begin, end=end)
    try:
        with backend.transaction():
            with backend.transaction():   # a savepoint: neither hook
                pass
        with pytest.raises(ZeroDivisionError):
            with backend.transaction():
                1 / 0
        assert [call[0] for call in calls] == ['begin', 'commit', 'begin', 'rollback']
    finally:
        backend.close()


def test_the_registry_drops_a_closed_backend_at_the_next_lookup() -> None:
    config = ConnectionConfig(database=':memory:', scheme='sqlite')
    first = registry.shared_backend(SQLiteBackend, config)
    assert registry.shared_backend(SQLiteBackend, config) is first
    first.close()
    second = registry.shared_backend(SQLiteBackend, config)
    try:
        assert second is not first
        assert all(backend is not first for backend in registry._backends.values())
    finally:
        second.close()
