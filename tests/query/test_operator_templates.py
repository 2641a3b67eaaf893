"""Vendor operators: a column offers the operators of its field's type, and their SQL is dialect data."""
from __future__ import annotations

from typing import Any, ClassVar

import pytest

from activerecord import ActiveRecord
from activerecord.backend.impl.mysql.dialect import MySQLDialect
from activerecord.backend.impl.mysql.geometry import from_mysql_internal, to_mysql_internal
from activerecord.backend.impl.pgsql.dialect import PostgreSQLDialect
from activerecord.backend.impl.sqlite.dialect import SQLiteDialect
from activerecord.errors import ActiveRecordError, NotSupportedError
from activerecord.query.column_operators import operator_mixins
from activerecord.types import Geometry, Point


class Doc(ActiveRecord):
    __table_name__ = 'ops_docs'
    id: int
    title: str
    meta: dict = {}
    tags: list[str] = []
    notes: list[dict] = []    # a list of objects: a JSON document even where arrays exist
    place: Point | None = None


class JsonLite(SQLiteDialect):
    """SQLite taught one JSON operation by a table entry, no node class."""
    operator_templates: ClassVar[dict[str, str]] = {'json_member_text': "json_extract({0}, '$.' || {1})"}


def sql(query: Any, dialect: Any) -> tuple[str, tuple]:
    return query.to_sql(dialect)


def test_a_table_entry_is_all_a_dialect_needs_for_an_operation() -> None:
    query = Doc.query().select(Doc.c.id).where(Doc.c.meta['k'].astext == 'v')
    assert sql(query, JsonLite()) == (
        'SELECT "ops_docs"."id" FROM "ops_docs" WHERE json_extract("ops_docs"."meta", \'$.\' || ?) = ?', ('k', 'v'))
    assert sql(query, PostgreSQLDialect())[0].endswith('WHERE ("ops_docs"."meta" ->> CAST(? AS TEXT)) = ?')
    # the operations it has no entry for are still refused, naming the database and the family
    with pytest.raises(NotSupportedError, match='sqlite does not support JSON operators'):
        sql(Doc.query().where(Doc.c.meta['k'] == 1), JsonLite())


def test_vendor_sql_comes_from_the_dialect_tables() -> None:
    where = Doc.query().select(Doc.c.id).where
    pg = PostgreSQLDialect()
    assert sql(where(Doc.c.tags.any_eq('a')), pg)[0].endswith('WHERE ? = ANY("ops_docs"."tags")')
    assert sql(where(Doc.c.meta.has_any_key('a', 'b')), pg) == (
        'SELECT "ops_docs"."id" FROM "ops_docs" WHERE "ops_docs"."meta" ?| CAST(? AS TEXT[])', (['a', 'b'],))
    mysql = MySQLDialect()
    assert sql(where(Doc.c.title.match('fox', mode='boolean')), mysql)[0].endswith(
        'WHERE MATCH (`ops_docs`.`title`) AGAINST (? IN BOOLEAN MODE)')
    assert sql(where(Doc.c.place.st_distance(Point(1, 2)) < 3), mysql)[0].endswith(
        'WHERE ST_Distance(`ops_docs`.`place`, ?) < ?')


def test_a_column_offers_only_the_operators_of_its_type() -> None:
    assert not hasattr(Doc.c.id, 'has_key') and not hasattr(Doc.c.id, 'match') and not hasattr(Doc.c.id, 'st_within')
    assert hasattr(Doc.c.meta, 'has_key') and not hasattr(Doc.c.meta, 'overlaps')
    assert hasattr(Doc.c.tags, 'overlaps') and hasattr(Doc.c.tags, 'contains')
    assert hasattr(Doc.c.title, 'match') and not hasattr(Doc.c.title, 'contains')
    assert hasattr(Doc.c.place, 'st_within') and not hasattr(Doc.c.place, 'match')
    # asking anyway says which fields offer it (an AttributeError that is also an ActiveRecordError)
    with pytest.raises(AttributeError, match=r'st_within\(\) needs a Point or Geometry field; Doc.c.id is int'):
        Doc.c.id.st_within(Point(0, 0))
    with pytest.raises(ActiveRecordError, match=r'overlaps\(\) needs a list field'):
        Doc.c.meta.overlaps([1])
    with pytest.raises(AttributeError, match='no attribute'):
        Doc.c.id.no_such_thing   # noqa: B018
    # [key] is the JSON operator too: another column refuses it the same way, and is not iterable
    with pytest.raises(ActiveRecordError, match=r"\['k'\] needs a dict \(JSON\) .*; Doc.c.title is str"):
        Doc.c.title['k']   # noqa: B018
    with pytest.raises(TypeError, match='not iterable'):
        list(Doc.c.id)
    assert all(mixin.__slots__ == () for field in Doc.__meta__.fields.values() for mixin in operator_mixins(field))


def test_mysql_geometry_codec_round_trips_with_the_column_srid() -> None:
    shape = Geometry('POLYGON((0 0,1 0,1 1,0 0))')
    data = to_mysql_internal(shape, 4326)
    assert data[:4] == (4326).to_bytes(4, 'little')
    back = from_mysql_internal(data)
    assert back == shape and back.srid == 4326
    assert from_mysql_internal(to_mysql_internal(Point(1.5, -2, srid=3857))) == Point(1.5, -2, srid=3857)


def test_an_array_operator_on_a_json_stored_list_names_the_column_not_the_database() -> None:
    pg = PostgreSQLDialect()
    for expression in (Doc.c.notes.overlaps([{'by': 'ann'}]), Doc.c.notes.any_eq({'by': 'ann'})):
        with pytest.raises(ActiveRecordError, match=r'needs a native array column .*; Doc.c.notes is stored as JSON'):
            sql(Doc.query().where(expression), pg)
    # a database without arrays (the list is JSON there too) is still the one named
    with pytest.raises(NotSupportedError, match=r'sqlite does not support JSON operators \(overlaps\(\)\)'):
        sql(Doc.query().where(Doc.c.tags.overlaps(['a'])), SQLiteDialect())
