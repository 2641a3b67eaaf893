"""pgbouncer in transaction pooling mode, on a free loopback port, in front of a PostgreSQL server.

    with ThrowawayPostgres() as server, PgBouncer(server.port) as bouncer:
        bouncer.url                 # postgresql://postgres@127.0.0.1:<port>/postgres
        bouncer.url_with('pooler=transaction')

A small `default_pool_size` (2 by default) makes many client connections share few server
connections, which is what exposes session state leaking from one client to another. The ini,
the auth file, the log and the pid file live in a temporary directory owned by `postgres`
(pgbouncer refuses to run as root); everything is stopped and deleted when the block ends.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

# servers.py's own helpers (free ports, the log tail, handing files to postgres)
from .servers import (LOOPBACK, ServerError, _give_to_postgres, _log_tail,  # pyright: ignore[reportPrivateUsage]
                      free_port, scratch_root)

#: where Debian's package installs it
PGBOUNCER_CANDIDATES = ('/usr/sbin/pgbouncer', '/usr/bin/pgbouncer')
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0


def pgbouncer_binary() -> str | None:
    """The pgbouncer executable, or None when it is not installed."""
    found = shutil.which('pgbouncer')
    if found:
        return found
    return next((path for path in PGBOUNCER_CANDIDATES if os.access(path, os.X_OK)), None)


class PgBouncer:
    """pgbouncer with `pool_mode` (transaction) and `pool_size` server connections per database/user."""

    def __init__(self, server_port: int, *, server_host: str = LOOPBACK, database: str = 'postgres',
                 user: str = 'postgres', pool_mode: str = 'transaction', pool_size: int = 2,
                 max_client_conn: int = 200, settings: dict[str, Any] | None = None) -> None:
        self.server_host = server_host
        self.server_port = server_port
        self.database = database
        self.user = user
        self.pool_mode = pool_mode
        self.pool_size = pool_size
        self.max_client_conn = max_client_conn
        self.settings = dict(settings or {})
        self.port = 0
        self.directory: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    # -- where it is ------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The URL a client connects to (the database name is pgbouncer's alias of the server's)."""
        return f'postgresql://{self.user}@{LOOPBACK}:{self.port}/{self.database}'

    def url_with(self, query: str) -> str:
        """`url` with a query string (e.g. 'pooler=transaction')."""
        return f'{self.url}?{query}'

    @property
    def log_path(self) -> Path:
        """pgbouncer's log file."""
        assert self.directory is not None, 'pgbouncer has not been set up'
        return self.directory / 'pgbouncer.log'

    # -- life cycle -------------------------------------------------------------------

    def __enter__(self) -> 'PgBouncer':
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> None:
        """Write the configuration, start pgbouncer as `postgres`, and wait until it accepts."""
        binary = pgbouncer_binary()
        if binary is None:
            raise ServerError(f'pgbouncer is not installed (looked on PATH and in {list(PGBOUNCER_CANDIDATES)}); '
                              'bash scripts/packages installs it')
        self.directory = Path(tempfile.mkdtemp(prefix='ar-pgbouncer-', dir=scratch_root()))
        self.port = free_port()
        ini = self._write_files()
        command = [binary, str(ini)]
        if os.geteuid() == 0:
            command = ['runuser', '-u', 'postgres', '--', *command]
        self.process = subprocess.Popen(command, cwd=self.directory, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self._wait_until_accepting()

    def close(self) -> None:
        """Stop pgbouncer (SIGINT: finish, then exit; SIGKILL if it lingers) and delete its files."""
        process, self.process = self.process, None
        if process is not None:
            pid = self._daemon_pid()
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGINT)
            else:
                process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                if pid is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    # -- internals --------------------------------------------------------------------

    def _write_files(self) -> Path:
        assert self.directory is not None
        directory = self.directory
        (directory / 'userlist.txt').write_text(f'"{self.user}" ""\n')
        settings: dict[str, Any] = {
            'listen_addr': LOOPBACK, 'listen_port': self.port, 'unix_socket_dir': '',
            'auth_type': 'trust', 'auth_file': directory / 'userlist.txt',
            'pool_mode': self.pool_mode, 'default_pool_size': self.pool_size, 'min_pool_size': 0,
            'reserve_pool_size': 0, 'max_client_conn': self.max_client_conn,
            # pg8000 sends none of these itself; other clients (psql, libpq) send extra_float_digits
            'ignore_startup_parameters': 'extra_float_digits',
            'logfile': directory / 'pgbouncer.log', 'pidfile': directory / 'pgbouncer.pid',
            'admin_users': self.user, 'stats_users': self.user,
            'server_lifetime': 3600, 'server_idle_timeout': 600,
            # a client waiting for a server connection longer than this gets an error, not a hang
            'query_wait_timeout': 30,
        }
        settings.update(self.settings)
        lines = ['[databases]',
                 f'{self.database} = host={self.server_host} port={self.server_port} '
                 f'dbname={self.database} user={self.user}',
                 '', '[pgbouncer]', *(f'{key} = {value}' for key, value in settings.items())]
        ini = directory / 'pgbouncer.ini'
        ini.write_text('\n'.join(lines) + '\n')
        for path in (directory, ini, directory / 'userlist.txt'):
            _give_to_postgres(path)
        return ini

    def _daemon_pid(self) -> int | None:
        """pgbouncer's own pid (under runuser the Popen pid is runuser's)."""
        if self.directory is None:
            return None
        try:
            return int((self.directory / 'pgbouncer.pid').read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _wait_until_accepting(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise ServerError(f'pgbouncer exited with status {self.process.returncode} while starting\n'
                                  f'--- {self.log_path}:\n{_log_tail(self.log_path)}')
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=1):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise ServerError(f'pgbouncer did not accept connections on {LOOPBACK}:{self.port} within '
                                  f'{START_TIMEOUT:g}s\n--- {self.log_path}:\n{_log_tail(self.log_path)}')
            time.sleep(0.05)

    def __repr__(self) -> str:
        return f'<PgBouncer {self.pool_mode} pool_size={self.pool_size} {LOOPBACK}:{self.port} -> ' \
               f'{self.server_host}:{self.server_port}>'
