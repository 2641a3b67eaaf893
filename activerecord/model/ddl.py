"""CREATE TABLE / DROP TABLE from a model, through the backend's dialect and type map."""
from __future__ import annotations

from typing import Any

from ..errors import ConfigurationError, NotSupportedError


def create_table_statements(model: type, dialect: Any, if_not_exists: bool = True) -> list[str]:
    """The DDL statements (CREATE TABLE, then CREATE INDEX) of a model on a dialect."""
    meta = model.__meta__
    type_map = dialect.type_map
    composite = len(meta.primary_key) > 1
    column_sql = []
    for field in meta.fields.values():
        info = field.column_info
        has_default = bool(info is not None and info.has_default)
        default = info.default if has_default else None
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
    for position, columns in enumerate(getattr(model, '__indexes__', None) or ()):
        unique = False
        if isinstance(columns, dict):
            unique, columns = bool(columns.get('unique')), columns['fields']
        names = [meta.fields[name].column for name in ([columns] if isinstance(columns, str) else columns)]
        indexes.append((_index_name(meta.table_name, '_'.join(names), 'ux' if unique else 'ix'), names, unique, None))
    # Where the database declares indexes inside CREATE TABLE (MySQL, which has no CREATE INDEX
    # IF NOT EXISTS), `if_not_exists` on the table covers its indexes too.
    inline = dialect.indexes_in_create_table
    extra = [dialect.inline_index_sql(name, columns, unique, kind) for name, columns, unique, kind in indexes] \
        if inline else []
    extra += [_foreign_key(model, dialect, field) for field in meta.fields.values()
              if field.column_info is not None and field.column_info.options.get('references') is not None]
    statements = [dialect.create_table_sql(
        meta.table_name, column_sql, [field.column for field in meta.pk_fields] if composite else [],
        if_not_exists=if_not_exists, extra=extra)]
    if not inline:
        statements.extend(dialect.create_index_sql(name, meta.table_name, columns, unique=unique,
                                                   if_not_exists=if_not_exists, kind=kind)
                          for name, columns, unique, kind in indexes)
    return statements


_ON_DELETE = {'CASCADE', 'SET NULL', 'RESTRICT', 'NO ACTION', 'SET DEFAULT'}


def _foreign_key(model: type, dialect: Any, field: Any) -> str:
    """FOREIGN KEY (col) REFERENCES table (col) [ON DELETE ...] from Column(references=...)."""
    options = field.column_info.options
    target = options['references']
    if isinstance(target, type) and hasattr(target, '__meta__'):
        target_meta = target.__meta__
        if len(target_meta.primary_key) != 1:
            raise ConfigurationError(f'{model.__name__}.{field.name}: references={target.__name__} has a '
                                     'composite key; name the column as "table.column"')
        table, column = target_meta.table_name, target_meta.pk_fields[0].column
    elif isinstance(target, str) and '.' in target:
        table, column = target.rsplit('.', 1)
    else:
        raise ConfigurationError(f'{model.__name__}.{field.name}: references={target!r} is not allowed; expected a '
                                 'model class or "table.column"')
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


def create_table(model: type, if_not_exists: bool = True) -> None:
    """Run the model's DDL (in one transaction where the database has transactional DDL)."""
    backend = model.backend()
    statements = create_table_statements(model, backend.dialect, if_not_exists)
    if backend.features.transactional_ddl and len(statements) > 1 and not backend.in_transaction:
        with backend.transaction():
            for sql in statements:
                backend.execute(sql)
    else:
        for sql in statements:
            backend.execute(sql)


def drop_table(model: type, if_exists: bool = True) -> None:
    """DROP TABLE of the model."""
    backend = model.backend()
    backend.execute(backend.dialect.drop_table_sql(model.__meta__.table_name, if_exists=if_exists))
