"""API.md, "Configuring a model": ConnectionConfig, URLs, shared backends, no connect, logging."""
from __future__ import annotations

import logging
import os
import re
import select
import socket
import threading
from contextlib import contextmanager
from typing import Iterator

import pytest

from activerecord import ActiveRecord
from activerecord.backend.impl.mssql.backend import SQLServerBackend
from activerecord.backend.impl.mysql.backend import MySQLBackend
from activerecord.backend.impl.oracle.backend import OracleBackend
from activerecord.backend.impl.pgsql.backend import PostgreSQLBackend
from activerecord.backend.impl.sqlite.backend import SQLiteBackend
from activerecord.backend.typing import ConnectionConfig
from activerecord.errors import (ActiveRecordError, ConfigurationError, DatabaseError, OperationalError,
                                 ProgrammingError)
from activerecord.model.config import unbind  # teardown only: the contract has no "unconfigure"

from .conftest import DURATION, as_sent

SERVER_BACKENDS = {'postgresql': PostgreSQLBackend, 'mysql': MySQLBackend, 'oracle': OracleBackend,
                   'mssql': SQLServerBackend}


class CfgUser(ActiveRecord):
    __table_name__ = 'apic_cfg_users'
    id: int
    username: str
    email: str


class CfgNote(ActiveRecord):
    __table_name__ = 'apic_cfg_notes'
    id: int
    body: str


# -- ConnectionConfig -----------------------------------------------------------------------

def test_every_field_is_accepted_and_the_documented_defaults_hold() -> None:
    values = dict(database='db', host='db.example', port=5433, username='u', password='pw',
                  options={'journal_mode': 'WAL'}, pool_size=3, max_overflow=2, pool_timeout=1.5,
                  pool_recycle=60, pool_pre_ping=True, ssl_ca='ca.pem', ssl_cert='c.pem', ssl_key='k.pem',
                  ssl_verify=False, connect_timeout=4, charset='utf8mb4')
    config = ConnectionConfig(**values)
    for name, expected in values.items():
        assert getattr(config, name) == expected, name
    defaults = ConnectionConfig(database='db')
    assert (defaults.host, defaults.pool_size, defaults.ssl_verify) == ('localhost', 5, True)


@pytest.mark.parametrize('field, bad', [
    ('database', 5), ('host', ''), ('port', 'x'), ('port', 70000), ('username', 5), ('password', 5),
    ('options', [1]), ('pool_size', 0), ('max_overflow', -1), ('pool_timeout', 0), ('pool_recycle', -5),
    ('pool_pre_ping', 'yes'), ('ssl_ca', 5), ('ssl_verify', 'no'), ('connect_timeout', -1), ('charset', 7),
    ('pool_timeout', float('nan')), ('pool_timeout', float('inf')), ('pool_recycle', float('nan')),
    ('connect_timeout', float('inf')),
])
def test_the_constructor_checks_every_value_and_names_the_field(field: str, bad: object) -> None:
    with pytest.raises(ConfigurationError, match=field):
        ConnectionConfig(**{'database': 'db', field: bad})


def test_ssl_cert_without_its_key_is_refused_naming_the_field() -> None:
    with pytest.raises(ConfigurationError, match='ssl_key'):
        ConnectionConfig(database='db', ssl_cert='c.pem')


def test_repr_never_shows_the_password() -> None:
    config = ConnectionConfig(database='db', username='u', password='s3cr3t-pw')
    assert 's3cr3t-pw' not in repr(config) and 's3cr3t-pw' not in str(config)
    assert 'u' in repr(config)
    with pytest.raises(ConfigurationError) as caught:
        ConnectionConfig.from_url('postgresql://u:s3cr3t-pw@host:notaport/db')
    assert 's3cr3t-pw' not in str(caught.value)


def test_from_url_keeps_the_scheme_and_reads_every_part() -> None:
    config = ConnectionConfig.from_url('postgresql://u:p@host:5432/db?pool_size=10&ssl_ca=ca.pem')
    assert (config.scheme, config.username, config.password, config.host, config.port, config.database,
            config.pool_size, config.ssl_ca) == ('postgresql', 'u', 'p', 'host', 5432, 'db', 10, 'ca.pem')
    with pytest.raises(ConfigurationError, match='pool_size'):
        ConnectionConfig.from_url('postgresql://u@host/db?pool_size=many')


