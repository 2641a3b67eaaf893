"""libpq's `sslmode` on PostgreSQL URLs: mapped onto the TLS fields, never weaker than asked."""
from __future__ import annotations

import ssl

import pytest

from activerecord.backend.impl.pgsql.backend import PostgreSQLBackend
from activerecord.backend.typing import ConnectionConfig
from activerecord.errors import ConfigurationError
from tests.support.servers import make_certificates

BASE = 'postgresql://app@db.example.com:5432/app'


@pytest.fixture(scope='module')
def CA(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A CA certificate file: the contexts are built from it, never used to connect here."""
    return str(make_certificates(tmp_path_factory.mktemp('sslmode-certs')).ca_cert)


def context_of(url: str, **overrides: object) -> tuple[ConnectionConfig, ssl.SSLContext | None]:
    config = ConnectionConfig.from_url(url, **overrides)
    backend = PostgreSQLBackend(config)
    try:
        return config, backend.ssl_context()
    finally:
        backend.close()


def test_require_encrypts_without_verifying():
    config, context = context_of(f'{BASE}?sslmode=require')
    assert config.options == {'ssl': True} and config.ssl_verify is False and config.ssl_ca is None
    assert context is not None   # TLS is asked for: pg8000 fails rather than fall back to plain text
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_NONE, False)


def test_require_with_a_ca_verifies_the_chain_as_libpq_does(CA):
    config, context = context_of(f'{BASE}?sslmode=require&ssl_ca={CA}')
    assert config.ssl_verify is True and config.options['ssl'] is True
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, False)


def test_verify_ca_checks_the_chain_but_not_the_host_name(CA):
    config, context = context_of(f'{BASE}?sslmode=verify-ca&ssl_ca={CA}')
    assert config.ssl_ca == CA and config.ssl_verify is True
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, False)


def test_verify_full_checks_the_chain_and_the_host_name(CA):
    config, context = context_of(f'{BASE}?sslmode=verify-full&ssl_ca={CA}&pool_size=2')
    assert config.pool_size == 2 and config.ssl_verify is True
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)


def test_the_ca_may_come_from_an_override_as_from_env_gives_it(CA):
    _, context = context_of(f'{BASE}?sslmode=verify-full', ssl_ca=CA)
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    environ = {'APP_DB_URL': f'{BASE}?sslmode=verify-ca', 'APP_DB_SSL_CA': CA}
    assert ConnectionConfig.from_env(environ=environ).options == {'ssl': True, 'ssl_check_hostname': False}


def test_disable_is_plain_text():
    config, context = context_of(f'{BASE}?sslmode=disable')
    assert context is None and config.options == {'ssl': False}


@pytest.mark.parametrize('mode', ['verify-ca', 'verify-full'])
def test_verify_modes_need_a_ca(mode):
    with pytest.raises(ConfigurationError, match=f'ConnectionConfig.ssl_ca: None is not allowed with sslmode={mode}'):
        ConnectionConfig.from_url(f'{BASE}?sslmode={mode}')


@pytest.mark.parametrize('query, conflict', [
    ('sslmode=disable&ssl_ca={CA}', 'ssl_ca='),
    ('sslmode=disable&ssl_cert=c.pem&ssl_key=k.pem', 'ssl_cert='),
    ('sslmode=disable&ssl=true', 'ssl=true'),
    ('sslmode=require&ssl=off', 'ssl=false'),
    ('sslmode=verify-ca&ssl_ca={CA}&ssl_verify=false', 'ssl_verify=false'),
    ('sslmode=verify-full&ssl_ca={CA}&ssl_verify=no', 'ssl_verify=false'),
])
def test_settings_that_contradict_the_mode_are_refused(query, conflict, CA):
    query = query.format(CA=CA)
    mode = query.split('&')[0].split('=')[1]
    with pytest.raises(ConfigurationError, match=f'sslmode={mode} conflicts with {conflict}'):
        ConnectionConfig.from_url(f'{BASE}?{query}')


@pytest.mark.parametrize('mode', ['prefer', 'allow', 'REQUIRE', '', 'verify_full'])
def test_other_modes_are_refused_naming_the_value_and_the_allowed_ones(mode):
    with pytest.raises(ConfigurationError) as caught:
        ConnectionConfig.from_url(f'{BASE}?sslmode={mode}')
    assert str(caught.value) == (f"ConnectionConfig.options['sslmode']: {mode!r} is not allowed; "
                                 'expected one of disable, require, verify-ca, verify-full')


@pytest.mark.parametrize('url', ['mysql://root@db/app?sslmode=require', 'sqlite:///app.db?sslmode=disable',
                                 'mssql://sa@db/app?sslmode=verify-full'])
def test_sslmode_on_another_database_is_refused(url):
    with pytest.raises(ConfigurationError, match=r"sslmode is a PostgreSQL setting and this is a \w+ URL"):
        ConnectionConfig.from_url(url)


def test_a_bad_ssl_flag_beside_sslmode_is_named():
    with pytest.raises(ConfigurationError, match=r"options\['ssl'\]: 'maybe' is not allowed"):
        ConnectionConfig.from_url(f'{BASE}?sslmode=require&ssl=maybe')
