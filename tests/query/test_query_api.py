"""The Query contract: immutability, name strings, raw fragments, results, writes, locks, scopes."""
from __future__ import annotations

import datetime
import logging
import threading
from decimal import Decimal
from typing import Any, Optional

import pytest

from activerecord import ActiveRecord, func, raw
from activerecord.backend.impl.mysql.dialect import MySQLDialect
from activerecord.backend.impl.pgsql.dialect import PostgreSQLDialect
from activerecord.backend.impl.sqlite.dialect import SQLiteDialect
from activerecord.errors import (ActiveRecordError, DataError, MultipleRecordsFound, NotSupportedError,
                                 OperationalError, ProgrammingError, RecordNotFound)
from activerecord.mixins import SoftDeleteMixin
from activerecord.query import aliased, case, cast, table, value

from .models import Article as P, Author as A, Category as C, author_rows, seed
from .test_differential import RawDriver

SQLITE = SQLiteDialect()


class Note(SoftDeleteMixin, ActiveRecord):
    __table_name__ = 'q_notes'
    id: int
    body: str
    rank: int = 0


# -- building (no database) -------------------------------------------------------------------

def test_builder_methods_return_new_queries_and_leave_the_receiver_alone() -> None:
    base = A.query()
    before = base.to_sql(SQLITE)
    other = A.query().select(A.c.id)
    derived = [
        base.where(A.c.age > 1), base.where('age > ?', 1), base.where(country='NL'), base.select(A.c.id),
        base.add_select(A.c.id.as_('x')), base.distinct(), base.order_by('id'), base.limit(1), base.offset(1),
        base.join(P, P.c.author_id == A.c.id), base.left_join(P, P.c.author_id == A.c.id), base.cross_join(C),
        base.group_by('country'), base.having(func.count() > 1), base.for_update(), base.as_dicts(),
        base.with_cte('x', other), base.from_(other), base.unscoped(),
    ]
    assert base.to_sql(SQLITE) == before
    assert all(query is not base for query in derived)
    assert len({query.to_sql(SQLITE)[0] for query in derived if not query._as_dicts}) >= len(derived) - 3
    ordered = base.order_by('name')
    ordered.order_by('id')
    assert ordered.to_sql(SQLITE)[0].endswith('ORDER BY "q_authors"."name"')


@pytest.mark.parametrize('method,text', [
    ('order_by', 'name; DROP TABLE q_authors'), ('order_by', 'age + 1'), ('order_by', 'id ASC, name'),
    ('group_by', 'country DESC'), ('select', 'COUNT(*)'), ('select', 'name DESC'), ('order_by', '"id"'),
])
def test_name_strings_reject_sql(method: str, text: str) -> None:
    with pytest.raises(ActiveRecordError, match='raw'):
        getattr(A.query(), method)(text)


def test_unknown_names_are_refused_before_any_sql_is_sent(db: Any, caplog: pytest.LogCaptureFixture) -> None:
    db.use(A)
    caplog.set_level(logging.DEBUG, logger='activerecord.sql')
    with pytest.raises(ActiveRecordError, match="'nme' is neither a field of Author"):
        A.query().order_by('nme').all()
    with pytest.raises(ActiveRecordError, match='no field'):
        A.query().select('nme')
    with pytest.raises(ActiveRecordError, match='no field'):
        A.query().where(nme='x')
    with pytest.raises(AttributeError, match='Author has no field .nme.; its fields are: id, name'):
        A.c.nme
    assert [record for record in caplog.records if record.name == 'activerecord.sql'] == []
    # a select alias is a name too, in order_by and group_by
    rows = A.query().select(A.c.country, func.count().as_('n')).group_by('country').order_by('n DESC').as_dicts().all()
    assert rows == []


