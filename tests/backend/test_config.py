"""ConnectionConfig: every field checked, from_url, from_env, and a password that never shows."""
from __future__ import annotations

import logging

import pytest

from activerecord.backend.impl.sqlite.backend import SQLiteBackend
from activerecord.backend.typing import ConnectionConfig
from activerecord.errors import ConfigurationError

from .fake_driver import FakeServer, make_backend

SECRET = 's3cr3t-PaSS'


def test_defaults_are_those_of_the_api():
    config = ConnectionConfig(database='app')
    assert (config.host, config.port, config.username, config.password) == ('localhost', None, None, None)
    assert (config.pool_size, config.pool_pre_ping, config.ssl_verify) == (5, False, True)
    assert config.options == {} and config.scheme is None


@pytest.mark.parametrize('field, value, allowed', [
    ('pool_size', 0, 'an integer >= 1'),
    ('pool_size', True, 'an integer >= 1'),
    ('pool_size', '5', 'an integer >= 1'),
    ('port', 70000, 'an integer from 1 to 65535'),
    ('port', 0, 'an integer from 1 to 65535'),
    ('port', '5432', 'an integer from 1 to 65535'),
    ('max_overflow', -1, 'an integer >= 0'),
    ('pool_timeout', 0, 'a number of seconds > 0'),
    ('pool_recycle', -5, 'a number of seconds > 0 or None'),
    ('connect_timeout', 'soon', 'a number of seconds > 0'),
    ('pool_pre_ping', 'yes', 'True or False'),
    ('ssl_verify', 1, 'True or False'),
    ('host', '', 'a non-empty string'),
    ('database', 42, 'a non-empty string or None'),
    ('options', ['wal'], 'a dict of backend-specific settings'),
    ('scheme', 'db2', 'one of mssql, mysql, oracle, postgresql, sqlite'),
])
def test_a_bad_value_names_the_field_the_value_and_what_is_allowed(field, value, allowed):
    with pytest.raises(ConfigurationError) as caught:
        ConnectionConfig(**{'database': 'app', field: value})
    message = str(caught.value)
    assert f'ConnectionConfig.{field}' in message
    assert repr(value) in message
    assert allowed in message


def test_a_bad_password_type_is_reported_without_showing_it():
    with pytest.raises(ConfigurationError) as caught:
        ConnectionConfig(database='app', password=b'raw-bytes-secret')
    assert 'ConnectionConfig.password' in str(caught.value) and 'raw-bytes-secret' not in str(caught.value)


def test_ssl_cert_and_key_go_together():
    with pytest.raises(ConfigurationError, match='ssl_key'):
        ConnectionConfig(database='app', ssl_cert='client.pem')


def test_an_unknown_option_is_rejected_by_the_backend_naming_the_allowed_ones():
    with pytest.raises(ConfigurationError) as caught:
        SQLiteBackend(ConnectionConfig(database=':memory:', options={'jornal_mode': 'WAL'}))
    message = str(caught.value)
    assert "'jornal_mode'" in message and 'journal_mode' in message and 'busy_timeout' in message


def test_a_bad_option_value_is_rejected():
    with pytest.raises(ConfigurationError, match=r"options\['journal_mode'\]: 'FAST'"):
        SQLiteBackend(ConnectionConfig(database=':memory:', options={'journal_mode': 'FAST'}))


def test_from_url_reads_every_part_and_keeps_the_scheme():
    config = ConnectionConfig.from_url(
        f'postgresql://app%40corp:{SECRET}@db.example.com:6543/sales?pool_size=10&ssl_ca=ca.pem'
        '&pool_pre_ping=true&pool_recycle=300&application_name=web')
    assert config.scheme == 'postgresql'
    assert (config.host, config.port, config.database) == ('db.example.com', 6543, 'sales')
    assert (config.username, config.password) == ('app@corp', SECRET)
    assert (config.pool_size, config.ssl_ca, config.pool_pre_ping, config.pool_recycle) == (10, 'ca.pem', True, 300.0)
    assert config.options == {'application_name': 'web'}


@pytest.mark.parametrize('url, scheme', [
    ('mysql://root@127.0.0.1/test', 'mysql'), ('mariadb://root@h/test', 'mysql'),
    ('postgres://u@h/d', 'postgresql'), ('oracle://u@h:1521/xe', 'oracle'),
    ('mssql://sa@h/master', 'mssql'), ('sqlserver://sa@h/master', 'mssql'),
])
def test_from_url_maps_scheme_aliases_to_backend_names(url, scheme):
    assert ConnectionConfig.from_url(url).scheme == scheme


