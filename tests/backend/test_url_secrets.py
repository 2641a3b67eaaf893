"""A password holding an unencoded `/`, `#`, `?` or `@` is read whole and never shown (issue 16 item 6).

Such a password used to end the URL's user info early: its first part became the host or an
invalid port (`Port could not be cast to integer value as 's3cr'`), so it was shown by the
ConfigurationError and by `python -m activerecord check`, and the scrubber looking for the whole
password missed the part.
"""
from __future__ import annotations

import io
import socket

import pytest

from activerecord.backend.typing import ConnectionConfig
from activerecord.cli import check
from activerecord.errors import ConfigurationError

from conftest import require_server

#: one password per character; each piece around the character is long enough to spot
PASSWORDS = {'/': 's3cr/etpw', '#': 's3cr#etpw', '?': 's3cr?etpw', '@': 's3cr@etpw',
             'all': 's3cr/et#pw?zq@xy'}
PIECES = ('s3cr', 'etpw', 'et#pw', 'pw?zq', 'zq@xy')


def _assert_hidden(text: str, password: str) -> None:
    assert password not in text
    for piece in PIECES:
        assert piece not in text, f'a piece of the password ({piece!r}) is shown: {text}'


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize('password', PASSWORDS.values(), ids=PASSWORDS.keys())
def test_an_unencoded_password_is_read_whole(password):
    config = ConnectionConfig.from_url(f'postgresql://app:{password}@db.example:6543/shop?pool_size=3')
    assert (config.username, config.password, config.host, config.port, config.database, config.pool_size) == \
        ('app', password, 'db.example', 6543, 'shop', 3)
    _assert_hidden(repr(config) + config.display_url(), password)


@pytest.mark.parametrize('password', PASSWORDS.values(), ids=PASSWORDS.keys())
@pytest.mark.parametrize('url', [
    'postgresql://app:{pw}@db.example:99999/shop',          # a port out of range
    'postgress://app:{pw}@db.example/shop',                 # a misspelt scheme
    'mysql://app:{pw}@db.example/shop?pool_size=many',      # a value of the wrong type
    'postgresql:/app:{pw}@db.example/shop',                 # not a URL
    'sqlite://app:{pw}@db.example/shop',                    # a host part on SQLite
])
def test_configuration_errors_never_show_the_password(url, password):
    with pytest.raises(ConfigurationError) as caught:
        ConnectionConfig.from_url(url.format(pw=password))
    _assert_hidden(str(caught.value), password)


def _check(url: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    status = check(url, out, err)
    return status, out.getvalue() + err.getvalue()


@pytest.mark.parametrize('password', PASSWORDS.values(), ids=PASSWORDS.keys())
def test_check_output_never_shows_the_password(password):
    status, text = _check(f'postgresql://app:{password}@127.0.0.1:{_closed_port()}/shop')
    assert status == 1 and 'cannot connect' in text
    _assert_hidden(text, password)
    status, text = _check(f'postgresql://app:{password}@127.0.0.1:99999/shop')
    assert status == 2
    _assert_hidden(text, password)


@pytest.mark.parametrize('password', PASSWORDS.values(), ids=PASSWORDS.keys())
def test_check_against_a_live_server_reads_the_password_whole(password):
    url = require_server('postgresql')  # trust authentication: any password is accepted
    scheme, rest = url.split('://', 1)
    status, text = _check(f'{scheme}://postgres:{password}@{rest.split("@", 1)[-1]}')
    assert status == 0, text
    assert 'postgres:***@127.0.0.1' in text
    _assert_hidden(text, password)
