"""`python -m activerecord`: the `demo`, `check`, `migrate` and `reflect` commands, and `--version`.

`check` is what an operator runs when a deployment cannot reach its database, so every failure
it knows about ends in one plain sentence and a non-zero exit: never a traceback, never the
password.
"""
from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from typing import Any, Sequence, TextIO
from urllib.parse import unquote

from .backend.base import innermost_os_error
from .backend import registry
from .backend.registry import backend_class_for
from .backend.routing import ReplicaRouter
from .backend.typing import ConnectionConfig, split_user_info
from .demo import run_demo
from .errors import ActiveRecordError, ConfigurationError
from .migrate.cli import add_migrate_parser, run_migrate
from .migrate.reflect import run_reflect
from .version import __version__

PROG = 'python -m activerecord'

EXIT_OK = 0
EXIT_UNREACHABLE = 1    # the configuration is fine, the database could not be reached
EXIT_BAD_INPUT = 2      # the URL or its options are wrong, or the driver is missing


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of both commands."""
    parser = argparse.ArgumentParser(
        prog=PROG, description='activerecord: an ActiveRecord ORM on pydantic models, for SQLite, '
                               'MySQL/MariaDB, PostgreSQL, Oracle and SQL Server.')
    parser.add_argument('--version', action='version', version=__version__)
    commands = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)
    demo = commands.add_parser(
        'demo', help='run the social-media example end to end',
        description='Run the social-media example of the backends guide end to end: define models, '
                    'create their tables, create/read/update/delete records, run a query, and roll a '
                    'transaction back, printing each step and the SQL it sends. Uses a temporary '
                    'SQLite file unless --url names another database; the tables it uses '
                    '(ar_demo_users, ar_demo_posts) are dropped at the end.')
    demo.add_argument('--url', help='database URL, e.g. postgresql://user:password@host:5432/db '
                                    '(default: a temporary SQLite file in WAL mode)')
    demo.add_argument('--no-sql', dest='show_sql', action='store_false',
                      help='do not print the SQL statements')
    check = commands.add_parser(
        'check', help='connect to a database and report what the backend sees',
        description='Connect to URL and print the server version, whether TLS is in use, the '
                    "backend's feature flags and the pool's status. Exits 1 when the database "
                    'cannot be reached and 2 when the URL is wrong or its driver is missing.')
    check.add_argument('url', help='database URL, e.g. mysql://user:password@host:3306/db?ssl_ca=ca.pem')
    check.add_argument('--replica', action='append', default=[], metavar='URL',
                       help='a read replica of URL (repeatable): listed with its role, lag and pool')
    add_migrate_parser(commands)
    reflect = commands.add_parser(
        'reflect', help='print model classes for the tables of an existing database',
        description='Read the tables of URL (columns, keys, indexes, defaults, foreign keys) and print '
                    'a Python module with one ActiveRecord class per table, with relations from the '
                    "foreign keys; `migrate make` against the same database then finds nothing to do. "
                    'Exits 1 when the database cannot be reached and 2 when the input is wrong.')
    reflect.add_argument('--url', required=True, help='database URL, e.g. postgresql://user:password@host:5432/db')
    reflect.add_argument('--tables', metavar='A,B', help='only these tables (default: all of them)')
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m activerecord` and the `activerecord` script."""
    args = build_parser().parse_args(argv)
    if args.command == 'demo':
        return run_demo(args.url, show_sql=args.show_sql)
    if args.command == 'migrate':
        return run_migrate(args, sys.stdout, sys.stderr, _scrub)
    if args.command == 'reflect':
        return run_reflect(args.url, args.tables, sys.stdout, sys.stderr, _scrub)
    return check(args.url, sys.stdout, sys.stderr, args.replica)


