"""ConnectionConfig: every connection setting, checked when made; from_url / from_env."""
from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

from ..errors import ConfigurationError
from .options import FLAG_WORDS

#: URL scheme -> canonical backend name. The canonical names key the backend registry.
URL_SCHEMES: dict[str, str] = {
    'sqlite': 'sqlite', 'sqlite3': 'sqlite',
    'mysql': 'mysql', 'mariadb': 'mysql', 'mysql+pymysql': 'mysql',
    'postgresql': 'postgresql', 'postgres': 'postgresql', 'pgsql': 'postgresql',
    'postgresql+pg8000': 'postgresql',
    'oracle': 'oracle', 'oracle+oracledb': 'oracle',
    'mssql': 'mssql', 'sqlserver': 'mssql', 'mssql+pytds': 'mssql',
}

#: canonical backends whose URL path is a file (scheme:///relative.db), not host and database
FILE_SCHEMES = frozenset({'sqlite'})


def _is_integer(value: object) -> bool:
    """An int and not a bool (True is an int to Python, never a port or a pool size to a user)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _bad(field_name: str, value: Any, allowed: str) -> ConfigurationError:
    shown = '***' if field_name == 'password' else repr(value)
    return ConfigurationError(f'ConnectionConfig.{field_name}: {shown} is not allowed; expected {allowed}')


@dataclass(frozen=True, eq=True, repr=False)
class ConnectionConfig:
    """Where and how to connect; every value is checked when the config is made."""

    database: str | None = None
    host: str = 'localhost'
    port: int | None = None
    username: str | None = None
    password: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict[str, Any])
    pool_size: int = 5
    max_overflow: int = 10
    pool_timeout: float = 30.0
    pool_recycle: float | None = None
    pool_pre_ping: bool = False
    ssl_ca: str | None = None
    ssl_cert: str | None = None
    ssl_key: str | None = None
    ssl_verify: bool = True
    connect_timeout: float = 10.0
    charset: str | None = None
    scheme: str | None = None
    #: libpq's name: 'read-write' connects only to a host that accepts writes, 'any' to the
    #: first that answers; None: read-write when `host` lists several hosts, else any
    target_session_attrs: str | None = None

    def __post_init__(self) -> None:
        self._check_text('database', self.database, allow_none=True)
        self._check_text('host', self.host, allow_none=False)
        if ',' in self.host:
            parse_host_list(self.host)   # each entry checked now, not at the first connect
        if self.target_session_attrs is not None and self.target_session_attrs not in SESSION_ATTRS:
            raise _bad('target_session_attrs', self.target_session_attrs, 'one of ' + ', '.join(SESSION_ATTRS))
        if self.port is not None and (not _is_integer(self.port) or not 1 <= self.port <= 65535):
            raise _bad('port', self.port, 'an integer from 1 to 65535')
        for name in ('username', 'password', 'ssl_ca', 'ssl_cert', 'ssl_key', 'charset'):
            self._check_text(name, getattr(self, name), allow_none=True)
        if not _is_integer(self.pool_size) or self.pool_size < 1:
            raise _bad('pool_size', self.pool_size, 'an integer >= 1')
        if not _is_integer(self.max_overflow) or self.max_overflow < 0:
            raise _bad('max_overflow', self.max_overflow, 'an integer >= 0')
        for name in ('pool_timeout', 'pool_recycle', 'connect_timeout'):
            value = getattr(self, name)
            if value is None and name == 'pool_recycle':
                continue
            # not NaN nor infinity: every wait stays bounded, and NaN would make equal configs unequal
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
                raise _bad(name, value, 'a number of seconds > 0' + (' or None' if name == 'pool_recycle' else '')
                           + ' (finite)')
        for name in ('pool_pre_ping', 'ssl_verify'):
            if not isinstance(getattr(self, name), bool):
                raise _bad(name, getattr(self, name), 'True or False')
        if not isinstance(self.options, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]  # any value may be given
            raise _bad('options', self.options, 'a dict of backend-specific settings')
        for key in self.options:
            if not isinstance(key, str) or not key.isidentifier():  # pyright: ignore[reportUnnecessaryIsInstance]  # as above
                raise _bad('options', key, 'option names that are identifiers')
        if (self.ssl_cert is None) != (self.ssl_key is None):
            raise _bad('ssl_cert' if self.ssl_cert is None else 'ssl_key', None,
                       'ssl_cert and ssl_key to be given together')
        if self.scheme is not None and self.scheme not in URL_SCHEMES.values():
            raise _bad('scheme', self.scheme, 'one of ' + ', '.join(sorted(set(URL_SCHEMES.values()))))
        # Options are stored frozen so that equal configs hash alike and share one backend.
        object.__setattr__(self, 'options', _FrozenOptions(self.options))

    @staticmethod
    def _check_text(name: str, value: Any, allow_none: bool) -> None:
        if value is None and allow_none:
            return
        if not isinstance(value, str) or (name in ('host', 'database') and not value):
            raise _bad(name, value, 'a non-empty string' + (' or None' if allow_none else ''))
        if '\x00' in value:
            raise _bad(name, value, 'text without NUL characters')

    def __repr__(self) -> str:
        shown: list[str] = []
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if item.name == 'password' and value is not None:
                value = '***'
            if value != item.default or item.name == 'database':
                shown.append(f'{item.name}={dict(self.options) if item.name == "options" else value!r}')
        return f'ConnectionConfig({", ".join(shown)})'

    __str__ = __repr__

    @property
    def hosts(self) -> tuple[tuple[str, int | None], ...]:
        """(host, port or None) for every host to try, in order; a port not given is `port`."""
        if ',' not in self.host:
            return ((self.host, self.port),)   # one host: as given, whatever it looks like
        return tuple((host, self.port if port is None else port) for host, port in parse_host_list(self.host))

    @property
    def session_attrs(self) -> str:
        """target_session_attrs with its default filled in: 'read-write' or 'any'."""
        if self.target_session_attrs is not None:
            return self.target_session_attrs
        return 'read-write' if ',' in self.host else 'any'

    def replace(self, **changes: Any) -> 'ConnectionConfig':
        """A copy with some fields changed (checked like the original)."""
        return dataclasses.replace(self, **changes)

    def display_url(self) -> str:
        """A URL for messages: never contains the password."""
        user = f'{self.username}:***@' if self.password else (f'{self.username}@' if self.username else '')
        port = f':{self.port}' if self.port else ''
        if self.scheme in FILE_SCHEMES:
            return f'{self.scheme}:///{self.database}'
        return f'{self.scheme or "db"}://{user}{self.host}{port}/{self.database or ""}'

    # -- building configs ---------------------------------------------------------------

    @classmethod
    def from_url(cls, url: str, **overrides: Any) -> 'ConnectionConfig':
        """Parse `scheme://user:pass@host:port/database?pool_size=10&ssl_ca=ca.pem&option=...`."""
        if not isinstance(url, str) or '://' not in url:  # pyright: ignore[reportUnnecessaryIsInstance]  # any value may be given
            raise ConfigurationError(f'ConnectionConfig.from_url: {_redacted(url)!r:.200} is not a URL; expected '
                                     'scheme://user:password@host:port/database')
        scheme_text = url.split('://', 1)[0].lower()
        if scheme_text not in URL_SCHEMES:
            raise ConfigurationError(f'ConnectionConfig.scheme: {scheme_text!r} is not a known URL scheme; '
                                     f'expected one of {", ".join(sorted(URL_SCHEMES))}')
        scheme = URL_SCHEMES[scheme_text]
        values: dict[str, Any] = {'scheme': scheme}
        if scheme in FILE_SCHEMES:
            rest = url.split('://', 1)[1]
            path, _, query = rest.partition('?')
            # sqlite:///rel.db -> 'rel.db'; sqlite:////abs.db -> '/abs.db'; sqlite:// -> memory
            values['database'] = unquote(path[1:]) if path.startswith('/') and len(path) > 1 else ':memory:'
            if path and not path.startswith('/'):
                raise ConfigurationError(f'ConnectionConfig.from_url: {_redacted(url)!r} has a host part; SQLite URLs '
                                         'are sqlite:///relative.db, sqlite:////absolute.db or sqlite://')
        else:
            # The user info is split off first: a password with an unencoded / # ? or @ would
            # otherwise spill into the host, port, path or query (and from there into messages).
            user_info, host_part = split_user_info(url.split('://', 1)[1])
            netloc = _NETLOC_END.split(host_part, 1)[0]
            if ',' in netloc:
                # libpq's h1:5432,h2:5433: urlsplit takes one host, so the list is kept whole
                # (checked by __post_init__) and urlsplit reads only the path and query.
                values['host'] = unquote(netloc)
                host_part = 'hosts' + host_part[len(netloc):]
            try:
                parts = urlsplit(f'{scheme_text}://{host_part}')
                port = parts.port
            except ValueError as error:
                raise ConfigurationError(f'ConnectionConfig.port: the URL has an invalid port ({error}); '
                                         'expected an integer from 1 to 65535') from None
            query = parts.query
            if parts.hostname and 'host' not in values:
                values['host'] = parts.hostname
            if port is not None:
                values['port'] = port
            if user_info is not None:
                username, colon, password = user_info.partition(':')
                if username:
                    values['username'] = unquote(username)
                if colon:
                    values['password'] = unquote(password)
            database = unquote(parts.path.lstrip('/'))
            if database:
                values['database'] = database
        options: dict[str, Any] = {}
        for key, raw in parse_qsl(query, keep_blank_values=True):
            if key in _CONFIG_FIELD_TYPES and key not in ('options', 'scheme'):
                values[key] = _coerce(key, raw)
            else:
                options[key] = raw
        sslmode = options.pop('sslmode', None)   # libpq's, in a URL only: mapped onto the TLS fields
        if options:
            values['options'] = options
        values.update(overrides)
        if sslmode is not None:
            values = _apply_sslmode(values, sslmode)
        return cls(**values)

    @classmethod
    def from_env(cls, prefix: str = 'APP_DB_', environ: Mapping[str, str] | None = None) -> 'ConnectionConfig':
        """Read `{prefix}URL` and/or `{prefix}HOST`, `{prefix}PASSWORD`, ... from the environment."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in _CONFIG_FIELD_TYPES:
            key = prefix + name.upper()
            if name != 'options' and key in env:
                values[name] = env[key] if name == 'scheme' else _coerce(name, env[key])
        if prefix + 'USER' in env and 'username' not in values:
            values['username'] = env[prefix + 'USER']
        if prefix + 'URL' in env:
            return cls.from_url(env[prefix + 'URL'], **values)
        if not values:
            raise ConfigurationError(f'ConnectionConfig.from_env: no variable starting with {prefix!r} is set; '
                                     f'expected {prefix}URL or {prefix}DATABASE, {prefix}HOST, ...')
        return cls(**values)


