"""A model against its live table: the first-use check and Model.check_schema().

The first statement a model sends on a backend compares the table's columns with the model's
fields (one introspection query); a field without a column raises SchemaMismatchError before
any record is built. The result is remembered on the model's cached Statements (the backend it
was checked on) and on the backend's introspector, so later statements pay one identity test.
A table that does not exist yet is not marked: its statements fail as they always did.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..backend.base import StorageBackend
from ..backend.schema import ColumnInfo, kind_of_sql_type, kinds_compatible
from ..errors import SchemaMismatchError
# _resolved: ActiveRecord.backend()'s cache, read here without the call (plan_for is on every hot path)
from .config import _resolved  # pyright: ignore[reportPrivateUsage]
from .metadata import ModelAttributes, ModelMeta, meta_cache, type_map_of
from .statements import Statements, statements_for


@dataclass(frozen=True)
class SchemaDifference:
    """One way a model and its table disagree (`problem`: 'missing_column', 'extra_not_null', 'type')."""

    model: str
    table: str
    column: str
    problem: str
    detail: str

    def __str__(self) -> str:
        return f'{self.model} ({self.table}.{self.column}): {self.detail}'


def plan_for(model: type[ModelAttributes]) -> tuple[StorageBackend, Statements]:
    """The model's backend and its Statements there, once its table was checked (the hot paths' lookup)."""
    try:
        backend = _resolved[model]
    except KeyError:
        backend = model.backend()
    meta = meta_cache.get(model) or model.__meta__
    statements: Statements = meta.statements.get(backend.dialect.cache_key) or statements_for(meta, backend.dialect)
    if statements.checked_on is not backend:
        ensure_checked(statements, backend)
    return backend, statements


def ensure_checked(statements: Statements, backend: StorageBackend) -> None:
    """Run the first-use check of a model on a backend (once; SchemaMismatchError on a missing column)."""
    introspector = backend.schema
    meta = statements.meta
    if meta not in introspector.checked:
        columns = introspector.columns(meta.table_name)
        if not columns:
            return   # no table (yet): not marked, the statement itself reports it
        missing = _missing(meta, columns)
        if missing:
            raise SchemaMismatchError(
                f'{meta.model.__name__}: table {meta.table_name!r} on {backend.where()} has no column '
                f'{", ".join(repr(name) for name in missing)} for the model\'s field(s); migrate the table '
                '(or remove the fields) before using the model')
        with introspector.lock:
            introspector.checked.add(meta)
    statements.checked_on = backend


def check_quietly(meta: ModelMeta, backend: StorageBackend) -> None:
    """Mark the model checked when its table agrees (after CREATE TABLE); a drifted table is left unmarked."""
    forget(meta, backend)
    try:
        ensure_checked(statements_for(meta, backend.dialect), backend)
    except SchemaMismatchError:
        pass   # an older table kept by IF NOT EXISTS: the model's first statement reports it


def forget(meta: ModelMeta, backend: StorageBackend) -> None:
    """Check the model again on its next statement (its table was created or dropped)."""
    backend.schema.checked.discard(meta)
    statements = meta.statements.get(backend.dialect.cache_key)
    if statements is not None and statements.checked_on is backend:
        statements.checked_on = None


def differences(meta: ModelMeta, backend: StorageBackend) -> list[SchemaDifference]:
    """Missing columns, extra NOT NULL columns without a default, and columns of an unfit type kind."""
    model, table = meta.model.__name__, meta.table_name
    columns = backend.schema.columns(table)
    if not columns:
        return [SchemaDifference(model, table, '*', 'missing_table', f'table {table!r} does not exist')]
    by_name = {column.name.lower(): column for column in columns}
    found: list[SchemaDifference] = []
    type_map = type_map_of(backend.dialect)
    for field in meta.fields.values():
        column = by_name.pop(field.column.lower(), None)
        if column is None:
            found.append(SchemaDifference(model, table, field.column, 'missing_column',
                                          f'no column for field {field.name!r}'))
            continue
        expected = kind_of_sql_type(type_map.column_type(field.spec))
        if not kinds_compatible(expected, column.kind):
            found.append(SchemaDifference(model, table, field.column, 'type',
                                          f'column type {column.sql_type} ({column.kind}) cannot hold field '
                                          f'{field.name!r} ({expected})'))
    for column in by_name.values():
        if not column.nullable and column.default is None and not column.autoincrement:
            found.append(SchemaDifference(model, table, column.name, 'extra_not_null',
                                          'NOT NULL column without a default that the model does not fill '
                                          '(every INSERT from the model fails)'))
    return found


def _missing(meta: ModelMeta, columns: list[ColumnInfo]) -> list[str]:
    names = {column.name.lower() for column in columns}
    return [field.column for field in meta.fields.values() if field.column.lower() not in names]


__all__ = ['SchemaDifference', 'check_quietly', 'differences', 'ensure_checked', 'forget', 'plan_for']
