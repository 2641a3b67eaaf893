"""The one generic connection pool, used by every backend.

It knows nothing of any database: the backend hands it verbs (connect, ping, reset, close,
is_disconnect). Waits are always bounded by `timeout`; a failed statement is never re-run.

Two kinds of bad luck keep its accounting exact:

- An interrupt (KeyboardInterrupt, SystemExit, task cancellation) can land at any call. Every
  change of a connection's state (idle, lent, gone) and of the counters is made under the lock
  by statements that make no call in between, so it happens whole or not at all. A connection
  interrupted in the middle of a reset, ping or connect has an unknown state and is closed. A
  checked-out connection that its holder lost (the interrupt took the only reference with it)
  reports itself when garbage-collected, and its slot is given back.
- os.fork(): a child process never uses the parent's connections (both would talk on one
  socket and read each other's answers). Right after the fork the child's pools forget them
  without closing them: closing would tell the server to end the parent's sessions.
"""
from __future__ import annotations

import itertools
import os
import threading
import time
import weakref
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import ActiveRecordError, OperationalError, PoolTimeout

_ids = itertools.count(1)

#: a waiting checkout wakes at least this often (seconds) to take back slots of lost connections
_LOST_CHECK_INTERVAL = 0.5


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
    #: checked out of its pool (counted in checked_out); False while idle and once gone
    lent: bool = False
    #: the pool's list of lost connections, told when this one is collected while still lent
    lost_sink: list | None = field(default=None, repr=False)

    def __del__(self) -> None:
        # Only list.append here: a collection may run while this thread holds the pool's lock.
        if self.lent and self.lost_sink is not None:
            self.lost_sink.append(self.id)


class _InheritedConnection:
    """Stands in, in a forked child, for a connection the parent opened: every use raises."""

    __slots__ = ('message',)

    def __init__(self, parent: int, child: int) -> None:
        self.message = (f'this connection was opened by process {parent} before it forked process {child}; '
                        'a connection is never shared across fork(), so the transaction or block that '
                        'held it cannot go on in the child (start a new one there)')

    def __getattr__(self, name: str) -> Any:
        raise OperationalError(self.message)


