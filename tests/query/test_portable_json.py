"""Portable JSON paths (issue 18): `col['a']['b']`, `col['tags'][0]`, `.astext` and comparisons of
scalar values give the same answers on SQLite, PostgreSQL and MariaDB.

Every query below has its expected answer written out, and runs on every live backend of the
matrix: equal answers there are the differential test. The SQL Oracle and SQL Server get is
pinned in tests/backends/test_json_path_sql.py.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable

import pytest

from activerecord import ActiveRecord, func
from activerecord.backend.impl.sqlite.dialect import SQLiteDialect
from activerecord.errors import ActiveRecordError


class Gadget(ActiveRecord):
    __table_name__ = 'pj_gadgets'
    id: int
    name: str
    settings: dict = {}


ROWS = [
    {'id': 1, 'name': 'lamp', 'settings': {'theme': 'dark', 'size': 12, 'ratio': 1.5, 'beta': True,
                                           'tags': ['a', 'b'], 'owner': {'name': 'ann', 'age': 31}}},
    {'id': 2, 'name': 'desk', 'settings': {'theme': 'light', 'size': 9, 'ratio': 0.25, 'beta': False,
                                           'tags': ['c'], 'owner': {'name': 'bob', 'age': 27}}},
    {'id': 3, 'name': 'fan', 'settings': {'theme': 'Dark', 'size': 100, 'beta': False, 'owner': {'name': 'cy'},
                                          'note': None}},
    {'id': 4, 'name': 'rug', 'settings': {}},
]

S = Gadget.c.settings


def ids(*conditions: Any) -> Callable[[], list[int]]:
    return lambda: Gadget.query().where(*conditions).order_by('id').pluck('id')


QUERIES: dict[str, tuple[Callable[[], Any], Any]] = {
    # text of a key, filtered and selected
    'text_eq': (ids(S['theme'].astext == 'dark'), [1]),               # case-sensitive everywhere
    'text_ne': (ids(S['theme'].astext != 'dark'), [2, 3]),            # a missing key is NULL
    'text_pluck': (lambda: Gadget.query().order_by('id').pluck(S['theme'].astext), ['dark', 'light', 'Dark', None]),
    'number_astext': (lambda: Gadget.query().order_by('id').pluck(S['size'].astext), ['12', '9', '100', None]),
    'float_astext': (lambda: Gadget.query().where(S['ratio'].astext == '0.25').pluck('id'), [2]),
    'bool_astext': (lambda: Gadget.query().order_by('id').pluck(S['beta'].astext), ['true', 'false', 'false', None]),
    # nested keys and array indexes
    'nested_text': (lambda: Gadget.query().order_by('id').pluck(S['owner']['name'].astext), ['ann', 'bob', 'cy', None]),
    'nested_number': (ids(S['owner']['age'] > 30), [1]),
    'array_index': (lambda: Gadget.query().order_by('id').pluck(S['tags'][0].astext), ['a', 'c', None, None]),
    'array_second': (ids(S['tags'][1] == 'b'), [1]),
    # comparisons of string, number and bool values, as their own type
    'string_eq': (ids(S['theme'] == 'light'), [2]),
    'number_eq': (ids(S['size'] == 9), [2]),
    'number_lt': (ids(S['size'] < 10), [2]),                          # 9 < 10 as numbers, not as text
    'number_gt': (ids(S['size'] > 10), [1, 3]),                       # 100 > 10, '100' < '9' as text
    'number_range': (ids(S['size'] >= 9, S['size'] <= 12), [1, 2]),
    'float_cmp': (ids(S['ratio'] > 1), [1]),
    'float_eq': (ids(S['ratio'] == 1.5), [1]),
    'decimal_cmp': (ids(S['ratio'] >= Decimal('0.25')), [1, 2]),
    'bool_true': (ids(S['beta'] == True), [1]),                       # noqa: E712
    'bool_false': (ids(S['beta'] == False), [2, 3]),                  # noqa: E712
    'number_in': (ids(S['size'].in_([9, 100])), [2, 3]),
    'group_by_path': (lambda: Gadget.query().select(S['beta'].astext.as_('beta'), func.count().as_('n'))
                      .where(S['beta'].astext.is_not_null()).group_by(S['beta'].astext)
                      .order_by(S['beta'].astext).as_dicts().all(),
                      [{'beta': 'false', 'n': 2}, {'beta': 'true', 'n': 1}]),
    'number_is_not_string': (ids(S['size'] == 'x'), []),
    # a missing key is NULL
    'missing_is_null': (ids(S['nosuch'].astext.is_null()), [1, 2, 3, 4]),
    'missing_nested_is_null': (ids(S['owner']['age'].astext.is_null()), [3, 4]),
    'json_null_is_null': (lambda: Gadget.query().order_by('id').pluck(S['note'].astext), [None] * 4),
    'missing_array_item': (ids(S['tags'][5].astext.is_not_null()), []),
    # ordering by a path, and as_dicts
    'order_by_text': (lambda: Gadget.query().where(S['owner']['name'].astext.is_not_null())
                      .order_by(S['owner']['name'].astext.desc()).pluck('id'), [3, 2, 1]),
    'as_dicts': (lambda: Gadget.query().select(Gadget.c.name, S['owner']['name'].astext.as_('owner'))
                 .where(S['size'] < 50).order_by('id').as_dicts().all(),
                 [{'name': 'lamp', 'owner': 'ann'}, {'name': 'desk', 'owner': 'bob'}]),
}


def test_there_are_at_least_12_json_queries() -> None:
    assert len(QUERIES) >= 12


def test_json_paths_give_the_same_answers_on_every_backend(db: Any) -> None:
    db.use(Gadget)
    Gadget.insert_many(ROWS)
    answers = {name: query() for name, (query, _) in QUERIES.items()}
    wrong = {name: (answers[name], expected) for name, (_, expected) in QUERIES.items() if answers[name] != expected}
    assert wrong == {}


def test_a_path_compares_only_with_scalars_where_the_database_has_no_json_type() -> None:

    with pytest.raises(ActiveRecordError, match=r'on sqlite a JSON path compares with a str, int, float, Decimal '
                                                r"or bool; got dict \{'a': 1\}"):
        Gadget.query().where(S['owner'] == {'a': 1}).to_sql(SQLiteDialect())


def test_a_key_that_cannot_be_written_in_a_path_is_refused_by_name() -> None:

    with pytest.raises(ActiveRecordError, match=r'a JSON key in a path may not contain " or \\, got \'a"b\''):
        Gadget.query().where(S['a"b'].astext == 'x').to_sql(SQLiteDialect())
    with pytest.raises(ActiveRecordError, match=r'a JSON array index must be 0 or more here, got -1'):
        Gadget.query().where(S['tags'][-1].astext == 'x').to_sql(SQLiteDialect())
