"""Shared backends: models configured with equal configs and backend class share one backend."""
from __future__ import annotations

import importlib
import threading
from dataclasses import replace
from typing import Any

from .base import StorageBackend
from .typing import ConnectionConfig

_lock = threading.Lock()
_backends: dict[tuple[type, ConnectionConfig], StorageBackend] = {}


def shared_backend(backend_class: type[StorageBackend], config: ConnectionConfig) -> StorageBackend:
    """The one live backend for (class, config), created on first use (without connecting)."""
    key = (backend_class, config)
    with _lock:
        # A closed backend is never handed out again: the next configure() makes a new one.
        for closed in [known for known, backend in _backends.items() if backend.pool.closed]:
            del _backends[closed]
        if key not in _backends:
            _backends[key] = backend_class(config)
        return _backends[key]


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
