"""configure(): bind a model (or a base class and all its subclasses) to a shared backend."""
from __future__ import annotations

import threading
from typing import Sequence

from ..backend import registry
from ..backend.base import StorageBackend
from ..backend.typing import URL_SCHEMES, ConnectionConfig
from ..errors import ActiveRecordError, ConfigurationError

_lock = threading.Lock()
#: class -> backend configured on that very class
_bound: dict[type, StorageBackend] = {}
#: class -> backend it resolves to (own binding or the nearest configured base); cleared on configure
_resolved: dict[type, StorageBackend] = {}


def configure(model: type, config: ConnectionConfig | str, backend_class: type | None = None, *,
              replicas: Sequence[ConnectionConfig | str] | None = None, max_replica_lag: float = 5.0,
              replica_check_interval: float = 1.0, replica_wait: float = 0.0) -> StorageBackend:
    """Bind `model` (and its subclasses without a configuration of their own) to a backend
    (with `replicas`, one that routes reads to them: see backend/routing.py)."""
    _check_seconds(f'{model.__name__}.configure', 'replica_wait', replica_wait)
    _check_positive(f'{model.__name__}.configure', 'max_replica_lag', max_replica_lag)
    _check_positive(f'{model.__name__}.configure', 'replica_check_interval', replica_check_interval)
    if isinstance(config, str):
        config = ConnectionConfig.from_url(config)
    elif not isinstance(config, ConnectionConfig):  # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
        raise ConfigurationError(f'{model.__name__}.configure(): {type(config).__name__} is not allowed; '
                                 'expected a ConnectionConfig or a URL string')
    if backend_class is None:
        if config.scheme is None:
            raise ConfigurationError(
                f'{model.__name__}.configure(): the config names no backend; pass backend_class=... or a '
                f'config with scheme= one of {", ".join(sorted(set(URL_SCHEMES.values())))}')
        backend_class = registry.backend_class_for(config.scheme)
    if not (isinstance(backend_class, type)  # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
            and issubclass(backend_class, StorageBackend)):
        raise ConfigurationError(f'{model.__name__}.configure(backend_class={backend_class!r}): '
                                 'expected a StorageBackend subclass')
    if config.scheme is None and backend_class.name in URL_SCHEMES.values():
        # the same database named by a URL or by a config + class is one shared backend
        config = config.replace(scheme=backend_class.name)
    current = _current_backend(model)
    if current is not None and current.in_transaction:
        raise ActiveRecordError(f'{model.__name__}.configure() inside an open transaction on its backend: '
                                'finish the `with transaction()` block first (its statements would '
                                'otherwise go on to another database halfway)')
    replica_configs = registry.replica_configs(f'{model.__name__}.configure(replicas=...)', config, replicas,
                                               backend_class.default_port)
    backend = registry.shared_backend(backend_class, config, replica_configs, max_replica_lag,
                                      replica_check_interval, replica_wait, where=f'{model.__name__}.configure()')
    with _lock:
        _bound[model] = backend
        _resolved.clear()
    return backend


def _check_seconds(where: str, keyword: str, value: object) -> None:
    """A duration keyword must be a finite number of seconds >= 0 (bool is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float('inf'):
        raise ConfigurationError(f'{where}({keyword}={value!r}): expected a number of seconds >= 0 '
                                 '(0: never wait)')


def _check_positive(where: str, keyword: str, value: object) -> None:
    """A duration keyword that must be a finite number of seconds > 0 (bool is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float('inf'):
        raise ConfigurationError(f'{where}({keyword}={value!r}): expected a finite number of seconds > 0')


def resolve(model: type) -> StorageBackend:
    """The backend of a model: its own configuration or that of its nearest configured base."""
    try:
        return _resolved[model]
    except KeyError:
        pass
    for klass in model.__mro__:
        backend = _bound.get(klass)
        if backend is not None:
            with _lock:
                _resolved[model] = backend
            return backend
    raise ActiveRecordError(f'{model.__name__} is not configured: call {model.__name__}.configure(url_or_config) '
                            '(or configure a base class or ActiveRecord itself) before using it')


def _current_backend(model: type) -> StorageBackend | None:
    """The backend the model resolves to now, or None when it is not configured."""
    for klass in model.__mro__:
        backend = _bound.get(klass)
        if backend is not None:
            return backend
    return None


def unbind(model: type) -> None:
    """Remove the model's own configuration (it then follows its bases again)."""
    with _lock:
        _bound.pop(model, None)
        _resolved.clear()


__all__ = ['configure', 'resolve', 'unbind']
