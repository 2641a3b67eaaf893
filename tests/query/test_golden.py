"""to_sql() of every construct against golden SQL per dialect, and sqlglot parses each text."""
from __future__ import annotations

from typing import Any

import pytest
import sqlglot

from activerecord.backend.placeholders import count_placeholders
from activerecord.errors import NotSupportedError

from .golden import DIALECTS, expected_for, make_dialect
from .golden.cases import CONSTRUCTS

PINNED = [name for name in DIALECTS if expected_for(name) is not None]


def _statements(rendered: Any) -> list[tuple[str, tuple]]:
    """One (sql, params), or several for a construct that renders more than one statement."""
    return list(rendered) if rendered and isinstance(rendered[0], tuple) else [rendered]


def test_sqlite_postgresql_mysql_are_pinned() -> None:
    assert {'sqlite', 'postgresql', 'mysql'} <= set(PINNED)


@pytest.mark.parametrize('dialect_name', PINNED)
def test_every_construct_is_pinned(dialect_name: str) -> None:
    expected = expected_for(dialect_name)
    assert sorted(set(CONSTRUCTS) - set(expected)) == [], 'constructs without golden SQL'
    assert sorted(set(expected) - set(CONSTRUCTS)) == [], 'golden SQL for constructs that no longer exist'


@pytest.mark.parametrize('construct', list(CONSTRUCTS))
@pytest.mark.parametrize('dialect_name', PINNED)
def test_golden_sql(dialect_name: str, construct: str) -> None:
    expected = expected_for(dialect_name).get(construct)
    if expected is None:
        pytest.fail(f'{dialect_name}.py has no golden SQL for {construct!r}')
    dialect = make_dialect(dialect_name)
    if expected is NotSupportedError:
        with pytest.raises(NotSupportedError, match=dialect.name):
            CONSTRUCTS[construct](dialect)
        return
    rendered = CONSTRUCTS[construct](dialect)
    assert rendered == expected
    for sql, params in _statements(rendered):
        assert count_placeholders(sql) == len(params), sql
        parsed = sqlglot.parse_one(sql, read=DIALECTS[dialect_name][1])
        assert parsed is not None and parsed.key in ('select', 'union', 'intersect', 'except', 'update', 'delete')
