"""Options as data (parsed once, when the backend is made), the one TLS context, the one password mask."""
from __future__ import annotations

import ssl

import pytest

from activerecord import errors
from activerecord.backend import options, registry
from activerecord.backend.base import StorageBackend
from activerecord.backend.impl.sqlite.backend import SQLiteBackend
from activerecord.backend.tls import tls_context
from activerecord.backend.typing import ConnectionConfig

from .fake_driver import FakeServer, make_backend

SECRET = 'pa55-w0rd/?#'
DRIVERS = {'sqlite': 'sqlite3', 'postgresql': 'pg8000', 'mysql': 'pymysql', 'mssql': 'pytds', 'oracle': 'oracledb'}


@pytest.mark.parametrize(('parser', 'given', 'parsed'), [
    (options.flag, 'Yes', True), (options.flag, 'off', False), (options.flag, True, True), (options.flag, '0', False),
    (options.seconds, '2.5', 2.5), (options.seconds, 3, 3.0),
    (options.seconds, 1e300, 1e300), (options.integer, '-7', -7), (options.integer, 8, 8),
    (options.text_or_integer, 30, '30'), (options.as_text, 5, '5'), (options.as_given, [1], [1]),
    (options.choice('WAL', 'DELETE', any_case=True), 'wal', 'WAL'),
    (options.choice('tcp', 'tcps'), 'tcps', 'tcps'),
    (options.or_none(options.choice('tcp')), None, None),
])
def test_each_parser_takes_values_from_code_and_from_urls(parser, given, parsed) -> None:
    assert parser('x', given) == parsed


@pytest.mark.parametrize(('parser', 'given', 'expected'), [
    (options.flag, 'maybe', 'True or False'), (options.flag, 2, 'True or False'),
    (options.flag, 1, 'True or False'), (options.flag, 0, 'True or False'),
    (options.seconds, 0, 'a number of seconds > 0'), (options.seconds, True, 'a number of seconds > 0'),
    (options.seconds, 'nan', 'a number of seconds > 0'), (options.seconds, float('nan'), 'a number of seconds > 0'),
    (options.seconds, 'inf', 'a number of seconds > 0'), (options.seconds, float('-inf'), 'a number of seconds > 0'),
    (options.seconds, 10 ** 400, 'a number of seconds > 0'),
    (options.integer, 'soon', 'an integer'), (options.integer, False, 'an integer'),
    (options.integer, 5.5, 'an integer'), (options.integer, 5.0, 'an integer'), (options.integer, 1e300, 'an integer'),
    (options.integer, '1_000', 'an integer'), (options.integer, ' 7', 'an integer'),
    (options.integer, '+7', 'an integer'),
    (options.integer, '5.5', 'an integer'), (options.integer, None, 'an integer'),
    (options.text, '', 'a non-empty string'), (options.text_or_integer, 1.5, 'a string or an integer'),
    (options.matching(str.isidentifier, 'a name'), 'a b', 'a name'),
    (options.choice('B', 'A'), 'c', 'one of A, B'),
    (options.choice('tcp', 'tcps'), 'TCPS', 'one of tcp, tcps'),
    (options.choice('tcp', 'tcps'), None, 'one of tcp, tcps'),
])
def test_a_refused_value_names_the_option_the_value_and_what_was_expected(parser, given, expected) -> None:
    with pytest.raises(errors.ConfigurationError) as caught:
        parser('x', given)
    assert str(caught.value) == f"ConnectionConfig.options['x']: {given!r} is not allowed; expected {expected}"


def test_options_are_parsed_once_into_the_backend() -> None:
    backend = SQLiteBackend(ConnectionConfig(database=':memory:', options={'foreign_keys': 'no', 'cache_size': '-2000'}))
    assert backend.options == {'foreign_keys': False, 'cache_size': -2000}
    assert backend.pragmas == {'foreign_keys': 'OFF', 'busy_timeout': '5000', 'cache_size': '-2000'}
    backend.close()
    with pytest.raises(errors.ConfigurationError, match="'colour' is not an option of SQLiteBackend; allowed: "):
        SQLiteBackend(ConnectionConfig(database=':memory:', options={'colour': 'red'}))


