"""Fault scenarios shared by the PostgreSQL and MariaDB fault tests.

Each scenario runs against a throwaway server (tests/support/servers.py) on a free loopback
port, so killing its sessions or restarting it harms nothing else. A `FaultTarget` says how to
reach the server and how to hurt it; `FaultScenarios` holds the tests, and a `Test...` subclass
in each backend's module supplies the `target` fixture.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterator

import pytest

from activerecord import ActiveRecord
from activerecord.backend.base import StorageBackend
from activerecord.backend.registry import backend_class_for
from activerecord.backend.typing import ConnectionConfig
from activerecord.errors import OperationalError
from tests.support.servers import ThrowawayServer

from .conftest import record, with_query


class Ledger(ActiveRecord):
    """The model every fault scenario writes."""

    __table_name__ = 'ar_rel_ledger'
    id: int
    label: str
    amount: int = 0


class FaultTarget:
    """A throwaway server, an admin connection to it, and how to list and kill the ORM's sessions."""

    #: SQL that returns the id of the session it runs in
    own_session_sql: str = ''

    def __init__(self, server: ThrowawayServer) -> None:
        self.server = server
        self._admin: StorageBackend | None = None

    # -- what each backend fills in -------------------------------------------------------

    def model_url(self) -> str:
        """The URL the model connects with: its sessions must be recognisable by `sessions()`."""
        raise NotImplementedError

    def admin_url(self) -> str:
        """The URL of the admin connection (not one of the model's sessions)."""
        raise NotImplementedError

    def sessions(self) -> set[int]:
        """Ids of the model's sessions as the server lists them."""
        raise NotImplementedError

    def kill_session(self, session_id: int) -> None:
        """End one session from the server side."""
        raise NotImplementedError

    # -- generic --------------------------------------------------------------------------

    @property
    def admin(self) -> StorageBackend:
        """A backend of its own (pool of 1) for listing and killing sessions."""
        if self._admin is None:
            config = ConnectionConfig.from_url(self.admin_url(), pool_size=1, pool_pre_ping=True)
            self._admin = backend_class_for(config.scheme)(config)
        return self._admin

    def kill_all(self) -> set[int]:
        """Kill every session of the model and wait until the server no longer lists them."""
        victims = self.sessions()
        assert victims, 'no session of the model to kill: the scenario set-up is wrong'
        for session_id in victims:
            self.kill_session(session_id)
        self._wait(lambda: not (self.sessions() & victims), f'sessions {sorted(victims)} to end')
        return victims

    def restart(self, mode: str) -> None:
        """Restart the server; the admin connection is dropped too (its pool pre-pings)."""
        self.server.restart(mode)

    def ensure_running(self) -> None:
        """Start the server again if a scenario left it stopped."""
        self.server.start()

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    @staticmethod
    def _wait(done: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f'waited {timeout:g}s for {what}')
            time.sleep(0.02)


