"""Portable date functions, ordered string aggregation and cast to text (issue 18).

`func.extract`, `func.date_trunc`, `func.string_agg` and `cast(x, str)` give equal rows, value and
type, on every live backend: the same events are seeded on SQLite and on the backend under test,
each query runs on both, and the answers are also checked against Python's own date arithmetic
in UTC. Oracle and SQL Server are pinned as golden SQL that sqlglot must read as a SELECT.
"""
from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated, Any, Callable, Optional

import pytest
import sqlglot
from pydantic import Field
from sqlglot import exp

from activerecord import ActiveRecord, cast, func
from activerecord.backend.impl.mssql.dialect import SQLServerDialect
from activerecord.backend.impl.oracle.dialect import OracleDialect
from activerecord.errors import ActiveRecordError, NotSupportedError
from activerecord.query import table

UTC = datetime.timezone.utc
PLUS_9 = datetime.timezone(datetime.timedelta(hours=9))
MINUS_5 = datetime.timezone(datetime.timedelta(hours=-5))
NAMES = ('kiwi', 'apple', 'fig', 'plum', 'date', 'lime', 'pear', 'yuzu')


class Event(ActiveRecord):
    __table_name__ = 'pd_events'
    id: int
    kind: Annotated[str, Field(max_length=10)]
    name: Annotated[str, Field(max_length=20)]
    at: datetime.datetime
    day: datetime.date
    total: Annotated[Decimal, Field(max_digits=12, decimal_places=2)]
    qty: int
    paid: bool = False


def events() -> list[dict[str, Any]]:
    """16 events over 2009-2010 in three time zones, some across a UTC day, month or year boundary."""
    rows = []
    zones = (UTC, PLUS_9, MINUS_5)
    for index in range(1, 17):
        zone = zones[index % 3]
        at = datetime.datetime(2009 + index % 2, (index * 5) % 12 + 1, (index * 3) % 28 + 1,
                               (index * 7) % 24, (index * 11) % 60, (index * 13) % 60, index * 1000, tzinfo=zone)
        rows.append({'id': index, 'kind': 'ab'[index % 2], 'name': NAMES[index % 8] + str(index), 'at': at,
                     'day': datetime.date(2009, index % 12 + 1, index % 28 + 1),
                     'total': Decimal(index * 125) / 100, 'qty': index * 3, 'paid': index % 3 == 0})
    # New Year's Eve in New York is already January in UTC
    rows.append({'id': 17, 'kind': 'a', 'name': 'last', 'day': datetime.date(2010, 12, 31),
                 'at': datetime.datetime(2009, 12, 31, 21, 0, 0, tzinfo=MINUS_5), 'total': Decimal('0.10'),
                 'qty': 0, 'paid': True})
    return rows


E = Event.c
PARTS = ('year', 'month', 'day', 'hour', 'minute', 'second', 'dow')


def _parts_of(part: str) -> Callable[[], Any]:
    return lambda: Event.query().select(E.id, func.extract(part, E.at).as_('v')).order_by('id')


def _trunc(unit: str, column: Any) -> Callable[[], Any]:
    return lambda: Event.query().select(E.id, func.date_trunc(unit, column).as_('v')).order_by('id')


