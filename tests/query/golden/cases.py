"""The constructs whose SQL is pinned per dialect: name -> fn(dialect) -> (sql, params).

Each dialect's expected SQL lives in a module of this package named after the dialect
(sqlite.py, postgresql.py, mysql.py, oracle.py, mssql.py) as `EXPECTED = {name: (sql, params)}`;
an expected value of `NotSupportedError` means rendering must raise it on that dialect.
"""
from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any, Callable

from activerecord import func, raw
from activerecord.backend.dialect import Dialect
from activerecord.query import Frame, aliased, and_, case, cast, exists, or_, table, value
from activerecord.query.cte import render_statement

from ..models import Article as P, Author as A, Category as C

Render = Callable[[Dialect], tuple[str, tuple]]


def sql(query: Any) -> Render:
    """A query's to_sql() on the given dialect."""
    return lambda dialect: query.to_sql(dialect)


def internal(query: Any, method: str, *args: Any) -> Render:
    """The statement a result method (count, exists, sum, first) sends, rendered for a dialect."""
    def render(dialect: Dialect) -> tuple[str, tuple]:
        if method == 'first':
            return query._ordered_for_first()._with_limit(1).to_sql(dialect)
        if method == 'exists':
            return render_statement(dialect, query._render_exists)
        return render_statement(dialect, lambda ctx: query._render_aggregate(ctx, method, *args))
    return render


def where(*conditions: Any) -> Render:
    """SELECT id FROM q_authors WHERE <conditions> (keeps the golden text short)."""
    return sql(A.query().select(A.c.id).where(*conditions))


_tree = table('tree')
_manager = aliased(A, 'm')
_stats = (P.query().select(P.c.author_id, func.sum(P.c.views).as_('total'))
          .group_by(P.c.author_id).as_('stats'))
_seed = C.query().select(C.c.id, cast(value(0), int).as_('depth')).where(C.c.parent_id.is_null())
_step = C.query().join(_tree, C.c.parent_id == _tree.c.id).select(C.c.id, (_tree.c.depth + 1).as_('depth'))
_young = A.query().select(A.c.id).where(A.c.age < 20)
_old = A.query().select(A.c.id).where(A.c.age > 60)

