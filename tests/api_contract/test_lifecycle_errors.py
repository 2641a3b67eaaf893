"""API.md, "Lifecycle, mixins, errors" and "Backend-specific features" (the generic parts)."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest

from activerecord import ActiveRecord
from activerecord import errors
from activerecord.errors import (ActiveRecordError, ConfigurationError, DatabaseError, DataError, IntegrityError,
                                 NotSupportedError, OperationalError, PoolTimeout, ProgrammingError,
                                 RecordNotFound, StaleObjectError, ValidationError)
from activerecord.mixins import OptimisticLockMixin, SoftDeleteMixin, TimestampMixin, UUIDPrimaryKeyMixin

HOOKS = ('before_validate', 'after_validate', 'before_save', 'after_save', 'before_create', 'after_create',
         'before_update', 'after_update', 'before_delete', 'after_delete')


class Hooked(ActiveRecord):
    __table_name__ = 'apic_hooked'
    id: int
    title: str
    log: ClassVar[list[str]] = []


for _name in HOOKS:
    setattr(Hooked, _name, (lambda name: lambda self: Hooked.log.append(name))(_name))


class Article(TimestampMixin, SoftDeleteMixin, OptimisticLockMixin, ActiveRecord):
    __table_name__ = 'apic_articles'
    id: int
    title: str


class Featured(ActiveRecord):
    __table_name__ = 'apic_featured'
    id: int
    body: str
    meta: dict
    tags: list[int]


class Token(UUIDPrimaryKeyMixin, ActiveRecord):
    __table_name__ = 'apic_tokens'
    label: str


def test_hooks_run_in_order_and_on_registers_listeners(db: Any) -> None:
    db.use(Hooked)
    seen: list[tuple[str, Any]] = []
    listener = Hooked.on('after_create', lambda record: seen.append(('listener', record.id)))
    try:
        Hooked.log.clear()
        record = Hooked.create(title='a')
        assert Hooked.log == ['before_validate', 'after_validate', 'before_save', 'before_create',
                              'after_create', 'after_save']
        assert seen == [('listener', record.id)]
        Hooked.log.clear()
        record.title = 'b'
        record.save()
        assert Hooked.log == ['before_validate', 'after_validate', 'before_save', 'before_update',
                              'after_update', 'after_save']
        Hooked.log.clear()
        record.delete()
        assert Hooked.log == ['before_delete', 'after_delete'] and len(seen) == 1
    finally:
        Hooked.off('after_create', listener)
    with pytest.raises(ConfigurationError):
        Hooked.on('after_commit', print)


def test_timestamps_soft_delete_and_optimistic_lock(db: Any, sent: Any) -> None:
    db.use(Article)
    article = Article.create(title='a')
    sent.clear()
    Article.find_one(article.id).save()          # unchanged: no UPDATE, updated_at and version stay
    assert sent.matching('UPDATE') == [] and Article.find_one(article.id).version == 1
    assert isinstance(article.created_at, datetime) and article.created_at.utcoffset() is not None
    assert article.updated_at is not None and article.version == 1
    first_update = article.updated_at
    stale = Article.find_one(article.id)
    article.title = 'b'
    article.save()
    assert article.version == 2 and article.updated_at >= first_update
    stale.title = 'c'
    with pytest.raises(StaleObjectError):
        stale.save()
    assert Article.find_one(article.id).title == 'b'
    article.delete()
    assert article.deleted_at is not None
    assert Article.find_one(article.id) is None and Article.query().count() == 0
    assert [a.id for a in Article.with_deleted().all()] == [article.id]
    restored = Article.with_deleted().where(Article.c.id == article.id).one()
    restored.restore()
    assert Article.find_one(article.id).deleted_at is None


def test_uuid_primary_key_is_generated(db: Any) -> None:
    db.use(Token)
    token = Token(label='x')
    assert isinstance(token.id, uuid.UUID)
    token.save()
    loaded = Token.find_one(token.id)
    assert loaded.id == token.id and isinstance(loaded.id, uuid.UUID)
    assert Token.create(label='y').id != token.id


def test_the_error_family() -> None:
    for pep249 in (errors.DatabaseError, IntegrityError, OperationalError, ProgrammingError, DataError,
                   NotSupportedError):
        assert issubclass(pep249, DatabaseError) and issubclass(pep249, ActiveRecordError)
    for own in (RecordNotFound, ValidationError, StaleObjectError, PoolTimeout, ConfigurationError):
        assert issubclass(own, ActiveRecordError)
    assert issubclass(ValidationError, ValueError)


def _driver_module(error: BaseException) -> str:
    return type(error.__cause__).__module__.split('.')[0]


def test_driver_errors_are_wrapped_with_the_driver_exception_as_cause(db: Any) -> None:
    db.use(Hooked)
    driver = {'sqlite': 'sqlite3', 'postgresql': 'pg8000', 'mysql': 'pymysql'}[db.name]
    Hooked.create(id=1, title='a')
    with pytest.raises(IntegrityError) as duplicate:
        Hooked.create(id=1, title='again')
    with pytest.raises(ProgrammingError) as syntax:
        db.backend.execute('SELEKT 1')
    with pytest.raises(ProgrammingError) as missing:
        db.backend.fetch_all('SELECT * FROM apic_no_such_table')
    for caught in (duplicate, syntax, missing):
        assert caught.value.__cause__ is not None and _driver_module(caught.value) == driver
    if db.name != 'sqlite':   # SQLite stores any value in any column
        with pytest.raises(DataError) as too_big:
            db.backend.execute('UPDATE apic_hooked SET id = ? WHERE id = 1', (2 ** 70,))
        assert _driver_module(too_big.value) == driver


def test_an_unreachable_server_is_an_operational_error_with_a_cause() -> None:
    Hooked.configure('postgresql://u@127.0.0.1:1/db?connect_timeout=2')
    with pytest.raises(OperationalError) as caught:
        Hooked.find_all()
    assert caught.value.__cause__ is not None and '127.0.0.1:1' in str(caught.value)
    Hooked.backend().close()


def test_features_and_not_supported_errors_name_backend_and_feature(db: Any) -> None:
    db.use(Featured)
    features = db.backend.features
    assert isinstance(features.savepoints, bool) and isinstance(features.window_functions, bool)
    unsupported = [name for name in ('fulltext', 'json_operators', 'arrays', 'full_join')
                   if getattr(features, name) is False]
    assert unsupported
    attempts = {
        'fulltext': lambda: Featured.query().where(Featured.c.body.match('x')).all(),
        # (a path, meta['k'], contains() and the key tests are portable; contained_by() is PostgreSQL's)
        'json_operators': lambda: Featured.query().where(Featured.c.meta.contained_by({'k': 1})).all(),
        'arrays': lambda: Featured.query().where(Featured.c.tags.any_eq(1)).all(),
        'full_join': lambda: Featured.query().full_join(Featured, Featured.c.id == Featured.c.id).all(),
    }
    for name in unsupported:
        if name in attempts:
            with pytest.raises(NotSupportedError) as caught:
                attempts[name]()
            message = str(caught.value).lower()
            assert db.name in message or {'mysql': 'mariadb'}.get(db.name, db.name) in message, message
            word = {'fulltext': 'full', 'json_operators': 'json', 'arrays': 'array', 'full_join': 'full'}[name]
            assert word in message.replace('-', ''), message


def test_importing_a_backend_without_its_driver_names_the_extra() -> None:
    backends = (('mysql', 'pymysql', 'mysql'), ('pgsql', 'pg8000', 'pgsql'), ('oracle', 'oracledb', 'oracle'),
                ('mssql', 'pytds', 'mssql'))
    code = '\n'.join(['import importlib, sys',
                       *(f'sys.modules[{driver!r}] = None' for _, driver, _ in backends),
                       f'for name in {[module for module, _, _ in backends]!r}:',
                       '    try:',
                       "        importlib.import_module(f'activerecord.backend.impl.{name}.backend')",
                       "        print(name, 'imported')",
                       '    except ImportError as error:',
                       "        print(name, type(error).__name__, error)"])
    root = Path(__file__).parents[2]     # this checkout, whatever else is installed
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60, cwd=root,
                            env={**os.environ, 'PYTHONPATH': str(root)})
    lines = dict(line.split(' ', 1) for line in result.stdout.splitlines())
    assert set(lines) == {module for module, _, _ in backends}, result.stderr
    for module, _, extra in backends:
        assert 'imported' not in lines[module] and f'activerecord[{extra}]' in lines[module], lines[module]


def test_extras_install_the_documented_pure_python_drivers() -> None:
    import tomllib
    root = Path(__file__).parents[2]
    extras = tomllib.loads((root / 'pyproject.toml').read_text())['project']['optional-dependencies']
    for extra, driver in (('mysql', 'pymysql'), ('pgsql', 'pg8000'), ('oracle', 'oracledb'), ('mssql', 'python-tds')):
        assert any(requirement.lower().startswith(driver) for requirement in extras[extra]), (extra, extras[extra])
    import oracledb
    from activerecord.backend.impl.oracle.backend import OracleBackend
    from activerecord.backend.typing import ConnectionConfig
    OracleBackend(ConnectionConfig.from_url('oracle://u:pw@127.0.0.1:1/service'))
    assert oracledb.is_thin_mode()
