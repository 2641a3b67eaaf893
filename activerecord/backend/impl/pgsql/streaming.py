"""Streamed reads on PostgreSQL: a server-side cursor (DECLARE ... FETCH), so a huge result
never sits in client memory."""
from __future__ import annotations

import itertools
from typing import Any, Sequence

from ...base import StorageBackend
from ...pool import PooledConnection
from . import protocol

#: statements a cursor can be DECLAREd for; others are read in one go
DECLARABLE = frozenset({'SELECT', 'WITH', 'VALUES', 'TABLE'})
_cursor_names = itertools.count(1)


def is_declarable(sql: str) -> bool:
    """Whether `sql` is a query a cursor can be DECLAREd for (SHOW, INSERT ... RETURNING are not)."""
    first_word = sql.lstrip(' \t\n(').split(None, 1)[0].upper() if sql.strip() else ''
    return first_word in DECLARABLE


def declare_cursor(backend: StorageBackend, pooled: PooledConnection, sql: str, bound: Any,
                   count: int) -> ServerSideRows:
    """DECLARE a cursor for `sql`, in a transaction of its own if none is open."""
    name = backend.dialect.quote(f'ar_stream_{next(_cursor_names)}')
    owns_transaction = not backend.transaction_open(pooled.raw)
    if owns_transaction:
        backend.run_control(pooled, ['BEGIN'])
    try:
        # the backend's own run-a-statement step, shared with this module of its package
        cursor = backend._run(pooled, f'DECLARE {name} NO SCROLL CURSOR FOR {sql}', bound, count)  # pyright: ignore[reportPrivateUsage]
    except BaseException:
        if owns_transaction and not pooled.invalidated:
            backend.close_cursor(ServerSideRows(backend, pooled, name, True))
        raise
    backend.close_cursor(cursor)
    return ServerSideRows(backend, pooled, name, owns_transaction)


class ServerSideRows:
    """A DECLAREd cursor read with FETCH, so a huge result never sits in client memory."""

    def __init__(self, backend: StorageBackend, pooled: PooledConnection, name: str,
                 owns_transaction: bool) -> None:
        self._backend = backend
        self._pooled = pooled
        self._name = name
        self._owns_transaction = owns_transaction
        self._description: Any = None
        self._done = False

    def _fetch(self, count: int) -> Any:
        cursor = self._backend._run(self._pooled, f'FETCH FORWARD {int(count)} FROM {self._name}', (), 0)  # pyright: ignore[reportPrivateUsage]  # as in declare_cursor()
        self._description = cursor.description
        return cursor

    @property
    def description(self) -> Any:
        """Column descriptions (FETCH 0 learns them without moving the cursor)."""
        if self._description is None:
            self._fetch(0)
        return self._description

    def fetchmany(self, size: int) -> Sequence[Any]:
        """The next `size` rows (empty at the end)."""
        if self._done:
            return ()
        rows: Sequence[Any] = self._fetch(size).fetchall()
        self._done = len(rows) < size
        return rows

    def close(self) -> None:
        """End the cursor (and the transaction opened for it)."""
        raw = self._pooled.raw
        if self._pooled.invalidated or protocol.is_closed(raw):
            return
        if not self._owns_transaction:
            self._backend.run_control(self._pooled, [f'CLOSE {self._name}'])
        elif protocol.transaction_failed(raw):
            self._backend.run_control(self._pooled, ['ROLLBACK'])
        else:
            self._backend.run_control(self._pooled, ['COMMIT'])  # also closes the cursor