CONSTRUCTS: dict[str, Render] = {
    # -- column expressions --------------------------------------------------------------
    'eq': where(A.c.name == 'ann'),
    'ne': where(A.c.name != 'ann'),
    'lt_le_gt_ge': where(A.c.age < 1, A.c.age <= 2, A.c.age > 3, A.c.age >= 4),
    'eq_none_is_null': where(A.c.country == None),  # noqa: E711
    'and_or': where((A.c.age > 1) & ((A.c.country == 'NL') | (A.c.country == 'DE'))),
    'and_or_functions': where(or_(and_(A.c.age > 1, A.c.age < 9), A.c.active == True)),  # noqa: E712
    'not': where(~((A.c.age > 1) & (A.c.age < 9))),
    'like': where(A.c.name.like('a%')),
    'not_like': where(A.c.name.not_like('a%')),
    'like_escape': where(A.c.name.like('a!%%', escape='!')),
    'startswith': where(A.c.name.startswith('50%_')),
    'ilike': where(A.c.name.ilike('%AN%')),
    'not_ilike': where(A.c.name.not_ilike('%AN%')),
    'in_values': where(A.c.id.in_([1, 2, 3])),
    'not_in_values': where(A.c.id.not_in([1, 2])),
    'in_empty': where(A.c.id.in_([])),
    'in_subquery': where(A.c.id.in_(P.query().select(P.c.author_id).where(P.c.views > 10))),
    'in_subquery_default_key': where(A.c.manager_id.in_(A.query().where(A.c.age > 50))),
    'is_null': where(A.c.country.is_null()),
    'is_not_null': where(A.c.country.is_not_null()),
    'between': where(A.c.age.between(18, 65)),
    'not_between': where(~A.c.age.between(18, 65)),
    'arithmetic': sql(P.query().select(((P.c.views + 1) * 2 - P.c.author_id / 3).as_('x'),
                                       (P.c.views % 7).as_('m'), (-P.c.views).as_('n'))),
    'arithmetic_reflected': where(100 - A.c.age > 2 * A.c.id),
    'compare_columns': where(A.c.age > A.c.id),
    'bound_through_converter': where(A.c.joined >= datetime.date(2020, 1, 2), A.c.score > Decimal('1.50')),
    'concat': sql(A.query().select(A.c.name.concat('-', A.c.email).as_('label'))),
    'functions': sql(A.query().select(func.lower(A.c.name).as_('l'), func.length(A.c.email).as_('n'),
                                      func.coalesce(A.c.country, 'xx').as_('c'))),
    'count_star_and_distinct': sql(A.query().select(func.count().as_('n'),
                                                    func.count(A.c.country, distinct=True).as_('d'))),
    'case': sql(A.query().select(case((A.c.age < 30, 'young'), (A.c.age < 50, 'mid'), else_='old').as_('band'))),
    'case_without_else': sql(A.query().select(case((A.c.active == True, 1)).as_('flag'))),  # noqa: E712
    'cast_python_types': sql(A.query().select(cast(A.c.age, str).as_('s'), cast(A.c.score, float).as_('f'),
                                              A.c.name.cast(int).as_('i'))),
    'cast_type_name': sql(A.query().select(cast(A.c.age, 'numeric(10, 2)').as_('n'))),
    'exists': where(exists(P.query().where(P.c.author_id == A.c.id))),
    'not_exists': where(~exists(P.query().where(P.c.author_id == A.c.id))),
    'value_in_select': sql(A.query().select(A.c.id, value('x').as_('tag'))),
    # -- the query --------------------------------------------------------------------------
    'select_all': sql(A.query()),
    'select_strings': sql(A.query().select('id', 'name')),
    'add_select': sql(C.query().add_select((C.c.id * 2).as_('double'))),
    'where_raw': sql(A.query().select(A.c.id).where('age > ? AND country = ?', (18, 'NL'))),
    'where_raw_object': sql(A.query().select(A.c.id).where(raw('age > ? OR age < ?', 60, 18), A.c.active == True)),  # noqa: E712
    'where_keywords': sql(A.query().select(A.c.id).where(country='NL', id=[1, 2])),
    'distinct': sql(A.query().select(A.c.country).distinct()),
    'order_by': sql(A.query().select(A.c.id).order_by(A.c.age.desc(), 'name', 'id DESC', A.c.email.asc())),
    'order_nulls': sql(P.query().select(P.c.id).order_by(P.c.rating.desc().nulls_last(), P.c.views.nulls_first())),
    'order_by_raw': sql(A.query().select(A.c.id).order_by(raw('age % 7'))),
    'limit': sql(A.query().select(A.c.id).limit(10)),
    'limit_ordered': sql(A.query().select(A.c.id).order_by('id').limit(10)),
    'limit_offset': sql(A.query().select(A.c.id).order_by('id').limit(10).offset(20)),
    'offset_only': sql(A.query().select(A.c.id).order_by('id').offset(20)),
    'limit_offset_unordered': sql(A.query().select(A.c.id).limit(10).offset(20)),
    'join': sql(P.query().select(P.c.id).join(A, P.c.author_id == A.c.id).where(A.c.name == 'ann')),
    'left_join': sql(A.query().select(A.c.id, P.c.id.as_('article')).left_join(P, P.c.author_id == A.c.id)),
    'right_join': sql(P.query().select(P.c.id).right_join(C, P.c.category_id == C.c.id)),
    'full_join': sql(P.query().select(P.c.id).full_join(C, P.c.category_id == C.c.id)),
    'cross_join': sql(A.query().select(A.c.id, C.c.id.as_('category')).cross_join(C)),
    'self_join_aliased': sql(A.query().join(_manager, A.c.manager_id == _manager.c.id)
                             .select(A.c.name, _manager.c.name.as_('manager'))),
    'group_having': sql(A.query().select(A.c.country, func.count().as_('n')).group_by(A.c.country)
                        .having(func.count() > 1).order_by('n')),
    'group_by_alias': sql(P.query().select((P.c.views % 3).as_('bucket'), func.count().as_('n'))
                          .group_by('bucket').having('COUNT(*) > ?', 2)),
    'first': internal(A.query().where(A.c.age > 30), 'first'),
    'count': internal(A.query().where(A.c.age > 30), 'count', None),
    'count_distinct_query': internal(A.query().select(A.c.country).distinct(), 'count', None),
    'count_paged': internal(A.query().order_by('id').limit(5).offset(2), 'count', None),
    'exists_query': internal(A.query().where(A.c.age > 30), 'exists'),
    'sum': internal(P.query().where(P.c.published == True), 'sum', P.c.views),  # noqa: E712
    'avg_min_max': lambda dialect: tuple(
        render_statement(dialect, lambda ctx, fn=fn: P.query()._render_aggregate(ctx, fn, P.c.rating))
        for fn in ('avg', 'min', 'max')),
    'sum_paged': internal(P.query().order_by('id').limit(10), 'sum', P.c.views),
    'update_all': lambda dialect: A.query().where(A.c.age > 60).update_sql(
        {'active': False, 'age': A.c.age + 1}, dialect=dialect),
    'update_all_joined': lambda dialect: P.query().join(A, P.c.author_id == A.c.id).where(
        A.c.country == 'NL').update_sql(views=0, dialect=dialect),
    'delete_all': lambda dialect: P.query().where(P.c.views < 10).delete_sql(dialect=dialect),
    'delete_all_limited': lambda dialect: P.query().order_by('views').limit(5).delete_sql(dialect=dialect),
    'for_update': sql(A.query().select(A.c.id).where(A.c.id == 1).for_update()),
    'for_update_nowait': sql(A.query().select(A.c.id).where(A.c.id == 1).for_update(nowait=True)),
    'for_update_skip_locked': sql(A.query().select(A.c.id).order_by('id').limit(5).for_update(skip_locked=True)),
    # -- CTEs, windows, set operations, subqueries ------------------------------------------
    'cte': sql(P.query().select(P.c.id).with_cte('veterans', A.query().select(A.c.id).where(A.c.age >= 50))
               .join(table('veterans'), P.c.author_id == table('veterans').c.id)),
    'cte_recursive': sql(C.query().with_cte('tree', _seed.union_all(_step), recursive=True)
                         .join(_tree, C.c.id == _tree.c.id).select(C.c.name, _tree.c.depth)),
    'cte_in_subquery_hoisted': where(A.c.id.in_(
        P.query().with_cte('busy', P.query().select(P.c.author_id).where(P.c.views > 5))
        .select(P.c.author_id).from_('busy'))),
    'window_partition_order': sql(A.query().select(A.c.id, func.rank().over(
        partition_by=[A.c.country], order_by=[A.c.age.desc()]).as_('rk'))),
    'window_frame': sql(P.query().select(P.c.id, func.sum(P.c.views).over(
        order_by=P.c.id, frame=Frame('rows', -2, 0)).as_('s'), func.avg(P.c.views).over(
        frame=('range', None, None)).as_('a'))),
    # AVG of a Decimal: exact to its places + 4 (SQLite's ar_decimal_avg, PostgreSQL's SUM / COUNT)
    'avg_decimal_grouped': sql(A.query().select(A.c.country, func.avg(A.c.score).as_('a'),
                                                func.avg(A.c.score, distinct=True).as_('d')).group_by('country')),
    'avg_decimal_window': sql(A.query().select(A.c.id, func.avg(A.c.score).over(
        partition_by=[A.c.country], order_by=[A.c.id]).as_('r'))),
    'union': sql(_young.union(_old)),
    'union_all_ordered_paged': sql(_young.union_all(_old).order_by('id DESC').limit(3)),
    'intersect': sql(_young.intersect(A.query().select(A.c.id).where(A.c.country == 'NL'))),
    'except': sql(_young.except_(A.query().select(A.c.id).where(A.c.country == 'NL'))),
    'mixed_set_operations': sql(_young.union(_old).intersect(A.query().select(A.c.id).where(A.c.active == True))),  # noqa: E712
    'union_member_paged': sql(_young.union(_old.order_by('id').limit(2))),
    'subquery_in_from': sql(A.query().from_(A.query().where(A.c.age > 40)).select(A.c.id).where(A.c.country == 'NL')),
    'subquery_join_alias': sql(A.query().join(_stats, _stats.c.author_id == A.c.id).select(A.c.name, _stats.c.total)),
    'subquery_in_select': sql(A.query().select(A.c.id, P.query().select(func.count())
                                                .where(P.c.author_id == A.c.id).as_('n'))),
    'subquery_comparison': where(A.c.age > A.query().select(func.avg(A.c.age))),
}
