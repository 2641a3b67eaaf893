"""Throwaway PostgreSQL and MariaDB servers on free loopback ports, and test TLS certificates.

For tests that need a server configured differently from the shared ones (TLS on, TLS
required, a server to stop, kill or restart). Each server lives in its own temporary
directory, listens on 127.0.0.1 only, and is stopped and deleted when its `with` block ends.

    certs = make_certificates(tmp_path)
    with ThrowawayPostgres(ssl=True, certs=certs) as server:
        connect(server.url, ssl_ca=certs.ca_cert)
"""
from __future__ import annotations

import atexit
import contextlib
import datetime
import glob
import ipaddress
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Mapping, Sequence

LOOPBACK = '127.0.0.1'
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
COMMAND_TIMEOUT = 120.0
LOG_TAIL_LINES = 30

# Below Linux's default ephemeral range (32768-60999), so while a server is stopped for a
# restart no outgoing client connection can be handed its port.
_PORT_RANGE = (20000, 32000)
_PORT_IN_USE_MARKERS = ('address already in use', 'could not bind', 'errno 98', 'error: 98')


class ServerError(RuntimeError):
    """A throwaway server could not be set up, started or stopped."""


# --------------------------------------------------------------------------- certificates


@dataclass(frozen=True)
class Certs:
    """Paths of the PEM files written by `make_certificates`."""

    directory: Path
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    other_ca_cert: Path
    wrong_host_cert: Path
    wrong_host_key: Path
    client_cert: Path
    client_key: Path