@pytest.mark.parametrize('url, database', [
    ('sqlite:///app.db', 'app.db'), ('sqlite:////var/data/app.db', '/var/data/app.db'),
    ('sqlite://', ':memory:'), ('sqlite:///:memory:', ':memory:'),
])
def test_from_url_sqlite_forms(url, database):
    config = ConnectionConfig.from_url(url)
    assert config.scheme == 'sqlite' and config.database == database


def test_from_url_overrides_win():
    config = ConnectionConfig.from_url('sqlite:///a.db?pool_size=2', pool_size=7)
    assert config.pool_size == 7


@pytest.mark.parametrize('url, fragment', [
    ('db2://u@h/d', "ConnectionConfig.scheme: 'db2' is not a known URL scheme"),
    ('postgresql://u@h:70000/d', 'ConnectionConfig.port'),
    ('postgresql://u@h/d?pool_size=many', "ConnectionConfig.pool_size: 'many'"),
    ('postgresql://u@h/d?pool_pre_ping=perhaps', "ConnectionConfig.pool_pre_ping: 'perhaps'"),
    ('not a url', 'is not a URL'),
    ('sqlite://host/app.db', 'has a host part'),
])
def test_from_url_errors_name_the_field(url, fragment):
    with pytest.raises(ConfigurationError) as caught:
        ConnectionConfig.from_url(url)
    assert fragment in str(caught.value)


def test_from_env_reads_prefixed_variables_with_types():
    environ = {'APP_DB_HOST': 'db.internal', 'APP_DB_PORT': '3307', 'APP_DB_DATABASE': 'shop',
               'APP_DB_USER': 'shopper', 'APP_DB_PASSWORD': SECRET, 'APP_DB_POOL_SIZE': '12',
               'APP_DB_SSL_VERIFY': 'off', 'OTHER_PORT': '1'}
    config = ConnectionConfig.from_env(environ=environ)
    assert (config.host, config.port, config.database, config.username) == ('db.internal', 3307, 'shop', 'shopper')
    assert (config.password, config.pool_size, config.ssl_verify) == (SECRET, 12, False)


def test_from_env_url_with_field_variables_on_top(monkeypatch):
    monkeypatch.setenv('SHOP_URL', f'mysql://app:{SECRET}@db/shop?pool_size=3')
    monkeypatch.setenv('SHOP_POOL_SIZE', '9')
    config = ConnectionConfig.from_env(prefix='SHOP_')
    assert (config.scheme, config.host, config.pool_size, config.password) == ('mysql', 'db', 9, SECRET)


def test_from_env_errors():
    with pytest.raises(ConfigurationError, match="ConnectionConfig.port: 'x'"):
        ConnectionConfig.from_env(environ={'APP_DB_PORT': 'x'})
    with pytest.raises(ConfigurationError, match='no variable starting with'):
        ConnectionConfig.from_env(prefix='NOTHING_HERE_', environ={})


def test_the_password_never_shows_in_repr_str_or_display_url():
    config = ConnectionConfig.from_url(f'mysql://app:{SECRET}@db.example.com/shop')
    for text in (repr(config), str(config), config.display_url(), f'{config}', repr([config])):
        assert SECRET not in text
    assert "password='***'" in repr(config)
    assert config.display_url() == 'mysql://app:***@db.example.com/shop'


def test_the_password_never_shows_in_a_log_line_or_connect_error(caplog):
    server = FakeServer()
    backend = make_backend(server, host='db.example.com', port=5000, username='app', password=SECRET)
    server.connect_error = PermissionError(f'password authentication failed for "app" ({SECRET})')
    with caplog.at_level(logging.DEBUG, logger='activerecord'):
        with pytest.raises(Exception) as caught:
            backend.execute('SELECT 1')
        backend.execute('SELECT 1')
    assert server.last_connect_kwargs['password'] == SECRET  # the driver does get it
    assert SECRET not in str(caught.value) and SECRET not in repr(backend) and SECRET not in caplog.text
    assert 'db.example.com:5000' in str(caught.value)


def test_configs_are_values_equal_configs_hash_alike_and_options_are_read_only():
    first = ConnectionConfig(database='a.db', options={'journal_mode': 'WAL'})
    second = ConnectionConfig(database='a.db', options={'journal_mode': 'WAL'})
    assert first == second and hash(first) == hash(second)
    assert first != first.replace(pool_size=2)
    with pytest.raises(TypeError):
        first.options['journal_mode'] = 'DELETE'
    with pytest.raises(ConfigurationError, match='pool_size'):
        first.replace(pool_size=0)
