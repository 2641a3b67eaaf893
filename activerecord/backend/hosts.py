"""Connecting where a config names several hosts (libpq's rule), and the read-only probe that
target_session_attrs=read-write needs.

A mixin of StorageBackend (base.py): the pool's connect callable is its `_open_connection`.
"""
from __future__ import annotations

from typing import Any, Callable

from .. import errors
from .dialect import Dialect
from .error_translation import ErrorTranslation


class HostWalk(ErrorTranslation):
    """_open_connection: one host straight away, several in order until one fits the session asked for."""

    # The backend's (base.py).
    dialect: Dialect
    connect_kwargs: Callable[[], dict[str, Any]]
    run_internal: Callable[[Any, str], list[Any]]
    #: opens and sets up one connection, errors translated (StorageBackend._connect_to)
    _connect_to: Callable[[dict[str, Any]], Any]
    _close_quietly: Callable[[Any], None]

    def _open_connection(self) -> Any:
        config = self.config
        if len(config.hosts) == 1 and (config.session_attrs == 'any' or self.dialect.read_only_sql is None):
            return self._connect_to(self.connect_kwargs())   # one host, any session: no probe
        # Several hosts (libpq's rule): each in order; with read-write, one that cannot write
        # is closed and the next tried. Every host's reason is kept for the error.
        tried: list[str] = []
        for host, port in config.hosts:
            kwargs = self.connect_kwargs()
            kwargs.update(host=host, port=port or self.default_port)
            where = f'{host}:{port or self.default_port}'
            try:
                raw = self._connect_to(kwargs)
            except errors.DatabaseError as error:
                # the reason only: translate_error's "cannot connect to ... at <all hosts>: " dropped
                reason = str(error).removeprefix(f'cannot connect to {self.name} at {self.where()}: ')
                tried.append(f'{where} ({reason})')
                continue
            try:
                refuses_writes = config.session_attrs == 'read-write' and self._read_only(raw)
            except errors.DatabaseError as error:   # gone between connecting and the probe
                tried.append(f'{where} ({error})')
                continue
            if refuses_writes:
                self._close_quietly(raw)
                tried.append(f'{where} (does not accept writes)')
                continue
            return raw
        message = (f'cannot connect to {self.name}: no host fits target_session_attrs={config.session_attrs}; '
                   f'tried {", ".join(tried)}')
        if config.password:
            message = message.replace(config.password, '***')
        # retryable: a standby may be promoted, or the primary come back, by the next attempt
        raise errors.OperationalError(message, retryable=True)

    def _read_only(self, raw: Any) -> bool:
        """Whether a new connection's server refuses writes (the dialect's probe)."""
        sql = self.dialect.read_only_sql
        if sql is None:
            return False   # no such thing as a read-only server here (SQLite: a file)
        try:
            rows = self.run_internal(raw, sql)
        except Exception as error:
            self._close_quietly(raw)
            raise self.translate_error(error) from error
        except BaseException:
            self._close_quietly(raw)   # interrupted: nobody would close it
            raise
        return bool(rows) and str(rows[0][0]).lower() in ('on', '1', 'true')