month = func.date_trunc('month', E.at)
QUERIES: dict[str, Callable[[], Any]] = {
    **{f'extract_{part}': _parts_of(part) for part in PARTS},
    'extract_of_date': lambda: Event.query().select(
        E.id, *(func.extract(part, E.day).as_(part) for part in ('year', 'month', 'day', 'dow'))).order_by('id'),
    **{f'date_trunc_{unit}': _trunc(unit, E.at) for unit in ('year', 'month', 'day', 'hour')},
    **{f'date_trunc_{unit}_of_date': _trunc(unit, E.day) for unit in ('year', 'month', 'day')},
    'count_per_month': lambda: Event.query().select(month.as_('m'), func.count().as_('n')).group_by('m')
    .order_by('m'),
    'total_per_year_and_month': lambda: Event.query().select(
        func.extract('year', E.at).as_('y'), func.extract('month', E.at).as_('mo'), func.sum(E.total).as_('s'))
    .group_by('y', 'mo').order_by('y', 'mo'),
    'count_per_weekday': lambda: Event.query().select(func.extract('dow', E.at).as_('d'), func.count().as_('n'))
    .group_by('d').order_by('d'),
    'sundays': lambda: Event.query().select(E.id).where(func.extract('dow', E.at) == 0).order_by('id'),
    'string_agg_per_kind': lambda: Event.query().select(
        E.kind, func.string_agg(E.name, ', ', order_by=[E.name]).as_('names')).group_by('kind').order_by('kind'),
    'string_agg_desc_two_keys': lambda: Event.query().select(
        func.string_agg(E.name, ' | ', order_by=[E.paid.desc(), E.id]).as_('names')),
    'string_agg_per_month': lambda: Event.query().select(
        month.as_('m'), func.string_agg(cast(E.qty, str), '+', order_by=[E.qty.desc()]).as_('qs'))
    .group_by('m').order_by('m'),
    'cast_to_text': lambda: Event.query().select(
        E.id, *(cast(getattr(E, name), str).as_(name) for name in ('qty', 'total', 'day', 'at', 'paid')),
        cast(E.total * 2, str).as_('double')).order_by('id'),
}


def _rows(name: str) -> list[list[tuple[str, type, Any]]]:
    return [[(key, type(value), value) for key, value in row.items()] for row in QUERIES[name]().as_dicts().all()]


def _answers() -> dict[str, Any]:
    Event.insert_many(events())
    return {name: _rows(name) for name in QUERIES}


def test_there_are_at_least_12_portable_date_queries() -> None:
    assert len(QUERIES) >= 12


def _values(answers: dict[str, Any], name: str) -> list[Any]:
    return [row[-1][2] for row in answers[name]]


def test_portable_functions_give_equal_rows_and_types_on_every_backend(db: Any) -> None:
    db.use(Event)
    answers = _answers()
    Event.configure('sqlite://')
    try:
        Event.drop_table(if_exists=True)
        Event.create_table()
        reference = _answers()
        Event.drop_table()
    finally:
        db.use(Event, create=False)
    differing = [name for name in reference if answers[name] != reference[name]]
    assert differing == [], {name: (answers[name][:3], reference[name][:3]) for name in differing}

    # ... and the answers are Python's, in UTC
    utc = [row['at'].astimezone(UTC) for row in events()]
    for part in PARTS:
        expected = [(at.isoweekday() % 7) if part == 'dow' else getattr(at, part) for at in utc]
        assert _values(answers, f'extract_{part}') == expected, part
        assert {kind for row in answers[f'extract_{part}'] for _, kind, _ in row} == {int}
    assert answers['extract_of_date'][0][1:] == [('year', int, 2009), ('month', int, 2), ('day', int, 2),
                                                 ('dow', int, 1)]
    assert _values(answers, 'date_trunc_month') == [at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
                                                    for at in utc]
    assert _values(answers, 'date_trunc_hour') == [at.replace(minute=0, second=0, microsecond=0) for at in utc]
    assert all(value.tzinfo == UTC for value in _values(answers, 'date_trunc_day'))
    assert _values(answers, 'date_trunc_year_of_date') == [datetime.date(row['day'].year, 1, 1) for row in events()]
    months: dict[datetime.datetime, int] = {}
    for at in utc:
        start = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        months[start] = months.get(start, 0) + 1
    assert [(row[0][2], row[1][2]) for row in answers['count_per_month']] == sorted(months.items())
    assert months[datetime.datetime(2010, 1, 1, tzinfo=UTC)] >= 1   # New Year's Eve in New York counts there
    assert _values(answers, 'sundays') == [row['id'] for row, at in zip(events(), utc) if at.isoweekday() == 7]
    names_a = sorted(row['name'] for row in events() if row['kind'] == 'a')
    assert answers['string_agg_per_kind'][0] == [('kind', str, 'a'), ('names', str, ', '.join(names_a))]
    paid_first = sorted(events(), key=lambda row: (not row['paid'], row['id']))
    assert _values(answers, 'string_agg_desc_two_keys') == [' | '.join(row['name'] for row in paid_first)]
    assert answers['cast_to_text'][0] == [
        ('id', int, 1), ('qty', str, '3'), ('total', str, '1.25'), ('day', str, '2009-02-02'),
        ('at', str, f'{utc[0]:%Y-%m-%d %H:%M:%S.%f}'), ('paid', str, 'false'), ('double', str, '2.50')]
    assert answers['cast_to_text'][2][5] == ('paid', str, 'true')
    assert answers['cast_to_text'][-1][4] == ('at', str, '2010-01-01 02:00:00.000000')


