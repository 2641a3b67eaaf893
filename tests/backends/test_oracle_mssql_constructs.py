"""Statement constructs of the DDL, DML and transaction layers, shared by the Oracle and SQL Server
golden tests (test_oracle_sql.py, test_mssql_sql.py), the sqlglot check both use, and the checks
both run (GoldenChecks, on the tables each module pins).

Each construct renders, for a dialect, the statements the library sends: `[(sql, params), ...]`.
The query-layer constructs come from tests/query/golden/cases.py (the query engineers' list).
"""
from __future__ import annotations

import datetime
import enum
import re
import uuid
from decimal import Decimal
from typing import Annotated, Any, Callable, ClassVar, Optional

import pytest
import sqlglot
from pydantic import Field, NaiveDatetime
from sqlglot import exp

from activerecord import ActiveRecord, Column
from activerecord.backend.dialect import Dialect
from activerecord.backend.placeholders import count_placeholders
from activerecord.backend.transaction import IsolationLevel
from activerecord.backend.types import ColumnSpec, TypeMap
from activerecord.errors import ConfigurationError, NotSupportedError, ProgrammingError
from activerecord.model.ddl import create_table_statements
from activerecord.model.statements import statements_for
from tests.query.golden.cases import CONSTRUCTS

Statements = list[tuple[str, tuple]]


class Mood(enum.Enum):
    HAPPY = 'happy'
    SAD = 'sad'


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class EveryType(ActiveRecord):
    """One field of every kind of the type map, plus defaults of each literal kind."""
    __table_name__ = 'every_types'
    id: int
    flag: bool
    count: int
    ratio: float
    price: Annotated[Decimal, Field(max_digits=12, decimal_places=2)]
    amount: Decimal
    code: Annotated[str, Field(max_length=20), Column(unique=True)]
    title: Annotated[str, Field(max_length=5000)]
    body: str
    data: bytes
    happened_at: datetime.datetime
    local_at: NaiveDatetime
    day: datetime.date
    at_time: datetime.time
    duration: datetime.timedelta
    token: uuid.UUID
    meta: dict
    tags: list[str]
    mood: Mood
    level: Level
    note: Annotated[Optional[str], Field(max_length=200)] = None
    rank: Annotated[int, Column(index=True)] = 0
    enabled: Annotated[bool, Column(default=True)] = True
    label: Annotated[str, Field(max_length=10), Column(default="it's")] = "it's"
    since: Annotated[datetime.date, Column(default=datetime.date(2024, 1, 31))] = datetime.date(2024, 1, 31)
    starts: Annotated[datetime.datetime, Column(default=datetime.datetime(2024, 1, 31, 8, 30, tzinfo=datetime.timezone.utc))] = \
        datetime.datetime(2024, 1, 31, 8, 30, tzinfo=datetime.timezone.utc)
    fee: Annotated[Decimal, Field(max_digits=6, decimal_places=2), Column(default=Decimal('1.50'))] = Decimal('1.50')


class Membership(ActiveRecord):
    """A composite primary key, no generated key."""
    __table_name__ = 'memberships'
    __primary_key__ = ('user_id', 'group_id')
    user_id: int
    group_id: int
    role: Annotated[str, Field(max_length=20)]


class Account(ActiveRecord):
    """A generated key and two ordinary columns (the DML constructs)."""
    __table_name__ = 'accounts'
    id: int
    email: Annotated[str, Field(max_length=80), Column(unique=True)]
    name: Annotated[str, Field(max_length=40)]


class _Out:
    """Stands for the output variable the Oracle backend binds to RETURNING ... INTO ?."""

    def __repr__(self) -> str:
        return 'OUT'


OUT = _Out()
ROW = ('ann@example.com', 'Ann')


def _one(sql: str, params: tuple = ()) -> Statements:
    return [(sql, params)]


def _ddl(statements: list[str]) -> Statements:
    return [(sql, ()) for sql in statements]


def _returning(dialect: Dialect, values: tuple, columns: int = 1) -> tuple:
    """The parameters of an INSERT with a generated key: Oracle binds an OUT variable per column."""
    return values + (OUT,) * columns if dialect.features.generated_keys == 'returning_into' else values


