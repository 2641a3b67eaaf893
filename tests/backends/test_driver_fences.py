"""The fenced driver modules against the installed drivers, without a server.

Each fenced module (pgsql/protocol.py, mssql/tds_internals.py, mysql/pymysql_internals.py)
relies on private names of its driver. These tests look each name up in the real driver
module and check the shape the fence assumes (a callable taking the arguments it is given,
an attribute the driver's own methods store on the object, a protocol constant's value), and
that the installed driver is a release the fence was written for. A failure names the
attribute that changed and the installed driver version.
"""
from __future__ import annotations

import dis
import importlib.metadata
import inspect
import pathlib
import re
import types
from typing import Any, Callable

import pg8000.converters
import pg8000.core
import pg8000.dbapi
import pymysql.connections
import pymysql.constants.SERVER_STATUS
import pytds.connection
import pytds.cursor
import pytds.tds_session
import pytds.tds_socket
import pytds.tls
import pytest
from OpenSSL import crypto
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from activerecord.backend.impl.mssql import tds_internals
from activerecord.backend.impl.mysql import pymysql_internals
from activerecord.backend.impl.pgsql import protocol

#: fenced module -> the distribution whose internals it uses
FENCES: dict[types.ModuleType, str] = {protocol: 'pg8000', tds_internals: 'python-tds',
                                       pymysql_internals: 'PyMySQL'}


def _changed(distribution: str, what: str) -> str:
    fence = next(module for module, name in FENCES.items() if name == distribution)
    return (f'{distribution} {importlib.metadata.version(distribution)} changed {what} '
            f'({fence.__name__} was written for {distribution}{fence.WRITTEN_FOR})')


def self_stored_attributes(cls: type) -> set[str]:
    """Attribute names that methods of `cls` (and its bases) assign on `self`."""
    names: set[str] = set()

    def walk(code: types.CodeType) -> None:
        receiver = code.co_varnames[0] if code.co_argcount else None
        previous = None
        for instruction in dis.get_instructions(code):
            if instruction.opname == 'STORE_ATTR' and previous is not None:
                loaded = previous.argval[-1] if isinstance(previous.argval, tuple) else previous.argval
                if previous.opname.startswith('LOAD_FAST') and loaded == receiver:
                    names.add(instruction.argval)
            previous = instruction
        for constant in code.co_consts:
            if isinstance(constant, types.CodeType):
                walk(constant)

    for klass in cls.__mro__:
        for member in vars(klass).values():
            functions = [member.fget, member.fset] if isinstance(member, property) else [
                getattr(member, '__func__', member)]
            for function in functions:
                if isinstance(getattr(function, '__code__', None), types.CodeType):
                    walk(function.__code__)
    return names


