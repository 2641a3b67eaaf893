"""PostgreSQL JSONB and native arrays through models and column expressions."""
from __future__ import annotations

from typing import Optional

import pytest

from activerecord import ActiveRecord, errors, raw
from activerecord.backend.impl.sqlite.dialect import SQLiteDialect

pytestmark = pytest.mark.backends('postgresql')


class Post(ActiveRecord):
    __table_name__ = 'ar_pg_posts'
    id: int
    title: str
    meta: dict = {}
    tags: list[str] = []
    scores: list[int] = []
    notes: Optional[list[dict]] = None     # a list of objects: a JSONB document, not an array


def titles(query) -> list[str]:
    return [post.title for post in query.order_by('id').all()]


@pytest.fixture
def posts(db):
    db.use(Post)
    Post.insert_many([
        {'title': 'alpha', 'meta': {'k': 'v', 'n': 3, 'a': {'b': 'x'}, 'list': ['first', 'second'], 'flag': True},
         'tags': ['python', 'sql'], 'scores': [5, 7], 'notes': [{'by': 'ann'}]},
        {'title': 'beta', 'meta': {'k': 'w', 'n': 10, 'a': {'b': 'y', 'c': 1}}, 'tags': ['sql', 'a,b "q"'],
         'scores': [1]},
        {'title': 'gamma', 'meta': {}, 'tags': [], 'scores': []},
    ])
    return Post


def test_columns_are_native_jsonb_and_arrays(posts, db) -> None:
    types = {row['column_name']: row['data_type'] for row in db.backend.fetch_all(
        'SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?', ('ar_pg_posts',))}
    assert types['meta'] == 'jsonb' and types['notes'] == 'jsonb'
    assert types['tags'] == 'ARRAY' and types['scores'] == 'ARRAY'
    udt = {row['column_name']: row['udt_name'] for row in db.backend.fetch_all(
        'SELECT column_name, udt_name FROM information_schema.columns WHERE table_name = ?', ('ar_pg_posts',))}
    assert udt['tags'] == '_text' and udt['scores'] == '_int8'


def test_documents_and_arrays_round_trip(posts) -> None:
    alpha, beta, gamma = Post.query().order_by('id').all()
    assert alpha.meta == {'k': 'v', 'n': 3, 'a': {'b': 'x'}, 'list': ['first', 'second'], 'flag': True}
    assert alpha.tags == ['python', 'sql'] and alpha.scores == [5, 7] and alpha.notes == [{'by': 'ann'}]
    assert beta.tags == ['sql', 'a,b "q"'] and beta.notes is None
    assert gamma.meta == {} and gamma.tags == [] and gamma.scores == []
    gamma.tags = ['NULL', '', 'back\\slash', '{x}']
    gamma.meta = {'nested': {'deep': [1, {'z': None}]}, 'unicode': 'é ☃'}
    gamma.save()
    gamma.refresh()
    assert gamma.tags == ['NULL', '', 'back\\slash', '{x}']
    assert gamma.meta == {'nested': {'deep': [1, {'z': None}]}, 'unicode': 'é ☃'}


def test_json_paths_astext_and_nested_keys(posts) -> None:
    assert titles(Post.query().where(Post.c.meta['k'].astext == 'v')) == ['alpha']
    assert titles(Post.query().where(Post.c.meta['n'] == 10)) == ['beta']          # JSON number, not text
    assert titles(Post.query().where(Post.c.meta['flag'] == True)) == ['alpha']    # noqa: E712
    assert titles(Post.query().where(Post.c.meta['a']['b'].astext == 'y')) == ['beta']
    assert titles(Post.query().where(Post.c.meta['list'][1].astext == 'second')) == ['alpha']
    assert titles(Post.query().where(Post.c.meta['n'].astext.cast(int) > 4)) == ['beta']
    assert titles(Post.query().where(Post.c.meta['missing'].is_null())) == ['alpha', 'beta', 'gamma']
    rows = (Post.query().select(Post.c.title, Post.c.meta['a'].as_('a'), Post.c.meta['k'].astext.as_('k'))
            .order_by('title').as_dicts().all())
    assert rows == [{'title': 'alpha', 'a': {'b': 'x'}, 'k': 'v'}, {'title': 'beta', 'a': {'b': 'y', 'c': 1}, 'k': 'w'},
                    {'title': 'gamma', 'a': None, 'k': None}]
    sql, params = Post.query().where(Post.c.meta['a']['b'].astext == 'y').to_sql()
    assert '-> CAST(? AS TEXT)) ->> CAST(? AS TEXT)' in sql and params == ('a', 'b', 'y')