def test_configure_with_a_url_config_picks_the_backend_from_its_scheme() -> None:
    config = ConnectionConfig.from_url('postgresql://u:p@127.0.0.1:1/db?pool_size=10&ssl_ca=ca.pem')
    CfgUser.configure(config)
    backend = CfgUser.backend()
    assert isinstance(backend, PostgreSQLBackend) and backend.config.pool_size == 10
    assert backend.pool.status()['open'] == 0


def test_from_env_reads_the_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [key for key in os.environ if key.startswith('APP_DB_')]:
        monkeypatch.delenv(key)
    monkeypatch.setenv('APP_DB_HOST', 'db.internal')
    monkeypatch.setenv('APP_DB_PORT', '3307')
    monkeypatch.setenv('APP_DB_DATABASE', 'shop')
    monkeypatch.setenv('APP_DB_USERNAME', 'app')
    monkeypatch.setenv('APP_DB_PASSWORD', 'env-secret')
    monkeypatch.setenv('APP_DB_POOL_SIZE', '7')
    config = ConnectionConfig.from_env(prefix='APP_DB_')
    assert (config.host, config.port, config.database, config.username, config.password, config.pool_size) == \
        ('db.internal', 3307, 'shop', 'app', 'env-secret', 7)
    assert ConnectionConfig.from_env() == config   # APP_DB_ is the default prefix
    monkeypatch.setenv('APP_DB_PORT', 'abc')
    with pytest.raises(ConfigurationError, match='port'):
        ConnectionConfig.from_env(prefix='APP_DB_')


