"""Issue 16 item 8: a missing TLS file is named; MySQL DDL literals follow the sql_mode; a statement
over PostgreSQL's parameter limit is refused before sending and the connection is kept."""
from __future__ import annotations

from typing import Annotated, Optional

import pytest

from activerecord import ActiveRecord, Column
from activerecord.backend.impl.mssql.backend import SQLServerBackend
from activerecord.backend.impl.mysql.dialect import MySQLDialect
from activerecord.backend.registry import backend_class_for
from activerecord.backend.typing import ConnectionConfig
from activerecord.errors import ConfigurationError, ProgrammingError

from conftest import require_server

MISSING = '/nonexistent/activerecord-test/ca.pem'


@pytest.mark.parametrize('name', ['postgresql', 'mysql'])
def test_a_missing_ssl_ca_file_is_named(name):
    config = ConnectionConfig.from_url(require_server(name), ssl_ca=MISSING)
    backend = backend_class_for(config.scheme)(config)
    try:
        with pytest.raises(ConfigurationError) as caught:
            backend.ping()
        assert 'ssl_ca' in str(caught.value) and MISSING in str(caught.value)
        assert backend.pool.status()['checked_out'] == 0
    finally:
        backend.close()


def test_a_missing_ssl_ca_file_is_named_on_sql_server():
    backend = SQLServerBackend(ConnectionConfig(database='db', host='127.0.0.1', ssl_ca=MISSING))
    with pytest.raises(ConfigurationError) as caught:
        backend.connect_kwargs()
    assert 'ssl_ca' in str(caught.value) and MISSING in str(caught.value)


def test_a_missing_ssl_cert_file_is_named(tmp_path):
    config = ConnectionConfig.from_url(require_server('postgresql'), ssl_cert=str(tmp_path / 'no.crt'),
                                       ssl_key=str(tmp_path / 'no.key'))
    backend = backend_class_for(config.scheme)(config)
    try:
        with pytest.raises(ConfigurationError, match=r'ssl_cert.*no\.crt'):
            backend.ping()
    finally:
        backend.close()


def test_mysql_ddl_literals_follow_the_sql_mode():
    dialect = MySQLDialect()
    assert dialect.literal_sql('C:\\') == "'C:\\\\'"          # backslashes escape by default
    dialect.adopt_sql_mode('STRICT_ALL_TABLES,NO_BACKSLASH_ESCAPES')
    assert dialect.literal_sql('C:\\') == "'C:\\'"            # ... and are plain characters here
    assert dialect.literal_sql("it's") == "'it''s'"


class Path(ActiveRecord):
    __table_name__ = 'ar_lex_paths'
    id: Optional[int] = None
    name: str = ''
    folder: Annotated[str, Column(default='C:\\Temp\\')] = 'C:\\Temp\\'


@pytest.mark.backends('mysql')
@pytest.mark.parametrize('sql_mode', [None, 'STRICT_ALL_TABLES,NO_BACKSLASH_ESCAPES'])
def test_mysql_string_default_is_stored_as_written(db, sql_mode):
    url = db.url + ('?sql_mode=' + sql_mode if sql_mode else '')
    Path.configure(url)
    db.models.append(Path)
    Path.drop_table(if_exists=True)
    Path.create_table()
    backend = Path.backend()
    backend.execute(f'INSERT INTO {backend.dialect.quote("ar_lex_paths")} (name) VALUES (?)', ('x',))
    assert Path.query().pluck(Path.c.folder) == ['C:\\Temp\\']


class Item(ActiveRecord):
    __table_name__ = 'ar_lex_items'
    id: Optional[int] = None


@pytest.mark.backends('postgresql')
def test_postgresql_statement_over_the_parameter_limit_is_refused_and_the_connection_kept(db):
    db.use(Item)
    Item.create()
    before = db.backend.pool.status()
    with pytest.raises(ProgrammingError, match='65535'):
        Item.query().where(Item.c.id.in_(list(range(70_000)))).count()
    # Nothing was sent: the healthy connection is still open and idle.
    assert db.backend.pool.status() == before
    assert Item.query().where(Item.c.id.in_(list(range(60_000)))).count() == 1
