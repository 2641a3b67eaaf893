"""API.md, "Queries": every line of the code block, immutability, first(), strict strings, CTEs, raw SQL."""
from __future__ import annotations

import types
from typing import Annotated, Any, Optional

import pytest
from pydantic import Field

import activerecord
from activerecord import ActiveRecord, func, table, value
from activerecord.errors import ActiveRecordError, DatabaseError

Name = Annotated[str, Field(max_length=20)]


class User(ActiveRecord):
    __table_name__ = 'apic_q_users'
    id: int
    name: Name
    age: int
    status: Name
    score: int
    country: Name
    x: Optional[int] = None
    n: int = 0


class Post(ActiveRecord):
    __table_name__ = 'apic_q_posts'
    id: int
    user_id: int
    title: Name
    score: int


class Code(ActiveRecord):
    __table_name__ = 'apic_q_codes'
    __primary_key__ = 'code'
    code: Name
    label: Name


def _user_rows() -> list[dict[str, Any]]:
    rows = []
    for index in range(1, 61):
        rows.append({'id': index, 'name': f'{"ab"[index % 2]}user{index:02d}', 'age': 10 + index % 37,
                     'status': (('active',) * 3 + ('idle',) * 2 + ('gone',))[index % 6], 'score': (index * 7) % 23,
                     'country': ('NL', 'DE')[index % 4 == 0], 'x': None if index % 5 == 0 else index,
                     'n': index % 9})
    return rows


USERS = _user_rows()


@pytest.fixture
def seeded(db: Any) -> Any:
    db.use(User, Post)
    User.insert_many(USERS)
    Post.insert_many([{'id': index, 'user_id': (index % 6) + 1, 'title': f'post{index}', 'score': index % 4}
                      for index in range(1, 21)])
    return db


def _ids(records: list) -> list[int]:
    return [record.id for record in records]


def _where(predicate) -> list[dict[str, Any]]:
    return [row for row in USERS if predicate(row)]


def test_the_query_block_runs_as_written(seeded: Any) -> None:
    q = (User.query()
         .where(User.c.age >= 18)
         .where('status = ? AND score > ?', ('active', 10))
         .where(country='NL')
         .order_by(User.c.age.desc(), 'id')
         .limit(10).offset(1))
    expected = sorted(_where(lambda r: r['age'] >= 18 and r['status'] == 'active' and r['score'] > 10
                             and r['country'] == 'NL'), key=lambda r: (-r['age'], r['id']))[1:11]
    assert len(expected) >= 3
    assert _ids(q.all()) == [row['id'] for row in expected]
    assert q.first().id == expected[0]['id']
    assert q.count() == len(expected) and q.exists() is True
    assert User.query().where(User.c.id == expected[0]['id']).one().name == expected[0]['name']
    sql, params = q.to_sql()
    assert isinstance(sql, str) and list(params)[:4] == [18, 'active', 10, 'NL']
    streamed = q.iter(batch_size=2)
    assert isinstance(streamed, types.GeneratorType)
    assert _ids(list(streamed)) == _ids(q.all())
    assert _ids(list(User.query().order_by('id').iter(batch_size=7))) == [row['id'] for row in USERS]
    assert not User.query().where(User.c.age > 1000).exists()


def test_comparison_and_boolean_operators(seeded: Any) -> None:
    c = User.c
    cases = [
        (c.age == 20, lambda r: r['age'] == 20), (c.age != 20, lambda r: r['age'] != 20),
        (c.age < 20, lambda r: r['age'] < 20), (c.age <= 20, lambda r: r['age'] <= 20),
        (c.age > 40, lambda r: r['age'] > 40), (c.age >= 40, lambda r: r['age'] >= 40),
        ((c.age > 30) & (c.status == 'idle'), lambda r: r['age'] > 30 and r['status'] == 'idle'),
        ((c.age < 15) | (c.score == 0), lambda r: r['age'] < 15 or r['score'] == 0),
        (~(c.country == 'NL'), lambda r: r['country'] != 'NL'),
        (c.name.like('a%'), lambda r: r['name'].startswith('a')),
        (c.id.in_([1, 2, 3, 999]), lambda r: r['id'] in (1, 2, 3)),
        (c.x.is_null(), lambda r: r['x'] is None),
        (c.n.between(1, 5), lambda r: 1 <= r['n'] <= 5),
    ]
    for condition, predicate in cases:
        assert sorted(_ids(User.query().where(condition).all())) == [r['id'] for r in _where(predicate)], condition


def test_group_by_having_aliases_as_dicts(seeded: Any) -> None:
    rows = (User.query().select(User.c.status, func.count().as_('n')).group_by(User.c.status)
            .having(func.count() > 1).order_by('n', 'status').as_dicts().all())
    counts: dict[str, int] = {}
    for row in USERS:
        counts[row['status']] = counts.get(row['status'], 0) + 1
    assert isinstance(rows, list) and all(type(row) is dict for row in rows)
    assert [(row['status'], row['n']) for row in rows] == sorted(counts.items(), key=lambda item: (item[1], item[0]))


