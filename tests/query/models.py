"""Models and seed data shared by the query-layer tests (tables prefixed `q_` to stay apart)."""
from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated, Any, Optional

from pydantic import Field

from activerecord import ActiveRecord

COUNTRIES = ('NL', 'DE', 'FR', None)
FIRST_NAMES = ('ann', 'bob', 'cyd', 'dan', 'eve', 'fay', 'gus', 'hal', 'ivy', 'jan')


class Author(ActiveRecord):
    __table_name__ = 'q_authors'
    id: int
    name: Annotated[str, Field(max_length=40)]
    email: Annotated[str, Field(max_length=80)]
    age: int
    country: Optional[Annotated[str, Field(max_length=2)]] = None
    score: Annotated[Decimal, Field(max_digits=8, decimal_places=2)]
    active: bool = True
    joined: datetime.date
    manager_id: Optional[int] = None


class Article(ActiveRecord):
    __table_name__ = 'q_articles'
    id: int
    author_id: int
    category_id: Optional[int] = None
    title: Annotated[str, Field(max_length=100)]
    views: int = 0
    rating: Optional[float] = None
    published: bool = False


class Category(ActiveRecord):
    __table_name__ = 'q_categories'
    id: int
    name: Annotated[str, Field(max_length=40)]
    parent_id: Optional[int] = None


MODELS = (Author, Category, Article)

AUTHOR_COLUMNS = 'id, name, email, age, country, score, active, joined, manager_id'
ARTICLE_COLUMNS = 'id, author_id, category_id, title, views, rating, published'


def author_rows() -> list[dict[str, Any]]:
    """30 authors: varied ages, countries (some NULL), scores, managers."""
    rows = []
    for index in range(1, 31):
        name = f'{FIRST_NAMES[index % 10]}{index:02d}'
        rows.append({
            'id': index, 'name': name.capitalize() if index % 4 == 0 else name,
            'email': f'{name}@example.{"org" if index % 3 else "com"}',
            'age': 15 + (index * 7) % 50, 'country': COUNTRIES[index % 4],
            'score': Decimal(index * 37 % 1000) / Decimal(10), 'active': index % 5 != 0,
            'joined': datetime.date(2018, 1, 1) + datetime.timedelta(days=index * 53),
            'manager_id': None if index <= 3 else (index % 3) + 1,
        })
    return rows


def category_rows() -> list[dict[str, Any]]:
    """A tree: 3 roots, 4 children, 3 grandchildren, 2 great-grandchildren."""
    parents = [None, None, None, 1, 1, 2, 3, 4, 4, 6, 8, 10]
    return [{'id': index, 'name': f'cat{index}', 'parent_id': parent}
            for index, parent in enumerate(parents, 1)]


def article_rows() -> list[dict[str, Any]]:
    """120 articles over authors 1..25 (26..30 write nothing), some without category or rating."""
    rows = []
    for index in range(1, 121):
        rows.append({
            'id': index, 'author_id': (index * 11) % 25 + 1,
            'category_id': None if index % 9 == 0 else index % 12 + 1,
            'title': f'{"Intro to" if index % 3 == 0 else "Notes on"} topic {index % 17}',
            'views': (index * 97) % 1000, 'rating': None if index % 7 == 0 else (index % 10) / 2,
            'published': index % 4 != 0,
        })
    return rows


def seed(db: Any) -> None:
    """Create the tables on the live backend and fill them."""
    db.use(*MODELS)
    Author.insert_many(author_rows())
    Category.insert_many(category_rows())
    Article.insert_many(article_rows())