def _begin(level: IsolationLevel | None, read_only: bool = False) -> Callable[[Dialect], Statements]:
    return lambda dialect: _ddl(dialect.begin_statements(level, read_only, dialect.features))


def _model(name: str) -> Callable[[Dialect], Statements]:
    def render(dialect: Dialect) -> Statements:
        plan = statements_for(Account.__meta__, dialect)
        return {'select_by_key': _one(plan.select_by_pk_sql, (7,)),
                'update': _one(plan.update_plan(('name',), ('id',))[0], ('Bo', 7)),
                'delete': _one(plan.delete_sql, (7,)),
                'insert_generated_key': _one(plan.insert_auto_sql, _returning(dialect, ROW)),
                'insert_explicit_key': _one(plan.insert_all_sql, (7,) + ROW)}[name]
    return render


def _sync(dialect: Dialect) -> Statements:
    synced = dialect.sync_identity_sql('accounts', 'id')
    return [] if synced is None else [synced]


STATEMENT_CONSTRUCTS: dict[str, Callable[[Dialect], Statements]] = {
    # -- DDL ------------------------------------------------------------------------------------
    'create_table_every_type': lambda d: _ddl(create_table_statements(EveryType, d, if_not_exists=False)),
    'create_table_if_not_exists': lambda d: _ddl(create_table_statements(Account, d, if_not_exists=True)),
    'create_table_composite_key': lambda d: _ddl(create_table_statements(Membership, d, if_not_exists=False)),
    'drop_table': lambda d: _one(d.drop_table_sql('accounts')),
    'drop_table_if_exists': lambda d: _one(d.drop_table_sql('accounts', if_exists=True)),
    'create_unique_index': lambda d: _one(d.create_index_sql('ux_accounts_name', 'accounts', ['name', 'email'], unique=True)),
    'create_index_if_not_exists': lambda d: _one(d.create_index_sql('ix_accounts_name', 'accounts', ['name'],
                                                                     if_not_exists=True)),
    # -- DML ------------------------------------------------------------------------------------
    'insert_one': lambda d: _one(d.insert_sql('accounts', ['email', 'name']), ROW),
    'insert_returning_key': lambda d: _one(d.insert_sql('accounts', ['email', 'name'], returning=['id']),
                                           _returning(d, ROW)),
    'insert_defaults_returning_key': lambda d: _one(d.insert_sql('accounts', [], returning=['id']), _returning(d, ())),
    'insert_three_rows': lambda d: _one(d.insert_sql('accounts', ['email', 'name'], 3), ROW * 3),
    'insert_explicit_identity': lambda d: _one(d.identity_insert_sql('accounts', d.insert_sql('accounts', ['id', 'email'])),
                                               (7, 'ann@example.com')),
    'upsert_one': lambda d: _one(d.upsert_sql('accounts', ['email', 'name'], 1, ['email'], ['name']), ROW),
    'upsert_three_rows': lambda d: _one(d.upsert_sql('accounts', ['email', 'name'], 3, ['email'], ['email', 'name']),
                                        ROW * 3),
    'upsert_insert_only': lambda d: _one(d.upsert_sql('accounts', ['email', 'name'], 1, ['email'], []), ROW),
    'sync_identity': _sync,
    'model_select_by_key': _model('select_by_key'),
    'model_update': _model('update'),
    'model_delete': _model('delete'),
    'model_insert_generated_key': _model('insert_generated_key'),
    'model_insert_explicit_key': _model('insert_explicit_key'),
    # -- transactions ---------------------------------------------------------------------------
    'begin': _begin(None),
    'begin_read_uncommitted': _begin(IsolationLevel.READ_UNCOMMITTED),
    'begin_read_committed': _begin(IsolationLevel.READ_COMMITTED),
    'begin_repeatable_read': _begin(IsolationLevel.REPEATABLE_READ),
    'begin_snapshot': _begin(IsolationLevel.SNAPSHOT),
    'begin_serializable': _begin(IsolationLevel.SERIALIZABLE),
    'begin_read_only': _begin(None, read_only=True),
    'begin_read_only_serializable': _begin(IsolationLevel.SERIALIZABLE, read_only=True),
    'commit': lambda d: _ddl(d.commit_statements(False)),
    'rollback': lambda d: _ddl(d.rollback_statements(False)),
    'savepoint': lambda d: _one(d.savepoint_sql('ar_sp_1')),
    'rollback_to_savepoint': lambda d: _one(d.rollback_to_sql('ar_sp_1')),
    'release_savepoint': lambda d: [] if d.release_sql('ar_sp_1') is None else _one(d.release_sql('ar_sp_1')),
}


