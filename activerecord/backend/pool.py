"""The one generic connection pool, used by every backend.

It knows nothing of any database: the backend hands it verbs (connect, ping, reset, close,
is_disconnect). Waits are always bounded by `timeout`; a failed statement is never re-run.
"""
from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..errors import ActiveRecordError, PoolTimeout

_ids = itertools.count(1)


@dataclass(eq=False)
class PooledConnection:
    """A driver connection with the bookkeeping the pool and transactions need."""
    raw: Any
    created_at: float = field(default_factory=time.monotonic)
    known_good_at: float = field(default_factory=time.monotonic)   # opened, or last pinged fine
    id: int = field(default_factory=lambda: next(_ids))
    in_transaction: bool = False
    read_only: bool = False
    invalidated: bool = False


class ConnectionPool:
    """pool_size kept connections, max_overflow more on demand, bounded waits, recycle, pre-ping."""

    def __init__(self, *, connect: Callable[[], Any], close: Callable[[Any], None],
                 ping: Callable[[Any], None], reset: Callable[[Any], None],
                 size: int = 5, max_overflow: int = 10, timeout: float = 30.0,
                 recycle: float | None = None, pre_ping: bool = False, name: str = 'pool') -> None:
        self._connect = connect
        self._close = close
        self._ping = ping
        self._reset = reset
        self.size = size
        self.max_overflow = max_overflow
        self.timeout = timeout
        self.recycle = recycle
        self.pre_ping = pre_ping
        self.name = name
        self._idle: deque[PooledConnection] = deque()
        self._open = 0          # connections that exist or are being opened
        self._checked_out = 0
        self._closed = False
        # Connections last known good before the last invalidation are suspect: a server
        # restart or a network cut breaks them all, but each would otherwise fail only when
        # next used. Each is pinged once at its next checkout (even without pre_ping).
        self._suspect_before = float('-inf')
        self._lock = threading.Lock()
        self._available = threading.Condition(self._lock)
        # threads blocked in checkout(): notify() is skipped when there are none (it costs
        # more than the rest of a release)
        self._waiting = 0

    # -- status -------------------------------------------------------------------------

    def status(self) -> dict[str, int]:
        """size (configured), open, checked_out, idle, overflow."""
        with self._lock:
            return self._status()

    def _status(self) -> dict[str, int]:
        return {'size': self.size, 'open': self._open, 'checked_out': self._checked_out,
                'idle': len(self._idle), 'overflow': max(0, self._open - self.size),
                'max_overflow': self.max_overflow}

    # -- checkout / release -------------------------------------------------------------

    def checkout(self) -> PooledConnection:
        """A connection for the caller's exclusive use; raises PoolTimeout after `timeout`."""
        deadline = None   # taken at the first wait: a checkout that need not wait skips the clock
        with self._lock:
            while True:
                if self._closed:
                    raise ActiveRecordError(f'{self.name}: the pool is closed (backend.close() was called)')
                if self._idle:
                    pooled = self._idle.pop()   # LIFO: the warmest connection first
                    self._checked_out += 1
                    break
                if self._open < self.size + self.max_overflow:
                    self._open += 1
                    self._checked_out += 1
                    pooled = None
                    break
                if deadline is None:
                    deadline = time.monotonic() + self.timeout
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    status = self._status()
                    raise PoolTimeout(
                        f'{self.name}: no connection became free within {self.timeout:g}s '
                        f'(size={status["size"]}, max_overflow={self.max_overflow}, open={status["open"]}, '
                        f'checked_out={status["checked_out"]}, idle={status["idle"]}); '
                        'raise pool_size/max_overflow or return connections sooner', status)
                self._waiting += 1
                try:
                    self._available.wait(remaining)
                finally:
                    self._waiting -= 1
        if pooled is None:
            return self._open_new()
        if self.recycle is None and not self.pre_ping and pooled.known_good_at > self._suspect_before:
            return pooled   # the common case, without _make_usable's call
        try:
            return self._make_usable(pooled)
        except BaseException:
            self._forget_checked_out()
            raise

    def _open_new(self) -> PooledConnection:
        try:
            return PooledConnection(self._connect())
        except BaseException:
            self._forget_checked_out()
            raise

    def _make_usable(self, pooled: PooledConnection) -> PooledConnection:
        """Replace a connection that is too old or fails its ping (pre_ping, or suspect) with a new one."""
        too_old = self.recycle is not None and time.monotonic() - pooled.created_at > self.recycle
        if not too_old and (self.pre_ping or pooled.known_good_at <= self._suspect_before):
            try:
                self._ping(pooled.raw)
            except Exception:
                too_old = True
            else:
                pooled.known_good_at = time.monotonic()
        if not too_old:
            return pooled
        self._discard(pooled.raw)
        return PooledConnection(self._connect())

    def _forget_checked_out(self) -> None:
        with self._lock:
            self._open -= 1
            self._checked_out -= 1
            if self._waiting:
                self._available.notify()

    def release(self, pooled: PooledConnection) -> None:
        """Give a connection back: rolled back if a transaction is open, kept or closed."""
        if pooled.invalidated:
            return
        try:
            self._reset(pooled.raw)
        except Exception:
            self.invalidate(pooled)
            return
        pooled.in_transaction = False
        pooled.read_only = False
        with self._lock:
            self._checked_out -= 1
            if self._closed or len(self._idle) >= self.size:
                self._open -= 1
                keep = False
            else:
                self._idle.append(pooled)
                keep = True
            if self._waiting:
                self._available.notify()
        if not keep:
            self._discard(pooled.raw)

    def invalidate(self, pooled: PooledConnection) -> None:
        """Close and forget a broken checked-out connection; the others are pinged at their next checkout."""
        if pooled.invalidated:
            return
        pooled.invalidated = True
        self._suspect_before = time.monotonic()
        self._forget_checked_out()
        self._discard(pooled.raw)

    @contextmanager
    def connection(self) -> Iterator[PooledConnection]:
        """Check a connection out for the length of a `with` block."""
        pooled = self.checkout()
        try:
            yield pooled
        finally:
            self.release(pooled)

    def _discard(self, raw: Any) -> None:
        try:
            self._close(raw)
        except Exception:  # closing a dead connection may fail; it is gone either way
            pass

    # -- lifecycle ----------------------------------------------------------------------

    def dispose_idle(self) -> int:
        """Close every idle connection (they reopen on demand); returns how many."""
        with self._lock:
            idle = list(self._idle)
            self._idle.clear()
            self._open -= len(idle)
            self._available.notify_all()
        for pooled in idle:
            self._discard(pooled.raw)
        return len(idle)

    def close(self) -> None:
        """Close idle connections now and the checked-out ones when they come back."""
        with self._lock:
            self._closed = True
        self.dispose_idle()

    def reopen(self) -> None:
        """Accept checkouts again after close() (a closed backend used again)."""
        with self._lock:
            self._closed = False
