"""`op` of a migration: schema operations rendered through the backend's dialect into Steps.

Each call renders its SQL when it is made and hands the steps to the sink (the migrator runs
them at once, so the next call sees the schema they made; offline output prints them). Where the
SQL depends on the table as it is (SQLite's rebuild, MySQL's MODIFY restating a column, the name
of an index or foreign key dropped by its columns), the live schema is read, with columns added
earlier by this same `Operations` known without the database (for offline output).
"""
from __future__ import annotations

import builtins
import copy
import dataclasses
import enum
import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import pydantic

from ..backend.dialect import ColumnChange
from ..errors import ProgrammingError
from ..model.metadata import column_spec
from .sqlite_rebuild import RebuildColumn, RebuildForeignKey, TableShape, read_shape, rebuild_steps
from .steps import Step

Sink = Callable[[Step], None]
#: SQLite's name for the index of a UNIQUE (or PRIMARY KEY) constraint, which DROP INDEX refuses
SQLITE_CONSTRAINT_INDEX = 'sqlite_autoindex_'


class _Missing(enum.Enum):
    MISSING = 'MISSING'


#: "not given" for a default (None is a default of NULL, i.e. no default)
MISSING = _Missing.MISSING


@dataclass(frozen=True)
class ColumnDef:
    """A column of create_table(): its name, type (a Python type, Annotated[...], or SQL text) and options."""

    name: str
    type: Any
    nullable: bool = True
    default: Any = MISSING
    primary_key: bool = False
    autoincrement: bool = False
    unique: bool = False
    max_length: int | None = None
    max_digits: int | None = None
    decimal_places: int | None = None
    references: str | None = None     # 'table.column'
    on_delete: str | None = None


def column(name: str, type: Any, nullable: bool = True, default: Any = MISSING, *, primary_key: bool = False,
           autoincrement: bool = False, unique: bool = False, max_length: int | None = None,
           max_digits: int | None = None, decimal_places: int | None = None, references: str | None = None,
           on_delete: str | None = None) -> ColumnDef:
    """A column for create_table()."""
    return ColumnDef(name, type, nullable and not primary_key, default, primary_key, autoincrement, unique,
                     max_length, max_digits, decimal_places, references, on_delete)


def index_name(table: str, columns: Sequence[str], unique: bool) -> str:
    """The name create_index gives (as model DDL names its indexes)."""
    return f'{"ux" if unique else "ix"}_{table.replace(".", "_")}_{"_".join(columns)}'


def foreign_key_name(table: str, columns: Sequence[str]) -> str:
    """The name add_foreign_key gives (as model DDL names the keys it adds)."""
    return f'fk_{table.replace(".", "_")}_{"_".join(columns)}'


