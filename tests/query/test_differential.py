"""Differential test: every query built through the API returns what hand-written SQL returns
through the raw DB-API driver, on every live backend of the matrix."""
from __future__ import annotations

import datetime
import decimal
from typing import Any

from activerecord import ActiveRecord

from .differential_cases import CASES, Case
from .models import seed

MIN_CASES = 40


class RawDriver:
    """A plain DB-API connection of the backend's driver, outside activerecord's execution path."""

    def __init__(self, backend: Any) -> None:
        self.module = backend.driver
        self.connection = backend.driver.connect(**backend.connect_kwargs())
        if backend.name == 'postgresql':
            self.connection.autocommit = True

    def rows(self, sql: str, params: tuple) -> list[tuple]:
        if params and self.module.paramstyle in ('format', 'pyformat'):
            sql = sql.replace('%', '%%').replace('?', '%s')
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, params) if params else cursor.execute(sql)
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def close(self) -> None:
        self.connection.close()


def normal(value: Any) -> Any:
    """One value in a form every driver agrees on (bool as int, numbers as rounded floats)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (decimal.Decimal, float)):
        return round(float(value), 4)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def api_rows(result: Any, kind: str) -> list[tuple]:
    """The API's answer as rows of normal values."""
    if kind == 'exists':
        return [(int(result),)]
    if kind == 'scalar':
        return [(normal(result),)]
    if result is None:
        return []
    if isinstance(result, ActiveRecord):
        result = [result]
    rows = []
    for item in result:
        if isinstance(item, ActiveRecord):
            values = tuple(getattr(item, name) for name in type(item).__meta__.fields)
        elif isinstance(item, dict):
            values = tuple(item.values())
        elif isinstance(item, tuple):
            values = item
        else:
            values = (item,)
        rows.append(tuple(normal(value) for value in values))
    return rows


def raw_rows(driver: RawDriver, case: Case, backend_name: str) -> list[tuple]:
    rows = driver.rows(case.sql_for(backend_name), case.params)
    if case.kind == 'exists':
        return [(int(bool(rows)),)]
    return [tuple(normal(value) for value in row) for row in rows]


def test_api_matches_hand_written_sql(db: Any) -> None:
    seed(db)
    driver = RawDriver(db.backend)
    features = db.backend.features
    ran, failures = [], []
    try:
        for case in CASES:
            if case.requires and not getattr(features, case.requires):
                continue
            expected = raw_rows(driver, case, db.name)
            try:
                got = api_rows(case.api(), case.kind)
            except Exception as error:  # report every failing case, not only the first
                failures.append(f'{case.name}: {type(error).__name__}: {error}')
                continue
            if not case.ordered:
                expected, got = sorted(expected, key=repr), sorted(got, key=repr)
            if not expected and not case.may_be_empty:
                failures.append(f'{case.name}: the hand-written SQL found no row; the case proves nothing')
            elif got != expected:
                failures.append(f'{case.name}:\n  api: {got[:5]}... ({len(got)} rows)\n'
                                f'  sql: {expected[:5]}... ({len(expected)} rows)')
            ran.append(case.name)
    finally:
        driver.close()
    assert not failures, f'{len(failures)} of {len(ran) + len(failures)} cases differ on {db.name}:\n' + \
        '\n'.join(failures)
    assert len(ran) >= MIN_CASES, f'only {len(ran)} cases ran on {db.name}'
