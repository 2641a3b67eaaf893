"""Faults on MariaDB: sessions ended by KILL, restarts, crashes mid-transaction.

All of it happens on a throwaway server of this module's own (see fault_scenarios.py).
"""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.support.servers import ThrowawayMariaDB

from .fault_scenarios import FaultScenarios, FaultTarget

pytestmark = pytest.mark.server

DATABASE = 'ar_reliability'


class MariaDBTarget(FaultTarget):
    """The model's sessions use a database of their own; the admin's use `test`."""

    own_session_sql = 'SELECT CONNECTION_ID()'

    def model_url(self) -> str:
        return f'mysql://root@{self.server.host}:{self.server.port}/{DATABASE}?connect_timeout=5'

    def admin_url(self) -> str:
        return f'{self.server.url}?connect_timeout=5'

    def ensure_running(self) -> None:
        super().ensure_running()
        self.admin.execute(f'CREATE DATABASE IF NOT EXISTS {self.admin.dialect.quote(DATABASE)}')

    def sessions(self) -> set[int]:
        rows = self.admin.fetch_all('SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ?', (DATABASE,))
        return {row['ID'] for row in rows}

    def kill_session(self, session_id: int) -> None:
        # KILL takes no bound parameter on the server; pymysql inlines the integer as a literal.
        self.admin.execute('KILL CONNECTION ?', (int(session_id),))


@pytest.fixture(scope='module')
def maria_server() -> Iterator[ThrowawayMariaDB]:
    # Commits must survive a crash ('immediate' restarts): the helper flushes the redo log only
    # once a second for speed, which would lose the last commits of the scenarios.
    with ThrowawayMariaDB(options=['--innodb-flush-log-at-trx-commit=2']) as server:
        yield server


@pytest.fixture
def target(maria_server: ThrowawayMariaDB) -> Iterator[FaultTarget]:
    handle = MariaDBTarget(maria_server)
    handle.ensure_running()
    yield handle
    handle.close()


class TestMariaDBFaults(FaultScenarios):
    """Every fault scenario on MariaDB."""