def check(url: str, out: TextIO, err: TextIO, replicas: Sequence[str] = ()) -> int:
    """Connect to `url` and print what the backend sees; returns the exit status."""
    # each URL's own user info is scrubbed (_scrub reads it even from a URL that did not parse)
    secrets: list[tuple[str | None, str]] = [(None, url), *((None, replica) for replica in replicas)]
    try:
        config = ConnectionConfig.from_url(url)
        secrets[0] = (config.password, url)
        assert config.scheme is not None, 'from_url always sets the scheme'
        backend_class = backend_class_for(config.scheme)
        replica_configs = registry.replica_configs('check --replica', config, list(replicas))
        backend = backend_class(config)
        if replica_configs:
            backend.router = ReplicaRouter(backend, [backend_class(replica) for replica in replica_configs])
    except (ConfigurationError, ImportError) as error:
        # The URL itself may hold the password (a typo in the scheme, say): scrub it from the message.
        err.write(f'error: {_scrub_all(str(error), secrets)}\n')
        return EXIT_BAD_INPUT
    try:
        return _report(backend, out)
    except ActiveRecordError as error:
        err.write(f'error: {_scrub_all(_reason(backend, error), secrets)}\n')
        return EXIT_UNREACHABLE
    finally:
        backend.close()


def _scrub_all(text: str, secrets: Sequence[tuple[str | None, str]]) -> str:
    """Remove every URL's password from a message."""
    for password, url in secrets:
        text = _scrub(text, password, url)
    return text


def _report(backend: Any, out: TextIO) -> int:
    backend.ping()
    driver = backend.driver
    driver_version = getattr(driver, '__version__', None) or getattr(driver, 'version', '')
    # The server and TLS lines describe the URL's server, never one of its replicas.
    with backend.connected_to('writing') if backend.router is not None else nullcontext():
        server_text, tls = backend.server_version_text(), backend.tls_in_use()
    lines = [
        f'database:  {backend.config.display_url()}',
        f'backend:   {type(backend).__name__} (driver {driver.__name__} {driver_version})'.rstrip(),
        f'server:    {server_text}',
        f'version:   {".".join(str(part) for part in backend.server_version())}',
        f'TLS:       {"on" if tls else "off"}',
        'pool:      ' + ', '.join(f'{key}={value}' for key, value in backend.pool.status().items()),
        'features:',
    ]
    flags = backend.features.as_dict()
    width = max(len(name) for name in flags)
    lines += [f'  {name:<{width}}  {_flag_text(value)}' for name, value in flags.items()]
    if backend.dialect.read_only_sql is not None or backend.router is not None:
        lines.append('hosts:')
        for host in backend.status()['hosts']:
            lag = '-' if host['lag'] is None else f"{host['lag']:g}s"
            pool = ('-' if host['pool'] is None
                    else ', '.join(f'{key}={value}' for key, value in host['pool'].items()))
            lines.append(f"  {host['host']}:{host['port']}  {host['role']:<7}  lag {lag}  pool {pool}")
    out.write('\n'.join(lines) + '\n')
    return EXIT_OK


def _flag_text(value: Any) -> str:
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    if isinstance(value, list):
        return ', '.join(str(item) for item in value) or '(none)'  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType] - a feature flag's list
    return str(value)


def _reason(backend: Any, error: ActiveRecordError) -> str:
    """A one-line reason that names where the connection was going, and the network's own why."""
    text = str(error)
    if not text.startswith('cannot connect to'):
        text = f'{backend.name} at {backend.where()}: {text}'
    # Drivers often wrap the socket error in a vaguer one ("Can't create a connection"):
    # the innermost OSError says why (refused, unknown host, timed out, certificate...).
    cause = innermost_os_error(error)
    if cause is not None and str(cause) not in text:
        text += f' ({type(cause).__name__}: {cause})'
    return text


def _scrub(text: str, password: str | None, url: str) -> str:
    """Remove the password from a message, whichever way it got there."""
    candidates = [password] if password else []
    # A URL that did not parse still has `user:password@` in it (read as from_url reads it, so a
    # password holding an unencoded / # ? or @ is found whole), encoded or not.
    if '://' in url:
        credentials, _ = split_user_info(url.split('://', 1)[1])
        if credentials is not None and ':' in credentials:
            secret = credentials.split(':', 1)[1]
            candidates += [secret, unquote(secret)]
    for secret in sorted(candidates, key=len, reverse=True):
        if secret:
            text = text.replace(secret, '***')
    return text
