"""Helpers of the API.md conformance tests: the statements sent, read from `activerecord.sql`."""
from __future__ import annotations

import logging
import re
from typing import Iterator

import pytest

#: the duration part of a statement record: a number and a unit
DURATION = r'\d+(?:\.\d+)?\s*(?:ms|s|us|µs)'


class Sent:
    """The DEBUG records of `activerecord.sql` logged while a test runs."""

    def __init__(self) -> None:
        self.records: list[logging.LogRecord] = []

    def clear(self) -> None:
        """Forget the records so far."""
        self.records.clear()

    @property
    def messages(self) -> list[str]:
        """Each record's message."""
        return [record.getMessage() for record in self.records]

    def statements(self) -> list[str]:
        """The SQL of each record (the message up to the parameter count)."""
        return [re.split(r'\s+--\s+\d+ param', message, maxsplit=1)[0] for message in self.messages]

    def matching(self, word: str) -> list[str]:
        """Statements whose first keyword is `word` (INSERT, UPDATE, SELECT, ...)."""
        return [sql for sql in self.statements() if sql.lstrip().split(None, 1)[0].upper() == word]


class _Collector(logging.Handler):
    def __init__(self, sent: Sent) -> None:
        super().__init__(logging.DEBUG)
        self.sent = sent

    def emit(self, record: logging.LogRecord) -> None:
        self.sent.records.append(record)


@pytest.fixture
def sent() -> Iterator[Sent]:
    """Collects every statement record logged to `activerecord.sql` during the test."""
    collected = Sent()
    logger = logging.getLogger('activerecord.sql')
    handler = _Collector(collected)
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield collected
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def as_sent(sql: str, paramstyle: str) -> str:
    """`sql` with its `?` placeholders in a driver paramstyle (SQL without `?` in literals)."""
    parts = sql.split('?')
    out = [parts[0]]
    for index, part in enumerate(parts[1:], 1):
        out.append({'qmark': '?', 'format': '%s', 'numeric': f':{index}', 'named': f':p{index}',
                    'pyformat': f'%(p{index})s', 'dollar': f'${index}'}[paramstyle] + part)
    return ''.join(out)
