"""CREATE TABLE / DROP TABLE from a model, through the backend's dialect and type map."""
from __future__ import annotations

from contextlib import nullcontext
from typing import Any, Sequence

from ..errors import ConfigurationError, IntegrityError, NotSupportedError
from . import schema_check
from .metadata import FieldMeta, ModelAttributes, ModelMeta

# `dialect` is Any: DDL calls hooks only some dialects have (MySQL's inline_index_sql) and its type map.
Model = type[ModelAttributes]   # a model class


def create_table_statements(model: Model, dialect: Any, if_not_exists: bool = True,
                            deferred: frozenset[str] = frozenset()) -> list[str]:
    """The DDL statements (CREATE TABLE, then CREATE INDEX) of a model on a dialect.

    `deferred` names fields whose foreign key is left out (create_all adds it afterwards).
    """
    meta = model.__meta__
    type_map = dialect.type_map
    composite = len(meta.primary_key) > 1
    column_sql: list[str] = []
    for field in meta.fields.values():
        info = field.column_info
        has_default = bool(info is not None and info.has_default)
        default = info.default if info is not None and has_default else None
        column_sql.append(dialect.column_definition(
            field.column, type_map.column_type(field.spec), nullable=field.nullable,
            primary_key=field.primary_key, autoincrement=field.autoincrement, unique=field.unique,
            default=default, has_default=has_default,
            inline_primary_key=field.primary_key and not composite))
    indexes: list[tuple[str, list[str], bool, Any]] = []   # (name, columns, unique, kind)
    for field in meta.fields.values():
        info = field.column_info
        if info is None:
            continue
        if info.options.get('fulltext'):
            if not dialect.features.fulltext:
                raise NotSupportedError(f'{dialect.name} does not support fulltext '
                                        f'({model.__name__}.{field.name} has Column(fulltext=True))')
            indexes.append((_index_name(meta.table_name, field.column, 'ft'), [field.column], False, 'FULLTEXT'))
        if info.index and not info.unique and not field.primary_key:
            indexes.append((_index_name(meta.table_name, field.column, 'ix'), [field.column], False,
                            type_map.index_kind(field.spec)))
    for names, unique in declared_indexes(model):
        indexes.append((_index_name(meta.table_name, '_'.join(names), 'ux' if unique else 'ix'), names, unique, None))
    # Where the database declares indexes inside CREATE TABLE (MySQL, which has no CREATE INDEX
    # IF NOT EXISTS), `if_not_exists` on the table covers its indexes too.
    inline = dialect.indexes_in_create_table
    extra: list[str] = [dialect.inline_index_sql(name, columns, unique, kind)
                        for name, columns, unique, kind in indexes] if inline else []
    extra += [_foreign_key(model, dialect, field) for field in meta.fields.values()
              if field.column_info is not None and field.column_info.options.get('references') is not None
              and field.name not in deferred]
    statements = [dialect.create_table_sql(
        meta.table_name, column_sql, [field.column for field in meta.pk_fields] if composite else [],
        if_not_exists=if_not_exists, extra=extra)]
    if not inline:
        statements.extend(dialect.create_index_sql(name, meta.table_name, columns, unique=unique,
                                                   if_not_exists=if_not_exists, kind=kind)
                          for name, columns, unique, kind in indexes)
    return statements


_ON_DELETE = {'CASCADE', 'SET NULL', 'RESTRICT', 'NO ACTION', 'SET DEFAULT'}


def declared_indexes(model: Model) -> list[tuple[list[str], bool]]:
    """The model's `__indexes__` as (column names, unique); an entry is a field name, a list of
    them, or {'fields': ..., 'unique': True}."""
    meta = model.__meta__
    declared: Any = getattr(model, '__indexes__', None) or ()
    indexes: list[tuple[list[str], bool]] = []
    for entry in declared:
        unique = False
        fields: Any = entry
        if isinstance(entry, dict):
            options: dict[str, Any] = fields
            unique, fields = bool(options.get('unique')), options['fields']
        indexes.append(([meta.fields[name].column for name in ([fields] if isinstance(fields, str) else fields)],
                        unique))
    return indexes