def test_joins_and_aggregates(seeded: Any) -> None:
    joined = Post.query().join(User, Post.c.user_id == User.c.id).where(User.c.name == 'buser01').all()
    assert sorted(p.id for p in joined) == [i for i in range(1, 21) if (i % 6) + 1 == 1]
    left = (User.query().left_join(Post, Post.c.user_id == User.c.id).where(Post.c.id.is_null())
            .where(User.c.id <= 8).order_by('id').all())
    assert _ids(left) == [7, 8]
    q = User.query().where(User.c.country == 'DE')
    ages = [r['age'] for r in _where(lambda r: r['country'] == 'DE')]
    assert q.sum(User.c.age) == sum(ages) and q.min(User.c.age) == min(ages) and q.max(User.c.age) == max(ages)
    assert q.avg(User.c.age) == pytest.approx(sum(ages) / len(ages))


def test_update_all_and_delete_all_return_affected_counts(seeded: Any) -> None:
    idle = len(_where(lambda r: r['status'] == 'idle'))
    assert User.query().where(status='idle').update_all(status='x') == idle
    assert User.query().where(status='x').count() == idle
    assert User.query().where(status='x').delete_all() == idle
    assert User.query().count() == len(USERS) - idle


def test_for_update_and_explain(seeded: Any) -> None:
    with User.transaction():
        locked = User.query().where(User.c.id <= 3).order_by('id').for_update().all()
    assert _ids(locked) == [1, 2, 3]
    plan = User.query().where(User.c.age > 3).explain()
    assert isinstance(plan, str) and plan


def test_set_operations(seeded: Any) -> None:
    young = User.query().select(User.c.id).where(User.c.age < 20)
    dutch = User.query().select(User.c.id).where(User.c.country == 'NL')
    y = {r['id'] for r in _where(lambda r: r['age'] < 20)}
    d = {r['id'] for r in _where(lambda r: r['country'] == 'NL')}
    assert sorted(young.union(dutch).pluck('id')) == sorted(y | d)
    assert sorted(young.union_all(dutch).pluck('id')) == sorted(list(y) + list(d))
    assert sorted(young.intersect(dutch).pluck('id')) == sorted(y & d)
    assert sorted(young.except_(dutch).pluck('id')) == sorted(y - d)


def test_with_cte_in_a_join_a_raw_fragment_and_recursively(seeded: Any) -> None:
    adults = User.query().select(User.c.id).where(User.c.age >= 18)
    expected = [r['id'] for r in _where(lambda r: r['age'] >= 18)]
    via_join = (User.query().with_cte('adults', adults)
                .join(table('adults'), User.c.id == table('adults').c.id).order_by('id').all())
    assert _ids(via_join) == expected
    via_raw = User.query().with_cte('adults', adults).where('id IN (SELECT id FROM adults)').order_by('id')
    assert _ids(via_raw.all()) == expected
    sql = via_raw.to_sql()[0]
    assert sql.lstrip().upper().startswith('WITH') and 'apic_q_users' in sql
    chain = table('chain')
    start = User.query().select(User.c.id, value(0).as_('depth')).where(User.c.id == 1)
    step = (User.query().join(chain, User.c.id == chain.c.id + 1).where(chain.c.depth < 4)
            .select(User.c.id, (chain.c.depth + 1).as_('depth')))
    rows = (User.query().with_cte('chain', start.union_all(step), recursive=True)
            .join(chain, User.c.id == chain.c.id).select(User.c.id, chain.c.depth).order_by('id')
            .as_dicts().all())
    assert [(row['id'], row['depth']) for row in rows] == [(1, 0), (2, 1), (3, 2), (4, 3), (5, 4)]


def test_window_function(seeded: Any) -> None:
    rows = (Post.query().select(Post.c.id, Post.c.user_id,
                                func.rank().over(partition_by=[Post.c.user_id],
                                                 order_by=[Post.c.score.desc()]).as_('rk'))
            .as_dicts().all())
    posts = {r['id']: r for r in rows}
    for row in rows:
        same = [p for p in posts.values() if p['user_id'] == row['user_id']]
        own = (row['id'] % 4)
        assert row['rk'] == 1 + sum(1 for p in same if p['id'] % 4 > own)


def test_backend_raw_verbs(seeded: Any) -> None:
    backend = User.backend()
    before = User.find_one(5).score
    assert backend.execute('UPDATE apic_q_users SET score = score + ? WHERE id = ?', (1, 5)) == 1
    assert User.find_one(5).score == before + 1
    rows = backend.fetch_all('SELECT * FROM apic_q_users WHERE id > ?', (0,))
    assert isinstance(rows, list) and len(rows) == len(USERS) and type(rows[0]) is dict
    assert {'id', 'name', 'age', 'status'} <= set(rows[0])
    assert backend.fetch_one('SELECT name AS who FROM apic_q_users WHERE id = ?', (2,)) == {'who': 'auser02'}
    assert backend.fetch_one('SELECT name FROM apic_q_users WHERE id = ?', (-1,)) is None
    literal = backend.fetch_one("SELECT '?' AS mark, ? AS v FROM apic_q_users WHERE id = 1 -- ?", (7,))
    assert literal['mark'] == '?' and int(literal['v']) == 7
    percent = backend.fetch_one("SELECT '100%' AS p, ? AS v FROM apic_q_users WHERE name LIKE 'a%' AND id = 2", (3,))
    assert percent['p'] == '100%' and int(percent['v']) == 3


