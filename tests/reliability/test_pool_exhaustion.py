"""Pool exhaustion on every live backend: a bounded wait, a PoolTimeout that shows the pool's
state, and nothing leaked once the holders return."""
from __future__ import annotations

import threading
import time

import pytest

from activerecord import ActiveRecord
from activerecord.errors import OperationalError, PoolTimeout

from .conftest import record

TIMEOUT = 0.5


class Ticket(ActiveRecord):
    __table_name__ = 'ar_rel_tickets'
    id: int
    holder: str


class Holders:
    """Threads that each hold a pooled connection (an open transaction) until released.

    They only read: SQLite lets one transaction write at a time, and a second writer would
    wait for the first instead of holding its own connection.
    """

    def __init__(self, count: int) -> None:
        self.ready = threading.Barrier(count + 1, timeout=20)
        self.release = threading.Event()
        self.errors: list[BaseException] = []
        self.threads = [threading.Thread(target=self._hold, args=(f'holder-{n}',)) for n in range(count)]
        for thread in self.threads:
            thread.start()
        self.ready.wait()

    def _hold(self, name: str) -> None:
        try:
            with Ticket.transaction():
                Ticket.query().count()
                self.ready.wait()
                assert self.release.wait(20)
        except BaseException as error:  # reported by finish()
            self.errors.append(error)

    def finish(self) -> None:
        self.release.set()
        for thread in self.threads:
            thread.join(20)
        assert not self.errors, self.errors


def timed_failure(action) -> tuple[PoolTimeout, float]:
    started = time.monotonic()
    with pytest.raises(PoolTimeout) as raised:
        action()
    return raised.value, time.monotonic() - started


def test_a_third_checkout_times_out_on_time_shows_the_state_and_nothing_leaks(db, bind) -> None:
    backend = bind(Ticket, pool_size=2, max_overflow=0, pool_timeout=TIMEOUT)
    Ticket.create(holder='first')
    expected_state = {'size': 2, 'open': 2, 'checked_out': 2, 'idle': 0, 'overflow': 0, 'max_overflow': 0}
    for round_number in range(2):   # twice: a leak in the first round would show in the second
        holders = Holders(2)
        try:
            # Every way of asking for a connection waits pool_timeout, then says why it failed
            # (the second round, which looks for leaks, needs only one of them).
            actions = [lambda: Ticket.query().count(), lambda: Ticket.create(holder='third'),
                       lambda: Ticket.transaction().__enter__()]
            for action in actions[:3 if round_number == 0 else 1]:
                error, waited = timed_failure(action)
                assert TIMEOUT <= waited <= TIMEOUT * 1.2, f'waited {waited:.3f}s for a {TIMEOUT}s pool_timeout'
                assert isinstance(error, OperationalError)
                assert error.status == expected_state
                message = str(error)
                for part in (f'within {TIMEOUT:g}s', 'size=2', 'max_overflow=0', 'open=2', 'checked_out=2', 'idle=0'):
                    assert part in message, message
                assert backend.pool.status() == expected_state
                assert not backend.in_transaction
                record('faults')
        finally:
            holders.finish()
        status = backend.pool.status()
        assert (status['checked_out'], status['open'], status['idle']) == (0, 2, 2), status
        # The connections came back usable: no wait now.
        started = time.monotonic()
        Ticket.create(holder=f'after-round-{round_number}')
        assert time.monotonic() - started < TIMEOUT
    # The INSERT that could not get a connection was never sent, and is not sent later either.
    assert sorted(ticket.holder for ticket in Ticket.query().all()) == ['after-round-0', 'after-round-1', 'first']


def test_a_waiter_gets_the_connection_a_holder_returns_before_the_timeout(db, bind) -> None:
    backend = bind(Ticket, pool_size=2, max_overflow=0, pool_timeout=10)
    Ticket.create(holder='first')
    Ticket.create(holder='second')
    holders = Holders(2)
    result: list[int] = []
    waiter = threading.Thread(target=lambda: result.append(Ticket.query().count()))
    started = time.monotonic()
    waiter.start()
    time.sleep(0.2)
    assert not result            # still waiting for a connection
    holders.finish()
    waiter.join(10)
    assert result == [2]
    assert time.monotonic() - started < 5
    assert backend.pool.status()['checked_out'] == 0