def referenced_table(model: Model, field: FieldMeta) -> tuple[str, str]:
    """(table, column) that a Column(references=...) field points at."""
    assert field.column_info is not None   # callers pass Column(references=...) fields only
    target: Any = field.column_info.options['references']
    if isinstance(target, type) and hasattr(target, '__meta__'):
        target_model: Model = target
        target_meta: ModelMeta = target_model.__meta__
        if len(target_meta.primary_key) != 1:
            raise ConfigurationError(f'{model.__name__}.{field.name}: references={target.__name__} has a '
                                     'composite key; name the column as "table.column"')
        return target_meta.table_name, target_meta.pk_fields[0].column
    if isinstance(target, str) and '.' in target:
        table, column = target.rsplit('.', 1)
        return table, column
    raise ConfigurationError(f'{model.__name__}.{field.name}: references={target!r} is not allowed; expected a '
                             'model class or "table.column"')


def _foreign_key(model: Model, dialect: Any, field: FieldMeta) -> str:
    """FOREIGN KEY (col) REFERENCES table (col) [ON DELETE ...] from Column(references=...)."""
    assert field.column_info is not None   # a Column(references=...) field
    options = field.column_info.options
    table, column = referenced_table(model, field)
    sql = (f'FOREIGN KEY ({dialect.quote(field.column)}) REFERENCES {dialect.quote_table(table)} '
           f'({dialect.quote(column)})')
    on_delete = options.get('on_delete')
    if on_delete is not None:
        if str(on_delete).upper() not in _ON_DELETE:
            raise ConfigurationError(f'{model.__name__}.{field.name}: on_delete={on_delete!r} is not allowed; '
                                     f'expected one of {", ".join(sorted(_ON_DELETE))}')
        sql += ' ON DELETE ' + str(on_delete).upper()
    return sql


def _index_name(table: str, column: str, prefix: str) -> str:
    return f'{prefix}_{table.replace(".", "_")}_{column}'


def create_table(model: Model, if_not_exists: bool = True, deferred: frozenset[str] = frozenset()) -> None:
    """Run the model's DDL (in one transaction where the database has transactional DDL)."""
    backend = model.backend()
    statements = create_table_statements(model, backend.dialect, if_not_exists, deferred)
    backend.forget_table(model.__meta__.table_name)   # it may have been a view before
    atomic = backend.features.transactional_ddl and len(statements) > 1 and not backend.in_transaction
    with backend.transaction() if atomic else nullcontext():
        for sql in statements:
            backend.execute(sql)
    # The model's first statement on this backend: its table is compared with its fields now.
    schema_check.check_quietly(model.__meta__, backend)


def drop_table(model: Model, if_exists: bool = True, dropping: frozenset[str] = frozenset()) -> None:
    """DROP TABLE of the model; IntegrityError when other tables (not in `dropping`) still reference it."""
    backend = model.backend()
    table = model.__meta__.table_name
    # Servers refuse to drop a referenced table themselves; where the database would drop it
    # silently (SQLite), the dialect has a query for the tables that still reference it.
    referencing = [name for name in backend.schema.referencing_tables(table) if name.lower() not in dropping]
    if referencing:
        raise IntegrityError(f'{model.__name__}: cannot drop table {table!r}: table(s) '
                             f'{", ".join(repr(name) for name in referencing)} reference it; drop them first '
                             '(or use drop_all)')
    schema_check.forget(model.__meta__, backend)
    backend.forget_table(table)
    backend.execute(backend.dialect.drop_table_sql(table, if_exists=if_exists))


# -- several models: foreign-key order ------------------------------------------------------

def _references(model: Model, tables: dict[str, Model]) -> dict[str, Model]:
    """field name -> the other listed model its foreign key points at (self references left out)."""
    found: dict[str, Model] = {}
    for field in model.__meta__.fields.values():
        info = field.column_info
        if info is None or info.options.get('references') is None:
            continue
        target = tables.get(referenced_table(model, field)[0].lower())
        if target is not None and target is not model:
            found[field.name] = target
    return found