def render(construct: Callable[[Dialect], Any], dialect: Dialect) -> Statements:
    """A construct's statements as a list of (sql, params)."""
    rendered = construct(dialect)
    if isinstance(rendered, list):
        return rendered
    return list(rendered) if rendered and isinstance(rendered[0], tuple) else [rendered]


# -- the sqlglot check -------------------------------------------------------------------------

#: the kinds of statement sqlglot must recognise (a fallback to a bare Command is a failure)
STATEMENT_KINDS = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Insert, exp.Update, exp.Delete,
                   exp.Merge, exp.Create, exp.Drop, exp.Commit, exp.Rollback, exp.Transaction, exp.Set,
                   exp.IfBlock)
_EXECUTE_IMMEDIATE = re.compile(r"EXECUTE IMMEDIATE '((?:[^']|'')*)'")


def sqlglot_statements(sql: str, read: str) -> list[exp.Expression]:
    """The statements sqlglot reads in `sql`; raises when it cannot read them as SQL it knows."""
    parsed = [statement for statement in sqlglot.parse(sql, read=read) if statement is not None]
    if not parsed:
        raise AssertionError(f'sqlglot ({read}) read nothing in: {sql}')
    for statement in parsed:
        if not isinstance(statement, STATEMENT_KINDS):
            raise AssertionError(f'sqlglot ({read}) read a {type(statement).__name__}, not a statement: {sql}')
        commands = list(statement.find_all(exp.Command))
        if commands:
            raise AssertionError(f'sqlglot ({read}) fell back to an unparsed command in: {sql}')
    return parsed


def plsql_inner_statements(sql: str) -> list[str]:
    """The SQL inside EXECUTE IMMEDIATE '...' of a PL/SQL block (quotes undoubled)."""
    return [match.replace("''", "'") for match in _EXECUTE_IMMEDIATE.findall(sql)]


def check_golden(expected: Any, construct: Callable[[Dialect], Any], dialect: Dialect, read: str,
                 sqlglot_gaps: dict[str, tuple[str, Callable[[str], list[str]] | None]], name: str) -> None:
    """The construct renders exactly `expected` (or raises NotSupportedError), and sqlglot reads it.

    `sqlglot_gaps` lists the constructs sqlglot cannot read, with the reason and optionally a
    function giving the parts of the statement it can read (which must then parse).
    """
    if expected is NotSupportedError:
        with pytest.raises(NotSupportedError, match=dialect.name):
            construct(dialect)
        return
    rendered = render(construct, dialect)
    if isinstance(expected, tuple):   # a query construct: (sql, params) or several of them
        expected = [expected] if isinstance(expected[0], str) else list(expected)
    assert rendered == expected
    unread = 0
    for sql, params in rendered:
        assert count_placeholders(sql) == len(params), sql
        try:
            sqlglot_statements(sql, read)
        except (AssertionError, sqlglot.errors.ParseError) as error:
            if name not in sqlglot_gaps:
                raise AssertionError(f'{name}: sqlglot ({read}) cannot read {sql!r}: {error}') from None
            unread += 1
            readable = sqlglot_gaps[name][1]
            for part in (readable(sql) if readable else []):
                sqlglot_statements(part, read)
    if name in sqlglot_gaps:
        # The list of what sqlglot cannot read must stay true.
        assert unread, f'{name} is listed as unreadable by sqlglot ({read}) but it reads every statement'


def split_batch(sql: str) -> list[str]:
    """The statements of a T-SQL batch we write ('; '-separated, no literal holds '; ')."""
    return [part for part in sql.split('; ')]