def test_contains_and_key_operators_on_documents(posts) -> None:
    assert titles(Post.query().where(Post.c.meta.contains({'k': 'w'}))) == ['beta']
    assert titles(Post.query().where(Post.c.meta.contains({'a': {'b': 'x'}}))) == ['alpha']
    assert titles(Post.query().where(Post.c.meta['a'].contains({'c': 1}))) == ['beta']
    assert titles(Post.query().where(Post.c.meta.contained_by({'k': 'v', 'n': 3, 'a': {'b': 'x'}, 'x': 1,
                                                                'list': ['first', 'second'], 'flag': True}))) == [
        'alpha', 'gamma']
    assert titles(Post.query().where(Post.c.meta.has_key('list'))) == ['alpha']
    assert titles(Post.query().where(Post.c.meta['a'].has_key('c'))) == ['beta']
    assert titles(Post.query().where(Post.c.meta.has_any_key('list', 'nothing'))) == ['alpha']
    assert titles(Post.query().where(Post.c.meta.has_all_keys('k', 'n'))) == ['alpha', 'beta']
    assert titles(Post.query().where(Post.c.notes.contains([{'by': 'ann'}]))) == ['alpha']
    assert titles(Post.query().where(~Post.c.meta.has_key('k'))) == ['gamma']
    sql, params = Post.query().where(Post.c.meta.has_key('k')).to_sql()
    assert sql.endswith('"ar_pg_posts"."meta" ? ?') and params == ('k',)


def test_array_contains_overlaps_and_any_eq(posts) -> None:
    assert titles(Post.query().where(Post.c.tags.contains(['sql']))) == ['alpha', 'beta']
    assert titles(Post.query().where(Post.c.tags.contains(['sql', 'python']))) == ['alpha']
    assert titles(Post.query().where(Post.c.tags.overlaps(['python', 'a,b "q"']))) == ['alpha', 'beta']
    assert titles(Post.query().where(Post.c.tags.any_eq('a,b "q"'))) == ['beta']
    assert titles(Post.query().where(Post.c.scores.any_eq(7))) == ['alpha']
    assert titles(Post.query().where(Post.c.scores.contained_by([1, 2, 3]))) == ['beta', 'gamma']
    assert titles(Post.query().where(Post.c.tags == [])) == ['gamma']
    assert Post.query().where(Post.c.scores.overlaps(range(6, 9))).count() == 1


def test_question_mark_operators_in_raw_fragments_are_not_placeholders(posts) -> None:
    assert titles(Post.query().where('meta ? ? AND meta ?| array[?]', ('n', 'list'))) == ['alpha']
    assert titles(Post.query().where(raw("meta ?& array['k', 'n'] AND title <> ?", 'gamma'))) == ['alpha', 'beta']
    assert Post.backend().fetch_value("SELECT count(*) FROM ar_pg_posts WHERE meta ? 'a' AND tags && ?",
                                      (['sql'],)) == 2


def test_bulk_updates_of_documents_and_arrays(posts) -> None:
    changed = Post.query().where(Post.c.tags.any_eq('sql')).update_all(meta={'reviewed': True}, scores=[0])
    assert changed == 2
    assert titles(Post.query().where(Post.c.meta['reviewed'] == True)) == ['alpha', 'beta']   # noqa: E712
    assert [post.scores for post in Post.query().order_by('id').all()] == [[0], [0], []]


def test_misuse_is_named_before_any_sql_is_sent(posts) -> None:
    with pytest.raises(errors.ActiveRecordError, match='has_key.*dict.*title'):
        Post.c.title.has_key('x')
    with pytest.raises(errors.ActiveRecordError, match='any_eq.*native array'):
        Post.c.meta.any_eq(1)
    with pytest.raises(errors.ActiveRecordError, match='JSON key must be a str'):
        Post.c.meta[1.5]
    with pytest.raises(errors.ActiveRecordError, match='takes a list of items'):
        Post.c.tags.contains('sql')
    with pytest.raises(errors.ActiveRecordError, match=r"\['k'\] needs a dict \(JSON\).*Post.c.title is str"):
        Post.c.title['k']   # noqa: B018
    with pytest.raises(errors.ActiveRecordError, match=r'overlaps\(\) needs a native array.*notes is stored as JSON'):
        Post.query().where(Post.c.notes.overlaps([{'by': 'ann'}])).all()


def test_other_dialects_refuse_with_the_backend_and_feature_named(posts) -> None:
    # (paths, contains and the key tests are portable: tests/query/test_portable_json.py and
    # tests/query/test_json_values_and_containment.py)
    with pytest.raises(errors.NotSupportedError, match='sqlite does not support JSON operators'):
        Post.query().where(Post.c.meta.contained_by({'k': 'v'})).to_sql(dialect=SQLiteDialect())
    with pytest.raises(errors.NotSupportedError, match='sqlite does not support native array operators'):
        Post.query().where(Post.c.scores.any_eq(1)).to_sql(dialect=SQLiteDialect())