def creation_plan(models: list[Model], can_alter: bool) -> list[tuple[Model, frozenset[str]]]:
    """(model, fields whose foreign key is added after every table exists), in creation order.

    Tables come in foreign-key order whatever the list order; a cycle is broken at the first
    waiting model by table name, whose keys into the waiting models are deferred (only when the
    database can ALTER TABLE ... ADD CONSTRAINT; otherwise ConfigurationError names the cycle).
    """
    # by table name: the same models give the same plan in any list order, so drop_all finds the
    # keys create_all added
    models = sorted(dict.fromkeys(models), key=lambda model: model.__meta__.table_name.lower())
    tables = {model.__meta__.table_name.lower(): model for model in models}
    waiting = {model: _references(model, tables) for model in models}
    plan: list[tuple[Model, frozenset[str]]] = []
    while waiting:
        ready = next((model for model, refs in waiting.items()
                      if not any(target in waiting for target in refs.values())), None)
        if ready is not None:
            plan.append((ready, frozenset()))
            del waiting[ready]
            continue
        cycle = _cycle(waiting)
        if not can_alter:
            raise ConfigurationError('foreign-key cycle ' + ' -> '.join(model.__name__ for model in cycle)
                                     + ': this database cannot add a foreign key to an existing table '
                                     '(ALTER TABLE ... ADD CONSTRAINT); make one of these keys a plain column')
        first = cycle[0]
        deferred = frozenset(name for name, target in waiting[first].items() if target in waiting)
        plan.append((first, deferred))
        del waiting[first]
    return plan


def _cycle(waiting: dict[Model, dict[str, Model]]) -> list[Model]:
    """The cycle the first waiting model leads into, closed (A -> B -> A), for the message and the break."""
    path: list[Model] = []
    model = next(iter(waiting))
    while model not in path:
        path.append(model)
        model = next(target for target in waiting[model].values() if target in waiting)
    cycle = path[path.index(model):]
    return cycle + [cycle[0]]


def _constraint_name(model: Model, field: FieldMeta) -> str:
    return f'fk_{model.__meta__.table_name.replace(".", "_")}_{field.column}'


def add_foreign_key_sql(model: Model, dialect: Any, name: str) -> str:
    """ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY for the model's field `name` (a cycle's closing key)."""
    field = model.__meta__.fields[name]
    return (f'ALTER TABLE {dialect.quote_table(model.__meta__.table_name)} ADD CONSTRAINT '
            f'{dialect.quote(_constraint_name(model, field))} ' + _foreign_key(model, dialect, field))


def drop_foreign_key_sql(model: Model, dialect: Any, name: str) -> str:
    """The statement that drops the key add_foreign_key_sql added."""
    field = model.__meta__.fields[name]
    template: str = getattr(dialect, 'drop_foreign_key_template', 'ALTER TABLE {table} DROP CONSTRAINT {name}')
    return template.format(table=dialect.quote_table(model.__meta__.table_name),
                           name=dialect.quote(_constraint_name(model, field)))


def create_all(models: Sequence[Model], if_not_exists: bool = True) -> None:
    """CREATE TABLE for every model, in foreign-key order; a cycle's closing keys are added afterwards."""
    if not models:
        return
    backend = models[0].backend()
    plan = creation_plan(list(models), backend.features.alter_add_foreign_key)
    for model, deferred in plan:
        create_table(model, if_not_exists=if_not_exists, deferred=deferred)
    for model, deferred in plan:
        for name in sorted(deferred):
            model.backend().execute(add_foreign_key_sql(model, model.backend().dialect, name))


def drop_all(models: Sequence[Model], if_exists: bool = True) -> None:
    """DROP TABLE for every model, in reverse foreign-key order (a cycle's added keys dropped first)."""
    if not models:
        return
    backend = models[0].backend()
    can_alter = backend.features.alter_add_foreign_key
    plan = creation_plan(list(models), True)   # the order only: a cycle there has no added keys
    deferring = can_alter and any(deferred for _, deferred in plan)
    existing: set[str] = {name.lower() for name in backend.schema.tables()} if deferring else set()
    for model, deferred in plan:
        if not deferring or not deferred or model.__meta__.table_name.lower() not in existing:
            continue
        for name in sorted(deferred):
            model.backend().execute(drop_foreign_key_sql(model, model.backend().dialect, name))
    dropping = frozenset(model.__meta__.table_name.lower() for model, _ in plan)
    for model, _ in reversed(plan):
        drop_table(model, if_exists=if_exists, dropping=dropping)