class Operations:
    """The `op` a migration's up()/down() gets: each call emits Steps to the sink and `steps`."""

    def __init__(self, backend: Any, sink: Sink | None = None) -> None:
        self.backend = backend
        self.dialect: Any = backend.dialect
        self.sink = sink
        self.steps: list[Step] = []
        #: (table, column) lower case -> (type SQL, nullable, default SQL) of columns made by this op
        self._made: dict[tuple[str, str], tuple[str, bool, str | None]] = {}
        #: columns add_column / drop_column changed by ALTER TABLE (lower case; added: -> the name)
        self._added: dict[tuple[str, str], tuple[str, RebuildForeignKey | None]] = {}
        self._dropped: set[tuple[str, str]] = set()
        #: table (lower case) -> its shape after this op rebuilt it, kept up to date by the steps
        #: after the rebuild, so that a second rebuild starts from the first one's result offline
        self._shapes: dict[str, TableShape] = {}

    # -- emitting ------------------------------------------------------------------------

    def _emit(self, sql: str, operation: str, effect: str | None = None, *, params: Sequence[Any] = (),
              outside_transaction: bool = False) -> None:
        rewrites, blocks = self.dialect.migration_effect(effect or operation)
        self._add(Step(sql, tuple(params), 'sql', rewrites, blocks, outside_transaction, operation=operation))

    def _add(self, step: Step) -> None:
        self.steps.append(step)
        if self.sink is not None:
            self.sink(step)

    @property
    def _rebuilds(self) -> bool:
        # a dialect that cannot add a foreign key with ALTER TABLE changes columns by a rebuild (SQLite)
        return self.dialect.add_foreign_key_template is None

    # -- types and defaults ----------------------------------------------------------------

    def type_sql(self, type: Any, max_length: int | None = None, max_digits: int | None = None,
                 decimal_places: int | None = None, where: str = 'column') -> str:
        """A column type as SQL: a Python type (or Annotated with max_length, ...) through the
        dialect's type map, as model DDL writes it; a str is SQL used as written."""
        if isinstance(type, str):
            return type
        try:
            info = pydantic.fields.FieldInfo.from_annotation(type)
        except Exception as error:
            raise ProgrammingError(f'{where}: {type!r} is not a column type; expected a Python type '
                                   '(int, str, Decimal, ...), Annotated[...] or SQL text') from error
        # column_spec names a model class in its errors: a class named after the column stands in
        owner, _, name = where.rpartition('.')
        spec = column_spec(builtins.type(owner or 'column', (), {}), name, info, None)
        spec = dataclasses.replace(
            spec, max_length=spec.max_length if max_length is None else max_length,
            max_digits=spec.max_digits if max_digits is None else max_digits,
            decimal_places=spec.decimal_places if decimal_places is None else decimal_places)
        result: str = self.dialect.type_map.column_type(spec)
        return result

    def default_sql(self, value: Any) -> str | None:
        """A default value (or raw('...') expression) as SQL; None for no default."""
        return None if value is None or value is MISSING else str(self.dialect.literal_sql(value))

    # -- tables ----------------------------------------------------------------------------

    def create_table(self, name: str, *columns: ColumnDef | tuple[Any, ...], primary_key: Sequence[str] = (),
                     if_not_exists: bool = False) -> None:
        """CREATE TABLE; each column is `column(...)` or a tuple (name, type[, {column() options}]);
        a composite key is `primary_key=[...]` (or several columns with primary_key)."""
        if not columns:
            raise ProgrammingError(f'create_table({name!r}) needs at least one column')
        definitions_given = [_column_def(name, item) for item in columns]
        keys = list(primary_key) or [item.name for item in definitions_given if item.primary_key]
        known = {item.name for item in definitions_given}
        missing = [key for key in keys if key not in known]
        if missing:
            raise ProgrammingError(f'create_table({name!r}): primary_key names {missing!r}, which are not its columns')
        self._create_table(name, definitions_given, keys, if_not_exists)

    def _create_table(self, name: str, columns: list[ColumnDef], keys: list[str], if_not_exists: bool) -> None:
        definitions: list[str] = []
        extra: list[str] = []
        for item in columns:
            where = f'{name}.{item.name}'
            type_sql = self.type_sql(item.type, item.max_length, item.max_digits, item.decimal_places, where)
            has_default = item.default is not MISSING
            in_key = item.name in keys
            definitions.append(self.dialect.column_definition(
                item.name, type_sql, nullable=item.nullable and not in_key, primary_key=in_key,
                autoincrement=item.autoincrement, unique=item.unique, default=item.default if has_default else None,
                has_default=has_default, inline_primary_key=in_key and len(keys) == 1))
            self._made[(name.lower(), item.name.lower())] = (type_sql, item.nullable, self.default_sql(item.default))
            if item.references is not None:
                ref_table, ref_column = _reference(item.references, where)
                extra.append(f'FOREIGN KEY ({self.dialect.quote(item.name)}) REFERENCES '
                             f'{self.dialect.quote_table(ref_table)} ({self.dialect.quote(ref_column)})'
                             + self.dialect.foreign_key_actions_sql(item.on_delete, None))
        self._emit(self.dialect.create_table_sql(name, definitions, keys if len(keys) > 1 else [],
                                                 if_not_exists=if_not_exists, extra=extra), 'create_table')

    def drop_table(self, name: str) -> None:
        """DROP TABLE."""
        self._emit(self.dialect.drop_table_sql(name), 'drop_table')
        self._made = {key: value for key, value in self._made.items() if key[0] != name.lower()}
        self._added = {key: value for key, value in self._added.items() if key[0] != name.lower()}
        self._dropped = {key for key in self._dropped if key[0] != name.lower()}
        self._forget_shape(name)

    def rename_table(self, name: str, new_name: str) -> None:
        """Rename a table."""
        self._emit(self.dialect.rename_table_sql(name, new_name), 'rename_table')
        def renamed(key: tuple[str, str]) -> tuple[str, str]:
            return (new_name.lower() if key[0] == name.lower() else key[0]), key[1]
        self._made = {renamed(key): value for key, value in self._made.items()}
        self._added = {renamed(key): value for key, value in self._added.items()}
        self._dropped = {renamed(key) for key in self._dropped}
        self._forget_shape(name)

    # -- columns ---------------------------------------------------------------------------

    def add_column(self, table: str, name: str, type: Any, nullable: bool = True, default: Any = MISSING, *,
                   unique: bool = False, max_length: int | None = None, max_digits: int | None = None,
                   decimal_places: int | None = None, references: str | None = None,
                   on_delete: str | None = None) -> None:
        """ALTER TABLE ... ADD a column (a unique one gets a unique index, a reference a foreign key)."""
        where = f'{table}.{name}'
        type_sql = self.type_sql(type, max_length, max_digits, decimal_places, where)
        has_default = default is not MISSING
        definition = self.dialect.column_definition(name, type_sql, nullable=nullable,
                                                    default=default if has_default else None, has_default=has_default)
        reference = _reference(references, where) if references is not None else None
        if reference is not None and self._rebuilds:
            # SQLite takes a REFERENCES clause in ADD COLUMN (and no ADD CONSTRAINT)
            definition += (f' REFERENCES {self.dialect.quote_table(reference[0])} ({self.dialect.quote(reference[1])})'
                           + self.dialect.foreign_key_actions_sql(on_delete, None))
        volatile = has_default and hasattr(default, '__sql__')
        if volatile and self._rebuilds and reference is None and not unique:
            # SQLite's ADD COLUMN takes constant defaults only: the rebuilt table has the expression
            shape = self._shape(table)
            shape.columns.append(RebuildColumn(name, type_sql, nullable, self.default_sql(default)))
            self._rebuild(shape)
            self._made[(table.lower(), name.lower())] = (type_sql, nullable, self.default_sql(default))
            return
        self._emit(self.dialect.add_column_sql(table, definition), 'add_column',
                   'add_column_volatile' if volatile else 'add_column')
        self._made[(table.lower(), name.lower())] = (type_sql, nullable, self.default_sql(default))
        key = None if reference is None or not self._rebuilds else RebuildForeignKey(
            (name,), reference[0], (reference[1],), _upper(on_delete))
        self._added[(table.lower(), name.lower())] = (name, key)
        self._dropped.discard((table.lower(), name.lower()))
        rebuilt = self._shapes.get(table.lower())
        if rebuilt is not None:
            rebuilt.columns.append(RebuildColumn(name, type_sql, nullable, self.default_sql(default),
                                                 source=self.dialect.quote(name)))
            if key is not None:
                rebuilt.foreign_keys.append(key)
        if unique:
            self.create_index(table, [name], unique=True)
        if reference is not None and not self._rebuilds:
            self.add_foreign_key(table, [name], reference[0], [reference[1]], on_delete=on_delete)

    def drop_column(self, table: str, name: str) -> None:
        """ALTER TABLE ... DROP COLUMN (SQLite: a rebuild when an index, key or foreign key names it)."""
        self._made.pop((table.lower(), name.lower()), None)
        if self._rebuilds:
            shape = self._shape(table)
            shape.column(name)
            named = [columns for columns in shape.uniques] + [columns for _, columns in shape.indexes] + [
                key.columns for key in shape.foreign_keys] + [
                (column.name,) for column in shape.columns if column.primary_key]
            if any(name.lower() in {item.lower() for item in columns} for columns in named):
                shape.drop_column(name)
                self._rebuild(shape)
                self._added.pop((table.lower(), name.lower()), None)
                self._dropped.add((table.lower(), name.lower()))
                return
        self._emit(self.dialect.drop_column_sql(table, name), 'drop_column')
        self._added.pop((table.lower(), name.lower()), None)
        self._dropped.add((table.lower(), name.lower()))
        rebuilt = self._shapes.get(table.lower())
        if rebuilt is not None:
            rebuilt.drop_column(name)

    def alter_column(self, table: str, name: str, type: Any = MISSING, nullable: bool | None = None,
                     default: Any = MISSING, new_name: str | None = None, *, max_length: int | None = None,
                     max_digits: int | None = None, decimal_places: int | None = None) -> None:
        """Change a column's type, nullability or default, then rename it; made NOT NULL with a
        default given, its NULLs are set to the default first."""
        where = f'{table}.{name}'
        type_sql = None if type is MISSING else self.type_sql(type, max_length, max_digits, decimal_places, where)
        if type_sql is not None and self.dialect.column_type_checks:
            type_sql = type_sql.partition(' CHECK (')[0]   # the check stays with the column's old type
        set_default = default is not MISSING
        default_sql = self.default_sql(default) if set_default else None
        if type_sql is not None or nullable is not None or set_default:
            if self._rebuilds:
                self._alter_by_rebuild(table, name, type_sql, nullable, set_default, default_sql)
            else:
                self._alter(table, name, type_sql, nullable, set_default, default_sql)
        if new_name is not None and new_name != name:
            self._emit(self.dialect.rename_column_sql(table, name, new_name), 'rename_column')
            self._forget_shape(table)
            made = self._made.pop((table.lower(), name.lower()), None)
            if made is not None:
                self._made[(table.lower(), new_name.lower())] = made
            added = self._added.pop((table.lower(), name.lower()), None)
            if added is not None:
                self._added[(table.lower(), new_name.lower())] = (new_name, added[1])

    def _current(self, table: str, name: str) -> tuple[str, bool, str | None]:
        made = self._made.get((table.lower(), name.lower()))
        if made is not None:
            return made
        info = self._live_column(table, name)
        return info.sql_type, info.nullable, info.default

    def _live_column(self, table: str, name: str) -> Any:
        for info in self.backend.schema.columns(table):
            if info.name.lower() == name.lower():
                return info
        raise ProgrammingError(f'table {table!r} has no column {name!r} (or the table does not exist)')

    def _column_attributes(self, table: str, name: str) -> dict[str, Any]:
        """The live column's collation, ON UPDATE and comment, which a restated column (MySQL's
        MODIFY) must write again or lose; {} where the database restates none of them."""
        query = self.dialect.column_attributes_sql
        if query is None or self.dialect.modify_column_template is None:
            return {}
        schema, _, bare = table.rpartition('.')
        row = self.backend.fetch_one(query, (schema or None, bare, name))
        if row is None:   # a column this `op` made, not in the database yet: it has none of them
            return {}
        on_update = re.search(r'\bon update (.+)$', str(row['extra'] or ''), re.IGNORECASE)
        return {'current_collation': None if row['collation_name'] is None else str(row['collation_name']),
                'current_on_update': on_update.group(1).strip() if on_update else None,
                'current_comment': str(row['column_comment'] or '')}

    def _alter(self, table: str, name: str, type_sql: str | None, nullable: bool | None, set_default: bool,
               default_sql: str | None) -> None:
        current_type, current_nullable, current_default = (
            self._current(table, name) if self.dialect.modify_column_template is not None else ('', True, None))
        if nullable is False and default_sql is not None:
            self._emit(f'UPDATE {self.dialect.quote_table(table)} SET {self.dialect.quote(name)} = {default_sql} '
                       f'WHERE {self.dialect.quote(name)} IS NULL', 'alter_column', 'set_not_null')
        autoincrement = self.dialect.restate_autoincrement and any(
            info.autoincrement for info in self.backend.schema.columns(table) if info.name.lower() == name.lower())
        change = ColumnChange(type_sql, nullable, set_default, default_sql, current_type, current_nullable,
                              current_default, autoincrement, **self._column_attributes(table, name))
        effects = [effect for effect, given in (
            ('alter_type', type_sql is not None), ('set_not_null', nullable is False),
            ('drop_not_null', nullable is True), ('set_default', set_default and default_sql is not None),
            ('drop_default', set_default and default_sql is None)) if given]
        rewrites = any(self.dialect.migration_effect(effect)[0] for effect in effects)
        blocks = any(self.dialect.migration_effect(effect)[1] for effect in effects)
        for sql in self.dialect.alter_column_sql(table, name, change):
            self._add(Step(sql, rewrites_table=rewrites, blocks_writes=blocks, operation='alter_column'))
        key = (table.lower(), name.lower())
        if key in self._made:
            old = self._made[key]
            self._made[key] = (type_sql or old[0], old[1] if nullable is None else nullable,
                               default_sql if set_default else old[2])

    def _alter_by_rebuild(self, table: str, name: str, type_sql: str | None, nullable: bool | None,
                          set_default: bool, default_sql: str | None) -> None:
        shape = self._shape(table)
        column = shape.column(name)
        changes: dict[str, Any] = {}
        if type_sql is not None:
            changes['type_sql'] = type_sql
        if nullable is not None:
            changes['nullable'] = nullable
            if not nullable and default_sql is not None:
                changes['source'] = f'COALESCE({column.source}, {default_sql})'
        if set_default:
            changes['default_sql'] = default_sql
        shape.replace_column(name, **changes)
        self._rebuild(shape)

    def _shape(self, table: str) -> TableShape:
        """The table as a rebuild starts from: as this `op` last rebuilt it, or the live one with
        the columns this `op` added or dropped without a rebuild (offline, `migrate sql` renders
        the steps without running them, so the live table has not changed yet)."""
        rebuilt = self._shapes.get(table.lower())
        if rebuilt is not None:
            return copy.deepcopy(rebuilt)
        shape = read_shape(self.backend, table)
        present = {column.name.lower() for column in shape.columns}
        for (owner, name), (type_sql, nullable, default_sql) in self._made.items():
            added = self._added.get((owner, name))
            if owner == table.lower() and name not in present and added is not None:
                # by the time the rebuild runs, the added column is there to copy from
                shape.columns.append(RebuildColumn(added[0], type_sql, nullable, default_sql,
                                                   source=self.dialect.quote(added[0])))
                if added[1] is not None:
                    shape.foreign_keys.append(added[1])
        for owner, name in self._dropped:
            if owner == table.lower() and name in present:
                shape.drop_column(name)
        return shape

    def _rebuild(self, shape: TableShape) -> None:
        for step in rebuild_steps(self.backend, shape):
            self._add(step)
        after = copy.deepcopy(shape)
        after.columns = [dataclasses.replace(column, source=self.dialect.quote(column.name))
                         for column in after.columns]
        self._shapes[shape.name.lower()] = after

    def _forget_shape(self, table: str | None = None) -> None:
        """A step changed the table (all tables: None) in a way the kept shape does not follow."""
        if table is None:
            self._shapes.clear()
        else:
            self._shapes.pop(table.lower(), None)

    # -- indexes -----------------------------------------------------------------------------

    def create_index(self, table: str, columns: Sequence[str], unique: bool = False, concurrently: bool = False,
                     name: str | None = None) -> None:
        """CREATE [UNIQUE] INDEX; `concurrently` builds it without blocking writes where the database can."""
        columns = _names(columns, 'create_index')
        prefix_lengths = self._prefix_lengths(table, columns)
        if unique:
            # A prefix index is unique on the prefix only: two values differing after it would be
            # refused as duplicates (TINYTEXT/TINYBLOB fit whole in the prefix)
            cut = [column for column in prefix_lengths
                   if not self._current(table, column)[0].lower().startswith('tiny')]
            if cut:
                raise ProgrammingError(
                    f'create_index({table!r}, unique=True): column {cut[0]!r} is an unbounded '
                    f'{self._current(table, cut[0])[0].upper()} here, which {self.backend.name} indexes by its first '
                    f'{prefix_lengths[cut[0]]} characters only, so uniqueness would hold on that prefix; give the '
                    'column a max_length (or a bounded type) first')
        sql = self.dialect.create_index_sql(name or index_name(table, columns, unique), table, columns,
                                            unique=unique, concurrently=concurrently, prefix_lengths=prefix_lengths)
        online = concurrently and bool(self.dialect.concurrent_index_keyword or self.dialect.concurrent_index_suffix)
        rebuilt = self._shapes.get(table.lower())
        if rebuilt is not None:
            rebuilt.indexes.append((sql, tuple(columns)))
        self._emit(sql, 'create_index', 'create_index_concurrently' if online else 'create_index',
                   outside_transaction=concurrently and bool(self.dialect.concurrent_index_keyword))

    def _prefix_lengths(self, table: str, columns: Sequence[str]) -> dict[str, int]:
        """column -> prefix length, for text columns the database indexes only by a prefix (MySQL)."""
        types: tuple[str, ...] = getattr(self.dialect, 'prefix_index_types', ())
        if not types:
            return {}
        length: int = self.dialect.text_index_prefix_length
        return {name: length for name in columns
                if self._current(table, name)[0].lower().split('(')[0].strip() in types}

    def drop_index(self, table: str, columns: Sequence[str] | None = None, name: str | None = None) -> None:
        """DROP INDEX, named or found by its columns; a UNIQUE constraint's index is dropped as that
        constraint (SQLite: by a rebuild without it)."""
        if name is None:
            if not columns:
                raise ProgrammingError(f'drop_index({table!r}) needs the index columns or name=')
            columns = _names(columns, 'drop_index')
            wanted = tuple(column.lower() for column in columns)
            found = [index.name for index in self.backend.schema.indexes(table)
                     if tuple(column.lower() for column in index.columns) == wanted]
            name = str(found[0]) if found else index_name(table, columns, False)
        target: str = name
        if self._rebuilds and target.lower().startswith(SQLITE_CONSTRAINT_INDEX):
            self._drop_unique_by_rebuild(table, target)
            return
        check = self.dialect.unique_constraint_sql
        constraint = check is not None and self.backend.fetch_value(check, (table, target)) is not None
        self._keep_key_indexes(table, target)
        self._emit(self.dialect.drop_index_sql(table, target, constraint=constraint), 'drop_index')
        rebuilt = self._shapes.get(table.lower())
        if rebuilt is not None:
            quoted = self.dialect.quote(target)
            rebuilt.indexes = [(sql, columns) for sql, columns in rebuilt.indexes if quoted not in sql]

    def _keep_key_indexes(self, table: str, name: str) -> None:
        """InnoDB refuses to drop the only index a foreign key can use (and drops its own index for
        a key once another covers it): give each such key an index of its own first, named as
        the key, which is what InnoDB would have made (drop_foreign_key drops it with the key)."""
        if not getattr(self.dialect, 'introspect_foreign_key_indexes', False):
            return
        indexes = self.backend.schema.indexes(table, key_indexes=True)
        dropped = next((index for index in indexes if index.name.lower() == name.lower()), None)
        if dropped is None:
            return
        others = [tuple(column.lower() for column in index.columns) for index in indexes if index is not dropped]
        covered = tuple(column.lower() for column in dropped.columns)
        for key in self.backend.schema.foreign_keys(table):
            columns = tuple(column.lower() for column in key.columns)
            if key.name is None or covered[:len(columns)] != columns:
                continue
            if not any(other[:len(columns)] == columns for other in others):
                self._emit(self.dialect.create_index_sql(key.name, table, list(key.columns), unique=False,
                                                         concurrently=False, prefix_lengths={}), 'create_index')
                others.append(columns)

    def _drop_unique_by_rebuild(self, table: str, name: str) -> None:
        index = next((index for index in self.backend.schema.indexes(table) if index.name == name), None)
        if index is None:
            raise ProgrammingError(f'table {table!r} has no index {name!r}')
        shape = self._shape(table)
        wanted = tuple(column.lower() for column in index.columns)
        shape.uniques = [columns for columns in shape.uniques
                         if tuple(column.lower() for column in columns) != wanted]
        self._rebuild(shape)

    # -- foreign keys --------------------------------------------------------------------------

    def add_foreign_key(self, table: str, columns: Sequence[str], ref_table: str, ref_columns: Sequence[str],
                        on_delete: str | None = None, name: str | None = None, on_update: str | None = None) -> None:
        """ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY (SQLite: a rebuild)."""
        columns, ref_columns = _names(columns, 'add_foreign_key'), _names(ref_columns, 'add_foreign_key')
        if self._rebuilds:
            self.dialect.foreign_key_actions_sql(on_delete, on_update)   # checks the words
            shape = self._shape(table)
            for column_name in columns:
                shape.column(column_name)
            shape.foreign_keys.append(RebuildForeignKey(tuple(columns), ref_table, tuple(ref_columns),
                                                        _upper(on_delete), _upper(on_update)))
            self._rebuild(shape)
            return
        self._emit(self.dialect.add_foreign_key_sql(table, name or foreign_key_name(table, columns), columns,
                                                    ref_table, ref_columns, on_delete, on_update), 'add_foreign_key')

    def drop_foreign_key(self, table: str, columns: Sequence[str] | None = None, name: str | None = None) -> None:
        """Drop a foreign key, named or found by its columns (SQLite: a rebuild, by columns)."""
        if columns is None and name is None:
            raise ProgrammingError(f'drop_foreign_key({table!r}) needs the key columns or name=')
        wanted = tuple(column.lower() for column in _names(columns, 'drop_foreign_key')) if columns else None
        if self._rebuilds:
            if wanted is None:
                raise ProgrammingError(f'drop_foreign_key({table!r}, name={name!r}): SQLite keeps no names of '
                                       'foreign keys; give the columns')
            shape = self._shape(table)
            kept = [key for key in shape.foreign_keys if tuple(column.lower() for column in key.columns) != wanted]
            if len(kept) == len(shape.foreign_keys):
                raise ProgrammingError(f'table {table!r} has no foreign key on {", ".join(columns or ())}')
            shape.foreign_keys = kept
            self._rebuild(shape)
            return
        keys = self.backend.schema.foreign_keys(table)
        if name is None:
            assert columns is not None and wanted is not None
            found = [key.name for key in keys if tuple(column.lower() for column in key.columns) == wanted and key.name]
            name = str(found[0]) if found else foreign_key_name(table, columns)
        target: str = name
        self._emit(self.dialect.drop_foreign_key_sql(table, target), 'drop_foreign_key')
        implicit = self._implicit_key_index(table, target, keys)
        if implicit is not None:
            self._emit(self.dialect.drop_index_sql(table, implicit, constraint=False), 'drop_index')

    def _implicit_key_index(self, table: str, name: str, keys: Sequence[Any]) -> str | None:
        """The index InnoDB made by itself for foreign key `name` (named as the key, or as its
        first column when the key was declared without a name), which outlives the key: None
        where the database makes none, or when another key still needs it or the user made it."""
        if not getattr(self.dialect, 'introspect_foreign_key_indexes', False):
            return None
        key = next((key for key in keys if key.name is not None and key.name.lower() == name.lower()), None)
        if key is None:
            return None
        columns = tuple(column.lower() for column in key.columns)
        others = [tuple(column.lower() for column in other.columns) for other in keys if other is not key]
        if any(other[:len(columns)] == columns or columns[:len(other)] == other for other in others):
            return None
        for index in self.backend.schema.indexes(table, key_indexes=True):
            if (not index.unique and tuple(column.lower() for column in index.columns) == columns
                    and index.name.lower() in (name.lower(), columns[0])):
                return str(index.name)
        return None

    # -- data steps ----------------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run SQL as written (`?` placeholders)."""
        if not isinstance(sql, str) or not sql.strip():  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ProgrammingError(f'execute() needs an SQL statement, got {sql!r}')
        self._add(Step(sql, tuple(params or ()), operation='execute'))
        self._forget_shape()   # any table may have changed

    def run_python(self, fn: Callable[[Any], None]) -> None:
        """A data step: fn(backend) runs in the migration's transaction."""
        if not callable(fn):
            raise ProgrammingError(f'run_python() needs a callable taking the backend, got {fn!r}')
        label = getattr(fn, '__qualname__', repr(fn))
        self._add(Step(f'-- python: {label}', kind='python', fn=fn, operation='run_python'))
        self._forget_shape()