#: every pool of this process, for the after-fork hook
_pools: weakref.WeakSet[ConnectionPool] = weakref.WeakSet()
#: the parent's driver connections, kept referenced in a forked child so that they are never
#: finalized there: a finalizer may write to the socket the parent still uses (a buffered
#: writer's flush), and SQLite's close may checkpoint or delete the parent's WAL
_parents_connections: list[Any] = []


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
        self._idle: list[PooledConnection] = []   # newest last
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
        self._lost: list[int] = []   # ids of lent connections collected unreturned
        self._members: weakref.WeakSet[PooledConnection] = weakref.WeakSet()   # for fork
        self._owner_pid = os.getpid()
        _pools.add(self)

    # -- status -------------------------------------------------------------------------

    def status(self) -> dict[str, int]:
        """size (configured), open, checked_out, idle, overflow."""
        with self._lock:
            return self._status()

    def _status(self) -> dict[str, int]:
        self._reclaim_lost()
        return {'size': self.size, 'open': self._open, 'checked_out': self._checked_out,
                'idle': len(self._idle), 'overflow': max(0, self._open - self.size),
                'max_overflow': self.max_overflow}

    def _reclaim_lost(self) -> None:
        """Give back the slots of lent connections collected unreturned (the lock is held)."""
        lost = len(self._lost)
        if lost:
            del self._lost[:lost]
            self._open -= lost
            self._checked_out -= lost

    # -- checkout / release -------------------------------------------------------------

    def checkout(self) -> PooledConnection:
        """A connection for the caller's exclusive use; raises PoolTimeout after `timeout`."""
        deadline = None   # taken at the first wait: a checkout that need not wait skips the clock
        pooled = None     # None after the loop: a slot is counted for a connection to open
        with self._lock:
            while True:
                if self._closed:
                    raise ActiveRecordError(f'{self.name}: the pool is closed (backend.close() was called)')
                idle = self._idle
                if idle:
                    pooled = idle[-1]   # LIFO: the warmest connection first
                    pooled.lent = True  # counted with no call between: an interrupt cannot split them
                    self._checked_out += 1
                    idle.pop()
                    break
                if self._open < self.size + self.max_overflow:
                    self._open += 1
                    self._checked_out += 1
                    break
                if self._lost:
                    self._reclaim_lost()
                    continue
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
                    self._available.wait(min(remaining, _LOST_CHECK_INTERVAL))
                finally:
                    self._waiting -= 1
        if pooled is not None and self.recycle is None and not self.pre_ping \
                and pooled.known_good_at > self._suspect_before:
            return pooled   # the common case, without _make_usable's call
        raw = None
        try:
            if pooled is None:
                # Opened here rather than in a helper: an interrupt that took a helper's return
                # value would leave a counted connection that this frame cannot see.
                raw = self._connect()
                pooled = PooledConnection(raw, lost_sink=self._lost)
                pooled.lent = True    # from here the slot is this connection's (no call between)
                self._members.add(pooled)
                return pooled
            return self._make_usable(pooled)
        except BaseException:
            self._give_up(pooled, raw)
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
        # The same object keeps the slot; only its driver connection is replaced.
        old, pooled.raw = pooled.raw, None
        self._discard(old)
        pooled.raw = self._connect()
        pooled.id = next(_ids)
        pooled.created_at = pooled.known_good_at = time.monotonic()
        return pooled

    def _give_up(self, pooled: PooledConnection | None, raw: Any) -> None:
        """After a failed or interrupted checkout: free its slot and close what it opened."""
        with self._lock:
            if pooled is not None:
                pooled.lent = False   # so that its collection does not free the slot again
                pooled.invalidated = True
                raw = pooled.raw
            self._open -= 1
            self._checked_out -= 1
            if self._waiting:
                self._available.notify()
        if raw is not None:
            self._discard(raw)

    def release(self, pooled: PooledConnection) -> None:
        """Give a connection back: rolled back if a transaction is open, kept or closed."""
        if pooled.invalidated or not pooled.lent:
            return   # already gone, or already back (a release that was interrupted and repeated)
        try:
            self._reset(pooled.raw)
        except Exception:
            self.invalidate(pooled)
            return
        except BaseException:
            self._drop(pooled)   # interrupted mid-rollback: its state is unknown
            raise
        pooled.in_transaction = False
        pooled.read_only = False
        with self._lock:
            keep = not self._closed and len(self._idle) < self.size
            if not pooled.lent:
                return
            pooled.lent = False
            self._checked_out -= 1
            if keep:
                self._idle.append(pooled)
            else:
                pooled.invalidated = True
                self._open -= 1
            if self._waiting:
                self._available.notify()
        if not keep:
            self._discard(pooled.raw)

    def invalidate(self, pooled: PooledConnection) -> None:
        """Close and forget a broken connection; the others are pinged at their next checkout."""
        if pooled.invalidated:
            return
        self._suspect_before = time.monotonic()
        self._drop(pooled)

    def _drop(self, pooled: PooledConnection) -> None:
        """Close and forget a connection, lent or idle, without suspecting the others."""
        with self._lock:
            if pooled.invalidated:
                return
            pooled.invalidated = True
            if pooled.lent:
                pooled.lent = False
                self._checked_out -= 1
                self._open -= 1
            elif pooled in self._idle:   # identity: eq=False
                self._open -= 1     # counted first: remove() is the last step
                self._idle.remove(pooled)
            if self._waiting:
                self._available.notify()
        self._discard(pooled.raw)

    def _discard(self, raw: Any) -> None:
        with suppress(Exception):   # closing a dead connection may fail; it is gone either way
            self._close(raw)

    # -- lifecycle ----------------------------------------------------------------------

    def dispose_idle(self) -> int:
        """Close every idle connection (they reopen on demand); returns how many."""
        with self._lock:
            count = len(self._idle)
            idle, self._idle = self._idle, []
            self._open -= count
            for pooled in idle:
                pooled.invalidated = True
            self._available.notify_all()
        for pooled in idle:
            self._discard(pooled.raw)
        return count

    @property
    def closed(self) -> bool:
        """Whether close() was called (checkouts are refused from then on)."""
        return self._closed

    def close(self) -> None:
        """Close idle connections now and the checked-out ones when they come back."""
        with self._lock:
            self._closed = True
        self.dispose_idle()

    # -- fork ---------------------------------------------------------------------------

    def _forget_inherited(self) -> None:
        """In a forked child: drop the parent's connections without a word to their sockets."""
        parent, child = self._owner_pid, os.getpid()
        if parent == child:
            return
        inherited = list(self._members)
        # The parent's other threads may have held the lock at the fork: they do not exist here.
        self._lock = threading.Lock()
        self._available = threading.Condition(self._lock)
        self._idle, self._open, self._checked_out, self._waiting = [], 0, 0, 0
        self._lost, self._members, self._owner_pid = [], weakref.WeakSet(), child
        stand_in = _InheritedConnection(parent, child)
        for pooled in inherited:
            _parents_connections.append(pooled.raw)
            # Also a connection lent at the fork (a transaction's): its holder's next statement
            # fails with OperationalError, and its release changes nothing.
            pooled.raw, pooled.lent, pooled.invalidated, pooled.lost_sink = stand_in, False, True, None


def _forget_inherited_connections() -> None:
    """os.register_at_fork hook: every pool of the child forgets the parent's connections."""
    for pool in list(_pools):
        pool._forget_inherited()


if hasattr(os, 'register_at_fork'):   # POSIX; Windows has no fork
    os.register_at_fork(after_in_child=_forget_inherited_connections)