def test_raw_fragment_placeholder_count_must_match() -> None:
    with pytest.raises(ProgrammingError, match=r"raw SQL 'age > \? AND country = \?' has 2 `\?` placeholder\(s\) but 1"):
        A.query().where('age > ? AND country = ?', (1,)).to_sql(SQLITE)
    with pytest.raises(ProgrammingError, match='has 0'):
        A.query().where(raw('age > 1', 5)).to_sql(SQLITE)
    # a ? inside a string literal is text, not a placeholder
    sql, params = A.query().where("name <> '?' AND age > ?", 3).to_sql(SQLITE)
    assert params == (3,) and "'?'" in sql
    assert A.query().where('age BETWEEN ? AND ?', 1, 2).to_sql(SQLITE)[1] == (1, 2)


def test_every_value_is_bound_and_every_identifier_quoted() -> None:
    evil = "x'; DROP TABLE q_authors; --"
    for dialect in (SQLITE, PostgreSQLDialect(), MySQLDialect()):
        sql, params = (A.query().where(A.c.name == evil, A.c.email.like(evil), A.c.country.in_([evil]))
                       .select(A.c.id, case((A.c.age > 1, evil), else_=evil).as_('k')).limit(3).offset(4)
                       .to_sql(dialect))
        # equal constants outside column comparisons (the CASE results, the LIKE pattern) share
        # one parameter where placeholders are numbered
        assert evil not in sql and params.count(evil) == (3 if dialect.shared_parameters else 5)
        assert params[-2:] == (3, 4)
        quote = dialect.quote_start
        assert f'{quote}q_authors{dialect.quote_end}.{quote}name{dialect.quote_end}' in sql
    weird = aliased(A, 'a"b')
    assert '"a""b"."id"' in A.query().join(weird, weird.c.id == A.c.id).to_sql(SQLITE)[0]


def test_misuse_is_reported_clearly() -> None:
    with pytest.raises(TypeError, match='combine conditions with & | ~'):
        if A.c.age > 1:
            pass
    with pytest.raises(ActiveRecordError, match='non-negative int'):
        A.query().limit(-1)
    with pytest.raises(ActiveRecordError, match='exclude each other'):
        A.query().for_update(nowait=True, skip_locked=True)
    with pytest.raises(ActiveRecordError, match='needs an ON condition'):
        A.query().join(P, None)
    with pytest.raises(ActiveRecordError, match='needs a name'):
        A.query().join(P.query(), P.c.author_id == A.c.id)
    with pytest.raises(ActiveRecordError, match='is not a type name'):
        cast(A.c.age, 'INT); DROP TABLE x; --')
    with pytest.raises(ActiveRecordError, match='every selected expression needs a name'):
        A.query().with_cte('t', A.query().select(func.count()), recursive=True)
    with pytest.raises(ActiveRecordError, match='wrap raw SQL'):
        A.c.age.is_null() & 'age > 1'
    with pytest.raises(DataError, match="Author.joined: cannot bind 'not a date'"):
        A.query().where(A.c.joined > 'not a date').to_sql(SQLITE)


def test_dialect_differences_are_rendered_from_dialect_data() -> None:
    query = A.query().select(A.c.id).where(A.c.name.ilike('a%')).order_by(A.c.country.desc().nulls_last())
    assert 'ILIKE' in query.to_sql(PostgreSQLDialect())[0]
    assert 'LOWER(`q_authors`.`name`) LIKE LOWER(?)' in query.to_sql(MySQLDialect())[0]
    assert 'CASE WHEN `q_authors`.`country` IS NULL THEN 1 ELSE 0 END' in query.to_sql(MySQLDialect())[0]
    with pytest.raises(NotSupportedError, match='mysql does not support FULL JOIN'):
        A.query().full_join(P, P.c.author_id == A.c.id).to_sql(MySQLDialect())


def test_long_in_lists_are_split_at_the_dialects_limit() -> None:
    class SmallLists(SQLiteDialect):
        features = SQLiteDialect.features.with_(max_in_list=2)
    sql, params = A.query().select(A.c.id).where(A.c.id.in_([1, 2, 3])).to_sql(SmallLists())
    assert sql.endswith('WHERE ("q_authors"."id" IN (?, ?) OR "q_authors"."id" IN (?))') and params == (1, 2, 3)
    sql, _ = A.query().select(A.c.id).where(A.c.id.not_in([1, 2, 3])).to_sql(SmallLists())
    assert 'NOT IN (?, ?) AND "q_authors"."id" NOT IN (?)' in sql


