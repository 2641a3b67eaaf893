"""SQL and converters of one model on one dialect, built once and cached on the ModelMeta."""
from __future__ import annotations

import threading
from typing import Any, Callable, Sequence

from ..backend.base import StorageBackend
from ..backend.dialect import Dialect
from .metadata import ModelMeta
from .rows import OneRowBuilder, RowBuilder, compile_row_builders

Pair = tuple[str, Callable[[Any], Any] | None]   # (field name, raw to_db converter or None)
Binder = tuple[Any, int | None]   # (a field's ColumnRef, the shape of its value): finders.py
_lock = threading.Lock()


class Statements:
    """Cached SQL texts and (field, converter) lists for one model on one dialect."""

    def __init__(self, meta: ModelMeta, dialect: Dialect) -> None:
        self.meta = meta
        self.dialect = dialect
        quote = dialect.quote
        self.table = meta.table_name
        self.quoted_table = dialect.quote_table(meta.table_name)
        fields = list(meta.fields.values())
        self.all_pairs: list[Pair] = [(field.name, field.raw_to_db(dialect)) for field in fields]
        self.columns = tuple(field.column for field in fields)
        self.auto = meta.autoincrement
        self.pk_names = meta.primary_key
        self.pk_columns = tuple(field.column for field in meta.pk_fields)
        self.pk_pairs: list[Pair] = [(field.name, field.raw_to_db(dialect)) for field in meta.pk_fields]
        self.pk_from_db = meta.pk_fields[0].raw_from_db(dialect) if self.auto else None
        self.single_pk_pair = self.pk_pairs[0] if len(self.pk_pairs) == 1 else None
        generated_keys = dialect.features.generated_keys
        self.key_returning = () if generated_keys == 'lastrowid' else (self.pk_columns[0],)
        self.insert_all_sql = dialect.insert_sql(self.table, self.columns, 1)
        if self.auto:  # every column: the generated key is given explicitly
            self.insert_all_sql = dialect.identity_insert_sql(self.table, self.insert_all_sql)
        if self.auto:
            key = meta.pk_fields[0].name
            self.insert_auto_pairs = [pair for pair in self.all_pairs if pair[0] != key]
            self.insert_auto_sql = dialect.insert_sql(
                self.table, [meta.fields[name].column for name, _ in self.insert_auto_pairs], 1,
                self.key_returning)
            #: the INSERT's parameters from a record's values (save()'s hot path)
            self.insert_auto_params = compile_params(self.insert_auto_pairs)
        model = meta.model
        # an INSERT where nothing but the generated key changes the record (no timestamps, no
        # SQL-expression defaults, no dict/list fields to fingerprint): save()'s fast path
        self.plain_insert = bool(self.auto and not model.__timestamps__ and not meta.db_generated
                                 and not meta.mutable_fields)
        select_list = ', '.join(quote(column) for column in self.columns)
        pk_where = ' AND '.join(f'{quote(column)} = ?' for column in self.pk_columns)
        self.select_by_pk_sql = f'SELECT {select_list} FROM {self.quoted_table} WHERE {pk_where}'
        self.delete_sql = f'DELETE FROM {self.quoted_table} WHERE {pk_where}'
        # the by-key forms of a soft-delete model (scope: unmarked rows) and of a locked one
        soft, lock = model.__soft_delete_field__, model.__lock_field__
        self.select_live_by_pk_sql = (f'{self.select_by_pk_sql} AND {quote(meta.fields[soft].column)} IS NULL'
                                      if soft in meta.fields else None)
        self.delete_locked_sql = (f'{self.delete_sql} AND {quote(meta.fields[lock].column)} = ?'
                                  if lock in meta.fields else None)
        #: the backend the model's table was last checked on (model/schema_check.py)
        self.checked_on: StorageBackend | None = None
        self._builders: dict[tuple[str, ...], tuple[RowBuilder, OneRowBuilder]] = {}
        self._updates: dict[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]],
                            tuple[str, list[Pair], list[Pair]]] = {}
        self._inserts: dict[tuple[str, ...], tuple[str, list[Pair]]] = {}
        #: the labels of the last lookup by key and their one-row builder (finders.py)
        self.key_plan: tuple[list[str], OneRowBuilder] | None = None
        #: find_one/find_all SQL by condition shape, with its binders and trailing parameters (finders.py)
        self.finds: dict[tuple[Any, ...], tuple[str, tuple[Binder, ...], list[Any]]] = {}
        #: how many parameters a set of default scopes binds (finders.py sizes key lists with it)
        self.scope_parameters: dict[tuple[str, ...], int] = {}
        #: fields a list is compared with as one value (=), not as IN: the query layer's rule
        self.collection_fields = frozenset(
            field.name for field in fields
            if getattr(field.python_type, '__origin__', field.python_type) in (list, dict, tuple, set, frozenset))

    def row_builder(self, labels: Sequence[str]) -> RowBuilder:
        """The compiled rows -> instances function for these labels."""
        return self._row_builders(labels)[0]

    def one_row_builder(self, labels: Sequence[str]) -> OneRowBuilder:
        """The compiled row -> instance function for these labels (one row, as a lookup by key reads)."""
        return self._row_builders(labels)[1]

    def _row_builders(self, labels: Sequence[str]) -> tuple[RowBuilder, OneRowBuilder]:
        key = tuple(labels)
        builders = self._builders.get(key)
        if builders is None:
            builders = compile_row_builders(self.meta, self.dialect, key)
            if len(self._builders) < 256:   # ad-hoc selects: keep the cache bounded
                self._builders[key] = builders
        return builders

    def update_plan(self, set_fields: tuple[str, ...], where_fields: tuple[str, ...],
                    null_fields: tuple[str, ...] = ()) -> tuple[str, list[Pair], list[Pair]]:
        """UPDATE t SET a = ?, ... WHERE k = ? AND ... [AND n IS NULL], its SET pairs and WHERE pairs (cached)."""
        key = (set_fields, where_fields, null_fields)
        plan = self._updates.get(key)
        if plan is None:
            quote, fields, dialect = self.dialect.quote, self.meta.fields, self.dialect
            assignments = ', '.join(f'{quote(fields[name].column)} = ?' for name in set_fields)
            where = ' AND '.join([f'{quote(fields[name].column)} = ?' for name in where_fields]
                                 + [f'{quote(fields[name].column)} IS NULL' for name in null_fields])
            plan = (f'UPDATE {self.quoted_table} SET {assignments} WHERE {where}',
                    [(name, fields[name].raw_to_db(dialect)) for name in set_fields],
                    [(name, fields[name].raw_to_db(dialect)) for name in where_fields])
            if len(self._updates) < 512:
                self._updates[key] = plan
        return plan

    def insert_without(self, omitted: tuple[str, ...]) -> tuple[str, list[Pair]]:
        """A one-row INSERT of every field except `omitted` (and their pairs)."""
        sql_pairs = self._inserts.get(omitted)
        if sql_pairs is None:
            pairs = [pair for pair in self.all_pairs if pair[0] not in omitted]
            returning = self.key_returning if (self.auto and self.pk_names[0] in omitted) else ()
            sql = self.dialect.insert_sql(self.table, [self.meta.fields[name].column for name, _ in pairs], 1,
                                          returning)
            if self.auto and self.pk_names[0] not in omitted:
                sql = self.dialect.identity_insert_sql(self.table, sql)
            sql_pairs = self._inserts[omitted] = (sql, pairs)
        return sql_pairs


