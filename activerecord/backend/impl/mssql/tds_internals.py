"""python-tds's private API, fenced: the one module of activerecord that reaches inside pytds.

python-tds has no public reader for the transaction state the server reports, nor for
whether a result still has unread end-of-call tokens, and its TLS host check breaks on
pyOpenSSL 24.3+. The functions here do those three jobs; each private name is checked against
the installed python-tds by tests/backends/test_driver_fences.py, which names the one that
changed.
"""
from __future__ import annotations

import ipaddress
from types import ModuleType
from typing import Any

from ...base import require_driver

# Through require_driver, so that importing the backend without python-tds names the pip extra.
tds_tls: Any = require_driver('pytds.tls', 'mssql', 'SQLServerBackend')  # no stubs: explicit Any
# declared first: without pyOpenSSL they stay unbound, and only host_check_needs_mending() runs
x509: Any
NameOID: Any
openssl_crypto: ModuleType | None
try:   # pyOpenSSL (and so cryptography) is optional: python-tds refuses TLS without it
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    from OpenSSL import crypto as openssl_crypto
except ImportError:
    openssl_crypto = None

#: the python-tds releases this module was written and checked for (pyproject.toml pins the same)
WRITTEN_FOR = '>=1.15,<1.18'


def transaction_open(raw: Any) -> bool:
    """Whether the server reported an open transaction (True when the connection is closed)."""
    # The connection's _tds_socket (None once closed) records the transaction descriptor of
    # the server's last ENVCHANGE in tds72_transaction, also for BEGIN sent as SQL.
    tds_socket = getattr(raw, '_tds_socket', None)
    return tds_socket is None or bool(getattr(tds_socket, 'tds72_transaction', True))


def read_to_end_of_call(cursor: Any) -> None:
    """Read the end-of-call tokens of a result whose rows were all read (not of an unread one)."""
    # The cursor's _session says through more_rows whether rows remain; nextset() on a result
    # with unread rows would read (and drop) them all.
    session = getattr(cursor, '_session', None)
    while session is not None and not session.more_rows and cursor.nextset():
        pass


def certificate_matches_host(cert: Any, name: bytes | str) -> bool:
    """Whether a server certificate (pyOpenSSL X509) names `name`, by RFC 6125 rules.

    The subjectAltName entries decide when there are any (an IP address matches an IP entry,
    a host name a DNS entry, `*.` only as a whole leftmost label); the common name only
    when there are none.
    """
    host = name.decode('ascii') if isinstance(name, bytes) else name
    cert = cert.to_cryptography()  # python-tds calls validate_host(cert=..., name=...)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    try:
        alt_names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        alt_names = None
    if alt_names is not None:
        if address is not None:
            return address in alt_names.get_values_for_type(x509.IPAddress)
        return any(_dns_name_matches(pattern, host) for pattern in alt_names.get_values_for_type(x509.DNSName))
    common_names = [str(attribute.value) for attribute in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if address is not None:
        return host in common_names
    return any(_dns_name_matches(pattern, host) for pattern in common_names)


def _dns_name_matches(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower().rstrip('.'), host.lower().rstrip('.')
    if pattern.startswith('*.'):
        head, _, rest = host.partition('.')
        return bool(head) and rest == pattern[2:] and '*' not in rest
    return pattern == host


def host_check_needs_mending() -> bool:
    """Whether pytds.tls.validate_host cannot work: pyOpenSSL lacks X509.get_extension."""
    return openssl_crypto is not None and not hasattr(openssl_crypto.X509, 'get_extension')


# python-tds checks the host name after its TLS handshake by calling the module-level
# pytds.tls.validate_host, which reads subjectAltName through pyOpenSSL's X509.get_extension;
# pyOpenSSL 24.3 removed that method, so every certificate whose CN is not the host name failed
# with AttributeError. Only then is the check replaced (for the whole process: it is a module
# global of python-tds, looked up on every handshake).
if host_check_needs_mending():
    tds_tls.validate_host = certificate_matches_host