def test_builder_methods_never_change_their_receiver(seeded: Any) -> None:
    base = User.query().where(User.c.age > 1)
    before = base.to_sql()
    other = User.query().select(User.c.id)
    steps = [lambda q: q.where(User.c.age < 5), lambda q: q.where('score > ?', (1,)), lambda q: q.where(country='NL'),
             lambda q: q.order_by('id'), lambda q: q.limit(3), lambda q: q.offset(2),
             lambda q: q.select(User.c.id), lambda q: q.group_by(User.c.status), lambda q: q.having(func.count() > 1),
             lambda q: q.join(Post, Post.c.user_id == User.c.id), lambda q: q.left_join(Post, Post.c.user_id == User.c.id),
             lambda q: q.as_dicts(), lambda q: q.for_update(), lambda q: q.with_cte('o', other),
             lambda q: q.select(User.c.id).union(other)]
    for step in steps:
        derived = step(base)
        assert derived is not base
        assert base.to_sql() == before
    assert _ids(base.order_by('id').all()) == [r['id'] for r in _where(lambda r: r['age'] > 1)]


def test_first_without_order_by_orders_by_the_primary_key(db: Any) -> None:
    db.use(Code)
    for code in ('m', 'c', 'x', 'a', 'q'):
        Code.create(code=code, label=code.upper())
    assert Code.query().first().code == 'a'
    assert Code.query().where(Code.c.code > 'c').first().code == 'm'
    assert Code.query().order_by(Code.c.code.desc()).first().code == 'x'


@pytest.mark.parametrize('method, bad', [
    ('order_by', 'id; DROP TABLE apic_q_users'), ('order_by', 'age DOWN'), ('order_by', 'LOWER(name)'),
    ('order_by', 'no_such_field'), ('order_by', 'age DESC, id'), ('order_by', '1'),
    ('group_by', 'status HAVING 1=1'), ('group_by', 'no_such_field'),
    ('select', 'COUNT(*)'), ('select', 'name, age'), ('select', '*'), ('select', 'age DESC'),
])
def test_bad_strings_raise_before_any_sql_is_sent(seeded: Any, sent: Any, method: str, bad: str) -> None:
    sent.clear()
    with pytest.raises(ActiveRecordError) as caught:
        getattr(User.query(), method)(bad).all()
    assert not isinstance(caught.value, DatabaseError)
    assert sent.statements() == []


def test_names_directions_aliases_and_raw_are_accepted(seeded: Any) -> None:
    by_age = sorted(USERS, key=lambda r: (-r['age'], r['id']))
    assert _ids(User.query().order_by('age DESC', 'id asc').all()) == [r['id'] for r in by_age]
    assert _ids(User.query().order_by(activerecord.raw('age DESC'), 'id').all()) == [r['id'] for r in by_age]
    assert User.query().select('name').where(id=3).as_dicts().all() == [{'name': 'buser03'}]
    grouped = (User.query().select('status', activerecord.raw('COUNT(*)').as_('total')).group_by('status')
               .order_by('total', 'status').as_dicts().all())
    assert sum(row['total'] for row in grouped) == len(USERS)
    next_age = User.query().select(activerecord.raw('age + ?', 100).as_('later')).where(id=3).as_dicts().one()
    assert next_age == {'later': USERS[2]['age'] + 100}
    raw_group = User.query().select(User.c.country, func.count().as_('k')).group_by(activerecord.raw('country'))
    assert sorted(row['country'] for row in raw_group.as_dicts().all()) == ['DE', 'NL']


@pytest.mark.parametrize('scheme, quote', [('sqlite', '"'), ('postgresql', '"'), ('mysql', '`'), ('oracle', '"'),
                                           ('mssql', '[')])
def test_every_value_is_bound_and_identifiers_are_quoted(scheme: str, quote: str) -> None:
    url = 'sqlite://' if scheme == 'sqlite' else f'{scheme}://u:pw@127.0.0.1:1/db'
    User.configure(url)
    try:
        q = (User.query().where(User.c.age >= 1801).where(User.c.name.like('zz%')).where(User.c.id.in_([7707, 7708]))
             .where(User.c.n.between(2101, 6501)).select(User.c.status, func.count().as_('n'))
             .group_by(User.c.status).having(func.count() > 3301).order_by('n').limit(1001).offset(2001))
        sql, params = q.to_sql()
        for literal in (1801, 'zz%', 7707, 7708, 2101, 6501, 3301, 1001, 2001):
            assert literal in params and str(literal) not in sql, literal
        assert f'{quote}apic_q_users' in sql
        assert User.backend().pool.status()['open'] == 0
    finally:
        User.backend().close()
