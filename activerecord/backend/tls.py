"""The one place a backend's SSLContext is built from ConnectionConfig's TLS fields."""
from __future__ import annotations

import os
import ssl
from contextlib import contextmanager
from typing import Generator

from ..errors import ConfigurationError
from .typing import ConnectionConfig

_TLS_FILES = ('ssl_ca', 'ssl_cert', 'ssl_key')


def tls_context(config: ConnectionConfig, system_default: bool = False) -> ssl.SSLContext | None:
    """A verifying SSLContext from ssl_ca/ssl_cert/ssl_key; None when they ask for no TLS.

    `system_default=True` (TLS asked for by an option) gives a context trusting the system's
    CAs when no ssl_ca is set. ssl_verify=False turns off both the chain and host-name checks.
    """
    if config.ssl_ca is None and config.ssl_cert is None and not system_default:
        return None
    with tls_file_errors(config):
        context = ssl.create_default_context(cafile=config.ssl_ca)
        if not config.ssl_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if config.ssl_cert:
            context.load_cert_chain(config.ssl_cert, config.ssl_key)
    return context


@contextmanager
def tls_file_errors(config: ConnectionConfig) -> Generator[None, None, None]:
    """A CA, certificate or key file that cannot be read is a ConfigurationError naming the field and path."""
    try:
        yield
    except (OSError, ssl.SSLError) as error:
        for name in _TLS_FILES:
            path = getattr(config, name)
            if path and not os.path.isfile(path):
                raise ConfigurationError(f'ConnectionConfig.{name}: the file {path!r} does not exist or is not '
                                         f'a file ({error.strerror or error}); expected a PEM file') from error
        given = ', '.join(f'{name}={getattr(config, name)!r}' for name in _TLS_FILES if getattr(config, name))
        raise ConfigurationError(f'ConnectionConfig: the TLS files cannot be loaded ({error}); expected PEM '
                                 f'files: {given}') from error