def hold_connections(model: type, count: int) -> None:
    """Make the pool open `count` connections at once (each thread holds a transaction), then idle."""
    barrier = threading.Barrier(count, timeout=20)
    failures: list[BaseException] = []

    def hold() -> None:
        try:
            with model.transaction():
                model.query().count()
                barrier.wait()
        except BaseException as error:  # reported below: a thread's failure must fail the test
            failures.append(error)

    threads = [threading.Thread(target=hold) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not failures, failures
    status = model.backend().pool.status()
    assert status['idle'] == count and status['checked_out'] == 0, status


def labels() -> list[str]:
    """Every committed label, sorted (read on a fresh or recovered connection)."""
    return sorted(row.label for row in Ledger.query().all())


class FaultScenarios:
    """The fault tests; subclasses provide a `target` fixture (a FaultTarget, server running)."""

    @pytest.fixture
    def connect(self, target: FaultTarget) -> Iterator[Callable[..., Any]]:
        """configure Ledger on the target with pool settings; the table starts empty."""
        target.ensure_running()
        backends: list[StorageBackend] = []

        def configure(pool_size: int = 3, pre_ping: bool = False) -> StorageBackend:
            backend = Ledger.configure(with_query(target.model_url(), pool_size=pool_size, max_overflow=0,
                                                  pool_timeout=10, pool_pre_ping=pre_ping))
            backends.append(backend)
            Ledger.drop_table(if_exists=True)
            Ledger.create_table()
            return backend

        yield configure
        target.ensure_running()
        for backend in backends:
            try:
                Ledger.drop_table(if_exists=True)
            finally:
                backend.close()

    # -- a pooled connection killed by the server -----------------------------------------

    def test_killed_connection_is_replaced_by_pre_ping_before_use(self, target: FaultTarget, connect) -> None:
        backend = connect(pre_ping=True)
        Ledger.create(label='before')
        old_session = backend.fetch_value(target.own_session_sql)
        assert target.kill_all() == {old_session}
        # The checkout pings the dead connection, discards it and opens a fresh one: no error.
        new_session = backend.fetch_value(target.own_session_sql)
        assert new_session != old_session
        Ledger.create(label='after')
        assert labels() == ['after', 'before']
        status = backend.pool.status()
        assert (status['open'], status['checked_out'], status['idle']) == (1, 0, 1), status
        record('faults')

    def test_killed_connection_without_pre_ping_fails_once_is_discarded_and_not_rerun(
            self, target: FaultTarget, connect) -> None:
        backend = connect(pre_ping=False)
        Ledger.create(label='before')
        target.kill_all()
        with pytest.raises(OperationalError):
            Ledger.create(label='lost')
        # The dead connection was discarded, not put back.
        assert backend.pool.status()['open'] == 0 and backend.pool.status()['checked_out'] == 0
        Ledger.create(label='after')
        # The failed INSERT was not re-run behind the caller's back.
        assert labels() == ['after', 'before']
        record('faults')

    # -- the server restarted while the pool holds idle connections -----------------------

    @pytest.mark.parametrize('mode', ['fast', 'immediate'])
    @pytest.mark.parametrize('pre_ping', [True, False], ids=['pre_ping', 'no_pre_ping'])
    def test_restart_with_idle_connections_recovers_and_replaces_every_old_one(
            self, target: FaultTarget, connect, mode: str, pre_ping: bool) -> None:
        backend = connect(pool_size=4, pre_ping=pre_ping)
        hold_connections(Ledger, 4)
        Ledger.create(label='before')
        target.restart(mode)
        failures = 0
        if not pre_ping:
            # Nothing can know the server went away before a statement is sent: the first
            # one fails (and is not re-run), and makes every idle connection suspect.
            with pytest.raises(OperationalError):
                Ledger.create(label='lost')
            failures += 1
        # Every old connection is pinged at checkout and replaced, never handed out: all four
        # at once, then in a row.
        hold_connections(Ledger, 4)
        for number in range(10):
            Ledger.create(label=f'after-{number}')
        assert Ledger.query().count() == 11
        assert 'lost' not in labels()
        assert len(target.sessions()) == 4
        assert backend.pool.status()['checked_out'] == 0
        assert failures == (0 if pre_ping else 1)
        record('faults')

    # -- a connection lost in the middle of a transaction ---------------------------------

    def _lose_connection(self, target: FaultTarget, how: str) -> None:
        if how == 'kill':
            target.kill_all()
        else:
            target.restart('immediate')

    @pytest.mark.parametrize('how', ['kill', 'crash'])
    def test_lost_mid_transaction_raises_commits_nothing_and_frees_the_pool(
            self, target: FaultTarget, connect, how: str) -> None:
        backend = connect(pre_ping=False)
        Ledger.create(label='committed-before')
        with pytest.raises(OperationalError):
            with Ledger.transaction():
                Ledger.create(label='in-transaction-1')
                self._lose_connection(target, how)
                Ledger.create(label='in-transaction-2')
        assert not backend.in_transaction
        status = backend.pool.status()
        assert status['checked_out'] == 0 and status['open'] == status['idle'], status
        # Checked after reconnecting: the first statement afterwards must not fail either,
        # so the broken connection is not what the pool hands out.
        assert labels() == ['committed-before']
        record('faults')

    def test_lost_mid_transaction_error_swallowed_inside_the_block_still_commits_nothing(
            self, target: FaultTarget, connect) -> None:
        backend = connect(pre_ping=False)
        with pytest.raises(OperationalError):
            with Ledger.transaction():
                Ledger.create(label='in-transaction-1')
                target.kill_all()
                for label in ('in-transaction-2', 'in-transaction-3'):
                    try:
                        Ledger.create(label=label)
                    except OperationalError:
                        pass   # a careless caller: the commit must still not pretend success
        assert not backend.in_transaction
        assert labels() == []
        assert backend.pool.status()['checked_out'] == 0
        record('faults')

    def test_lost_inside_a_nested_block_the_outer_transaction_cannot_go_on_on_a_new_connection(
            self, target: FaultTarget, connect) -> None:
        backend = connect(pre_ping=False)
        outcome: list[str] = []
        with pytest.raises(OperationalError):
            with Ledger.transaction():
                Ledger.create(label='outer-1')
                try:
                    with Ledger.transaction():
                        Ledger.create(label='inner-1')
                        target.kill_all()
                        Ledger.create(label='inner-2')
                except OperationalError:
                    outcome.append('inner block failed')
                # Still inside the outer transaction, whose connection is gone: this must fail,
                # not autocommit on a fresh connection while outer-1 and inner-1 are lost.
                Ledger.create(label='outer-2')
        assert outcome == ['inner block failed']
        assert not backend.in_transaction
        assert labels() == []
        assert backend.pool.status()['checked_out'] == 0
        record('faults')

    def test_a_killed_idle_connection_does_not_disturb_a_transaction_on_another(
            self, target: FaultTarget, connect) -> None:
        backend = connect(pool_size=2, pre_ping=False)
        ready, killed = threading.Event(), threading.Event()
        errors: list[BaseException] = []

        def bystander() -> None:
            try:
                with Ledger.transaction():
                    Ledger.create(label='bystander')
                    ready.set()
                    assert killed.wait(20)
                    Ledger.create(label='bystander-2')
            except BaseException as error:
                errors.append(error)

        thread = threading.Thread(target=bystander)
        thread.start()
        try:
            assert ready.wait(20)
            victim = backend.fetch_value(target.own_session_sql)   # the one idle connection
            target.kill_session(victim)
            target._wait(lambda: victim not in target.sessions(), f'session {victim} to end')
            with pytest.raises(OperationalError):
                Ledger.create(label='lost')
        finally:
            killed.set()
            thread.join(30)
        # The bystander's connection is older than the failure, but a transaction in flight
        # keeps it: only idle connections are replaced.
        assert not errors, errors
        Ledger.create(label='after')
        assert labels() == ['after', 'bystander', 'bystander-2']
        assert backend.pool.status()['checked_out'] == 0
        record('faults')