@pytest.mark.parametrize(('backend', 'name', 'given', 'parsed'), [
    ('sqlite', 'cache_size', 5.5, '5'), ('sqlite', 'cache_size', '1_000', '1000'),
    ('sqlite', 'cache_size', ' -5 ', '-5'),
    ('sqlite', 'synchronous', 1, '1'), ('sqlite', 'journal_mode', 'wal', 'WAL'), ('sqlite', 'foreign_keys', 'On', 'ON'),
    ('oracle', 'retry_count', '-3', -3), ('oracle', 'sdu', 8192, 8192), ('oracle', 'protocol', None, None),
    ('oracle', 'protocol', 'tcps', 'tcps'), ('mssql', 'readonly', '1', True), ('mssql', 'enc_login_only', 'OFF', False),
    ('mssql', 'readonly', 1, True), ('mssql', 'enc_login_only', 0, False),
])
def test_each_backend_accepts_what_it_always_accepted(backend, name, given, parsed) -> None:
    made = _backend(backend, {name: given})
    assert (made.pragmas[name] if backend == 'sqlite' else made.options[name]) == parsed
    made.close()


@pytest.mark.parametrize(('backend', 'name', 'given', 'expected'), [
    ('sqlite', 'foreign_keys', 1, 'True or False'), ('sqlite', 'cache_size', True, 'an integer'),
    ('sqlite', 'cache_size', float('inf'), 'an integer'), ('sqlite', 'cache_size', 'nan', 'an integer'),
    ('sqlite', 'synchronous', None, 'one of 0, 1, 2, 3, EXTRA, FULL, NORMAL, OFF'),
    ('postgresql', 'ssl', 1, 'True or False'), ('postgresql', 'tcp_keepalive', 0, 'True or False'),
    ('postgresql', 'read_timeout', 'nan', 'a number of seconds > 0'),
    ('mysql', 'read_timeout', float('inf'), 'a number of seconds > 0'),
    ('mssql', 'query_timeout', 'inf', 'a number of seconds > 0'), ('mssql', 'readonly', 2, 'true or false'),
    ('oracle', 'retry_count', 5.5, 'an integer'), ('oracle', 'call_timeout', 5.5, 'an integer'),
    ('oracle', 'sdu', 1e300, 'an integer'), ('oracle', 'expire_time', '1_000', 'an integer'),
    ('oracle', 'protocol', 'TCPS', "'tcp' or 'tcps'"),
])
def test_each_backend_refuses_what_it_always_refused(backend, name, given, expected) -> None:
    with pytest.raises(errors.ConfigurationError) as caught:
        _backend(backend, {name: given})
    assert str(caught.value) == f"ConnectionConfig.options[{name!r}]: {given!r} is not allowed; expected {expected}"


def _backend(name: str, given: dict) -> StorageBackend:
    """A backend made (never connected) with these options; its driver must be installed."""
    pytest.importorskip(DRIVERS[name])
    database = ':memory:' if name == 'sqlite' else 'db'
    return registry.backend_class_for(name)(ConnectionConfig(database=database, options=given))


def test_a_tls_context_verifies_unless_told_not_to() -> None:
    assert tls_context(ConnectionConfig(database='db')) is None
    system = tls_context(ConnectionConfig(database='db'), system_default=True)
    assert system.verify_mode == ssl.CERT_REQUIRED and system.check_hostname
    unchecked = tls_context(ConnectionConfig(database='db', ssl_verify=False), system_default=True)
    assert unchecked.verify_mode == ssl.CERT_NONE and not unchecked.check_hostname
    with pytest.raises(errors.ConfigurationError, match="ConnectionConfig.ssl_ca: the file '/no/ca.pem' does not"):
        tls_context(ConnectionConfig(database='db', ssl_ca='/no/ca.pem'))


def test_translate_error_masks_the_password_whatever_driver_message_returns() -> None:
    backend = make_backend(FakeServer(), username='ann', password=SECRET)
    # as a careless driver_message override might: the driver's text repeats the credentials
    backend.driver_message = lambda error: f'login as ann:{SECRET} failed'
    for connecting in (False, True):
        translated = backend.translate_error(RuntimeError('boom'), connecting=connecting)
        assert SECRET not in str(translated) and 'ann:***' in str(translated)
    backend.close()
