"""ConnectionConfig with several hosts (libpq's `h1:5432,h2:5433`) and target_session_attrs."""
from __future__ import annotations

import pytest

from activerecord.backend.typing import ConnectionConfig
from activerecord.errors import ConfigurationError


def test_a_url_may_list_several_hosts() -> None:
    config = ConnectionConfig.from_url('postgresql://app:s3cret@db1:5432,db2:5433,[::1]/shop?pool_size=3')
    assert config.hosts == (('db1', 5432), ('db2', 5433), ('::1', None))
    assert (config.database, config.username, config.password, config.pool_size) == ('shop', 'app', 's3cret', 3)
    assert config.session_attrs == 'read-write'   # the default with several hosts
    assert 's3cret' not in repr(config) and 's3cret' not in str(config) and 's3cret' not in config.display_url()
    assert config.display_url() == 'postgresql://app:***@db1:5432,db2:5433,[::1]/shop'


def test_entries_without_a_port_take_the_configs_port() -> None:
    config = ConnectionConfig(host='db1:6000,db2', port=5433, database='x')
    assert config.hosts == (('db1', 6000), ('db2', 5433))


def test_one_host_is_unchanged_and_defaults_to_any() -> None:
    config = ConnectionConfig.from_url('mysql://root@127.0.0.1:3306/test')
    assert config.hosts == (('127.0.0.1', 3306),)
    assert config.session_attrs == 'any' and config.target_session_attrs is None
    assert 'target_session_attrs' not in repr(config)


def test_target_session_attrs_from_a_url_and_the_environment() -> None:
    url = 'postgresql://u@h1,h2/db?target_session_attrs=any'
    assert ConnectionConfig.from_url(url).session_attrs == 'any'
    config = ConnectionConfig.from_env(environ={'APP_DB_URL': 'postgresql://u@h1:1,h2:2/db',
                                                'APP_DB_TARGET_SESSION_ATTRS': 'read-write'})
    assert config.target_session_attrs == 'read-write'


@pytest.mark.parametrize('host, entry', [
    ('db1,,db2', "entry 2 ('')"), ('db1:0,db2', "entry 1 ('db1:0')"), ('db1,db2:x', "entry 2 ('db2:x')"),
    ('::1,db2', "entry 1 ('::1')"), ('db1, db2', "entry 2 (' db2')"), ('db1,db2:70000', "entry 2 ('db2:70000')"),
])
def test_a_bad_entry_is_named(host: str, entry: str) -> None:
    with pytest.raises(ConfigurationError, match=r'ConnectionConfig\.host: ' + entry.replace('(', r'\(')
                       .replace(')', r'\)') + '.*expected host or host:port'):
        ConnectionConfig(host=host, database='x')


def test_a_bad_url_host_list_is_named() -> None:
    with pytest.raises(ConfigurationError, match=r"entry 2 \('h2:port'\)"):
        ConnectionConfig.from_url('postgresql://u:pw@h1:5432,h2:port/db')


def test_unknown_target_session_attrs_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"ConnectionConfig.target_session_attrs: 'primary' is not allowed; "
                                                 r'expected one of any, read-write'):
        ConnectionConfig(host='db1,db2', database='x', target_session_attrs='primary')
