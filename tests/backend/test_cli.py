"""`python -m activerecord demo | check`: what a user types, run as a user runs it."""
from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

import activerecord
from activerecord.cli import main

from conftest import require_server

ROOT = Path(__file__).resolve().parents[2]
SECRET = 'Sup3r-s3cret'


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-m', 'activerecord', *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]  # nothing listens on it once the probe is closed


@pytest.mark.parametrize('command', [[], ['demo'], ['check']])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as caught:
        main([*command, '--help'])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith('usage: python -m activerecord')
    assert {'': 'demo', 'demo': '--url', 'check': 'server version'}[''.join(command)] in out


def test_check_reports_version_tls_features_and_pool(live, capsys):
    url = live.url
    assert main(['check', url]) == 0
    out = capsys.readouterr().out
    version = '.'.join(str(part) for part in live.backend.server_version())
    assert f'version:   {version}' in out
    assert 'TLS:       off' in out
    assert 'pool:      size=5, open=' in out
    assert '  savepoints ' in out and '  isolation_levels ' in out


def test_check_on_a_closed_port_names_host_port_and_reason_without_traceback_or_password():
    port = closed_port()
    result = run('check', f'postgresql://app:{SECRET}@127.0.0.1:{port}/shop', timeout=60)
    assert result.returncode == 1
    assert result.stdout == ''
    assert f'cannot connect to postgresql at 127.0.0.1:{port}' in result.stderr
    assert 'refused' in result.stderr.lower()
    assert 'Traceback' not in result.stderr and SECRET not in result.stderr


def test_check_with_a_wrong_password_says_so_without_showing_it(capsys):
    url = require_server('postgresql').replace('postgres@', f'no_such_user:{SECRET}@')
    assert main(['check', url]) == 1
    err = capsys.readouterr().err
    assert 'cannot connect to postgresql at 127.0.0.1:5432' in err and 'no_such_user' in err
    assert SECRET not in err


@pytest.mark.parametrize('url, fragment', [
    (f'db2://app:{SECRET}@host/db', "'db2' is not a known URL scheme"),
    (f'mysql://app:{SECRET}@host:99999/db', 'ConnectionConfig.port'),
    (f'mysql://app:{SECRET}@host/db?pool_size=0', 'ConnectionConfig.pool_size: 0'),
    (f'mysql://app:{SECRET}@host/db?compress=yes', "'compress' is not an option of MySQLBackend"),
])
def test_check_rejects_a_bad_url_with_exit_status_2(url, fragment, capsys):
    assert main(['check', url]) == 2
    err = capsys.readouterr().err
    assert fragment in err and SECRET not in err


def test_demo_runs_on_embedded_sqlite():
    result = run('demo')
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for step in ('Configure the models', 'Create the tables', 'Create records', 'Update a record',
                 'Query:', 'A transaction that fails is rolled back', 'Delete a record', 'Done'):
        assert step in out
    assert 'sql> INSERT INTO "ar_demo_users"' in out
    assert 'users before 2, after 2; mallory: None' in out
    assert result.stderr == ''


@pytest.mark.backends('postgresql', 'mysql')
def test_demo_runs_on_a_server(live, capsys):
    assert main(['demo', '--url', live.url, '--no-sql']) == 0
    out = capsys.readouterr().out
    assert 'users before 2, after 2; mallory: None' in out and 'sql>' not in out
    tables = live.backend.fetch_all("SELECT table_name FROM information_schema.tables "
                                    "WHERE table_name LIKE 'ar_demo%'")
    assert tables == []  # the demo cleans up after itself


@pytest.mark.server
def test_check_says_whether_tls_is_on_and_why_a_certificate_is_refused(tmp_path, capsys):
    from tests.support.servers import ThrowawayPostgres, make_certificates
    certs = make_certificates(tmp_path)
    with ThrowawayPostgres(ssl=True, certs=certs) as server:
        assert main(['check', server.url]) == 0
        assert 'TLS:       off' in capsys.readouterr().out
        assert main(['check', f'{server.url}?ssl_ca={certs.ca_cert}']) == 0
        assert 'TLS:       on' in capsys.readouterr().out
        assert main(['check', f'{server.url}?ssl_ca={certs.other_ca_cert}']) == 1
        err = capsys.readouterr().err
        assert f'cannot connect to postgresql at 127.0.0.1:{server.port}' in err
        assert 'certificate verify failed' in err


def test_check_lists_the_isolation_levels_by_the_names_the_database_has(live, capsys):
    assert main(['check', live.url]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.strip().startswith('isolation_levels'))
    levels = line.split(None, 1)[1].split(', ')
    expected = {'sqlite': ['SERIALIZABLE'], 'postgresql': ['READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE'],
                'mysql': ['READ COMMITTED', 'READ UNCOMMITTED', 'REPEATABLE READ', 'SERIALIZABLE']}
    if live.name in expected:
        assert levels == expected[live.name]      # PostgreSQL's SNAPSHOT is an alias, not a level of its own
    assert live.name == 'mssql' or 'SNAPSHOT' not in levels


def test_version_option_prints_the_package_version():
    result = run('--version')
    assert result.returncode == 0 and result.stdout == f'{activerecord.__version__}\n'
