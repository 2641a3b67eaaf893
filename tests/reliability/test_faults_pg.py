"""Faults on PostgreSQL: sessions ended by pg_terminate_backend, restarts, crashes mid-transaction.

All of it happens on a throwaway server of this module's own (see fault_scenarios.py).
"""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.support.servers import ThrowawayPostgres

from .fault_scenarios import FaultScenarios, FaultTarget

pytestmark = pytest.mark.server

APPLICATION = 'ar_reliability'


class PostgresTarget(FaultTarget):
    """The model's sessions carry an application_name of their own; the admin's do not."""

    own_session_sql = 'SELECT pg_backend_pid()'

    def model_url(self) -> str:
        return f'{self.server.url}?application_name={APPLICATION}'

    def admin_url(self) -> str:
        return f'{self.server.url}?application_name=ar_reliability_admin'

    def sessions(self) -> set[int]:
        rows = self.admin.fetch_all('SELECT pid FROM pg_stat_activity WHERE application_name = ?', (APPLICATION,))
        return {row['pid'] for row in rows}

    def kill_session(self, session_id: int) -> None:
        # The second argument makes the server wait (up to 5 s) until the session has ended.
        assert self.admin.fetch_value('SELECT pg_terminate_backend(?, 5000)', (session_id,)) is True


@pytest.fixture(scope='module')
def pg_server() -> Iterator[ThrowawayPostgres]:
    # Commits must survive a crash ('immediate' restarts): the helper turns synchronous_commit
    # off for speed, which would lose the last commits and the tables of the scenarios.
    with ThrowawayPostgres(settings={'synchronous_commit': 'on'}) as server:
        yield server


@pytest.fixture
def target(pg_server: ThrowawayPostgres) -> Iterator[FaultTarget]:
    handle = PostgresTarget(pg_server)
    handle.ensure_running()
    yield handle
    handle.close()


class TestPostgreSQLFaults(FaultScenarios):
    """Every fault scenario on PostgreSQL."""