def _accepts(function: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
    try:
        inspect.signature(function).bind(*args, **kwargs)
    except TypeError:
        return False
    return True


def _names_read_by(function: Any) -> set[str]:
    code = getattr(function, 'fget', function).__code__
    return set(code.co_names)


# -- every fence: the installed driver is a release it was written for ----------------------

@pytest.mark.parametrize('fence', list(FENCES), ids=list(FENCES.values()))
def test_the_installed_driver_is_a_release_the_fence_was_written_for(fence: types.ModuleType) -> None:
    distribution = FENCES[fence]
    installed = importlib.metadata.version(distribution)
    assert Version(installed) in SpecifierSet(fence.WRITTEN_FOR), (
        f'{distribution} {installed} is outside {fence.__name__}.WRITTEN_FOR ({fence.WRITTEN_FOR}): '
        'check every private name it uses, then widen the range here and in pyproject.toml')


def test_pyproject_pins_each_driver_to_its_fence() -> None:
    import tomllib   # Python 3.11+, as in test_lifecycle_errors
    project = tomllib.loads((pathlib.Path(__file__).parents[2] / 'pyproject.toml').read_text())['project']
    requirements = [Requirement(text) for extra in project['optional-dependencies'].values() for text in extra]
    for fence, distribution in FENCES.items():
        pins = {str(requirement.specifier) for requirement in requirements
                if requirement.name.lower() == distribution.lower()}
        assert pins == {str(SpecifierSet(fence.WRITTEN_FOR))}, (
            f'pyproject.toml pins {distribution} to {pins}, its fence {fence.__name__} to {fence.WRITTEN_FOR}')


#: private driver names the fences use (and pg8000's core module): nowhere else in the package
PRIVATE_DRIVER_NAMES = re.compile(
    r"\._(sock|usock|transaction_status|tds_socket|session|result|row_iter)\b|'_(sock|usock|tds_socket|session|result)'"
    r'|pg8000\.core|from pg8000 import core|pg8000\.converters|send_PARSE|send_BIND|handle_messages|execute_simple'
    r'|make_params|pytds\.tls|tds72_transaction|more_rows|unbuffered_active|server_status\b')


def test_only_the_fenced_modules_touch_driver_internals() -> None:
    package = pathlib.Path(protocol.__file__).parents[3]
    fenced = {pathlib.Path(module.__file__) for module in FENCES}
    leaks = [f'{path.relative_to(package.parent)}:{number}: {line.strip()}'
             for path in sorted(package.rglob('*.py')) if path not in fenced
             for number, line in enumerate(path.read_text(encoding='utf-8').splitlines(), 1)
             if PRIVATE_DRIVER_NAMES.search(line)]
    assert not leaks, 'driver internals outside their fenced module:\n' + '\n'.join(leaks)


# -- pg8000 (pgsql/protocol.py) -------------------------------------------------------------

@pytest.mark.parametrize('name, value', [
    # message codes and statuses of the PostgreSQL wire protocol, as pg8000 spells them
    ('NULL_BYTE', b'\x00'), ('DESCRIBE', b'D'), ('PORTAL', b'P'), ('SYNC_MSG', b'S\x00\x00\x00\x04'),
    ('IN_TRANSACTION', b'T'), ('IN_FAILED_TRANSACTION', b'E'),
    ('COPY_DATA', b'd'), ('COPY_DONE_MSG', b'c\x00\x00\x00\x04'),
])
def test_pg8000_core_keeps_the_protocol_constants(name: str, value: bytes) -> None:
    assert getattr(pg8000.core, name, None) == value, _changed('pg8000', f'pg8000.core.{name}')


@pytest.mark.parametrize('owner, name, args', [
    (pg8000.core, '_write', ('sock', b'data')),
    (pg8000.core, '_flush', ('sock',)),
    (pg8000.converters, 'make_params', ('py_types', ('value',))),
    (pg8000.converters, 'make_param', ('py_types', 'value')),
    (pg8000.core.CoreConnection, 'handle_COPY_IN_RESPONSE', ('self', b'data', 'context')),
    (pg8000.core.CoreConnection, 'execute_simple', ('self', 'SELECT 1')),
    (pg8000.core.CoreConnection, 'send_PARSE', ('self', b'\x00', 'SELECT $1', (23,))),
    (pg8000.core.CoreConnection, 'send_BIND', ('self', b'\x00', ('params',))),
    (pg8000.core.CoreConnection, '_send_message', ('self', b'D', b'P\x00')),
    (pg8000.core.CoreConnection, 'send_EXECUTE', ('self',)),
    (pg8000.core.CoreConnection, 'handle_messages', ('self', 'context')),
    (pg8000.dbapi.Cursor, '__init__', ('self', 'connection')),
], ids=lambda value: value if isinstance(value, str) else None)
def test_pg8000_functions_the_one_trip_cursor_calls_take_its_arguments(owner: Any, name: str,
                                                                       args: tuple[Any, ...]) -> None:
    function = getattr(owner, name, None)
    what = f'{owner.__name__}.{name}'
    assert callable(function), _changed('pg8000', f'{what} (gone)')
    assert _accepts(function, *args), _changed('pg8000', f'the signature of {what}{inspect.signature(function)}')


def test_pg8000_context_takes_a_statement_and_a_stream_and_collects_rows() -> None:
    assert _accepts(pg8000.core.Context, 'SELECT 1', stream=None), _changed('pg8000', 'pg8000.core.Context()')
    assert 'rows' in self_stored_attributes(pg8000.core.Context), _changed('pg8000', 'Context.rows')


@pytest.mark.parametrize('name', ['_sock', '_usock', '_transaction_status', 'py_types', '_client_encoding'])
def test_pg8000_connection_keeps_the_fields_the_fence_reads(name: str) -> None:
    assert name in self_stored_attributes(pg8000.core.CoreConnection), _changed('pg8000', f'CoreConnection.{name}')


def test_pg8000_close_and_ready_for_query_set_the_fields_the_fence_reads() -> None:
    # is_closed() relies on close() clearing _usock; transaction_open() on ReadyForQuery
    # storing the status byte.
    close = dis.get_instructions(pg8000.core.CoreConnection.close)
    assert '_usock' in {i.argval for i in close if i.opname == 'STORE_ATTR'}, (
        _changed('pg8000', 'CoreConnection.close (no longer clears _usock)'))
    ready = pg8000.core.CoreConnection.handle_READY_FOR_QUERY
    assert '_transaction_status' in {i.argval for i in dis.get_instructions(ready) if i.opname == 'STORE_ATTR'}, (
        _changed('pg8000', 'CoreConnection.handle_READY_FOR_QUERY (no longer stores _transaction_status)'))


@pytest.mark.parametrize('name', ['_c', '_context', '_row_iter'])
def test_pg8000_cursor_keeps_the_fields_the_one_trip_cursor_fills(name: str) -> None:
    assert name in self_stored_attributes(pg8000.dbapi.Cursor), _changed('pg8000', f'Cursor.{name}')


def test_pg8000_cursor_reads_rows_from_the_fields_the_one_trip_cursor_fills() -> None:
    assert {'_row_iter', '_context'} <= _names_read_by(pg8000.dbapi.Cursor.__next__), (
        _changed('pg8000', 'Cursor.__next__ (no longer reads _row_iter/_context)'))
    assert '_context' in _names_read_by(pg8000.dbapi.Cursor.description), (
        _changed('pg8000', 'Cursor.description (no longer reads _context)'))


def test_pg8000_dispatches_copy_in_through_the_handler_the_fence_overrides() -> None:
    # the message table is built in __init__ from bound methods: an override is what runs
    assert 'handle_COPY_IN_RESPONSE' in _names_read_by(pg8000.core.CoreConnection.__init__), (
        _changed('pg8000', 'CoreConnection.__init__ (no longer dispatches CopyInResponse to handle_COPY_IN_RESPONSE)'))
    assert isinstance(getattr(pg8000.converters, 'PY_TYPES', None), dict), _changed('pg8000', 'converters.PY_TYPES')


def test_pg8000_connection_classes_are_the_ones_the_fence_subclasses() -> None:
    assert issubclass(pg8000.dbapi.Connection, pg8000.core.CoreConnection), _changed('pg8000', 'dbapi.Connection')
    assert issubclass(protocol.OneTripCursor, pg8000.dbapi.Cursor)
    assert callable(getattr(pg8000.dbapi.Connection, 'cursor', None)), _changed('pg8000', 'Connection.cursor')


# -- python-tds (mssql/tds_internals.py) ----------------------------------------------------

@pytest.mark.parametrize('owner, name', [
    (pytds.connection.NonMarsConnection, '_tds_socket'),
    (pytds.connection.MarsConnection, '_tds_socket'),
    (pytds.tds_socket._TdsSocket, 'tds72_transaction'),
    (pytds.cursor.NonMarsCursor, '_session'),
    (pytds.cursor._MarsCursor, '_session'),
    (pytds.tds_session._TdsSession, 'more_rows'),
], ids=lambda value: value if isinstance(value, str) else value.__name__)
def test_python_tds_keeps_the_fields_the_fence_reads(owner: type, name: str) -> None:
    assert name in self_stored_attributes(owner), _changed('python-tds', f'{owner.__module__}.{owner.__name__}.{name}')


def test_python_tds_checks_the_host_with_the_module_global_the_fence_replaces() -> None:
    original = getattr(pytds.tls, 'validate_host', None)
    assert callable(original), _changed('python-tds', 'pytds.tls.validate_host (gone)')
    assert _accepts(original, cert=object(), name=b'host'), _changed('python-tds', 'the signature of pytds.tls.validate_host')
    # The replacement only works while the handshake looks the function up in the module.
    assert 'validate_host' in pytds.tls.establish_channel.__code__.co_names, (
        _changed('python-tds', 'pytds.tls.establish_channel (no longer calls the module global validate_host)'))


def test_the_host_check_is_replaced_only_where_pyopenssl_lacks_get_extension() -> None:
    broken = not hasattr(crypto.X509, 'get_extension')
    assert tds_internals.host_check_needs_mending() is broken
    replaced = pytds.tls.validate_host is tds_internals.certificate_matches_host
    assert replaced is broken, f'pytds.tls.validate_host replaced={replaced} but X509.get_extension missing={broken}'


# -- PyMySQL (mysql/pymysql_internals.py) ---------------------------------------------------

@pytest.mark.parametrize('owner, name', [
    (pymysql.connections.Connection, '_result'),
    (pymysql.connections.Connection, 'server_status'),
    (pymysql.connections.MySQLResult, 'unbuffered_active'),
    (pymysql.connections.MySQLResult, 'has_next'),
], ids=lambda value: value if isinstance(value, str) else value.__name__)
def test_pymysql_keeps_the_fields_the_fence_reads(owner: type, name: str) -> None:
    assert name in self_stored_attributes(owner), _changed('PyMySQL', f'{owner.__name__}.{name}')


def test_pymysql_finalizer_reads_the_flag_the_fence_clears() -> None:
    # abandon_unread_result() clears unbuffered_active so that this finalizer does nothing.
    assert 'unbuffered_active' in _names_read_by(pymysql.connections.MySQLResult.__del__), (
        _changed('PyMySQL', 'MySQLResult.__del__ (no longer reads unbuffered_active)'))


def test_pymysql_in_transaction_flag_is_the_protocol_bit() -> None:
    assert pymysql.constants.SERVER_STATUS.SERVER_STATUS_IN_TRANS == 1, (
        _changed('PyMySQL', 'SERVER_STATUS.SERVER_STATUS_IN_TRANS'))