class Node(ActiveRecord):
    __table_name__ = 'pd_nodes'
    id: int
    parent_id: Optional[int] = None


def test_a_recursive_cte_builds_the_same_text_path_everywhere(db: Any) -> None:
    db.use(Node)
    Node.insert_many([{'id': 1}, {'id': 2, 'parent_id': 1}, {'id': 13, 'parent_id': 2}, {'id': 1400, 'parent_id': 13},
                      {'id': 7, 'parent_id': 1}])
    chain = table('chain')
    top = Node.query().select(Node.c.id, cast(Node.c.id, str).as_('path')).where(Node.c.parent_id.is_null())
    below = (Node.query().join(chain, Node.c.parent_id == chain.c.id)
             .select(Node.c.id, chain.c.path.concat('/', cast(Node.c.id, str)).as_('path')))
    rows = (Node.query().with_cte('chain', top.union_all(below), recursive=True)
            .join(chain, Node.c.id == chain.c.id).select(Node.c.id, chain.c.path).order_by('id').as_dicts().all())
    assert rows == [{'id': 1, 'path': '1'}, {'id': 2, 'path': '1/2'}, {'id': 7, 'path': '1/7'},
                    {'id': 13, 'path': '1/2/13'}, {'id': 1400, 'path': '1/2/13/1400'}]


def test_bad_parts_and_arguments_are_refused_with_what_was_expected() -> None:
    with pytest.raises(ActiveRecordError, match="part must be one of 'year'.*got 'week'"):
        func.extract('week', E.at)
    with pytest.raises(ActiveRecordError, match="date_trunc.*got 'minute'"):
        func.date_trunc('minute', E.at)
    with pytest.raises(ActiveRecordError, match='takes a column expression.*str'):
        func.extract('year', '2009-01-01')
    with pytest.raises(ActiveRecordError, match='needs order_by'):
        func.string_agg(E.name, ', ')
    with pytest.raises(ActiveRecordError, match='separator must be a str, got 1'):
        func.string_agg(E.name, 1, order_by=[E.id])


def test_string_agg_is_refused_as_a_window_function_on_every_backend(db: Any) -> None:
    # GROUP_CONCAT (MySQL, MariaDB) and SQL Server's STRING_AGG take no OVER: refused when the
    # query is built, so no backend (live or golden) ever gets the SQL
    db.use(Event)
    names = func.string_agg(E.name, ', ', order_by=[E.id])
    with pytest.raises(NotSupportedError, match=r'string_agg cannot be used as a window function.*GROUP_CONCAT'):
        Event.query().select(E.kind, names.over(partition_by=[E.kind]).as_('names'))
    with pytest.raises(NotSupportedError, match='string_agg'):
        names.over()
    # the plain aggregate still runs on this backend
    Event.insert_many(events())
    grouped = Event.query().select(E.kind, names.as_('names')).group_by('kind').order_by('kind').as_dicts().all()
    assert [row['kind'] for row in grouped] == sorted({row['kind'] for row in events()})