def test_from_env_reads_the_url_variable_too(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [key for key in os.environ if key.startswith('APP_DB_')]:
        monkeypatch.delenv(key)
    monkeypatch.setenv('APP_DB_URL', 'mysql://app@db.internal:3306/shop?pool_size=4')
    monkeypatch.setenv('APP_DB_PASSWORD', 'env-secret')
    config = ConnectionConfig.from_env(prefix='APP_DB_')
    assert (config.scheme, config.host, config.port, config.database, config.username, config.password,
            config.pool_size) == ('mysql', 'db.internal', 3306, 'shop', 'app', 'env-secret', 4)


# -- configure(): URL forms, shared backends, rebinding ---------------------------------------

def test_the_page_s_first_example_runs_and_its_options_become_pragmas(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    CfgUser.configure(ConnectionConfig(database='app.db', options={'journal_mode': 'WAL'}),
                      backend_class=SQLiteBackend)
    backend = CfgUser.backend()
    try:
        CfgUser.create_table()
        user = CfgUser(username='alice', email='a@example.com')
        assert user.id is None
        user.save()
        assert isinstance(user.id, int)
        assert backend.fetch_one('PRAGMA journal_mode')['journal_mode'].lower() == 'wal'
        assert (tmp_path / 'app.db').exists()
    finally:
        backend.close()


def test_sqlite_urls_relative_absolute_and_memory(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'abs').mkdir()
    absolute = tmp_path / 'abs' / 'app.db'
    assert str(absolute).startswith('/')
    for url, expected_file in (('sqlite:///app.db', tmp_path / 'app.db'), (f'sqlite:///{absolute}', absolute)):
        CfgNote.configure(url)
        backend = CfgNote.backend()
        assert isinstance(backend, SQLiteBackend)
        assert not expected_file.exists()     # configure() does not connect
        CfgNote.create_table()
        CfgNote.create(body=url)
        assert expected_file.exists()
        backend.close()
    assert url.startswith('sqlite:////')
    for url in ('sqlite://', 'sqlite:///:memory:'):
        CfgNote.configure(url)
        assert CfgNote.backend().config.database == ':memory:'
    CfgNote.backend().close()
    assert sorted(os.listdir(tmp_path)) == ['abs', 'app.db']


@pytest.mark.parametrize('scheme', sorted(SERVER_BACKENDS))
def test_server_urls_pick_their_backend(scheme: str) -> None:
    CfgNote.configure(f'{scheme}://u:pw@127.0.0.1:1/db')
    assert type(CfgNote.backend()) is SERVER_BACKENDS[scheme]


def test_memory_is_one_database_for_every_model_until_close() -> None:
    CfgUser.configure('sqlite://')
    CfgNote.configure(ConnectionConfig(database=':memory:'), backend_class=SQLiteBackend)
    CfgUser.create_table()
    backend = CfgUser.backend()
    assert CfgNote.backend() is backend                       # equal configs: one backend, one pool
    CfgNote.create_table()
    CfgUser.create(username='a', email='a@x')
    other = CfgNote.backend().fetch_all('SELECT username FROM apic_cfg_users')
    assert other == [{'username': 'a'}]
    backend.close()
    CfgUser.configure('sqlite:///:memory:')
    assert CfgUser.backend() is not backend
    with pytest.raises(DatabaseError):                        # a new, empty database
        CfgUser.find_all()
    CfgUser.backend().close()


def test_configure_again_rebinds_the_model_and_its_unconfigured_subclasses(tmp_path) -> None:
    class Base(ActiveRecord):
        __abstract__ = True

    class Left(Base):
        id: int

    class LeftChild(Left):
        pass

    class OwnChild(Left):
        pass

    class Right(Base):
        id: int

    first = Base.configure('sqlite://')
    assert Left.backend() is first and LeftChild.backend() is first and Right.backend() is first
    own = OwnChild.configure(f'sqlite:///{tmp_path}/own.db')
    second = Left.configure(f'sqlite:///{tmp_path}/left.db')
    assert second is not first
    assert Left.backend() is second and LeftChild.backend() is second
    assert OwnChild.backend() is own
    assert Right.backend() is first and Base.backend() is first
    for backend in (first, second, own):
        backend.close()


def test_configuring_activerecord_itself_configures_every_unconfigured_model() -> None:
    class Fresh(ActiveRecord):
        id: int

    with pytest.raises(ActiveRecordError):
        Fresh.backend()
    CfgNote.configure('sqlite:///:memory:?pool_size=2')
    own = CfgNote.backend()
    shared = ActiveRecord.configure('sqlite://')
    try:
        assert Fresh.backend() is shared and CfgNote.backend() is own
    finally:
        unbind(ActiveRecord)
        shared.close()
        own.close()


def test_an_unconfigured_model_raises_a_clear_error() -> None:
    class Lonely(ActiveRecord):
        id: int

    with pytest.raises(ActiveRecordError, match=r'Lonely.*configure'):
        Lonely.backend()
    with pytest.raises(ActiveRecordError, match='Lonely'):
        Lonely.find_all()
    with pytest.raises(ConfigurationError):
        Lonely.configure(42)
    with pytest.raises(ConfigurationError, match='nosuchdb'):
        Lonely.configure('nosuchdb://host/db')


# -- configure() does not connect ---------------------------------------------------------------

@pytest.mark.parametrize('url, field', [
    ('sqlite://?journal_mode=SIDEWAYS', 'journal_mode'), ('postgresql://u@127.0.0.1:1/db?no_such_option=1', 'options'),
    ('mysql://u@127.0.0.1:1/db?no_such_option=1', 'options'), ('postgresql://u@127.0.0.1:1', 'database'),
    ('mysql://u@127.0.0.1:1/db?pool_size=0', 'pool_size'),
])
def test_configure_checks_the_config(url: str, field: str) -> None:
    with pytest.raises(ConfigurationError, match=field):
        CfgNote.configure(url)


@contextmanager
def listening() -> Iterator[socket.socket]:
    """A TCP port that accepts nothing by itself: a connection attempt shows up as readable."""
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(8)
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize('scheme', sorted(SERVER_BACKENDS))
def test_configure_and_to_sql_never_connect_but_ping_does(scheme: str) -> None:
    with listening() as server:
        port = server.getsockname()[1]
        CfgUser.configure(f'{scheme}://u:pw@127.0.0.1:{port}/db?connect_timeout=1')
        backend = CfgUser.backend()
        query = (CfgUser.query().where(CfgUser.c.username == 'alice').where('email LIKE ?', '%@x')
                 .order_by(CfgUser.c.id.desc()).limit(10).offset(5))
        sql, params = query.to_sql()
        assert 'apic_cfg_users' in sql.lower() and list(params)[:2] == ['alice', '%@x']
        CfgUser.query().select('username').where(id=1).to_sql()
        assert select.select([server], [], [], 0.2)[0] == []          # nobody knocked
        assert backend.pool.status()['open'] == 0
        # ping() connects now: the attempt reaches the port, and a closed socket is an OperationalError
        failures: list[BaseException] = []

        def ping() -> None:
            try:
                backend.ping()
            except BaseException as error:  # noqa: BLE001 - reported to the test thread
                failures.append(error)

        thread = threading.Thread(target=ping)
        thread.start()
        assert select.select([server], [], [], 5)[0] == [server]
        accepted, _ = server.accept()
        accepted.close()
        thread.join(10)
    assert not thread.is_alive()
    assert len(failures) == 1 and isinstance(failures[0], OperationalError)
    assert 'pw' not in str(failures[0]).replace('pwd', '')
    backend.close()


@pytest.mark.backends('sqlite', 'postgresql', 'mysql')
def test_ping_connects_and_checks_now(db) -> None:
    db.use(CfgUser, create=False)
    backend = CfgUser.backend()
    assert backend.pool.status()['open'] == 0
    assert backend.ping() is True
    assert backend.pool.status()['open'] >= 1


# -- statement logging --------------------------------------------------------------------------

def test_every_statement_is_one_debug_record_sql_as_sent_then_count_and_duration(db, caplog) -> None:
    db.use(CfgUser)
    backend = db.backend
    update = 'UPDATE apic_cfg_users SET email = ? WHERE id = ?'
    broken = 'SELECT no_such_column FROM apic_cfg_users WHERE id = ?'
    with caplog.at_level(logging.DEBUG, logger='activerecord.sql'):
        caplog.clear()
        CfgUser.create(username='alice', email='a@x')
        assert backend.execute(update, ('b@x', 1)) == 1
        with pytest.raises(ProgrammingError):
            backend.fetch_all(broken, (1,))
    records = [record for record in caplog.records if record.name == 'activerecord.sql']
    assert len(records) == 3 and all(record.levelno == logging.DEBUG for record in records)
    insert_message, update_message, failed_message = (record.getMessage() for record in records)
    assert insert_message.upper().startswith('INSERT')
    for message, sql in ((update_message, update), (failed_message, broken)):
        expected = as_sent(sql, backend.paramstyle)
        assert message.startswith(expected), (message, expected)
        rest = message[len(expected):]
        assert re.search(r'\b2 param', rest) or re.search(r'\b1 param', rest)
        assert re.search(DURATION, rest), rest
    assert re.search(r'\b2 param', update_message[len(as_sent(update, backend.paramstyle)):])


def test_statements_the_backend_sends_by_itself_are_logged_too(tmp_path, caplog) -> None:
    backend = SQLiteBackend(ConnectionConfig(database=str(tmp_path / 'log.db'),
                                             options={'journal_mode': 'WAL'}, pool_pre_ping=True))
    try:
        with caplog.at_level(logging.DEBUG, logger='activerecord.sql'):
            caplog.clear()
            backend.ping()
        messages = [record.getMessage() for record in caplog.records if record.name == 'activerecord.sql']
        assert any(message.startswith('PRAGMA journal_mode = WAL -- 0 params') for message in messages), messages
        assert any(message.startswith('PRAGMA foreign_keys = ON') for message in messages), messages
        assert messages[-1].startswith('SELECT 1 -- 0 params'), messages
    finally:
        backend.close()


@pytest.mark.backends('postgresql')
def test_the_logged_sql_is_what_the_server_received(db, caplog) -> None:
    db.use(CfgUser, create=False)
    with caplog.at_level(logging.DEBUG, logger='activerecord.sql'):
        caplog.clear()
        row = db.backend.fetch_one('SELECT current_query() AS q, ? AS v', (5,))
    assert caplog.records[-1].getMessage().startswith(row['q'] + ' ')


def test_passwords_never_reach_the_log_or_the_error(caplog) -> None:
    with caplog.at_level(logging.DEBUG, logger='activerecord'):
        CfgUser.configure('postgresql://app:pw-9f8e7d@127.0.0.1:1/db?connect_timeout=2')
        with pytest.raises(OperationalError) as caught:
            CfgUser.find_all()
    assert '127.0.0.1:1' in str(caught.value)
    assert 'pw-9f8e7d' not in caplog.text and 'pw-9f8e7d' not in str(caught.value)
    assert 'pw-9f8e7d' not in repr(CfgUser.backend())
    CfgUser.backend().close()
