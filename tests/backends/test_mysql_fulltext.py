"""Full-text search on MySQL/MariaDB: Column(fulltext=True) and `.match()` in where, order_by, select."""
from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import Field

from activerecord import ActiveRecord, Column, errors
from activerecord.query import match

ARTICLES = [
    ('Foxes', 'the quick brown fox jumps over the lazy dog'),
    ('More foxes', 'fox fox fox: a fox den holds many a fox cub'),
    ('Dogs', 'lazy dogs sleep all day long in the sun'),
    ('Cats', 'cats watch birds from the window sill'),
    ('Gardening', 'planting tomatoes and basil in early spring'),
    ('Databases', 'indexes make searches fast, full-text indexes make words searchable'),
    ('Puppies', 'a puppy is a young dog that loves to play'),
    ('Quotes', "it's a \"quoted\" word with 50% off; DROP TABLE articles; --"),
]


class Article(ActiveRecord):
    __table_name__ = 'ar_my_articles'
    id: int
    title: Annotated[str, Field(max_length=100)]
    body: Annotated[str, Column(fulltext=True)]


@pytest.fixture
def articles(db):
    db.use(Article)
    Article.insert_many([{'title': title, 'body': body} for title, body in ARTICLES])
    return db


def titles(query) -> list[str]:
    return [article.title for article in query.all()]


@pytest.mark.backends('mysql')
def test_fulltext_column_creates_a_fulltext_index(articles) -> None:
    rows = articles.backend.fetch_all(
        'SELECT INDEX_NAME AS name, INDEX_TYPE AS kind, COLUMN_NAME AS col FROM information_schema.STATISTICS '
        'WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_TYPE = ?', ('ar_my_articles', 'FULLTEXT'))
    assert [(row['kind'], row['col']) for row in rows] == [('FULLTEXT', 'body')]
    # Creating the table again with if_not_exists is harmless (the index is not made twice).
    Article.create_table(if_not_exists=True)


@pytest.mark.backends('mysql')
def test_natural_language_match_filters_and_orders_by_relevance(articles) -> None:
    found = Article.query().where(Article.c.body.match('fox')).order_by(Article.c.body.match('fox').desc())
    assert titles(found) == ['More foxes', 'Foxes']
    sql, params = found.to_sql()
    assert 'MATCH (`ar_my_articles`.`body`) AGAINST (? IN NATURAL LANGUAGE MODE)' in sql
    assert params == ('fox', 'fox')
    # Relevance as a selected value: larger for the article that says "fox" more often.
    scored = (Article.query().select(Article.c.title, Article.c.body.match('fox lazy').as_('score'))
              .where(Article.c.body.match('fox lazy')).order_by(Article.c.body.match('fox lazy').desc())
              .as_dicts().all())
    assert [row['title'] for row in scored][:2] == ['More foxes', 'Foxes']
    assert {row['title'] for row in scored} == {'More foxes', 'Foxes', 'Dogs'}
    assert all(row['score'] > 0 for row in scored)
    assert [row['score'] for row in scored] == sorted((row['score'] for row in scored), reverse=True)


@pytest.mark.backends('mysql')
def test_boolean_mode_operators(articles) -> None:
    assert titles(Article.query().where(Article.c.body.match('+lazy -fox', mode='boolean'))) == ['Dogs']
    assert sorted(titles(Article.query().where(Article.c.body.match('dog*', mode='boolean')))) == ['Dogs', 'Foxes', 'Puppies']
    assert titles(Article.query().where(Article.c.body.match('"brown fox"', mode='boolean'))) == ['Foxes']
    assert titles(Article.query().where(Article.c.body.match('"fox brown"', mode='boolean'))) == []
    # Combined with other conditions and counted.
    both = Article.query().where(Article.c.body.match('fox', mode='boolean') & (Article.c.title != 'Foxes'))
    assert titles(both) == ['More foxes'] and both.count() == 1


@pytest.mark.backends('mysql')
def test_query_expansion_finds_related_rows(articles) -> None:
    plain = set(titles(Article.query().where(Article.c.body.match('puppy'))))
    expanded = set(titles(Article.query().where(Article.c.body.match('puppy', mode='expansion'))))
    assert plain == {'Puppies'} and plain < expanded


@pytest.mark.backends('mysql')
def test_the_search_text_is_a_bound_parameter(articles) -> None:
    hostile = "x') OR 1=1 OR MATCH(body) AGAINST('fox"
    assert titles(Article.query().where(Article.c.body.match(hostile))) != [title for title, _ in ARTICLES]
    assert titles(Article.query().where(Article.c.body.match('"quoted"', mode='boolean'))) == ['Quotes']
    assert Article.query().count() == len(ARTICLES)


@pytest.mark.backends('mysql')
def test_new_and_changed_rows_are_searchable_after_commit(articles) -> None:
    cats = Article.find_one({'title': 'Cats'})
    cats.body = 'cats chase a red fox'
    cats.save()
    Article.create(title='Owls', body='an owl hunts a fox at night')
    assert set(titles(Article.query().where(Article.c.body.match('fox')))) == {'Foxes', 'More foxes', 'Cats', 'Owls'}
    assert titles(Article.query().where(Article.c.body.match('birds'))) == []


@pytest.mark.backends('mysql')
def test_match_over_several_columns_uses_one_index_on_all(articles) -> None:
    articles.backend.execute('CREATE FULLTEXT INDEX ft_ar_my_articles_both ON ar_my_articles (title, body)')
    found = Article.query().where(match(Article.c.title, Article.c.body, 'gardening tomatoes'))
    assert titles(found) == ['Gardening']
    with pytest.raises(errors.ProgrammingError, match='FULLTEXT index matching the column list'):
        Article.query().where(match(Article.c.title, 'gardening')).all()


@pytest.mark.backends('sqlite', 'postgresql')
def test_other_backends_say_fulltext_needs_mysql(db) -> None:
    with pytest.raises(errors.NotSupportedError, match='fulltext'):
        db.use(Article)
    # SQL for a MySQL backend can still be built against another backend's model: the error is at render.
    with pytest.raises(errors.NotSupportedError, match=f'{db.name} does not support fulltext'):
        Article.query().where(Article.c.body.match('fox')).to_sql()


@pytest.mark.backends('mysql')
def test_wrong_uses_of_match_are_refused_before_any_sql(articles) -> None:
    with pytest.raises(errors.ActiveRecordError, match="mode='fuzzy'"):
        Article.c.body.match('fox', mode='fuzzy')
    with pytest.raises(errors.ActiveRecordError, match='searches for a str'):
        Article.c.body.match(42)
    with pytest.raises(errors.ActiveRecordError, match='needs str fields'):
        Article.c.id.match('fox')