# -- results --------------------------------------------------------------------------------

def test_one_first_and_empty_results(db: Any) -> None:
    seed(db)
    assert A.query().where(A.c.id == 7).one().id == 7
    with pytest.raises(RecordNotFound, match='Author: the query found no row'):
        A.query().where(A.c.id == 700).one()
    with pytest.raises(MultipleRecordsFound, match='expected one row'):
        A.query().where(A.c.id < 3).one()
    assert A.query().where(A.c.id == 700).first() is None
    assert A.query().first().id == 1
    assert A.query().order_by(A.c.id.desc()).first().id == 30
    assert A.query().where(A.c.id == 700).sum(A.c.age) is None
    assert A.query().where(A.c.id == 700).count() == 0
    union = A.query().where(A.c.id > 28).union(A.query().where(A.c.id < 2))
    assert union.count() == 3 and union.exists() and union.first().id == 1
    assert [author.id for author in union.order_by('id DESC').limit(2).all()] == [30, 29]


def test_values_come_back_in_their_python_types(db: Any) -> None:
    seed(db)
    row = A.query().where(A.c.id == 5).select(A.c.active, A.c.joined, A.c.score,
                                               A.c.age.as_('years')).as_dicts().one()
    source = author_rows()[4]
    assert row == {'active': source['active'], 'joined': source['joined'], 'score': source['score'],
                   'years': source['age']}
    assert type(row['active']) is bool and type(row['score']) is Decimal
    assert isinstance(A.query().sum(A.c.age), int)
    assert isinstance(A.query().max(A.c.score), Decimal) and isinstance(A.query().min(A.c.joined), datetime.date)
    assert A.query().where(A.c.joined == source['joined']).pluck('id') == [5]
    assert A.query().where(A.c.score == Decimal('18.5')).pluck('id') == [5]


def test_update_all_and_delete_all_return_affected_rows(db: Any) -> None:
    seed(db)
    old = sorted(row['age'] for row in author_rows() if row['age'] > 60)
    assert A.query().where(A.c.age > 60).update_all(active=False, score=Decimal('0.5'), age=A.c.age + 1) == len(old)
    assert sorted(A.query().where(A.c.score == Decimal('0.5')).pluck('age')) == [age + 1 for age in old]
    joined = P.query().join(A, P.c.author_id == A.c.id).where(A.c.country == 'DE')
    expected = joined.count()
    assert expected > 0 and joined.update_all(views=0) == expected
    assert P.query().where(P.c.views == 0).count() == expected
    # MySQL cannot read the updated table in a subquery: the keys go through a derived table
    assert P.query().order_by('id').limit(5).update_all({'title': 'first five'}) == 5
    assert P.query().where(title='first five').order_by('id').pluck('id') == [1, 2, 3, 4, 5]
    assert P.query().order_by(P.c.id.desc()).limit(4).delete_all() == 4
    assert P.query().max(P.c.id) == 116
    with pytest.raises(ActiveRecordError, match='has no field'):
        A.query().update_all(nme='x')


def test_iter_streams_in_batches_and_returns_the_connection(db: Any) -> None:
    seed(db)
    C.insert_many([{'id': 100 + index, 'name': f'bulk{index}'} for index in range(2500)])
    pool = C.backend().pool
    stream = C.query().where(C.c.id >= 100).order_by('id').iter(batch_size=1000)
    first = next(stream)
    assert first.name == 'bulk0' and pool.status()['checked_out'] == 1
    rest = list(stream)
    assert len(rest) == 2499 and rest[-1].name == 'bulk2499'
    assert pool.status()['checked_out'] == 0
    dicts = list(C.query().select(C.c.id).where(C.c.id >= 100).as_dicts().iter(batch_size=333))
    assert len(dicts) == 2500 and dicts[0] == {'id': 100}
    with pytest.raises(ActiveRecordError, match='positive int'):
        next(C.query().iter(batch_size=0))


