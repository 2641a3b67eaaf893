"""JSON paths selected as values, containment and key tests (issue 18) on every live backend.

A path selected without .astext reads back as its decoded JSON value (str, int, float, bool,
None, list or dict) on SQLite, PostgreSQL and MariaDB alike; `contains()`, `has_key()`,
`has_any_key()` and `has_all_keys()` give the same rows on all three. The expected answers are
written out: equal answers on every backend of the matrix are the differential test. The SQL
Oracle and SQL Server get is pinned in tests/backends/test_json_operator_sql.py.
"""
from __future__ import annotations

from typing import Any, Callable, ClassVar

import pytest

from activerecord import ActiveRecord, case, func
from activerecord.backend.impl.mysql.dialect import MySQLDialect
from activerecord.backend.impl.sqlite.dialect import SQLiteDialect
from activerecord.errors import ActiveRecordError, NotSupportedError
from activerecord.query import table


class Widget(ActiveRecord):
    __table_name__ = 'jv_widgets'
    id: int
    name: str
    settings: dict = {}
    tags: list[str] = []


ROWS = [
    {'id': 1, 'name': 'lamp', 'tags': ['a', 'b'],
     'settings': {'theme': 'dark', 'n': 12, 'ratio': 1.5, 'beta': True, 'note': None, 'list': ['a', 'b', 3],
                  'owner': {'name': 'ann', 'age': 31, 'langs': ['en', 'fr']}, 'quote': 'say "hi" \\ ok',
                  'text_number': '12', 'big': 9007199254740993}},
    {'id': 2, 'name': 'desk', 'tags': ['c'],
     'settings': {'theme': 'light', 'n': 9, 'ratio': 0.25, 'beta': False, 'list': [{'k': 1}, {'k': 2}],
                  'owner': {'name': 'bob'}, 'empty': {}, 'none_list': []}},
    {'id': 3, 'name': 'fan', 'tags': [], 'settings': {'n': 100, 'owner': None, 'list': 'a'}},
    {'id': 4, 'name': 'rug', 'tags': [], 'settings': {}},
]

S = Widget.c.settings


def values(path: Any) -> Callable[[], list[Any]]:
    return lambda: Widget.query().order_by('id').pluck(path)


def ids(*conditions: Any) -> Callable[[], list[int]]:
    return lambda: Widget.query().where(*conditions).order_by('id').pluck('id')


