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

import asyncio
import itertools
import os
import threading
import time
import weakref
from collections import deque
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
    #: lent to an async call (backend.arun): every statement of that call runs on it,
    #: so others may run between a stream's reads (a driver whose streaming cursor cannot allow
    #: that buffers then, as inside a transaction)
    shared: bool = False
    #: the pool's list of lost connections, told when this one is collected while still lent
    lost_sink: list[int] | None = field(default=None, repr=False)
    #: a driver cursor with nothing left to read, kept for the next statement (where the backend's
    #: reusable_cursor says that is cheaper than a new one); it belongs to `raw`, so goes with it
    cursor: Any = field(default=None, repr=False)

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
        #: tasks waiting in areserve(): (their loop, the future a release completes), oldest first;
        #: each is also counted in _waiting
        self._async_waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()
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

    def _reserve(self) -> PooledConnection | None:
        """With the lock held: an idle connection, or a new slot (a PooledConnection whose `raw`
        is None, to open outside the lock), lent and counted; None when neither is free. The one
        slot logic of the sync and the async checkout."""
        while True:
            if self._closed:
                raise ActiveRecordError(f'{self.name}: the pool is closed (backend.close() was called)')
            idle = self._idle
            if idle:
                pooled = idle[-1]   # LIFO: the warmest connection first
                pooled.lent = True  # counted with no call between: an interrupt cannot split them
                self._checked_out += 1
                idle.pop()
                return pooled
            if self._open < self.size + self.max_overflow:
                # An object holds the slot from the start: if an interrupt takes it before the
                # caller sees it, its collection gives the slot back (lost_sink).
                pooled = PooledConnection(None, lost_sink=self._lost)
                pooled.lent = True
                self._open += 1
                self._checked_out += 1
                return pooled
            if not self._lost:
                return None
            self._reclaim_lost()

    def _timeout_error(self) -> PoolTimeout:
        status = self._status()
        return PoolTimeout(
            f'{self.name}: no connection became free within {self.timeout:g}s '
            f'(size={status["size"]}, max_overflow={self.max_overflow}, open={status["open"]}, '
            f'checked_out={status["checked_out"]}, idle={status["idle"]}); '
            'raise pool_size/max_overflow or return connections sooner', status)

    def checkout(self) -> PooledConnection:
        """A connection for the caller's exclusive use; raises PoolTimeout after `timeout`."""
        deadline = None   # taken at the first wait: a checkout that need not wait skips the clock
        with self._lock:
            while True:
                idle = self._idle   # read again after each wait: close() and a fork replace the list
                if idle and not self._closed:
                    # _reserve()'s first case inline: a call costs a tenth of a checkout
                    pooled = idle[-1]
                    pooled.lent = True
                    self._checked_out += 1
                    idle.pop()
                    break
                reserved = self._reserve()
                if reserved is not None:
                    pooled = reserved
                    break
                if deadline is None:
                    deadline = time.monotonic() + self.timeout
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._timeout_error()
                self._waiting += 1
                try:
                    self._available.wait(min(remaining, _LOST_CHECK_INTERVAL))
                finally:
                    self._waiting -= 1
        if pooled.raw is not None and self.recycle is None and not self.pre_ping \
                and pooled.known_good_at > self._suspect_before:
            return pooled   # the common case, without finish_checkout's call
        return self.finish_checkout(pooled)

    async def areserve(self) -> PooledConnection:
        """checkout()'s wait on the event loop (no thread blocks): a reserved connection to pass
        to finish_checkout() on a worker thread (or to unreserve()). Cancelled: nothing is taken."""
        loop = asyncio.get_running_loop()
        deadline = None
        while True:
            with self._lock:
                pooled = self._reserve()
                if pooled is not None:
                    return pooled
                if deadline is None:
                    deadline = time.monotonic() + self.timeout
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._timeout_error()
                waiter: asyncio.Future[None] = loop.create_future()
                entry = (loop, waiter)
                self._async_waiters.append(entry)
                self._waiting += 1
            # Woken by a release, or by this timer to look again (lost connections are
            # reclaimed, the deadline checked). A timer, not asyncio.timeout (Python 3.11+).
            timer = loop.call_later(min(remaining, _LOST_CHECK_INTERVAL), _wake_waiter, waiter)
            try:
                await waiter
            except BaseException:
                timer.cancel()
                with self._lock:
                    if not self._forget_waiter(entry):
                        # A release chose this waiter as it was cancelled: pass the wake-up on,
                        # so that a free connection does not wait for nobody.
                        self._wake()
                raise
            timer.cancel()
            with self._lock:
                self._forget_waiter(entry)

    def _forget_waiter(self, entry: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]) -> bool:
        """With the lock held: remove a waiter no release has chosen; False if one had."""
        try:
            self._async_waiters.remove(entry)
        except ValueError:
            return False
        self._waiting -= 1
        return True

    def finish_checkout(self, pooled: PooledConnection) -> PooledConnection:
        """The I/O part of a checkout (connect, recycle, pre-ping) for a reserved connection; on
        failure its slot is given back. Blocking: async callers run it on a worker thread."""
        try:
            if pooled.raw is None:
                pooled.raw = self._connect()
                pooled.created_at = pooled.known_good_at = time.monotonic()
                self._members.add(pooled)
                return pooled
            if self.recycle is None and not self.pre_ping and pooled.known_good_at > self._suspect_before:
                return pooled
            return self._make_usable(pooled)
        except BaseException:
            self._give_up(pooled)
            raise

    def unreserve(self, pooled: PooledConnection) -> None:
        """Give back a reservation that was never used (its caller was cancelled first)."""
        if pooled.raw is None:
            self._give_up(pooled)
            return
        with self._lock:
            if not pooled.lent or pooled.invalidated:
                return
            pooled.lent = False
            self._checked_out -= 1
            if self._closed or len(self._idle) >= self.size:
                pooled.invalidated = True
                self._open -= 1
                raw = pooled.raw
            else:
                self._idle.append(pooled)   # untouched since it was idle: no reset needed
                raw = None
            if self._waiting:
                self._wake()
        if raw is not None:
            self._discard(raw)

    def _wake(self) -> None:
        """With the lock held: wake one waiting thread and one waiting task (each tries again)."""
        if self._async_waiters:
            loop, waiter = self._async_waiters.popleft()
            self._waiting -= 1
            with suppress(RuntimeError):   # its loop is closed: nobody waits there any more
                loop.call_soon_threadsafe(_wake_waiter, waiter)
        self._available.notify()

    def _wake_all(self) -> None:
        """With the lock held: wake every waiter (the pool closed, or many connections freed)."""
        while self._async_waiters:
            self._wake()
        self._available.notify_all()

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
        old, pooled.raw, pooled.cursor = pooled.raw, None, None
        self._discard(old)
        pooled.raw = self._connect()
        pooled.id = next(_ids)
        pooled.created_at = pooled.known_good_at = time.monotonic()
        return pooled

    def _give_up(self, pooled: PooledConnection) -> None:
        """After a failed or interrupted checkout: free its slot and close what it opened."""
        with self._lock:
            pooled.lent = False   # so that its collection does not free the slot again
            pooled.invalidated = True
            raw = pooled.raw
            self._open -= 1
            self._checked_out -= 1
            if self._waiting:
                self._wake()
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
            idle = self._idle
            keep = not self._closed and len(idle) < self.size
            if not pooled.lent:
                return
            pooled.lent = False
            self._checked_out -= 1
            if keep:
                idle.append(pooled)
            else:
                pooled.invalidated = True
                self._open -= 1
            if self._waiting:
                self._wake()
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
                self._wake()
        self._discard(pooled.raw)

    def _discard(self, raw: Any) -> None:
        if raw is None:
            return   # a reserved slot whose connection was never opened
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
            self._wake_all()
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
        self._async_waiters = deque()
        self._lost, self._members, self._owner_pid = [], weakref.WeakSet(), child
        stand_in = _InheritedConnection(parent, child)
        for pooled in inherited:
            _parents_connections.append(pooled.raw)
            if pooled.cursor is not None:   # the parent's too: never used, nor finalized, here
                _parents_connections.append(pooled.cursor)
                pooled.cursor = None
            # Also a connection lent at the fork (a transaction's): its holder's next statement
            # fails with OperationalError, and its release changes nothing.
            pooled.raw, pooled.lent, pooled.invalidated, pooled.lost_sink = stand_in, False, True, None


def _wake_waiter(waiter: asyncio.Future[None]) -> None:
    """On the waiter's loop: let its areserve() try again (unless it gave up meanwhile)."""
    if not waiter.done():
        waiter.set_result(None)


def _forget_inherited_connections() -> None:
    """os.register_at_fork hook: every pool of the child forgets the parent's connections."""
    for pool in list(_pools):
        pool._forget_inherited()   # pyright: ignore[reportPrivateUsage]  # the pools' own hook


if hasattr(os, 'register_at_fork'):   # POSIX; Windows has no fork
    os.register_at_fork(after_in_child=_forget_inherited_connections)