class GoldenChecks:
    """The checks both golden modules run, on the tables of the subclass each of them declares.

    The subclass (a Test... class) names its dialect and pins its SQL as class attributes;
    this base is not collected itself.
    """

    dialect_class: ClassVar[type[Dialect]]
    read: ClassVar[str]                                   #: sqlglot's name of the dialect
    query_expected: ClassVar[dict[str, Any]]              #: CONSTRUCTS -> (sql, params) | NotSupportedError
    statement_expected: ClassVar[dict[str, Any]]          #: STATEMENT_CONSTRUCTS -> [(sql, params)] | NotSupportedError
    sqlglot_gaps: ClassVar[dict[str, tuple[str, Callable[[str], list[str]] | None]]]
    server_rejects: ClassVar[dict[str, str]]              #: constructs a server refuses, with its error
    refused_savepoint_names: ClassVar[tuple[str, ...]]
    #: the longest bounded string: (max_length, its column type, the type one character more gets)
    longest_string: ClassVar[tuple[int, str, str]]
    wide_decimal_refusal: ClassVar[str]                   #: the error of a Decimal with max_digits=39
    note_query: ClassVar[tuple[str, tuple]]               #: Note.query().where(text == 'x').limit(2)

    @pytest.fixture(scope='class')
    def dialect(self) -> Dialect:
        return self.dialect_class()

    def test_every_construct_is_pinned(self) -> None:
        assert sorted(set(CONSTRUCTS) ^ set(self.query_expected)) == []
        assert sorted(set(STATEMENT_CONSTRUCTS) ^ set(self.statement_expected)) == []
        assert set(self.sqlglot_gaps) <= set(self.query_expected) | set(self.statement_expected)
        assert set(self.server_rejects) <= set(self.query_expected)

    @pytest.mark.parametrize('name', list(CONSTRUCTS))
    def test_query_construct(self, dialect: Dialect, name: str) -> None:
        check_golden(self.query_expected[name], CONSTRUCTS[name], dialect, self.read, self.sqlglot_gaps, name)

    @pytest.mark.parametrize('name', list(STATEMENT_CONSTRUCTS))
    def test_statement_construct(self, dialect: Dialect, name: str) -> None:
        check_golden(self.statement_expected[name], STATEMENT_CONSTRUCTS[name], dialect, self.read,
                     self.sqlglot_gaps, name)

    def test_savepoint_names_must_be_plain_identifiers(self, dialect: Dialect) -> None:
        for name in self.refused_savepoint_names:
            with pytest.raises(ProgrammingError, match='savepoint name'):
                dialect.savepoint_sql(name)
        assert dialect.release_sql('s1') is None

    def test_longer_text_is_unbounded_and_decimals_wider_than_38_are_refused(self, dialect: Dialect) -> None:
        length, bounded, unbounded = self.longest_string
        assert dialect.type_map.column_type(ColumnSpec(str, max_length=length)) == bounded
        assert dialect.type_map.column_type(ColumnSpec(str, max_length=length + 1)) == unbounded
        with pytest.raises(ConfigurationError, match=self.wide_decimal_refusal):
            dialect.type_map.column_type(ColumnSpec(Decimal, max_digits=39, decimal_places=2))

    def test_the_model_layer_builds_models_for_this_dialect_without_a_server(self, dialect: Dialect) -> None:
        class Note(ActiveRecord):
            __table_name__ = 'notes'
            id: int
            text: str
        assert Note.query().where(Note.c.text == 'x').limit(2).to_sql(dialect) == self.note_query


def test_the_every_type_model_covers_every_kind_of_the_type_map() -> None:
    from activerecord.backend.impl.mssql.dialect import SQLServerDialect
    from activerecord.backend.impl.oracle.dialect import OracleDialect
    for dialect in (OracleDialect(), SQLServerDialect()):
        kinds = {dialect.type_map.kind_of(field.spec) for field in EveryType.__meta__.fields.values()}
        assert kinds == set(TypeMap.column_types), dialect.name
        assert set(dialect.type_map.column_types) == set(TypeMap.column_types), dialect.name