def make_certificates(directory: str | os.PathLike[str],
                      hostnames: Sequence[str] = (LOOPBACK, 'localhost')) -> Certs:
    """Write a test CA, a server and a client cert it signs, a wrong-host cert, and an unrelated CA."""
    # Imported here so that the servers can be used where `cryptography` is not installed.
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    if not hostnames:
        raise ValueError('make_certificates needs at least one host name')
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)

    def key() -> Any:
        # P-256 keys take milliseconds to make where RSA keys take tenths of a second.
        return ec.generate_private_key(ec.SECP256R1())

    ca_key = key()
    ca_cert = _sign_certificate('activerecord test CA', ca_key, ca_key, None)
    other_ca_key = key()
    other_ca_cert = _sign_certificate('activerecord unrelated CA', other_ca_key, other_ca_key, None)
    server_key = key()
    server_cert = _sign_certificate(hostnames[0], server_key, ca_key, ca_cert,
                                    alt_names=hostnames, usage=ExtendedKeyUsageOID.SERVER_AUTH)
    wrong_key = key()
    wrong_cert = _sign_certificate('wrong.example', wrong_key, ca_key, ca_cert,
                                   alt_names=['wrong.example'], usage=ExtendedKeyUsageOID.SERVER_AUTH)
    client_key = key()
    client_cert = _sign_certificate('root', client_key, ca_key, ca_cert,
                                    usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    return Certs(
        directory=out,
        ca_cert=_write_certificate(out / 'ca.crt', ca_cert),
        ca_key=_write_key(out / 'ca.key', ca_key),
        server_cert=_write_certificate(out / 'server.crt', server_cert),
        server_key=_write_key(out / 'server.key', server_key),
        other_ca_cert=_write_certificate(out / 'other-ca.crt', other_ca_cert),
        wrong_host_cert=_write_certificate(out / 'wrong-host.crt', wrong_cert),
        wrong_host_key=_write_key(out / 'wrong-host.key', wrong_key),
        client_cert=_write_certificate(out / 'client.crt', client_cert),
        client_key=_write_key(out / 'client.key', client_key),
    )


def _sign_certificate(common_name: str, key: Any, issuer_key: Any, issuer_cert: Any,
                      alt_names: Iterable[str] = (), usage: Any = None) -> Any:
    """A certificate for `key` signed by `issuer_key`; a CA certificate when `usage` is None."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    is_ca = usage is None
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    issuer = issuer_cert.subject if issuer_cert is not None else subject
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # Backdated so that a clock a little behind on the server still accepts it.
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=is_ca, crl_sign=is_ca,
            encipher_only=False, decipher_only=False), critical=True)
        # Key identifiers keep strict verifiers (VERIFY_X509_STRICT, Python 3.13's default) happy.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                       critical=False)
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    names = [_general_name(name) for name in alt_names]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _general_name(name: str) -> Any:
    """An IP address SAN entry for an address, a DNS entry for anything else."""
    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _write_certificate(path: Path, certificate: Any) -> Path:
    """Write a certificate as PEM."""
    from cryptography.hazmat.primitives import serialization

    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def _write_key(path: Path, key: Any) -> Path:
    """Write an unencrypted private key as PEM, readable by its owner only."""
    from cryptography.hazmat.primitives import serialization

    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    # Created 0600 rather than chmod-ed later: servers refuse keys others could read.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, 'wb') as file:
        file.write(data)
    os.chmod(path, 0o600)
    return path


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    for _ in range(100):
        port = random.randint(*_PORT_RANGE)
        if _port_is_free(port):
            return port
    with socket.socket() as probe:  # the range is crowded: let the kernel choose
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def _port_is_free(port: int) -> bool:
    """Whether 127.0.0.1:port can be bound now."""
    with socket.socket() as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def _log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a log file, or a note that there is none."""
    try:
        text = path.read_text(errors='replace')
    except OSError:
        return f'(no log at {path})'
    return '\n'.join(text.splitlines()[-lines:]) or f'(log {path} is empty)'


def _run(command: Sequence[str], what: str, log: Path | None = None,
         timeout: float = COMMAND_TIMEOUT, cwd: Path | None = None) -> None:
    """Run a setup command; on failure raise ServerError with its output and the log's tail."""
    try:
        result = subprocess.run(command, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True,
                                text=True, errors='replace', timeout=timeout)
    except subprocess.TimeoutExpired as error:
        raise ServerError(f'{what} did not finish within {timeout:g}s: {" ".join(command)}'
                          + (f'\n--- {log}:\n{_log_tail(log)}' if log else '')) from error
    except OSError as error:
        raise ServerError(f'{what} could not run: {error}') from error
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise ServerError(f'{what} failed (exit {result.returncode}): {" ".join(command)}\n{output}'
                          + (f'\n--- {log}:\n{_log_tail(log)}' if log else ''))


def _find_binary(name: str, candidates: Sequence[str]) -> str:
    """The path of a server binary: on PATH, else the first existing candidate."""
    found = shutil.which(name)
    if found:
        return found
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return candidate
    raise ServerError(f'{name} not found on PATH or in {list(candidates)}')


def scratch_root() -> str | None:
    """Where server directories go: $AR_TEST_SERVER_TMPDIR, else /dev/shm if roomy, else $TMPDIR."""
    configured = os.environ.get('AR_TEST_SERVER_TMPDIR')
    if configured:
        return configured
    # RAM-backed: copying and initializing data directories there is several times faster
    # than on a virtual disk. Docker's default 64 MB /dev/shm is too small, hence the check.
    try:
        stats = os.statvfs('/dev/shm')
    except OSError:
        return None
    roomy = stats.f_bavail * stats.f_frsize >= 1 << 30
    return '/dev/shm' if roomy and os.access('/dev/shm', os.W_OK) else None


def _copy_tree(source: Path, target: Path) -> None:
    """Copy a data directory keeping owners and modes (postgres insists on both)."""
    _run(['cp', '-a', str(source), str(target)], f'copying {source}')


# Initializing a data directory is most of a server's startup time, and every fresh one is
# the same: each kind is initialized once per process and copied for every instance.
_TEMPLATES: dict[str, Path] = {}
_TEMPLATES_LOCK = threading.Lock()


def _template(key: str, initialize: Callable[[Path], None]) -> Path:
    """The data directory `initialize(directory)` makes in directory/'data', made once per key."""
    with _TEMPLATES_LOCK:
        if key not in _TEMPLATES:
            directory = Path(tempfile.mkdtemp(prefix='ar-template-', dir=scratch_root()))
            try:
                initialize(directory)
            except BaseException:
                shutil.rmtree(directory, ignore_errors=True)
                raise
            _TEMPLATES[key] = directory / 'data'
        return _TEMPLATES[key]


# The instances still running, so that an interpreter exit without __exit__ (a failing
# fixture setup, a KeyboardInterrupt between statements) leaves no server behind.
_LIVE: set['ThrowawayServer'] = set()


@atexit.register
def _close_leftovers() -> None:
    """Close every server whose `with` block never ended, and delete the templates."""
    for server in list(_LIVE):
        server.close()
    for data in _TEMPLATES.values():
        shutil.rmtree(data.parent, ignore_errors=True)
    _TEMPLATES.clear()


# --------------------------------------------------------------------------- common base


class ThrowawayServer:
    """A database server in a temporary directory: start on `with`, stop and delete on exit."""

    name = 'server'

    def __init__(self, *, ssl: bool = False, certs: Certs | None = None,
                 wrong_host_cert: bool = False, startup_timeout: float = STARTUP_TIMEOUT) -> None:
        if (certs is not None or wrong_host_cert) and not ssl:
            raise ValueError('certs and wrong_host_cert only apply with ssl=True')
        self.ssl = ssl
        self.certs = certs
        self.wrong_host_cert = wrong_host_cert
        self.startup_timeout = startup_timeout
        self.host = LOOPBACK
        self.port = 0
        self.directory: Path | None = None
        self._running = False

    # The hooks each server fills in.
    def _set_up(self) -> None:
        """Create the directory and an initialized data directory in it."""
        raise NotImplementedError

    def _launch(self) -> None:
        """Start the server on self.port and return once it accepts connections."""
        raise NotImplementedError

    def _halt(self, mode: str) -> None:
        """Stop the running server ('immediate' = kill it)."""
        raise NotImplementedError

    @property
    def log_path(self) -> Path:
        """The server's log file."""
        assert self.directory is not None, 'the server has not been set up'
        return self.directory / 'server.log'

    @property
    def running(self) -> bool:
        """Whether the server was started and not stopped since."""
        return self._running

    @property
    def url(self) -> str:
        """The URL clients connect to."""
        raise NotImplementedError

    def __enter__(self) -> 'ThrowawayServer':
        _LIVE.add(self)
        try:
            self._set_up()
            self._first_start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = 'running' if self._running else 'stopped'
        return f'<{type(self).__name__} {self.host}:{self.port} {state} in {self.directory}>'

    def start(self) -> None:
        """Start the stopped server again on the same port and data."""
        if self._running:
            return
        self._launch()
        self._running = True

    def stop(self, mode: str = 'fast') -> None:
        """Stop the server: 'fast' shuts down cleanly, 'immediate' kills it like a crash."""
        if mode not in ('smart', 'fast', 'immediate'):
            raise ValueError(f"mode must be 'smart', 'fast' or 'immediate', not {mode!r}")
        if not self._running:
            return
        try:
            self._halt(mode)
        finally:
            self._running = False

    def restart(self, mode: str = 'fast') -> None:
        """Stop and start the server; clients' existing connections are broken."""
        self.stop(mode)
        self.start()

    def close(self) -> None:
        """Stop the server at once and delete its directory (safe to call twice)."""
        try:
            # Its data is about to be deleted, so there is nothing to shut down cleanly.
            self.stop('immediate')
        finally:
            _LIVE.discard(self)
            if self.directory is not None:
                shutil.rmtree(self.directory, ignore_errors=True)
                self.directory = None

    def _first_start(self) -> None:
        """Start on a free port, trying another one if the chosen port was taken meanwhile."""
        for attempt in range(3):
            self.port = free_port()
            try:
                self.start()
                return
            except ServerError as error:
                if attempt == 2 or not any(m in str(error).lower() for m in _PORT_IN_USE_MARKERS):
                    raise

    def _server_files(self) -> tuple[Path, Path]:
        """The (certificate, key) the server presents."""
        assert self.certs is not None
        if self.wrong_host_cert:
            return self.certs.wrong_host_cert, self.certs.wrong_host_key
        return self.certs.server_cert, self.certs.server_key

    def _make_directory(self) -> Path:
        """The temporary directory, with certificates generated into it when none were given."""
        self.directory = Path(tempfile.mkdtemp(prefix=f'ar-{self.name}-', dir=scratch_root()))
        if self.ssl and self.certs is None:
            self.certs = make_certificates(self.directory / 'certs')
        return self.directory


# --------------------------------------------------------------------------- PostgreSQL


def _postgres_bindir() -> Path:
    """The directory of initdb and pg_ctl (they are rarely on PATH on Debian)."""
    if os.environ.get('AR_PG_BINDIR'):
        return Path(os.environ['AR_PG_BINDIR'])
    # Newest first: /usr/lib/postgresql/<major>/bin/pg_ctl
    candidates = sorted(glob.glob('/usr/lib/postgresql/*/bin/pg_ctl'), key=_major_version, reverse=True)
    return Path(_find_binary('pg_ctl', candidates)).parent


def _major_version(pg_ctl: str) -> int:
    """The major version in /usr/lib/postgresql/<major>/bin/pg_ctl (0 if it is not a number)."""
    major = Path(pg_ctl).parts[-3]
    return int(major) if major.isdigit() else 0


class ThrowawayPostgres(ThrowawayServer):
    """A PostgreSQL server of its own: user `postgres` with trust auth over 127.0.0.1."""

    name = 'postgres'

    def __init__(self, *, ssl: bool = False, certs: Certs | None = None,
                 wrong_host_cert: bool = False, require_ssl: bool = False,
                 settings: Mapping[str, object] | None = None,
                 startup_timeout: float = STARTUP_TIMEOUT) -> None:
        if require_ssl and not ssl:
            raise ValueError('require_ssl needs ssl=True')
        super().__init__(ssl=ssl, certs=certs, wrong_host_cert=wrong_host_cert,
                         startup_timeout=startup_timeout)
        self.require_ssl = require_ssl
        self.settings = dict(settings or {})
        self.bindir = _postgres_bindir()

    def __enter__(self) -> 'ThrowawayPostgres':
        super().__enter__()
        return self

    @property
    def url(self) -> str:
        """The URL of the `postgres` database as the `postgres` user."""
        return f'postgresql://postgres@{self.host}:{self.port}/postgres'

    @property
    def data_directory(self) -> Path:
        """PGDATA of this server."""
        assert self.directory is not None, 'the server has not been set up'
        return self.directory / 'data'

    def _as_postgres(self, *command: str | Path) -> list[str]:
        """The command run as the postgres user when we are root (postgres refuses root)."""
        argv = [str(part) for part in command]
        return ['runuser', '-u', 'postgres', '--', *argv] if os.geteuid() == 0 else argv

    def _set_up(self) -> None:
        directory = self._make_directory()
        _give_to_postgres(directory)
        _copy_tree(_template(f'postgres:{self.bindir}', self._initdb), self.data_directory)
        self._write_hba()
        self._write_settings()
        self.log_path.touch()
        _give_to_postgres(self.log_path)

    def _initdb(self, directory: Path) -> None:
        """Initialize directory/'data' as a cluster with superuser postgres."""
        _give_to_postgres(directory)
        _run(self._as_postgres(self.bindir / 'initdb', '-D', directory / 'data', '-U', 'postgres',
                               '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync',
                               '--no-instructions'),
             'initdb', cwd=directory)

    def _write_hba(self) -> None:
        """Trust 127.0.0.1 (TLS and plain, or TLS only) and the private Unix socket."""
        lines = ['# written by tests/support/servers.py', 'local all all trust']
        if self.require_ssl:
            lines.append('hostnossl all all 127.0.0.1/32 reject')
        lines.append('hostssl all all 127.0.0.1/32 trust')
        lines.append('host all all 127.0.0.1/32 trust')
        (self.data_directory / 'pg_hba.conf').write_text('\n'.join(lines) + '\n')

    def _write_settings(self) -> None:
        """Append the server settings to postgresql.conf, so a plain pg_ctl start keeps them."""
        settings: dict[str, object] = {
            'listen_addresses': LOOPBACK,
            # Its own socket directory: the shared server owns /var/run/postgresql.
            'unix_socket_directories': str(self.directory),
            # Throwaway data: durability only costs startup and test time.
            'fsync': 'off',
            'synchronous_commit': 'off',
            'full_page_writes': 'off',
            'shared_buffers': '16MB',
            'max_connections': 50,
        }
        if self.ssl:
            settings.update(self._install_ssl_files())
        settings.update(self.settings)
        with open(self.data_directory / 'postgresql.conf', 'a') as conf:
            conf.write('\n# written by tests/support/servers.py\n')
            for key, value in settings.items():
                conf.write(f'{key} = {_postgres_literal(value)}\n')

    def _install_ssl_files(self) -> dict[str, object]:
        """Copy cert, key and CA into PGDATA, where postgres owns the key with mode 0600."""
        cert, key = self._server_files()
        assert self.certs is not None
        names = {'ssl_cert_file': ('server.crt', cert), 'ssl_key_file': ('server.key', key),
                 'ssl_ca_file': ('root.crt', self.certs.ca_cert)}
        settings: dict[str, object] = {'ssl': 'on'}
        for setting, (name, source) in names.items():
            target = self.data_directory / name
            shutil.copyfile(source, target)
            os.chmod(target, 0o600)
            _give_to_postgres(target)
            settings[setting] = name  # relative to PGDATA
        return settings

    def _launch(self) -> None:
        timeout = max(1, round(self.startup_timeout))
        try:
            _run(self._as_postgres(self.bindir / 'pg_ctl', '-D', self.data_directory, '-l', self.log_path,
                                   '-w', '-t', str(timeout), '-o', f'-p {self.port}', 'start'),
                 f'starting PostgreSQL on port {self.port}', log=self.log_path,
                 timeout=timeout + 15, cwd=self.directory)
        except BaseException:
            # pg_ctl gives up waiting but leaves a slow postmaster running: end it here.
            self._kill_postmaster()
            raise

    def _halt(self, mode: str) -> None:
        try:
            _run(self._as_postgres(self.bindir / 'pg_ctl', '-D', self.data_directory, '-m', mode,
                                   '-w', '-t', str(round(STOP_TIMEOUT)), 'stop'),
                 f'stopping PostgreSQL on port {self.port}', log=self.log_path,
                 timeout=STOP_TIMEOUT + 15, cwd=self.directory)
        except ServerError:
            if self._kill_postmaster():
                raise
            # pg_ctl failed but the postmaster is gone now: stopped is what was asked for.

    def _kill_postmaster(self) -> bool:
        """SIGKILL the postmaster named in postmaster.pid; whether one was still running."""
        try:
            pid = int((self.data_directory / 'postmaster.pid').read_text().split()[0])
            command_line = Path(f'/proc/{pid}/cmdline').read_bytes()
        except (OSError, ValueError, IndexError):
            return False
        # A stale pid file may name a process that is not ours any more: never kill that.
        if str(self.data_directory).encode() not in command_line or not _process_exists(pid):
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline and _process_exists(pid):
            time.sleep(0.05)
        return True


def _give_to_postgres(path: Path) -> None:
    """Hand a file or directory to the postgres user when we are root."""
    if os.geteuid() == 0:
        shutil.chown(path, user='postgres', group='postgres')


def _postgres_literal(value: object) -> str:
    """A postgresql.conf value: numbers bare, everything else single-quoted."""
    if isinstance(value, bool):
        return 'on' if value else 'off'
    if isinstance(value, (int, float)):
        return str(value)
    return "'" + str(value).replace('\\', '\\\\').replace("'", "''") + "'"


def _as_current_user() -> list[str]:
    """mariadbd's --user option: as root it must be told to stay root; others cannot switch."""
    return ['--user=root'] if os.geteuid() == 0 else []


def _process_exists(pid: int) -> bool:
    """Whether a process with this id is alive (a zombie waiting to be reaped is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        # An orphaned postmaster is reaped by PID 1, which in containers may take a while.
        state = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ('Z', 'X')


# --------------------------------------------------------------------------- MariaDB


class ThrowawayMariaDB(ThrowawayServer):
    """A MariaDB server of its own: `root` with an empty password, and a database `test`."""

    name = 'mariadb'

    def __init__(self, *, ssl: bool = False, certs: Certs | None = None,
                 wrong_host_cert: bool = False, require_secure_transport: bool = False,
                 options: Sequence[str] = (), startup_timeout: float = STARTUP_TIMEOUT) -> None:
        if require_secure_transport and not ssl:
            raise ValueError('require_secure_transport needs ssl=True')
        super().__init__(ssl=ssl, certs=certs, wrong_host_cert=wrong_host_cert,
                         startup_timeout=startup_timeout)
        self.require_secure_transport = require_secure_transport
        self.options = list(options)
        self.mariadbd = _find_binary('mariadbd', ['/usr/sbin/mariadbd', '/usr/sbin/mysqld'])
        self.install_db = _find_binary('mariadb-install-db', ['/usr/bin/mysql_install_db'])
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    def __enter__(self) -> 'ThrowawayMariaDB':
        super().__enter__()
        return self

    @property
    def url(self) -> str:
        """The URL of database `test` as root."""
        return f'mysql://root@{self.host}:{self.port}/test'

    @property
    def data_directory(self) -> Path:
        """The server's datadir."""
        assert self.directory is not None, 'the server has not been set up'
        return self.directory / 'data'

    @property
    def socket_path(self) -> Path:
        """The Unix socket, which skips TLS requirements: the helper's own admin channel."""
        assert self.directory is not None, 'the server has not been set up'
        return self.directory / 'mysqld.sock'

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._process.pid if self._process is not None and self._running else None

    # --no-defaults first: /etc/mysql/my.cnf names the shared server's port, socket and datadir.
    _COMMON_OPTIONS = ('--innodb-log-file-size=8M', '--innodb-buffer-pool-size=16M')

    def _set_up(self) -> None:
        self._make_directory()
        _copy_tree(_template(f'mariadb:{self.install_db}', self._install_db), self.data_directory)

    def _install_db(self, directory: Path) -> None:
        """Initialize directory/'data' with a root that has no password."""
        _run([self.install_db, '--no-defaults', f'--datadir={directory / "data"}', *_as_current_user(),
              '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve',
              *self._COMMON_OPTIONS],
             'mariadb-install-db', cwd=directory)

    def _server_command(self) -> list[str]:
        """The mariadbd command line."""
        assert self.directory is not None
        command = [
            self.mariadbd, '--no-defaults', f'--datadir={self.data_directory}', *_as_current_user(),
            f'--port={self.port}', f'--bind-address={LOOPBACK}', f'--socket={self.socket_path}',
            f'--pid-file={self.directory / "mysqld.pid"}', '--skip-name-resolve',
            *self._COMMON_OPTIONS,
            # Throwaway data: durability only costs time.
            '--innodb-flush-log-at-trx-commit=0', '--innodb-doublewrite=0',
            # Native AIO fails in containers with a small fs.aio-max-nr.
            '--innodb-use-native-aio=0',
        ]
        if self.ssl:
            cert, key = self._server_files()
            assert self.certs is not None
            command += [f'--ssl-ca={self.certs.ca_cert}', f'--ssl-cert={cert}', f'--ssl-key={key}']
        if self.require_secure_transport:
            command.append('--require-secure-transport=ON')
        return command + self.options

    def _launch(self) -> None:
        # Errors go to stderr (no --log-error), so even option errors land in our log.
        self._log_file = open(self.log_path, 'ab')
        self._process = subprocess.Popen(self._server_command(), stdin=subprocess.DEVNULL,
                                         stdout=self._log_file, stderr=subprocess.STDOUT,
                                         cwd=self.directory, start_new_session=True)
        try:
            self._wait_until_ready()
            self._admin('CREATE DATABASE IF NOT EXISTS test')
        except BaseException:
            self._halt('immediate')
            raise

    def _wait_until_ready(self) -> None:
        """Poll the socket until the server answers; raise with the log if it dies or stalls."""
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ServerError(f'mariadbd on port {self.port} exited with {self._process.returncode}'
                                  f' during startup\n--- {self.log_path}:\n{_log_tail(self.log_path)}')
            try:
                self._admin('SELECT 1')
                return
            except Exception as error:  # not accepting connections yet
                last_error = error
                time.sleep(0.1)
        raise ServerError(f'mariadbd on port {self.port} was not ready within {self.startup_timeout:g}s'
                          f' (last error: {last_error})\n--- {self.log_path}:\n{_log_tail(self.log_path)}')

    def _admin(self, sql: str) -> None:
        """Run one statement as root over the Unix socket."""
        import pymysql

        connection = pymysql.connect(unix_socket=str(self.socket_path), user='root',
                                     connect_timeout=5, read_timeout=30, autocommit=True)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
        finally:
            connection.close()

    def _halt(self, mode: str) -> None:
        process, self._process = self._process, None
        try:
            if process is not None and process.poll() is None:
                # SIGTERM is mariadbd's clean shutdown; SIGKILL is the crash 'immediate' asks for.
                process.send_signal(signal.SIGKILL if mode == 'immediate' else signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=STOP_TIMEOUT)
        finally:
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None