def test_explain_returns_the_plan(db: Any) -> None:
    db.use(A)
    plan = A.query().where(A.c.age > 3).explain()
    assert isinstance(plan, str) and 'q_authors' in plan.lower()


def test_recursive_cte_with_a_plain_value(db: Any) -> None:
    seed(db)
    tree = table('tree')
    roots = C.query().select(C.c.id, value(0).as_('depth')).where(C.c.parent_id.is_null())
    step = C.query().join(tree, C.c.parent_id == tree.c.id).select(C.c.id, (tree.c.depth + 1).as_('depth'))
    rows = (C.query().with_cte('tree', roots.union_all(step), recursive=True)
            .join(tree, C.c.id == tree.c.id).select(C.c.id, tree.c.depth).order_by('id').as_dicts().all())
    assert [row['depth'] for row in rows] == [0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 3, 3]


# -- locks ------------------------------------------------------------------------------------

@pytest.mark.backends('postgresql', 'mysql')
def test_for_update_nowait_and_skip_locked_against_a_held_lock(db: Any) -> None:
    db.use(C)
    C.insert_many([{'id': index, 'name': f'c{index}'} for index in range(1, 6)])
    holder = RawDriver(db.backend)
    try:
        begin = 'BEGIN' if db.name == 'postgresql' else 'START TRANSACTION'
        holder.connection.cursor().execute(begin)
        holder.rows('SELECT id FROM q_categories WHERE id = 2 FOR UPDATE', ())
        with C.transaction():
            free = C.query().order_by('id').for_update(skip_locked=True).pluck('id')
            assert free == [1, 3, 4, 5]
        with pytest.raises(OperationalError):
            with C.transaction():
                C.query().where(C.c.id == 2).for_update(nowait=True).all()
        with C.transaction():
            assert C.query().where(C.c.id == 3).for_update(nowait=True).one().name == 'c3'
    finally:
        holder.connection.rollback()
        holder.close()


@pytest.mark.backends('sqlite')
def test_for_update_is_a_no_op_where_the_database_has_no_row_locks(db: Any) -> None:
    db.use(C)
    C.insert_many([{'id': 1, 'name': 'x'}])
    sql, _ = C.query().for_update(nowait=True).to_sql()
    assert 'FOR UPDATE' not in sql
    with C.transaction():
        assert C.query().for_update().pluck('id') == [1]


@pytest.mark.backends('postgresql', 'mysql')
def test_for_update_blocks_a_second_writer_until_commit(db: Any) -> None:
    db.use(C)
    C.insert_many([{'id': 1, 'name': 'x'}])
    order: list[str] = []
    locked = threading.Event()

    def other_writer() -> None:
        locked.wait(5)
        C.query().where(C.c.id == 1).update_all(name='other')
        order.append('other wrote')

    thread = threading.Thread(target=other_writer)
    thread.start()
    with C.transaction():
        C.query().where(C.c.id == 1).for_update().one()
        locked.set()
        thread.join(0.5)
        order.append('holder commits')
    thread.join(5)
    assert order == ['holder commits', 'other wrote']
    assert C.query().pluck('name') == ['other']


# -- default scopes -----------------------------------------------------------------------------

def test_default_scopes_apply_when_the_query_renders(db: Any) -> None:
    db.use(Note)
    Note.insert_many([{'id': index, 'body': f'n{index}', 'rank': index} for index in range(1, 6)])
    Note.find_one(2).delete()
    Note.find_one(4).delete()
    assert Note.query().order_by('id').pluck('id') == [1, 3, 5]
    assert Note.query().count() == 3 and Note.query().sum(Note.c.rank) == 9
    assert Note.query().with_deleted().count() == 5 and Note.query().unscoped().count() == 5
    assert Note.with_deleted().where(Note.c.deleted_at.is_not_null()).pluck('id') == [2, 4]
    assert Note.query().update_all(rank=0) == 3
    assert Note.with_deleted().order_by('id').pluck('rank') == [0, 2, 0, 4, 0]
    assert Note.query().where(Note.c.id.in_(Note.query().select(Note.c.id))).count() == 3
    assert Note.query().union(Note.with_deleted().where(Note.c.id == 2)).count() == 4