# -- golden SQL of Oracle and SQL Server -----------------------------------------------------------

GOLDEN_QUERIES: dict[str, Callable[[], Any]] = {
    'extract_year': QUERIES['extract_year'],
    'extract_dow': QUERIES['extract_dow'],
    'extract_of_date': QUERIES['extract_of_date'],
    'date_trunc_month': QUERIES['date_trunc_month'],
    'date_trunc_hour': QUERIES['date_trunc_hour'],
    'date_trunc_month_of_date': QUERIES['date_trunc_month_of_date'],
    'count_per_month': QUERIES['count_per_month'],
    'string_agg': lambda: Event.query().select(
        E.kind, func.string_agg(E.name, ', ', order_by=[E.name.desc()]).as_('names')).group_by('kind'),
    'cast_to_text': lambda: Event.query().select(
        *(cast(getattr(E, name), str).as_(name) for name in ('qty', 'day', 'at', 'paid'))),
}

T = '"pd_events"'
ORACLE = {
    'extract_year': f'SELECT {T}."id", EXTRACT(YEAR FROM {T}."at") AS "v" FROM {T} ORDER BY {T}."id"',
    'extract_dow': f"SELECT {T}.\"id\", MOD(MOD(TRUNC(CAST(SYS_EXTRACT_UTC({T}.\"at\") AS DATE)) - DATE '1970-01-04', 7) + 7, 7) AS \"v\" FROM {T} ORDER BY {T}.\"id\"",
    'extract_of_date': f"SELECT {T}.\"id\", EXTRACT(YEAR FROM {T}.\"day\") AS \"year\", EXTRACT(MONTH FROM {T}.\"day\") AS \"month\", EXTRACT(DAY FROM {T}.\"day\") AS \"day\", MOD(MOD(TRUNC({T}.\"day\") - DATE '1970-01-04', 7) + 7, 7) AS \"dow\" FROM {T} ORDER BY {T}.\"id\"",
    'date_trunc_month': f"SELECT {T}.\"id\", FROM_TZ(CAST(TRUNC(SYS_EXTRACT_UTC({T}.\"at\"), 'MM') AS TIMESTAMP(6)), 'UTC') AS \"v\" FROM {T} ORDER BY {T}.\"id\"",
    'date_trunc_hour': f"SELECT {T}.\"id\", FROM_TZ(CAST(TRUNC(SYS_EXTRACT_UTC({T}.\"at\"), 'HH24') AS TIMESTAMP(6)), 'UTC') AS \"v\" FROM {T} ORDER BY {T}.\"id\"",
    'date_trunc_month_of_date': f"SELECT {T}.\"id\", TRUNC({T}.\"day\", 'MM') AS \"v\" FROM {T} ORDER BY {T}.\"id\"",
    # grouped by the expression, not its alias: Oracle has no GROUP BY of a select alias
    'count_per_month': f"SELECT FROM_TZ(CAST(TRUNC(SYS_EXTRACT_UTC({T}.\"at\"), 'MM') AS TIMESTAMP(6)), 'UTC') AS \"m\", COUNT(*) AS \"n\" FROM {T} GROUP BY FROM_TZ(CAST(TRUNC(SYS_EXTRACT_UTC({T}.\"at\"), 'MM') AS TIMESTAMP(6)), 'UTC') ORDER BY \"m\"",
    'string_agg': f'SELECT {T}."kind", LISTAGG({T}."name", ?) WITHIN GROUP (ORDER BY {T}."name" DESC) AS "names" FROM {T} GROUP BY {T}."kind"',
    'cast_to_text': f"SELECT CAST({T}.\"qty\" AS NVARCHAR2(2000)) AS \"qty\", TO_CHAR({T}.\"day\", 'YYYY-MM-DD') AS \"day\", TO_CHAR(SYS_EXTRACT_UTC({T}.\"at\"), 'YYYY-MM-DD HH24:MI:SS.FF6') AS \"at\", CASE WHEN ({T}.\"paid\") IS NULL THEN NULL WHEN ({T}.\"paid\") = 1 THEN 'true' ELSE 'false' END AS \"paid\" FROM {T}",
}
Q = '[pd_events]'
MSSQL = {
    'extract_year': f'SELECT {Q}.[id], DATEPART(YEAR, {Q}.[at]) AS [v] FROM {Q} ORDER BY {Q}.[id]',
    'extract_dow': f"SELECT {Q}.[id], (DATEDIFF(DAY, CAST('1900-01-07' AS DATE), {Q}.[at]) % 7) AS [v] FROM {Q} ORDER BY {Q}.[id]",
    'extract_of_date': f"SELECT {Q}.[id], DATEPART(YEAR, {Q}.[day]) AS [year], DATEPART(MONTH, {Q}.[day]) AS [month], DATEPART(DAY, {Q}.[day]) AS [day], (DATEDIFF(DAY, CAST('1900-01-07' AS DATE), {Q}.[day]) % 7) AS [dow] FROM {Q} ORDER BY {Q}.[id]",
    'date_trunc_month': f'SELECT {Q}.[id], CAST(DATEFROMPARTS(YEAR({Q}.[at]), MONTH({Q}.[at]), 1) AS DATETIMEOFFSET(6)) AS [v] FROM {Q} ORDER BY {Q}.[id]',
    'date_trunc_hour': f'SELECT {Q}.[id], CAST(DATEADD(HOUR, DATEPART(HOUR, {Q}.[at]), CAST(CAST({Q}.[at] AS DATE) AS DATETIME2(6))) AS DATETIMEOFFSET(6)) AS [v] FROM {Q} ORDER BY {Q}.[id]',
    'date_trunc_month_of_date': f'SELECT {Q}.[id], DATEFROMPARTS(YEAR({Q}.[day]), MONTH({Q}.[day]), 1) AS [v] FROM {Q} ORDER BY {Q}.[id]',
    'count_per_month': f'SELECT CAST(DATEFROMPARTS(YEAR({Q}.[at]), MONTH({Q}.[at]), 1) AS DATETIMEOFFSET(6)) AS [m], COUNT(*) AS [n] FROM {Q} GROUP BY CAST(DATEFROMPARTS(YEAR({Q}.[at]), MONTH({Q}.[at]), 1) AS DATETIMEOFFSET(6)) ORDER BY [m]',
    'string_agg': f'SELECT {Q}.[kind], STRING_AGG(CAST({Q}.[name] AS NVARCHAR(MAX)), ?) WITHIN GROUP (ORDER BY {Q}.[name] DESC) AS [names] FROM {Q} GROUP BY {Q}.[kind]',
    'cast_to_text': f"SELECT CAST({Q}.[qty] AS NVARCHAR(4000)) AS [qty], CONVERT(NVARCHAR(10), {Q}.[day], 23) AS [day], CONVERT(NVARCHAR(26), CAST({Q}.[at] AS DATETIME2(6)), 121) AS [at], CASE WHEN ({Q}.[paid]) IS NULL THEN NULL WHEN ({Q}.[paid]) = 1 THEN 'true' ELSE 'false' END AS [paid] FROM {Q}",
}
GOLDEN = {'oracle': (OracleDialect, 'oracle', ORACLE), 'mssql': (SQLServerDialect, 'tsql', MSSQL)}


@pytest.mark.parametrize('construct', list(GOLDEN_QUERIES))
@pytest.mark.parametrize('dialect_name', list(GOLDEN))
def test_golden_sql_of_oracle_and_sql_server(dialect_name: str, construct: str) -> None:
    dialect_class, read, expected = GOLDEN[dialect_name]
    sql, params = GOLDEN_QUERIES[construct]().to_sql(dialect_class())
    assert sql == expected[construct]
    assert params == ((', ',) if construct == 'string_agg' else ())
    statement = sqlglot.parse_one(sql, read=read)
    assert isinstance(statement, exp.Select), type(statement)
