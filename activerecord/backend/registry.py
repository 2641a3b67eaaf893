"""Shared backends: models configured with equal configs and backend class share one backend."""
from __future__ import annotations

import importlib
import threading
from dataclasses import replace
from typing import Any, Sequence

from ..errors import ConfigurationError
from .base import StorageBackend
from .routing import ReplicaRouter
from .typing import ConnectionConfig

_lock = threading.Lock()
#: (class, primary config) -> backend. One primary is one backend: two backends on it would keep
#: two read-your-writes marks and two transactions, so a write through one model and a read
#: through another could miss, and `with A.transaction(): B.create()` would run outside it.
_Key = tuple[type, ConnectionConfig]
_backends: dict[_Key, StorageBackend] = {}
#: (replica configs, max lag, check interval, replica wait) each shared backend was made with
_Routing = tuple[tuple[ConnectionConfig, ...], float, float, float]
_routing: dict[_Key, _Routing] = {}


def shared_backend(backend_class: type[StorageBackend], config: ConnectionConfig,
                   replicas: Sequence[ConnectionConfig] = (), max_replica_lag: float = 5.0,
                   replica_check_interval: float = 1.0, replica_wait: float = 0.0,
                   where: str = 'configure()') -> StorageBackend:
    """The one live backend for (class, primary config), created on first use (without
    connecting); configuring it again with other replicas or routing settings raises."""
    key: _Key = (backend_class, config)
    routing: _Routing = (tuple(replicas), float(max_replica_lag) if replicas else 0.0,
                         float(replica_check_interval) if replicas else 0.0,
                         float(replica_wait) if replicas else 0.0)
    with _lock:
        # A closed backend is never handed out again: the next configure() makes a new one.
        for closed in [known for known, backend in _backends.items() if backend.pool.closed]:
            del _backends[closed]
            del _routing[closed]
        known = _routing.get(key)
        if known is not None and known != routing:
            raise ConfigurationError(
                f'{where}: the primary {config.display_url()} is already in use with {_describe(known)}; '
                f'now configured with {_describe(routing)}. One primary has one backend (its '
                'read-your-writes marks and transactions are shared by every model on it): configure '
                'the replicas once, on a base class the models share, or close() the backend in use first')
        if key not in _backends:
            backend = backend_class(config)
            if replicas:
                if backend.dialect.replication is None:
                    raise ConfigurationError(
                        f'replicas=[...]: {backend_class.__name__} cannot route reads to replicas, since '
                        'activerecord reads replication positions (for read-your-writes) only on PostgreSQL, '
                        'MySQL and MariaDB; Oracle Active Data Guard and SQL Server availability groups '
                        'could supply them in a later version')
                backend.router = ReplicaRouter(backend, [backend_class(replica) for replica in replicas],
                                               max_replica_lag, replica_check_interval, replica_wait)
            _backends[key] = backend
            _routing[key] = routing
        return _backends[key]


def _describe(routing: _Routing) -> str:
    """How a backend routes, for an error: its replicas and settings."""
    replicas, max_lag, check_interval, wait = routing
    if not replicas:
        return 'no replicas'
    listed = ', '.join(replica.display_url() for replica in replicas)
    return (f'replicas=[{listed}], max_replica_lag={max_lag:g}, replica_check_interval={check_interval:g}, '
            f'replica_wait={wait:g}')


def replica_configs(where: str, primary: ConnectionConfig,
                    replicas: Sequence[ConnectionConfig | str] | None,
                    default_port: int | None = None) -> list[ConnectionConfig]:
    """The replicas of configure(replicas=[...]) as configs, each on the primary's database kind,
    each listed once and none the primary itself (`where` names the caller in errors, e.g.
    'User.configure(replicas=...)'; `default_port` is the port of a URL without one)."""
    if replicas is None:
        return []

    def server(config: ConnectionConfig, host: str, port: int | None) -> tuple[str, int | None, str | None]:
        return host.lower(), port or default_port, config.database
    primary_servers = [server(primary, host, port) for host, port in primary.hosts]
    seen: set[tuple[str, int | None, str | None]] = set()
    if isinstance(replicas, (str, ConnectionConfig)):
        raise ConfigurationError(f'{where}: expected a list of URLs or ConnectionConfigs, '
                                 f'got one {type(replicas).__name__}; write replicas=[...]')
    found: list[ConnectionConfig] = []
    for replica in replicas:
        if isinstance(replica, str):
            replica = ConnectionConfig.from_url(replica)
        elif not isinstance(replica, ConnectionConfig):  # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
            raise ConfigurationError(f'{where}: {type(replica).__name__} is not '
                                     'allowed; expected URLs or ConnectionConfigs')
        if replica.scheme is None:
            replica = replica.replace(scheme=primary.scheme)
        if replica.scheme != primary.scheme:
            raise ConfigurationError(f'{where}: replica {replica.display_url()} is '
                                     f'{replica.scheme}, the primary {primary.scheme}; a replica must be a copy '
                                     'of the primary, on the same kind of database')
        if len(replica.hosts) != 1:
            raise ConfigurationError(f'{where}: replica {replica.display_url()} lists '
                                     f'{len(replica.hosts)} hosts; list each replica as its own entry')
        this = server(replica, *replica.hosts[0])
        if this in seen:
            raise ConfigurationError(f'{where}: replica {replica.display_url()} is listed twice; list each '
                                     'replica once (a replica listed twice would take twice the reads)')
        if primary_servers == [this]:
            raise ConfigurationError(f'{where}: replica {replica.display_url()} is the primary itself '
                                     '(same host, port and database); list the replicas, not the primary')
        seen.add(this)
        found.append(replica)
    return found


def backend_class_for(scheme: str) -> type[StorageBackend]:
    """The backend class for a canonical URL scheme name (imports its module)."""
    module_name, class_name = _BACKENDS[scheme]
    backend: type[StorageBackend] = getattr(importlib.import_module(module_name), class_name)
    return backend


def backend_for_url(url: str, **config_changes: Any) -> StorageBackend:
    """A backend of its own (not shared with models) for a URL; `config_changes` replace fields of
    the parsed config. For the command line and the migrator, which close it when done."""
    config = ConnectionConfig.from_url(url)
    assert config.scheme is not None, 'from_url always sets the scheme'
    return backend_class_for(config.scheme)(replace(config, **config_changes) if config_changes else config)


_BACKENDS = {
    'sqlite': ('activerecord.backend.impl.sqlite.backend', 'SQLiteBackend'),
    'mysql': ('activerecord.backend.impl.mysql.backend', 'MySQLBackend'),
    'postgresql': ('activerecord.backend.impl.pgsql.backend', 'PostgreSQLBackend'),
    'oracle': ('activerecord.backend.impl.oracle.backend', 'OracleBackend'),
    'mssql': ('activerecord.backend.impl.mssql.backend', 'SQLServerBackend'),
}