#: libpq's sslmode values a PostgreSQL URL may carry (prefer and allow, which fall back to plain
#: text without saying so, are not among them)
SSLMODES = ('disable', 'require', 'verify-ca', 'verify-full')


def _apply_sslmode(values: dict[str, Any], mode: str) -> dict[str, Any]:
    """Map libpq's `sslmode` onto the TLS fields, never weaker than asked.

    disable: no TLS. require: TLS, the certificate not checked (unless ssl_ca is given: then the
    chain is, as libpq does). verify-ca: TLS, the chain checked against ssl_ca, not the host
    name. verify-full: TLS, the chain and the host name checked.
    """
    options = dict(values.get('options', {}))
    if values.get('scheme') != 'postgresql':
        raise ConfigurationError(f'ConnectionConfig.options[\'sslmode\']: sslmode is a PostgreSQL setting and this is '
                                 f'a {values.get("scheme")} URL; expected ssl_ca=..., ssl_verify=... for its TLS')
    if mode not in SSLMODES:
        raise ConfigurationError(f'ConnectionConfig.options[\'sslmode\']: {mode!r} is not allowed; expected one of '
                                 f'{", ".join(SSLMODES)}')
    ssl_option = options.get('ssl')
    if isinstance(ssl_option, str) and ssl_option.lower() not in FLAG_WORDS:
        raise ConfigurationError(f'ConnectionConfig.options[\'ssl\']: {ssl_option!r} is not allowed; expected '
                                 'true/false, yes/no, on/off or 1/0')
    ssl_asked = FLAG_WORDS.get(ssl_option.lower()) if isinstance(ssl_option, str) else ssl_option

    def conflict(setting: str) -> ConfigurationError:
        return ConfigurationError(f'ConnectionConfig.options[\'sslmode\']: sslmode={mode} conflicts with {setting}')

    if mode == 'disable':
        for name in ('ssl_ca', 'ssl_cert'):
            if values.get(name) is not None:
                raise conflict(f'{name}={values[name]!r}: a CA or certificate file asks for TLS, '
                               'sslmode=disable for none; drop one of them')
        if ssl_asked:
            raise conflict('ssl=true')
        options['ssl'] = False
    else:
        if ssl_asked is False:
            raise conflict('ssl=false')
        options['ssl'] = True
        if mode == 'require':
            if values.get('ssl_ca') is None and 'ssl_verify' not in values:
                values['ssl_verify'] = False    # encrypted, but the server's certificate is not checked
            elif values.get('ssl_ca') is not None:
                options['ssl_check_hostname'] = False
        else:
            if values.get('ssl_ca') is None:
                raise ConfigurationError(f'ConnectionConfig.ssl_ca: None is not allowed with sslmode={mode}; '
                                         'expected the path of the CA certificate (PEM) that signed the '
                                         "server's certificate, e.g. ?sslmode=" + mode + '&ssl_ca=ca.pem')
            if values.get('ssl_verify') is False:
                raise conflict('ssl_verify=false')
            if mode == 'verify-ca':
                options['ssl_check_hostname'] = False
    values['options'] = options
    return values


