"""Query-layer cases: a query built through the public API and the same query written by hand.

Each case's hand-written SQL is plain SQL for the raw driver (unquoted names, `?` for values);
where a database spells it differently the case gives that backend's text.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

from activerecord import func
from activerecord.query import Frame, aliased, case, cast, exists, table, value

from .models import ARTICLE_COLUMNS as PC, AUTHOR_COLUMNS as AC, Article as P, Author as A, Category as C


@dataclass
class Case:
    name: str
    api: Callable[[], Any]
    sql: str | dict[str, str]          # {'default': ..., 'mysql': ...} where they differ
    params: tuple = ()
    ordered: bool = True
    kind: str = 'rows'                 # 'rows' | 'scalar' | 'exists'
    requires: str | None = None        # a feature flag the backend must have
    may_be_empty: bool = False
    tags: list[str] = field(default_factory=list)

    def sql_for(self, backend: str) -> str:
        if isinstance(self.sql, str):
            return self.sql
        return self.sql.get(backend, self.sql['default'])


def _tree_query() -> Any:
    tree = table('tree')
    seed = (C.query().select(C.c.id, C.c.name, cast(value(0), int).as_('depth'))
            .where(C.c.parent_id.is_null()))
    step = (C.query().join(tree, C.c.parent_id == tree.c.id)
            .select(C.c.id, C.c.name, (tree.c.depth + 1).as_('depth')))
    return (C.query().with_cte('tree', seed.union_all(step), recursive=True)
            .join(tree, C.c.id == tree.c.id)
            .select(C.c.name, tree.c.depth).order_by(tree.c.depth, C.c.id).as_dicts())


def _stats_join() -> Any:
    stats = (P.query().select(P.c.author_id, func.sum(P.c.views).as_('total'))
             .group_by(P.c.author_id).as_('stats'))
    return (A.query().join(stats, stats.c.author_id == A.c.id)
            .select(A.c.name, stats.c.total).order_by(stats.c.total.desc(), A.c.id).as_dicts())


_manager = aliased(A, 'm')
_LOWER_LIKE = 'LOWER(name) LIKE LOWER(?)'

CASES: list[Case] = [
    Case('all_by_pk', lambda: A.query().order_by('id').all(),
         f'SELECT {AC} FROM q_authors ORDER BY id'),
    Case('where_expression', lambda: A.query().where(A.c.age >= 40).order_by(A.c.id).all(),
         f'SELECT {AC} FROM q_authors WHERE age >= ? ORDER BY id', (40,)),
    Case('where_raw_fragment', lambda: A.query().where('age > ? AND country = ?', (30, 'NL')).all(),
         f'SELECT {AC} FROM q_authors WHERE age > ? AND country = ?', (30, 'NL'), ordered=False),
    Case('where_keywords', lambda: A.query().where(country='NL', active=True).all(),
         f'SELECT {AC} FROM q_authors WHERE country = ? AND active = ?', ('NL', True), ordered=False),
    Case('where_keyword_list', lambda: A.query().where(country=['NL', 'FR']).all(),
         f'SELECT {AC} FROM q_authors WHERE country IN (?, ?)', ('NL', 'FR'), ordered=False),
    Case('and_or_not',
         lambda: A.query().where((A.c.age < 25) | ~((A.c.country == 'DE') & (A.c.active == True))).all(),  # noqa: E712
         f'SELECT {AC} FROM q_authors WHERE age < ? OR NOT (country = ? AND active = ?)', (25, 'DE', True),
         ordered=False),
    Case('like', lambda: A.query().where(A.c.email.like('%.com')).all(),
         f'SELECT {AC} FROM q_authors WHERE email LIKE ?', ('%.com',), ordered=False),
    Case('ilike', lambda: A.query().where(A.c.name.ilike('A%')).order_by('id').all(),
         {'default': f'SELECT {AC} FROM q_authors WHERE {_LOWER_LIKE} ORDER BY id',
          'postgresql': f'SELECT {AC} FROM q_authors WHERE name ILIKE ? ORDER BY id'}, ('A%',)),
    Case('not_like', lambda: A.query().where(A.c.email.not_like('%.org')).all(),
         f'SELECT {AC} FROM q_authors WHERE email NOT LIKE ?', ('%.org',), ordered=False),
    Case('startswith', lambda: A.query().where(A.c.email.startswith('ann')).all(),
         f'SELECT {AC} FROM q_authors WHERE email LIKE ?', ('ann%',), ordered=False),
    Case('in_values', lambda: A.query().where(A.c.id.in_([2, 4, 6, 99])).all(),
         f'SELECT {AC} FROM q_authors WHERE id IN (2, 4, 6, 99)', ordered=False),
    Case('not_in_values', lambda: A.query().where(A.c.age.not_in([22, 29, 36])).all(),
         f'SELECT {AC} FROM q_authors WHERE age NOT IN (?, ?, ?)', (22, 29, 36), ordered=False),
    Case('in_subquery',
         lambda: A.query().where(A.c.id.in_(P.query().select(P.c.author_id).where(P.c.views > 900))).all(),
         f'SELECT {AC} FROM q_authors WHERE id IN (SELECT author_id FROM q_articles WHERE views > ?)', (900,),
         ordered=False),
    Case('is_null', lambda: A.query().where(A.c.country.is_null()).all(),
         f'SELECT {AC} FROM q_authors WHERE country IS NULL', ordered=False),
    Case('not_null_and_between',
         lambda: A.query().where(A.c.manager_id.is_not_null(), A.c.age.between(20, 40)).all(),
         f'SELECT {AC} FROM q_authors WHERE manager_id IS NOT NULL AND age BETWEEN ? AND ?', (20, 40),
         ordered=False),
    Case('not_between', lambda: A.query().where(~A.c.age.between(20, 40)).all(),
         f'SELECT {AC} FROM q_authors WHERE age NOT BETWEEN ? AND ?', (20, 40), ordered=False),
    Case('arithmetic_where', lambda: P.query().where(P.c.views * 2 + 1 > 1500).all(),
         f'SELECT {PC} FROM q_articles WHERE views * 2 + 1 > ?', (1500,), ordered=False),
    Case('arithmetic_select',
         lambda: P.query().select(P.c.id, (P.c.views % 7).as_('m'), (P.c.views - P.c.author_id).as_('d'),
                                  (-P.c.views).as_('n')).order_by('id').as_dicts().all(),
         'SELECT id, views % 7 AS m, views - author_id AS d, -views AS n FROM q_articles ORDER BY id'),
    Case('column_vs_column', lambda: P.query().where(P.c.views > P.c.author_id * 40).all(),
         f'SELECT {PC} FROM q_articles WHERE views > author_id * 40', ordered=False),
    Case('order_limit_offset',
         lambda: A.query().order_by(A.c.age.desc(), 'name').limit(5).offset(3).all(),
         f'SELECT {AC} FROM q_authors ORDER BY age DESC, name LIMIT 5 OFFSET 3'),
    Case('offset_only', lambda: A.query().order_by('id').offset(25).all(),
         {'default': f'SELECT {AC} FROM q_authors ORDER BY id LIMIT -1 OFFSET 25',
          'postgresql': f'SELECT {AC} FROM q_authors ORDER BY id OFFSET 25',
          'mysql': f'SELECT {AC} FROM q_authors ORDER BY id LIMIT 1000000 OFFSET 25'}),
    Case('nulls_last', lambda: P.query().order_by(P.c.rating.desc().nulls_last(), P.c.id).limit(20).all(),
         {'default': f'SELECT {PC} FROM q_articles ORDER BY rating DESC NULLS LAST, id LIMIT 20',
          'mysql': f'SELECT {PC} FROM q_articles ORDER BY rating IS NULL, rating DESC, id LIMIT 20'}),
    Case('nulls_first', lambda: P.query().order_by(P.c.rating.nulls_first(), 'id').limit(20).all(),
         {'default': f'SELECT {PC} FROM q_articles ORDER BY rating NULLS FIRST, id LIMIT 20',
          'mysql': f'SELECT {PC} FROM q_articles ORDER BY rating IS NOT NULL, rating, id LIMIT 20'}),
    Case('first_by_pk', lambda: A.query().where(A.c.age > 30).first(),
         f'SELECT {AC} FROM q_authors WHERE age > ? ORDER BY id LIMIT 1', (30,)),
    Case('count', lambda: A.query().where(A.c.active == True).count(),  # noqa: E712
         'SELECT COUNT(*) FROM q_authors WHERE active = ?', (True,), kind='scalar'),
    Case('count_distinct_rows', lambda: A.query().select(A.c.country).distinct().count(),
         'SELECT COUNT(*) FROM (SELECT DISTINCT country FROM q_authors) t', kind='scalar'),
    Case('count_paged', lambda: P.query().order_by('id').limit(10).offset(115).count(),
         'SELECT COUNT(*) FROM (SELECT id FROM q_articles ORDER BY id LIMIT 10 OFFSET 115) t', kind='scalar'),
    Case('exists_true', lambda: A.query().where(A.c.age > 60).exists(),
         'SELECT 1 FROM q_authors WHERE age > ?', (60,), kind='exists'),
    Case('exists_false', lambda: A.query().where(A.c.age > 600).exists(),
         'SELECT 1 FROM q_authors WHERE age > ?', (600,), kind='exists', may_be_empty=True),
    Case('sum', lambda: P.query().where(P.c.published == True).sum(P.c.views),  # noqa: E712
         'SELECT SUM(views) FROM q_articles WHERE published = ?', (True,), kind='scalar'),
    Case('avg', lambda: P.query().avg(P.c.rating),
         'SELECT AVG(rating) FROM q_articles', kind='scalar'),
    Case('min_date', lambda: A.query().where(A.c.country == 'FR').min(A.c.joined),
         'SELECT MIN(joined) FROM q_authors WHERE country = ?', ('FR',), kind='scalar'),
    Case('max_decimal', lambda: A.query().max(A.c.score),
         'SELECT MAX(score) FROM q_authors', kind='scalar'),
    Case('group_having',
         lambda: A.query().select(A.c.country, func.count().as_('n'), func.max(A.c.age).as_('oldest'))
         .group_by('country').having(func.count() > 5).order_by('n', 'country').as_dicts().all(),
         'SELECT country, COUNT(*) AS n, MAX(age) AS oldest FROM q_authors GROUP BY country '
         'HAVING COUNT(*) > ? ORDER BY n, country', (5,)),
    Case('group_by_alias_having_raw',
         lambda: P.query().select((P.c.views % 3).as_('bucket'), func.count().as_('n'))
         .group_by('bucket').having('COUNT(*) > ?', 30).order_by('bucket').as_dicts().all(),
         'SELECT views % 3 AS bucket, COUNT(*) AS n FROM q_articles GROUP BY views % 3 '
         'HAVING COUNT(*) > ? ORDER BY bucket', (30,)),
    Case('join_where',
         lambda: P.query().join(A, P.c.author_id == A.c.id).where(A.c.country == 'DE').order_by(P.c.id).all(),
         f'SELECT {", ".join("p." + c for c in PC.split(", "))} FROM q_articles p '
         'JOIN q_authors a ON p.author_id = a.id WHERE a.country = ? ORDER BY p.id', ('DE',)),
    Case('left_join_group',
         lambda: A.query().left_join(P, P.c.author_id == A.c.id)
         .select(A.c.id, A.c.name, func.count(P.c.id).as_('n'))
         .group_by(A.c.id, A.c.name).order_by(A.c.id).as_dicts().all(),
         'SELECT a.id, a.name, COUNT(p.id) AS n FROM q_authors a LEFT JOIN q_articles p ON p.author_id = a.id '
         'GROUP BY a.id, a.name ORDER BY a.id'),
    Case('self_join_aliased',
         lambda: A.query().join(_manager, A.c.manager_id == _manager.c.id)
         .select(A.c.name, _manager.c.name.as_('manager')).order_by(A.c.id).as_dicts().all(),
         'SELECT a.name, m.name AS manager FROM q_authors a JOIN q_authors m ON a.manager_id = m.id ORDER BY a.id'),
    Case('right_join',
         lambda: P.query().right_join(C, P.c.category_id == C.c.id).where(P.c.views > 800)
         .select(C.c.id.as_('cid'), P.c.id.as_('pid')).order_by('cid', 'pid').as_dicts().all(),
         'SELECT c.id AS cid, p.id AS pid FROM q_articles p RIGHT JOIN q_categories c ON p.category_id = c.id '
         'WHERE p.views > ? ORDER BY cid, pid', (800,), requires='right_join'),
    Case('full_join',
         lambda: C.query().full_join(P, (P.c.category_id == C.c.id) & (P.c.views > 950))
         .select(C.c.id.as_('cid'), P.c.id.as_('pid')).as_dicts().all(),
         'SELECT c.id AS cid, p.id AS pid FROM q_categories c FULL JOIN q_articles p '
         'ON p.category_id = c.id AND p.views > ?', (950,), ordered=False, requires='full_join'),
    Case('cross_join_count',
         lambda: A.query().cross_join(C).where(C.c.parent_id.is_null(), A.c.age > 55).count(),
         'SELECT COUNT(*) FROM q_authors a CROSS JOIN q_categories c WHERE c.parent_id IS NULL AND a.age > ?',
         (55,), kind='scalar'),
    Case('functions',
         lambda: A.query().select(A.c.id, func.lower(A.c.name).as_('l'), func.length(A.c.email).as_('n'),
                                  func.coalesce(A.c.country, 'xx').as_('c')).order_by('id').as_dicts().all(),
         'SELECT id, LOWER(name) AS l, LENGTH(email) AS n, COALESCE(country, ?) AS c FROM q_authors ORDER BY id',
         ('xx',)),
    Case('case_when',
         lambda: A.query().select(A.c.id, case((A.c.age < 30, 'young'), (A.c.age < 50, 'mid'), else_='old')
                                  .as_('band')).order_by('id').as_dicts().all(),
         "SELECT id, CASE WHEN age < ? THEN ? WHEN age < ? THEN ? ELSE ? END AS band FROM q_authors ORDER BY id",
         (30, 'young', 50, 'mid', 'old')),
    Case('cast_and_concat',
         lambda: A.query().select(A.c.id, cast(A.c.age, str).as_('s'), A.c.name.concat('-', A.c.country).as_('nc'))
         .order_by('id').as_dicts().all(),
         {'default': "SELECT id, CAST(age AS TEXT) AS s, name || ? || country AS nc FROM q_authors ORDER BY id",
          'mysql': "SELECT id, CAST(age AS CHAR) AS s, CONCAT(name, ?, country) AS nc FROM q_authors ORDER BY id"},
         ('-',)),
    Case('exists_correlated',
         lambda: A.query().where(exists(P.query().where(P.c.author_id == A.c.id, P.c.views > 950))).all(),
         f'SELECT {AC} FROM q_authors a WHERE EXISTS (SELECT 1 FROM q_articles p '
         'WHERE p.author_id = a.id AND p.views > ?)', (950,), ordered=False),
    Case('not_exists',
         lambda: A.query().where(~exists(P.query().where(P.c.author_id == A.c.id))).all(),
         f'SELECT {AC} FROM q_authors a WHERE NOT EXISTS (SELECT 1 FROM q_articles p WHERE p.author_id = a.id)',
         ordered=False),
    Case('scalar_subquery_in_select',
         lambda: A.query().select(A.c.id, P.query().select(func.count()).where(P.c.author_id == A.c.id).as_('n'))
         .order_by('id').as_dicts().all(),
         'SELECT a.id, (SELECT COUNT(*) FROM q_articles p WHERE p.author_id = a.id) AS n FROM q_authors a ORDER BY a.id'),
    Case('scalar_subquery_in_where',
         lambda: A.query().where(A.c.age > A.query().select(func.avg(A.c.age))).all(),
         f'SELECT {AC} FROM q_authors WHERE age > (SELECT AVG(age) FROM q_authors)', ordered=False),
    Case('subquery_in_from',
         lambda: A.query().from_(A.query().where(A.c.age > 40)).where(A.c.country == 'NL').order_by('id').all(),
         f'SELECT {AC} FROM (SELECT * FROM q_authors WHERE age > ?) t WHERE country = ? ORDER BY id', (40, 'NL')),
    Case('join_subquery_alias', _stats_join,
         'SELECT a.name, s.total FROM q_authors a JOIN (SELECT author_id, SUM(views) AS total FROM q_articles '
         'GROUP BY author_id) s ON s.author_id = a.id ORDER BY s.total DESC, a.id'),
    Case('cte',
         lambda: P.query().with_cte('veterans', A.query().select(A.c.id).where(A.c.age >= 50))
         .join(table('veterans'), P.c.author_id == table('veterans').c.id).order_by(P.c.id).all(),
         f'WITH veterans AS (SELECT id FROM q_authors WHERE age >= ?) SELECT {", ".join("p." + c for c in PC.split(", "))} '
         'FROM q_articles p JOIN veterans v ON p.author_id = v.id ORDER BY p.id', (50,)),
    Case('recursive_cte', _tree_query,
         'WITH RECURSIVE tree (id, name, depth) AS (SELECT id, name, 0 FROM q_categories WHERE parent_id IS NULL '
         'UNION ALL SELECT c.id, c.name, t.depth + 1 FROM q_categories c JOIN tree t ON c.parent_id = t.id) '
         'SELECT c.name, t.depth FROM q_categories c JOIN tree t ON c.id = t.id ORDER BY t.depth, c.id'),
    Case('window_rank',
         lambda: A.query().select(A.c.id, func.rank().over(partition_by=A.c.country, order_by=[A.c.age.desc()])
                                  .as_('rk')).order_by('id').as_dicts().all(),
         'SELECT id, RANK() OVER (PARTITION BY country ORDER BY age DESC) AS rk FROM q_authors ORDER BY id'),
    Case('window_frame',
         lambda: P.query().select(P.c.id, func.sum(P.c.views).over(order_by=[P.c.id], frame=Frame('rows', -2, 0))
                                  .as_('s')).order_by('id').as_dicts().all(),
         'SELECT id, SUM(views) OVER (ORDER BY id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s '
         'FROM q_articles ORDER BY id'),
    Case('union',
         lambda: A.query().where(A.c.age < 20).union(A.query().where(A.c.age > 60)).order_by('id').all(),
         f'SELECT {AC} FROM q_authors WHERE age < ? UNION SELECT {AC} FROM q_authors WHERE age > ? ORDER BY id',
         (20, 60)),
    Case('union_all_paged',
         lambda: P.query().select(P.c.author_id).where(P.c.views > 900)
         .union_all(P.query().select(P.c.author_id).where(P.c.views < 50))
         .order_by('author_id DESC').limit(10).as_dicts().all(),
         'SELECT author_id FROM q_articles WHERE views > ? UNION ALL SELECT author_id FROM q_articles '
         'WHERE views < ? ORDER BY author_id DESC LIMIT 10', (900, 50)),
    Case('intersect',
         lambda: A.query().select(A.c.id).where(A.c.age > 30)
         .intersect(A.query().select(A.c.id).where(A.c.country == 'NL')).order_by('id').as_dicts().all(),
         'SELECT id FROM q_authors WHERE age > ? INTERSECT SELECT id FROM q_authors WHERE country = ? ORDER BY id',
         (30, 'NL'), requires='intersect'),
    Case('except',
         lambda: A.query().select(A.c.id).where(A.c.age > 30)
         .except_(A.query().select(A.c.id).where(A.c.country == 'NL')).order_by('id').as_dicts().all(),
         'SELECT id FROM q_authors WHERE age > ? EXCEPT SELECT id FROM q_authors WHERE country = ? ORDER BY id',
         (30, 'NL'), requires='except_'),
    Case('distinct',
         lambda: P.query().select(P.c.author_id).distinct().order_by('author_id').as_dicts().all(),
         'SELECT DISTINCT author_id FROM q_articles ORDER BY author_id'),
    Case('pluck', lambda: A.query().where(A.c.country == 'FR').order_by('id').pluck('email'),
         'SELECT email FROM q_authors WHERE country = ? ORDER BY id', ('FR',)),
    Case('date_compare', lambda: A.query().where(A.c.joined >= datetime.date(2020, 6, 1)).all(),
         f'SELECT {AC} FROM q_authors WHERE joined >= ?', (datetime.date(2020, 6, 1),), ordered=False),
    Case('decimal_compare', lambda: A.query().where(A.c.score > Decimal('50.5')).all(),
         f'SELECT {AC} FROM q_authors WHERE score > ?', (50.5,), ordered=False),
    Case('iter_batches', lambda: list(P.query().where(P.c.views > 100).order_by('id').iter(batch_size=7)),
         f'SELECT {PC} FROM q_articles WHERE views > ? ORDER BY id', (100,)),
    Case('iter_dicts', lambda: list(P.query().select(P.c.id, P.c.title).order_by('id').as_dicts().iter(batch_size=50)),
         'SELECT id, title FROM q_articles ORDER BY id'),
]
