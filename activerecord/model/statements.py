"""SQL and converters of one model on one dialect, built once and cached on the ModelMeta."""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable, Sequence

from .metadata import FieldMeta, ModelMeta
from .rows import RowBuilder, compile_row_builder

if TYPE_CHECKING:  # pragma: no cover
    from ..backend.dialect import Dialect

Pair = tuple[str, Callable[[Any], Any] | None]   # (field name, raw to_db converter or None)
_lock = threading.Lock()


class Statements:
    """Cached SQL texts and (field, converter) lists for one model on one dialect."""

    def __init__(self, meta: ModelMeta, dialect: 'Dialect') -> None:
        self.meta = meta
        self.dialect = dialect
        quote = dialect.quote
        self.table = meta.table_name
        self.quoted_table = dialect.quote_table(meta.table_name)
        fields = list(meta.fields.values())
        self.field_names = tuple(field.name for field in fields)
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
        model = meta.model
        # an INSERT where nothing but the generated key changes the record (no timestamps, no
        # SQL-expression defaults, no dict/list fields to fingerprint): save()'s fast path
        self.plain_insert = bool(self.auto and not model.__timestamps__ and not meta.db_generated
                                 and not meta.mutable_fields)
        self.select_list = ', '.join(quote(column) for column in self.columns)
        self.pk_where = ' AND '.join(f'{quote(column)} = ?' for column in self.pk_columns)
        self.order_by_pk = ', '.join(quote(column) for column in self.pk_columns)
        self.select_by_pk_sql = f'SELECT {self.select_list} FROM {self.quoted_table} WHERE {self.pk_where}'
        self.delete_sql = f'DELETE FROM {self.quoted_table} WHERE {self.pk_where}'
        #: the backend the model's table was last checked on (model/schema_check.py)
        self.checked_on: Any = None
        self._builders: dict[tuple, RowBuilder] = {}
        self._updates: dict[tuple, str] = {}
        self._inserts: dict[tuple, tuple[str, list[Pair]]] = {}

    def row_builder(self, labels: Sequence[str]) -> RowBuilder:
        """The compiled rows -> instances function for these labels."""
        key = tuple(labels)
        builder = self._builders.get(key)
        if builder is None:
            builder = compile_row_builder(self.meta, self.dialect, key)
            if len(self._builders) < 256:   # ad-hoc selects: keep the cache bounded
                self._builders[key] = builder
        return builder

    def update_sql(self, set_fields: tuple[str, ...], where_fields: tuple[str, ...],
                   null_fields: tuple[str, ...] = ()) -> str:
        """UPDATE t SET a = ?, ... WHERE k = ? AND ... [AND n IS NULL] (cached by the field lists)."""
        key = (set_fields, where_fields, null_fields)
        sql = self._updates.get(key)
        if sql is None:
            quote, fields = self.dialect.quote, self.meta.fields
            assignments = ', '.join(f'{quote(fields[name].column)} = ?' for name in set_fields)
            where = ' AND '.join([f'{quote(fields[name].column)} = ?' for name in where_fields]
                                 + [f'{quote(fields[name].column)} IS NULL' for name in null_fields])
            sql = f'UPDATE {self.quoted_table} SET {assignments} WHERE {where}'
            if len(self._updates) < 512:
                self._updates[key] = sql
        return sql

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

    def field(self, name: str) -> FieldMeta:
        """The FieldMeta of a field name."""
        return self.meta.fields[name]


def statements_for(meta: ModelMeta, dialect: 'Dialect') -> Statements:
    """The cached Statements of a model on a dialect (by dialect class)."""
    key = type(dialect)
    statements = meta.plans.get(key)
    if statements is None:
        with _lock:
            statements = meta.plans.get(key)
            if statements is None:
                statements = meta.plans[key] = Statements(meta, dialect)
    return statements