def split_user_info(rest: str) -> tuple[str | None, str]:
    """(user info or None, host and the rest) of what follows `scheme://`.

    The user info ends at its last '@' (as in urlsplit), looked for in the whole text rather than
    up to the first / # or ?, so that a password holding those unencoded stays whole. An '@' in
    the query (`?application_name=me@x`) is not taken for it when an earlier one exists.
    """
    query = _QUERY_START.search(rest)
    head = rest[:query.start()] if query is not None and '@' in rest[:query.start()] else rest
    at = head.rfind('@')
    if at < 0:
        return None, rest
    return rest[:at], rest[at + 1:]


def _redacted(url: Any) -> Any:
    """A URL for an error message, with the password of `user:password@` and `password=` as ***."""
    if not isinstance(url, str):
        return url
    url = _PASSWORD_PARAMETER.sub(r'\1***', url)
    prefix, separator, rest = url.partition('://') if '://' in url else ('', '', url)
    user_info, host_part = split_user_info(rest)
    if user_info is None or ':' not in user_info:
        return url
    return f'{prefix}{separator}{user_info.split(":", 1)[0]}:***@{host_part}'


#: libpq's target_session_attrs values this library knows
SESSION_ATTRS = ('any', 'read-write')
_NETLOC_END = re.compile(r'[/?#]')
_HOST_ENTRY = re.compile(r'(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[^:\[\]\s]+))(?::(?P<port>[^:]*))?')