SELECTED: dict[str, tuple[Callable[[], Any], Any]] = {
    'string': (values(S['theme']), ['dark', 'light', None, None]),
    'int': (values(S['n']), [12, 9, 100, None]),
    'float': (values(S['ratio']), [1.5, 0.25, None, None]),
    'bool': (values(S['beta']), [True, False, None, None]),
    'json_null_and_missing': (values(S['note']), [None] * 4),
    'list': (values(S['list']), [['a', 'b', 3], [{'k': 1}, {'k': 2}], 'a', None]),
    'dict': (values(S['owner']), [{'name': 'ann', 'age': 31, 'langs': ['en', 'fr']}, {'name': 'bob'}, None, None]),
    'empty_containers': (values(S['empty']), [None, {}, None, None]),
    'empty_list': (values(S['none_list']), [None, [], None, None]),
    'nested': (values(S['owner']['langs']), [['en', 'fr'], None, None, None]),
    'array_item': (values(S['list'][2]), [3, None, None, None]),
    'object_in_array': (values(S['list'][1]), ['b', {'k': 2}, None, None]),
    'quotes_and_backslashes': (values(S['quote']), ['say "hi" \\ ok', None, None, None]),
    'string_of_digits_stays_a_string': (values(S['text_number']), ['12', None, None, None]),
    'big_int_exact': (values(S['big']), [9007199254740993, None, None, None]),
    'aliased_in_dicts': (lambda: Widget.query().select(Widget.c.name, S['owner']['name'].as_('owner'), S['n'].as_('n'))
                         .where(S['n'] < 50).order_by('id').as_dicts().all(),
                         [{'name': 'lamp', 'owner': 'ann', 'n': 12}, {'name': 'desk', 'owner': 'bob', 'n': 9}]),
    'astext_still_text': (values(S['n'].astext), ['12', '9', '100', None]),
    # comparisons keep comparing scalars (9 < 10 as numbers) while the selected value is decoded
    'compared_and_selected': (lambda: Widget.query().where(S['n'] > 10).order_by('id').pluck(S['n']), [12, 100]),
    'grouped_by_alias': (lambda: Widget.query().select(S['beta'].as_('beta'), func.count().as_('c'))
                         .where(S['beta'].is_not_null()).group_by('beta').order_by('beta').as_dicts().all(),
                         [{'beta': False, 'c': 1}, {'beta': True, 'c': 1}]),
    # grouped by the path expression itself (MySQL's ONLY_FULL_GROUP_BY: the same SQL as selected)
    'grouped_by_path': (lambda: Widget.query().select(S['owner']['name'].as_('owner'), func.count().as_('c'))
                        .where(S['owner']['name'].is_not_null()).group_by(S['owner']['name'])
                        .order_by('owner').as_dicts().all(),
                        [{'owner': 'ann', 'c': 1}, {'owner': 'bob', 'c': 1}]),
    'grouped_and_ordered_by_path': (lambda: Widget.query().where(S['theme'].is_not_null()).group_by(S['theme'])
                                    .order_by(S['theme']).pluck(func.max(Widget.c.name)), ['lamp', 'desk']),
    # PostgreSQL: SELECT DISTINCT needs ORDER BY's path in the select list, as the same SQL
    'distinct_ordered_by_path': (lambda: Widget.query().where(S['theme'].is_not_null()).distinct()
                                 .order_by(S['theme'].desc()).pluck(S['theme']), ['light', 'dark']),
    # only the result's own select list reads a path as JSON text: a subquery's, a CTE's or a
    # derived table's path is the scalar it is everywhere else ('light', not '"light"')
    'path_in_subquery': (ids(S['theme'].in_(Widget.query().where(Widget.c.id == 2).select(S['theme']))), [2]),
    'path_in_cte': (lambda: Widget.query().with_cte('jv_t', Widget.query().select(Widget.c.id, S['theme'].as_('theme')))
                    .join(table('jv_t'), table('jv_t').c.id == Widget.c.id).where(table('jv_t').c.theme == S['theme'])
                    .order_by('id').pluck('id'), [1, 2]),
    'path_in_derived_table': (lambda: Widget.query().from_(Widget.query().select(Widget.c.id, S['n'].as_('n'))
                                                           .where(S['n'] > 10)).order_by('id').pluck('id'), [1, 3]),
}

MATCHED: dict[str, tuple[Callable[[], Any], Any]] = {
    'has_key': (ids(S.has_key('theme')), [1, 2]),
    'has_key_of_null_value': (ids(S.has_key('note')), [1]),
    'has_key_nested': (ids(S['owner'].has_key('age')), [1]),
    'not_has_key': (ids(~S.has_key('theme')), [3, 4]),
    'has_any_key': (ids(S.has_any_key('empty', 'note')), [1, 2]),
    'has_all_keys': (ids(S.has_all_keys('theme', 'ratio', 'note')), [1]),
    'key_with_quote': (ids(S.has_key("it's")), []),
    'contains_pair': (ids(S.contains({'theme': 'light'})), [2]),
    'contains_number': (ids(S.contains({'n': 100})), [3]),
    'contains_float': (ids(S.contains({'ratio': 0.25})), [2]),
    'contains_bool': (ids(S.contains({'beta': False})), [2]),
    'contains_null': (ids(S.contains({'note': None})), [1]),
    'contains_several': (ids(S.contains({'theme': 'dark', 'n': 12, 'beta': True})), [1]),
    'contains_nested_object': (ids(S.contains({'owner': {'name': 'bob'}})), [2]),
    'contains_nested_list_items': (ids(S.contains({'owner': {'langs': ['fr']}})), [1]),
    'contains_objects_in_a_list': (ids(S.contains({'list': [{'k': 2}]})), [2]),
    'contains_empty_object': (ids(S.contains({})), [1, 2, 3, 4]),
    'contains_number_is_not_string': (ids(S.contains({'text_number': 12})), []),
    'string_is_not_number': (ids(S.contains({'n': '12'})), []),
    'contains_at_a_path': (ids(S['owner'].contains({'age': 31})), [1]),
    'path_array_contains_items': (ids(S['list'].contains(['b', 'a'])), [1]),
    'path_array_contains_a_scalar': (ids(S['owner']['langs'].contains('en')), [1]),
    'list_field_contains': (ids(Widget.c.tags.contains(['b'])), [1]),
    'list_field_contains_nothing': (ids(Widget.c.tags.contains([])), [1, 2, 3, 4]),
    'not_contains': (ids(~S.contains({'beta': True})), [2, 3, 4]),
    # below a missing path the answer is unknown (NULL): neither a test nor its negation holds (row 4);
    # a JSON null there has no keys and contains nothing (row 3)
    'not_has_key_at_a_path': (ids(~S['owner'].has_key('age')), [2, 3]),
    'not_contains_at_a_path': (ids(~S['owner'].contains({'name': 'ann'})), [2, 3]),
    # PostgreSQL's ?: a key of an object, a string element of an array, or the string itself
    'has_key_of_an_array_element': (ids(S['owner']['langs'].has_key('fr')), [1]),
    'has_key_is_not_an_object_value': (ids(S['owner'].has_key('ann')), []),
    'has_key_is_not_a_number_element': (ids(S['list'].has_key('3')), []),
    'has_any_key_of_elements_or_the_string': (ids(S['list'].has_any_key('a', 'zz')), [1, 3]),
    'has_all_keys_of_elements': (ids(S['owner']['langs'].has_all_keys('en', 'fr')), [1]),
    'not_has_key_of_an_array_element': (ids(~S['owner']['langs'].has_key('de')), [1]),
}