_COLUMN_OPTIONS = frozenset(ColumnDef.__dataclass_fields__) - {'name', 'type'}


def _column_def(table: str, item: ColumnDef | tuple[Any, ...]) -> ColumnDef:
    """A create_table() column from column(...) or (name, type[, {options}])."""
    if isinstance(item, ColumnDef):
        return item
    if not isinstance(item, tuple) or not 2 <= len(item) <= 3:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ProgrammingError(f'create_table({table!r}): column {item!r} is not allowed; expected column(...) '
                               'or (name, type[, {options}])')
    options: dict[str, Any] = dict(item[2]) if len(item) == 3 else {}
    unknown = sorted(set(options) - _COLUMN_OPTIONS)
    if unknown:
        raise ProgrammingError(f'create_table({table!r}): column {item[0]!r} has unknown option(s) {unknown}; '
                               f'expected some of {sorted(_COLUMN_OPTIONS)}')
    return column(item[0], item[1], **options)


def _reference(target: str, where: str) -> tuple[str, str]:
    table, dot, column = target.rpartition('.')
    if not dot or not table or not column:
        raise ProgrammingError(f'{where}: references={target!r} is not allowed; expected "table.column"')
    return table, column


def _names(columns: Sequence[str], verb: str) -> list[str]:
    if isinstance(columns, str):
        return [columns]
    names = list(columns)
    if not names or not all(isinstance(name, str) and name for name in names):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ProgrammingError(f'{verb}: columns must be a non-empty list of column names, got {columns!r}')
    return names


def _upper(action: str | None) -> str | None:
    return None if action is None or action.upper() == 'NO ACTION' else action.upper()


__all__ = ['MISSING', 'ColumnDef', 'Operations', 'RebuildColumn', 'Step', 'column', 'foreign_key_name',
           'index_name']
