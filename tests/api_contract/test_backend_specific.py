"""API.md, "Backend-specific features" and the TLS rule of "Configuring a model"."""
from __future__ import annotations

import inspect
import threading
from typing import Annotated, Any

import pytest
from pydantic import Field

from activerecord import ActiveRecord, Column, func
from activerecord.backend.impl.oracle.backend import OracleBackend
from activerecord.backend.impl.sqlite.backend import SQLiteBackend
from activerecord.backend.typing import ConnectionConfig
from activerecord.errors import DatabaseError, NotSupportedError
from activerecord.types import Geometry, Point


class Doc(ActiveRecord):
    __table_name__ = 'apic_docs'
    id: int
    meta: dict
    ints: list[int]
    tags: list[str]


class Text(ActiveRecord):
    __table_name__ = 'apic_texts'
    id: int
    body: Annotated[str, Column(fulltext=True)]


class Place(ActiveRecord):
    __table_name__ = 'apic_places'
    id: int
    name: Annotated[str, Field(max_length=20)]
    location: Annotated[Point, Column(srid=4326)]


class Plain(ActiveRecord):
    __table_name__ = 'apic_plain'
    id: int
    n: int = 0


def test_sqlite_options_are_pragmas_on_every_new_connection(tmp_path) -> None:
    options = {'journal_mode': 'WAL', 'synchronous': 'OFF', 'foreign_keys': False, 'busy_timeout': 1234}
    Plain.configure(ConnectionConfig(database=str(tmp_path / 'p.db'), options=options, pool_size=2),
                    backend_class=SQLiteBackend)
    backend = Plain.backend()
    Plain.create_table()
    pragmas = ('journal_mode', 'synchronous', 'foreign_keys', 'busy_timeout')
    read = lambda: tuple(str(next(iter(backend.fetch_one(f'PRAGMA {name}').values()))).lower()  # noqa: E731
                         for name in pragmas)
    seen: list[tuple] = []
    with Plain.transaction():                       # holds one connection; the worker opens another
        seen.append(read())
        worker = threading.Thread(target=lambda: seen.append(read()))
        worker.start()
        worker.join(10)
    assert backend.pool.status()['open'] == 2
    assert seen == [('wal', '0', '0', '1234')] * 2
    backend.close()


@pytest.mark.backends('postgresql')
def test_postgresql_jsonb_and_native_arrays(db: Any) -> None:
    db.use(Doc)
    kinds = {row['column_name']: row['data_type'] for row in db.backend.fetch_all(
        'SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?', ('apic_docs',))}
    assert kinds['meta'] == 'jsonb' and kinds['ints'] == kinds['tags'] == 'ARRAY'
    Doc.create(meta={'k': 'v', 'n': 1}, ints=[1, 2, 3], tags=['a', 'b'])
    Doc.create(meta={'k': 'w'}, ints=[4], tags=['c'])
    c = Doc.c

    def ids(condition: Any) -> list[int]:
        return sorted(doc.id for doc in Doc.query().where(condition).all())

    assert ids(c.meta['k'].astext == 'v') == [1]
    assert ids(c.meta.contains({'k': 'w'})) == [2] and ids(c.meta.has_key('n')) == [1]
    assert ids(c.ints.contains([2, 3])) == [1] and ids(c.tags.overlaps(['c', 'z'])) == [2]
    assert ids(c.ints.any_eq(4)) == [2]
    row = db.backend.fetch_one("SELECT '{\"a\": 1}'::jsonb ? 'a' AS has, ? AS v", (5,))
    assert row['has'] is True and int(row['v']) == 5


@pytest.mark.backends('mysql')
def test_mysql_fulltext_and_spatial(db: Any) -> None:
    db.use(Text, Place)
    Text.insert_many([{'body': 'the quick brown fox'}, {'body': 'lazy dogs sleep all day'},
                      {'body': 'fox and lazy hound'}])
    found = Text.query().where(Text.c.body.match('+lazy -fox', mode='boolean')).all()
    assert [text.body for text in found] == ['lazy dogs sleep all day']
    assert len(Text.query().where(Text.c.body.match('fox')).all()) == 2
    Place.insert_many([{'name': 'Amsterdam', 'location': Point(4.9041, 52.3676)},
                       {'name': 'Paris', 'location': Point(2.3522, 48.8566)}])
    assert Place.find_one({'name': 'Paris'}).location == Point(2.3522, 48.8566, srid=4326)
    box = Geometry('POLYGON((3.3 50.7,7.3 50.7,7.3 53.6,3.3 53.6,3.3 50.7))', srid=4326)
    assert [p.name for p in Place.query().where(Place.c.location.st_within(box)).all()] == ['Amsterdam']
    nearest = Place.query().order_by(Place.c.location.st_distance(Point(2.0, 48.0, srid=4326))).first()
    assert nearest.name == 'Paris'
    rows = Place.query().select(Place.c.name).where(func.ST_Contains(box, Place.c.location)).as_dicts().all()
    assert rows == [{'name': 'Amsterdam'}]
    assert Place.query().where(Place.c.location.st_contains(Point(4.9041, 52.3676, srid=4326))).count() == 1


@pytest.mark.backends('sqlite', 'postgresql')
def test_other_backends_refuse_fulltext_naming_backend_and_feature(db: Any) -> None:
    with pytest.raises(NotSupportedError, match=rf'(?i){db.name}.*full'):
        db.use(Text)


def test_oracle_and_sql_server_names_and_sql_without_a_server() -> None:
    for name in ('execute_plsql', 'callproc', 'callfunc'):
        assert callable(getattr(OracleBackend, name))
    assert list(inspect.signature(OracleBackend.callfunc).parameters)[1:3] == ['name', 'return_type']
    Plain.configure('mssql://sa:pw@127.0.0.1:1/db')
    mssql = Plain.backend()
    sql, params = Plain.query().order_by('id').limit(5).offset(10).to_sql()
    assert 'OFFSET' in sql.upper() and 'FETCH' in sql.upper() and 'LIMIT' not in sql.upper()
    window = Plain.query().select(func.rank().over(order_by=[Plain.c.n.desc()]).as_('rk')).to_sql()[0]
    assert 'OVER' in window.upper()
    assert mssql.features.generated_keys == 'output_inserted' and mssql.features.window_functions
    assert mssql.pool.status()['open'] == 0
    mssql.close()


@pytest.mark.backends('postgresql', 'mysql')
def test_ssl_ca_against_a_server_without_tls_is_an_error_never_plain_text(db: Any, tmp_path) -> None:
    from tests.support.servers import make_certificates   # noqa: PLC0415 - only where cryptography is
    certs = make_certificates(tmp_path)
    Plain.configure(ConnectionConfig.from_url(db.url, ssl_ca=str(certs.ca_cert), connect_timeout=5))
    backend = Plain.backend()
    with pytest.raises(DatabaseError):
        backend.ping()
    assert backend.pool.status()['open'] == 0
    backend.close()