def test_there_are_at_least_20_json_queries() -> None:
    assert len(SELECTED) + len(MATCHED) >= 20


def test_selected_paths_and_json_operators_give_the_same_answers_on_every_backend(db: Any) -> None:
    db.use(Widget)
    Widget.insert_many(ROWS)
    cases = {**SELECTED, **MATCHED}
    answers = {name: query() for name, (query, _) in cases.items()}
    wrong = {name: (answers[name], expected) for name, (_, expected) in cases.items() if answers[name] != expected}
    assert wrong == {}
    # the values are the Python types the document holds, not text that looks like them
    lamp = Widget.query().where(Widget.c.id == 1).select(
        S['theme'].as_('theme'), S['n'].as_('n'), S['ratio'].as_('ratio'), S['beta'].as_('beta')).as_dicts().one()
    assert {key: type(value) for key, value in lamp.items()} == {'theme': str, 'n': int, 'ratio': float, 'beta': bool}


def test_sqlite_writes_containment_out_from_the_value_with_bound_scalars() -> None:
    sql, params = Widget.query().select(Widget.c.id).where(S.contains({'owner': {'age': 31}})).to_sql(SQLiteDialect())
    type_of = 'COALESCE(json_type("jv_widgets"."settings", ?), \'missing\')'
    assert sql == ('SELECT "jv_widgets"."id" FROM "jv_widgets" WHERE '
                   f"({type_of} IN ('object') AND ({type_of} IN ('object') AND ({type_of} IN ('integer', 'real') "
                   'AND json_extract("jv_widgets"."settings", ?) = ?)))')
    assert params == ('$', '$."owner"', '$."owner"."age"', '$."owner"."age"', 31)
    sql, params = Widget.query().select(Widget.c.id).where(S.has_key('k')).to_sql(SQLiteDialect())
    assert sql.endswith('WHERE (json_type("jv_widgets"."settings", ?) IS NOT NULL OR (json_type("jv_widgets"."settings", '
                        "?) <> 'object' AND EXISTS (SELECT 1 FROM json_each(\"jv_widgets\".\"settings\", ?) AS ar_k "
                        "WHERE ar_k.type = 'text' AND ar_k.value = ?)))")
    assert params == ('$."k"', '$', '$', 'k')


def test_keys_and_values_that_a_path_cannot_hold_are_refused_by_name() -> None:
    with pytest.raises(ActiveRecordError, match=r'a JSON key in a path may not contain " or \\, got \'a"b\''):
        Widget.query().where(S.has_key('a"b')).to_sql(SQLiteDialect())
    for dialect in (SQLiteDialect(), MySQLDialect()):   # no path syntax spells them: refused, not matching nothing
        for condition in (S.has_key('a\nb'), S['a\tb'] == 1, S['x'].has_any_key('ok', 'a\x00')):
            with pytest.raises(ActiveRecordError, match=r'a JSON key in a path may not contain a control character'):
                Widget.query().where(condition).to_sql(dialect)
    with pytest.raises(ActiveRecordError, match=r'contains\(\): a JSON object key must be a str, got int 1'):
        Widget.query().where(S.contains({1: 'x'})).to_sql(SQLiteDialect())
    with pytest.raises(ActiveRecordError, match=r'contains\(\) takes JSON values .*; got set'):
        Widget.query().where(S.contains({'a': {1}})).to_sql(SQLiteDialect())
    for dialect in (SQLiteDialect(), MySQLDialect()):
        with pytest.raises(NotSupportedError, match=rf'{dialect.name} does not support JSON operators '
                                                    r'\(contained_by\(\)\)'):
            Widget.query().where(S.contained_by({'a': 1})).to_sql(dialect)