def compile_params(pairs: Sequence[Pair]) -> Callable[[dict[str, Any]], list[Any]]:
    """A function turning a record's values into these pairs' parameters: one list display, a
    converter called inline where a field has one (None stays None)."""
    namespace: dict[str, Any] = {}
    items: list[str] = []
    for index, (name, convert) in enumerate(pairs):
        if convert is None:
            items.append(f'values[{name!r}]')
        else:
            namespace[f'c{index}'] = convert
            items.append(f'(None if (v{index} := values[{name!r}]) is None else c{index}(v{index}))')
    source = 'def params(values):\n    return [' + ', '.join(items) + ']'
    exec(compile(source, '<activerecord parameters>', 'exec'), namespace)  # field names are identifiers
    params: Callable[[dict[str, Any]], list[Any]] = namespace['params']
    return params


def statements_for(meta: ModelMeta, dialect: Dialect) -> Statements:
    """The cached Statements of a model on a dialect.

    Keyed by the dialect's cache_key, not its class: a dialect may render differently per instance
    (MySQL's engine, charset and server version), so a plan never crosses to a dialect that
    renders differently, and equal dialects (one per configure()) share one.
    """
    key = dialect.cache_key
    statements = meta.statements.get(key)
    if statements is None:
        with _lock:
            statements = meta.statements.get(key)
            if statements is None:
                statements = meta.statements[key] = Statements(meta, dialect)
    return statements