def parse_host_list(text: str) -> list[tuple[str, int | None]]:
    """`db1:5432,db2,[::1]:5433` -> [(host, port or None), ...], or an error naming the entry."""
    found: list[tuple[str, int | None]] = []
    for number, entry in enumerate(text.split(','), start=1):
        match = _HOST_ENTRY.fullmatch(entry)
        port_text = match.group('port') if match else None
        if match is None or (port_text is not None and not (port_text.isdigit() and 1 <= int(port_text) <= 65535)):
            raise ConfigurationError(
                f'ConnectionConfig.host: entry {number} ({entry!r}) of {text!r} is not allowed; expected '
                'host or host:port (port an integer from 1 to 65535, an IPv6 address in brackets), '
                'the entries separated by commas')
        found.append((match.group('v6') or match.group('name'), int(port_text) if port_text is not None else None))
    return found


_PASSWORD_PARAMETER = re.compile(r'((?:^|[?&])password=)[^&]*', re.IGNORECASE)
_QUERY_START = re.compile(r'\?[A-Za-z_]\w*=')


class _FrozenOptions(dict[str, Any]):
    """A read-only, hashable dict for ConnectionConfig.options."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted((key, repr(value)) for key, value in self.items())))

    def _read_only(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError('ConnectionConfig.options is read-only; use config.replace(options=...)')

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _read_only  # type: ignore


_CONFIG_FIELD_TYPES: dict[str, type] = {
    'database': str, 'host': str, 'port': int, 'username': str, 'password': str, 'options': dict,
    'pool_size': int, 'max_overflow': int, 'pool_timeout': float, 'pool_recycle': float,
    'pool_pre_ping': bool, 'ssl_ca': str, 'ssl_cert': str, 'ssl_key': str, 'ssl_verify': bool,
    'connect_timeout': float, 'charset': str, 'scheme': str, 'target_session_attrs': str,
}


def _coerce(name: str, raw: str) -> Any:
    """Turn a URL or environment string into the field's type, or name the field that is wrong."""
    kind = _CONFIG_FIELD_TYPES[name]
    if kind is str:
        return raw
    if kind is bool:
        if raw.lower() not in FLAG_WORDS:
            raise _bad(name, raw, 'true/false, yes/no, on/off or 1/0')
        return FLAG_WORDS[raw.lower()]
    if name == 'pool_recycle' and raw.lower() in ('', 'none', '-1'):
        return None
    try:
        return kind(raw)
    except ValueError:
        raise _bad(name, raw, 'an integer' if kind is int else 'a number') from None