class PathsOnly(SQLiteDialect):
    """A dialect that can compare paths but has no JSON text for a selected one."""
    operator_templates: ClassVar[dict[str, str]] = {'json_path': 'json_extract({0}, {1})',
                                                    'json_path_text': 'json_extract({0}, {1})'}


def test_a_dialect_without_json_text_refuses_to_select_a_path_rather_than_misread_it() -> None:
    with pytest.raises(NotSupportedError, match=r'sqlite does not support JSON operators \(column\[key\] selected '
                                                r'as a JSON value; its .astext is its text\)'):
        Widget.query().select(S['n'].as_('n')).as_dicts().to_sql(PathsOnly())
    assert Widget.query().select(S['n'].astext.as_('n')).to_sql(PathsOnly()) == (
        'SELECT json_extract("jv_widgets"."settings", ?) AS "n" FROM "jv_widgets"', ('$."n"',))


def test_a_path_inside_an_expression_of_the_select_list_keeps_its_scalar(db: Any) -> None:
    """Only a path that IS a select item reads as decoded JSON; MAX, COALESCE and CASE over one see
    the scalar its path function returns, as before (PostgreSQL's jsonb takes .astext there)."""
    db.use(Widget)
    Widget.insert_many(ROWS)
    theme = S['theme'].astext if db.name == 'postgresql' else S['theme']
    assert Widget.query().pluck(func.max(theme)) == ['light']
    query = Widget.query().order_by('id')
    assert query.pluck(func.coalesce(theme, 'none')) == ['dark', 'light', 'none', 'none']
    assert query.pluck(case((S['n'] > 10, theme), else_='small')) == ['dark', 'small', None, 'small']
    # a path selected as itself next to them is still decoded
    assert query.select(S['n'].as_('n'), func.coalesce(theme, 'none').as_('t')).where(Widget.c.id < 3).as_dicts().all() \
        == [{'n': 12, 't': 'dark'}, {'n': 9, 't': 'light'}]


def test_only_the_result_select_list_renders_a_path_as_json_text() -> None:
    inner = Widget.query().select(S['theme'])
    sql, _ = Widget.query().where(Widget.c.name.in_(inner)).to_sql(SQLiteDialect())
    assert sql.endswith('IN (SELECT json_extract("jv_widgets"."settings", ?) FROM "jv_widgets")')
    assert inner.to_sql(SQLiteDialect())[0] == 'SELECT json_extract("jv_widgets"."settings", ?) FROM "jv_widgets"'
    assert inner.as_dicts().to_sql(SQLiteDialect())[0] == 'SELECT ("jv_widgets"."settings" -> ?) FROM "jv_widgets"'


class Doc(ActiveRecord):
    __table_name__ = 'jv_docs'
    id: int
    d: dict[str, Any] | None = None


def test_negated_tests_on_a_null_document_select_nothing_as_on_postgresql(db: Any) -> None:
    """NULL @> x and NULL ? 'k' are unknown: neither a test nor its negation selects the row."""
    db.use(Doc)
    Doc.insert_many([{'id': 1, 'd': None}, {'id': 2, 'd': {'a': 2}}, {'id': 3, 'd': {'a': None}},
                     {'id': 4, 'd': {'a': {'b': 1}}}])
    D = Doc.c.d

    def found(condition: Any) -> list[int]:
        return Doc.query().where(condition).order_by('id').pluck('id')
    assert found(~D.contains({'a': 1})) == [2, 3, 4]
    assert found(~D.has_key('a')) == []
    assert found(~D.has_any_key('a', 'z')) == []
    assert found(~D.has_all_keys('a', 'z')) == [2, 3, 4]
    assert found(~D['a'].has_key('b')) == [2, 3]
    assert found(~D['a'].contains({'b': 1})) == [2, 3]
    assert found(D.has_key('a')) == [2, 3, 4]
