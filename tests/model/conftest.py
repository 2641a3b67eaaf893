"""Helpers for model tests: the SQL each test sends, read from the `activerecord.sql` log."""
from __future__ import annotations

import logging
from typing import Iterator

import pytest


class SentSQL:
    """The statements sent while a test runs (transaction control included)."""

    def __init__(self) -> None:
        self.records: list[str] = []

    def clear(self) -> None:
        self.records.clear()

    @property
    def statements(self) -> list[str]:
        """SQL texts as sent (the log line without its parameter count and timing)."""
        return [record.split(' -- ')[0] for record in self.records]

    def writes(self) -> list[str]:
        """INSERT/UPDATE/DELETE/MERGE statements only."""
        return [sql for sql in self.statements
                if sql.lstrip().split(' ', 1)[0].upper() in ('INSERT', 'UPDATE', 'DELETE', 'MERGE')]


class _Collector(logging.Handler):
    def __init__(self, sent: SentSQL) -> None:
        super().__init__(logging.DEBUG)
        self.sent = sent

    def emit(self, record: logging.LogRecord) -> None:
        self.sent.records.append(record.getMessage())


@pytest.fixture
def sent_sql() -> Iterator[SentSQL]:
    """Collects every statement logged to `activerecord.sql` during the test."""
    sent = SentSQL()
    logger = logging.getLogger('activerecord.sql')
    handler = _Collector(sent)
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield sent
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
