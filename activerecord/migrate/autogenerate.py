"""Autogenerate (`migrate make`): the models compared with the live schema, as a revision file.

Both sides are brought to one form before they are compared, so that what `create_all` makes
from the models reads back as "nothing to do" on every backend:

- types: the model side is the column type its dialect's type map writes (as model/ddl.py
  does), the database side what `backend.schema` reads back; both become a `TypeShape` (portable
  kind, a bounded string's length, a decimal's precision and scale, a datetime's time zone).
  Integer and float widths are not compared (a hand-made INTEGER holds what a model's BIGINT
  column would), nor an unknown size;
- defaults: the model's `Column(default=...)` written by the dialect, and the database's default
  text, both through `reflect.normal_default`;
- indexes: by their column lists and uniqueness, never by name; a unique column is a unique
  index; the index MySQL/MariaDB add by themselves for a foreign key is not the user's;
- foreign keys: by columns, target table and columns, and ON DELETE (RESTRICT and NO ACTION
  being the same absence of an action).

A rename is never guessed: it appears as a drop and an add, with a comment saying how to
edit it into `alter_column(..., new_name=...)` / `rename_table`.
"""
from __future__ import annotations

import datetime
import decimal
import enum
import fnmatch
import importlib
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence, TextIO

from ..backend.registry import backend_for_url
from ..backend.schema import ColumnInfo, ForeignKeyInfo, IndexInfo, kind_of_sql_type, normalize_default
from ..errors import ActiveRecordError, ConfigurationError, MigrationError
from ..model import ActiveRecord
from ..model.ddl import creation_plan, declared_indexes, referenced_table
from ..model.metadata import FieldMeta, ModelAttributes
from .migrator import HISTORY_TABLE, Migrator
from .reflect import (DefaultValue, Imports, TypeShape, database_error, default_source, naive_datetimes,
                      normal_default, normal_on_delete, read_tables, type_shape, type_source)
from .revisions import build_chain, load_revisions

Model = type[ActiveRecord]


# -- operation calls ------------------------------------------------------------------------

@dataclass(frozen=True)
class Code:
    """Python source standing for a value in a generated call (a type, a raw() default)."""

    text: str

    def __repr__(self) -> str:
        return self.text


@dataclass(frozen=True)
class OpCall:
    """One `op.<name>(...)` line of a generated revision, with the comment above it."""

    name: str
    args: tuple[Any, ...]
    kwargs: tuple[tuple[str, Any], ...] = ()
    comment: str | None = None

    def source(self, indent: str = '') -> str:
        """The call as Python source (one argument a line when one line would be long)."""
        parts = [_source(value) for value in self.args] + [f'{key}={_source(value)}' for key, value in self.kwargs]
        line = f'op.{self.name}({", ".join(parts)})'
        if len(indent) + len(line) <= 110:
            return line
        inner = indent + '    '
        return f'op.{self.name}(\n' + ''.join(f'{inner}{part},\n' for part in parts) + f'{indent})'


def _source(value: Any) -> str:
    if isinstance(value, Code):
        return value.text
    if isinstance(value, list):
        return '[' + ', '.join(_source(item) for item in value) + ']'  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, tuple):
        items = [_source(item) for item in value]  # pyright: ignore[reportUnknownVariableType]
        return '(' + ', '.join(items) + (',)' if len(items) == 1 else ')')
    return repr(value)


@dataclass
class Changes:
    """The operations of one migration: `up` in order, and `down` undoing them in reverse."""

    up: list[OpCall] = field(default_factory=list[OpCall])
    down: list[OpCall] = field(default_factory=list[OpCall])

    def add(self, up: OpCall, down: OpCall | None) -> None:
        """One step and its inverse (None: nothing to undo)."""
        self.up.append(up)
        if down is not None:
            self.down.insert(0, down)

    def __bool__(self) -> bool:
        return bool(self.up)


# -- the two sides in one form --------------------------------------------------------------

@dataclass(frozen=True)
class ColumnSide:
    """One column as compared: from a model field or from the database."""

    name: str
    shape: TypeShape
    type_code: str               # Python type source for an operation
    nullable: bool
    default: DefaultValue | None
    default_code: str | None     # Python source of the default for an operation
    primary_key: bool
    autoincrement: bool


@dataclass(frozen=True)
class ForeignKeySide:
    """A foreign key as compared (lower-cased names, normalized ON DELETE) and its DDL name."""

    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str | None
    name: str | None = field(default=None, compare=False)


@dataclass
class TableSide:
    """A table as compared."""

    name: str
    columns: list[ColumnSide]
    primary_key: list[str]
    indexes: dict[tuple[tuple[str, ...], bool], str | None]   # (columns, unique) -> its name
    foreign_keys: list[ForeignKeySide]


def _key(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(name.lower() for name in names)


def model_table(model: Model, dialect: Any) -> TableSide:
    """What create_table would make of a model, in the compared form."""
    meta = model.__meta__
    type_map = dialect.type_map
    columns: list[ColumnSide] = []
    for item in meta.fields.values():
        sql = dialect.autoincrement_type if item.autoincrement else type_map.column_type(item.spec)
        info = item.column_info
        # in backend.schema's normal form first, as the database's side is (MySQL's backslash
        # escapes, one spelling of a datetime), then both through normal_default
        default_sql = (normalize_default(dialect.literal_sql(info.default), kind_of_sql_type(sql),
                                         backslashes=bool(getattr(dialect, 'backslash_escapes', False)))
                       if info is not None and info.has_default else None)
        shape = type_shape(sql)
        default = normal_default(default_sql)
        columns.append(ColumnSide(
            item.column, shape, field_type_source(item, shape, dialect), item.nullable, default,
            None if default is None or info is None else _default_code(info.default, dialect),
            item.primary_key, item.autoincrement))
    indexes: dict[tuple[tuple[str, ...], bool], str | None] = {}
    for item in meta.fields.values():
        info = item.column_info
        if info is None or item.primary_key:
            continue
        if info.unique:
            indexes[(_key([item.column]), True)] = None
        elif info.index or info.options.get('fulltext'):
            indexes[(_key([item.column]), False)] = None
    for names, unique in declared_indexes(model):
        indexes[(_key(names), unique)] = None
    foreign: list[ForeignKeySide] = []
    for item in meta.fields.values():
        info = item.column_info
        if info is None or info.options.get('references') is None:
            continue
        table, column = referenced_table(model, item)
        foreign.append(ForeignKeySide((item.column.lower(),), table.lower(), (column.lower(),),
                                      normal_on_delete(info.options.get('on_delete'))))
    return TableSide(meta.table_name, columns, [item.column for item in meta.pk_fields], indexes, foreign)


def database_table(name: str, columns: list[ColumnInfo], indexes: list[IndexInfo],
                   foreign_keys: list[ForeignKeyInfo], dialect: Any) -> TableSide:
    """What the database has, in the compared form."""
    imports = Imports()   # unused: a revision's imports are read from its text (render_revision)
    naive = naive_datetimes(dialect)
    sides: list[ColumnSide] = []
    for column in columns:
        shape = type_shape(column.sql_type)
        default = None if column.autoincrement else normal_default(column.default)
        code = None
        if default is not None:
            code = default_source(default, shape, column.default or '')
        # a type no rule knows is given to an operation as the database spells it
        type_code = repr(column.sql_type) if shape.kind == 'other' else type_source(shape, imports, naive)
        sides.append(ColumnSide(column.name, shape, type_code, column.nullable,
                                default, code, column.primary_key, column.autoincrement))
    keys = [ForeignKeySide(_key(key.columns), key.ref_table.lower(), _key(key.ref_columns),
                           normal_on_delete(key.on_delete), key.name) for key in foreign_keys]
    found: dict[tuple[tuple[str, ...], bool], str | None] = {}
    for index in indexes:
        found.setdefault((_key(index.columns), index.unique), index.name)
    return TableSide(name, sides, [column.name for column in columns if column.primary_key], found, keys)


def field_type_source(item: FieldMeta, shape: TypeShape, dialect: Any) -> str:
    """The Python type of a field for an operation: what it is declared as, reduced to its column."""
    spec = item.spec
    python_type = spec.python_type
    simple = {bool: 'bool', int: 'int', float: 'float', bytes: 'bytes', dict: 'dict[str, Any]'}
    if item.autoincrement:
        return 'int'
    if dialect.type_map.kind_of(spec) not in _PYTHON_KINDS:
        # a registered or spatial type: no Python type names its column, its SQL does
        return repr(dialect.type_map.column_type(spec))
    if python_type is list:
        return f'list[{_LIST_ITEMS.get(spec.item_type, "Any")}]'
    if python_type in simple and not (python_type is bytes and shape.length is not None):
        return simple[python_type]
    if python_type is uuid.UUID:
        return 'uuid.UUID'
    # the rest (strings, decimals, datetimes, enums, lists): the column's own shape says it
    return type_source(shape, Imports(), naive_datetimes(dialect) and not spec.timezone)


#: type-map kinds an operation's Python type reproduces (others are given as their SQL)
_PYTHON_KINDS = frozenset({'bool', 'int', 'float', 'decimal', 'decimal_unbounded', 'str', 'text', 'bytes',
                           'bytes_sized', 'datetime', 'datetime_naive', 'date', 'time', 'timedelta', 'uuid',
                           'json', 'enum_str', 'enum_int', 'array'})
_LIST_ITEMS: dict[Any, str] = {int: 'int', str: 'str', float: 'float', bool: 'bool', decimal.Decimal: 'Decimal'}


def _default_code(value: Any, dialect: Any) -> str:
    """Python source of a model's Column(default=...) value (what the database stores for it)."""
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None or isinstance(value, (str, int, float, decimal.Decimal, datetime.date, datetime.time)):
        return repr(value)
    # an SQL expression (raw('CURRENT_TIMESTAMP')) or a value only the dialect can spell
    return f'raw({dialect.literal_sql(value)!r})'


#: (pattern over a revision's body, the import it needs)
_IMPORTS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(pattern), line) for pattern, line in (
    (r'\bAnnotated\[', 'from typing import Annotated'), (r'\bAny\b', 'from typing import Any'),
    (r'\bField\(', 'from pydantic import Field'), (r'\bNaiveDatetime\b', 'from pydantic import NaiveDatetime'),
    (r'\bDecimal\b', 'from decimal import Decimal'), (r'\bdatetime\.', 'import datetime'),
    (r'\buuid\.', 'import uuid'), (r'\braw\(', 'from activerecord import raw'),
))


def _imports_for(body: str) -> str:
    """The import lines the generated calls use (a name inside a string costs an unused import)."""
    imports = Imports()
    for pattern, line in _IMPORTS:
        if pattern.search(body):
            imports.need(line)
    return imports.render()


# -- comparing ------------------------------------------------------------------------------

def compare(models: Sequence[Model], backend: Any, include_table: Callable[[str], bool] | None = None,
            origin: str = 'the models given') -> Changes:
    """The operations that turn the database's schema into what the models would create.

    `include_table(name)` limits which of the database's tables without a model are dropped
    (default: all of them, but never the migrator's history table; `table_filter` makes one from
    name patterns). `origin` names where the models came from, in the comment of a drop_table.
    """
    dialect = backend.dialect
    changes = Changes()
    wanted = {model.__meta__.table_name.lower(): model for model in models}
    facts = {table.name.lower(): table for table in read_tables(backend.schema)
             if table.name.lower() in wanted or include_table is None or include_table(table.name)}
    existing = {name: database_table(table.name, table.columns, table.indexes, table.foreign_keys, dialect)
                for name, table in facts.items()}
    targets = {name: model_table(model, dialect) for name, model in wanted.items()}
    new_models: list[type[ModelAttributes]] = [model for name, model in wanted.items() if name not in existing]
    dropped = sorted(name for name in existing if name not in wanted and name != HISTORY_TABLE)
    kept = sorted(name for name in wanted if name in existing)

    # 1. foreign keys and indexes that go away (before the columns and tables they use)
    for name in kept:
        _drop_foreign_keys(changes, existing[name], targets[name])
    for name in kept:
        _drop_indexes(changes, existing[name], targets[name], backend)
    # 2. tables, in foreign-key order
    plan = creation_plan(new_models, True) if new_models else []
    # a new table's foreign keys go inside its CREATE TABLE, but for those that close a cycle
    # (added once every table exists)
    later: dict[str, list[ForeignKeySide]] = {}
    for model, deferred in plan:
        table = targets[model.__meta__.table_name.lower()]
        columns = {model.__meta__.fields[name].column.lower() for name in deferred}
        later[table.name] = [key for key in table.foreign_keys if key.columns[0] in columns]
        inline = [key for key in table.foreign_keys if key.columns[0] not in columns]
        changes.add(_create_table_call(table, inline), OpCall('drop_table', (table.name,)))
    # 3. columns
    for name in kept:
        _columns(changes, existing[name], targets[name])
    # 4. tables no model has (referencing tables first)
    renamed = None
    if plan and dropped:
        renamed = (f'if this is a rename, edit these into op.rename_table({existing[dropped[0]].name!r}, '
                   f'{plan[0][0].__meta__.table_name!r}) (autogenerate never guesses a rename)')
    for name in _drop_order(dropped, existing):
        _drop_table(changes, existing[name], renamed, origin)
        renamed = None
    # 5. new indexes and foreign keys (their columns and targets exist now)
    for name in kept:
        _create_indexes(changes, existing[name], targets[name])
    for model, _ in plan:
        table = targets[model.__meta__.table_name.lower()]
        _create_indexes(changes, None, table)
    for name in kept:
        _add_foreign_keys(changes, existing[name], targets[name])
    for model, _ in plan:
        table = targets[model.__meta__.table_name.lower()]
        for key in later[table.name]:
            changes.add(_add_foreign_key_call(table.name, key),
                        OpCall('drop_foreign_key', (table.name,), (('columns', list(key.columns)),)))
    return changes


def _drop_foreign_keys(changes: Changes, have: TableSide, want: TableSide) -> None:
    for key in have.foreign_keys:
        if key in want.foreign_keys:
            continue
        changes.add(_drop_foreign_key_call(have.name, key), _add_foreign_key_call(have.name, key))


def _add_foreign_keys(changes: Changes, have: TableSide, want: TableSide) -> None:
    for key in want.foreign_keys:
        if key in have.foreign_keys:
            continue
        changes.add(_add_foreign_key_call(want.name, key), _drop_foreign_key_call(want.name, key))


# Keys and indexes are named by their columns in the generated calls, never by the database's
# names: those differ per backend (ag_posts_ibfk_1, ag_posts_user_id_fkey, SQLite keeps none),
# and a revision made on one database may run on another.

def _add_foreign_key_call(table: str, key: ForeignKeySide) -> OpCall:
    kwargs = (('on_delete', key.on_delete),) if key.on_delete is not None else ()
    return OpCall('add_foreign_key', (table, list(key.columns), key.ref_table, list(key.ref_columns)), kwargs)


def _drop_foreign_key_call(table: str, key: ForeignKeySide) -> OpCall:
    return OpCall('drop_foreign_key', (table,), (('columns', list(key.columns)),))


def _create_index_call(table: str, columns: tuple[str, ...], unique: bool) -> OpCall:
    return OpCall('create_index', (table, list(columns)), (('unique', True),) if unique else ())


def _drop_index_call(table: str, columns: tuple[str, ...]) -> OpCall:
    return OpCall('drop_index', (table, list(columns)))


def _implicit_index(have: TableSide, columns: tuple[str, ...], unique: bool, backend: Any) -> bool:
    """An index the database made by itself for a foreign key (MySQL/MariaDB), not one to drop."""
    if unique or not getattr(backend.dialect, 'introspect_foreign_key_indexes', False):
        return False
    return any(key.columns == columns for key in have.foreign_keys)


def _drop_indexes(changes: Changes, have: TableSide, want: TableSide, backend: Any) -> None:
    for columns, unique in have.indexes:
        if (columns, unique) in want.indexes or _implicit_index(have, columns, unique, backend):
            continue
        changes.add(_drop_index_call(have.name, columns), _create_index_call(have.name, columns, unique))


def _create_indexes(changes: Changes, have: TableSide | None, want: TableSide) -> None:
    for columns, unique in want.indexes:
        if have is not None and (columns, unique) in have.indexes:
            continue
        changes.add(_create_index_call(want.name, columns, unique), _drop_index_call(want.name, columns))


def _column_call(name: str, table: str, column: ColumnSide) -> OpCall:
    kwargs: list[tuple[str, Any]] = [('nullable', column.nullable)]
    if column.default_code is not None:
        kwargs.append(('default', Code(column.default_code)))
    return OpCall(name, (table, column.name, Code(column.type_code)), tuple(kwargs))


def _columns(changes: Changes, have: TableSide, want: TableSide) -> None:
    present = {column.name.lower(): column for column in have.columns}
    wanted = {column.name.lower(): column for column in want.columns}
    added = [column for key, column in wanted.items() if key not in present]
    removed = [column for key, column in present.items() if key not in wanted]
    hint = None
    if added and removed:
        hint = (f'{", ".join(c.name for c in removed)} dropped and {", ".join(c.name for c in added)} added: if '
                f'this is a rename, edit it into op.alter_column({want.name!r}, {removed[0].name!r}, '
                f'new_name={added[0].name!r}) (autogenerate never guesses a rename)')
    for column in added:
        call = _column_call('add_column', want.name, column)
        comment = hint
        if not column.nullable and column.default is None:
            comment = (comment + '\n' if comment else '') + (
                'NOT NULL without a default: fails if the table has rows (give the field a Column(default=...))')
        changes.add(OpCall(call.name, call.args, call.kwargs, comment),
                    OpCall('drop_column', (want.name, column.name)))
        hint = None
    for key, column in wanted.items():
        old = present.get(key)
        if old is not None:
            _alter(changes, want.name, old, column)
    for column in removed:
        changes.add(OpCall('drop_column', (have.name, column.name), (), hint),
                    _column_call('add_column', have.name, column))
        hint = None


def _alter(changes: Changes, table: str, old: ColumnSide, new: ColumnSide) -> None:
    up: list[tuple[str, Any]] = []
    down: list[tuple[str, Any]] = []
    generated = old.autoincrement or new.autoincrement
    if not generated and old.shape.differs(new.shape):
        up.append(('type', Code(new.type_code)))
        down.append(('type', Code(old.type_code)))
    comment = None
    if not (old.primary_key or new.primary_key) and old.nullable != new.nullable:
        up.append(('nullable', new.nullable))
        down.append(('nullable', old.nullable))
        if not new.nullable and new.default is None:
            comment = 'NOT NULL without a default: fails while a row has NULL here (update those rows first)'
    if not generated and old.default != new.default:
        up.append(('default', Code(new.default_code) if new.default_code is not None else None))
        down.append(('default', Code(old.default_code) if old.default_code is not None else None))
    if up:
        changes.add(OpCall('alter_column', (table, new.name), tuple(up), comment),
                    OpCall('alter_column', (table, old.name), tuple(down)))


def _create_table_call(table: TableSide, inline: list[ForeignKeySide]) -> OpCall:
    """op.create_table(name, (column, type, {options}), ..., primary_key=[...] for a composite key);
    `inline`: single-column foreign keys given as the columns' `references` option."""
    columns: list[Any] = []
    composite = len(table.primary_key) > 1
    references = {key.columns[0]: key for key in inline if len(key.columns) == 1}
    for column in table.columns:
        options: list[str] = []
        if column.nullable and not column.primary_key:
            options.append("'nullable': True")
        else:
            options.append("'nullable': False")
        if column.primary_key and not composite:
            options.append("'primary_key': True")
        if column.autoincrement:
            options.append("'autoincrement': True")
        if column.default_code is not None:
            options.append(f"'default': {column.default_code}")
        key = references.get(column.name.lower())
        if key is not None:
            options.append(f"'references': {key.ref_table + '.' + key.ref_columns[0]!r}")
            if key.on_delete is not None:
                options.append(f"'on_delete': {key.on_delete!r}")
        columns.append(Code(f'({column.name!r}, {column.type_code}, {{{", ".join(options)}}})'))
    kwargs = (('primary_key', list(table.primary_key)),) if composite else ()
    return OpCall('create_table', (table.name, *columns), kwargs)


def _drop_table(changes: Changes, table: TableSide, hint: str | None, origin: str) -> None:
    comment = (f'no model in {origin} has this table: its rows go with it (to keep such tables, '
               f'leave them out with --exclude PATTERN or --include PATTERN)') + (f'; {hint}' if hint else '')
    changes.add(OpCall('drop_table', (table.name,), (), comment), None)
    # down: the table, its indexes and foreign keys again (in the reverse order of `down`)
    for columns, unique in table.indexes:
        changes.down.insert(0, _create_index_call(table.name, columns, unique))
    for key in table.foreign_keys:
        if len(key.columns) > 1:
            changes.down.insert(0, _add_foreign_key_call(table.name, key))
    changes.down.insert(0, _create_table_call(table, table.foreign_keys))


def _drop_order(dropped: list[str], existing: dict[str, TableSide]) -> list[str]:
    """Tables to drop, each after every dropped table that references it."""
    order: list[str] = []
    waiting = list(dropped)
    while waiting:
        for name in waiting:
            referenced_by_waiting = any(key.ref_table == name for other in waiting if other != name
                                        for key in existing[other].foreign_keys)
            if not referenced_by_waiting:
                break
        else:
            name = waiting[0]   # a cycle: its keys go with the first table dropped
        order.append(name)
        waiting.remove(name)
    return order


# -- models and revision files --------------------------------------------------------------

def models_in(modules: Sequence[str]) -> list[Model]:
    """Every ActiveRecord subclass with a table defined in the named modules (or their submodules)."""
    found: dict[Model, None] = {}
    for module_name in modules:
        module = importlib.import_module(module_name)
        for value in list(vars(module).values()):
            if not isinstance(value, type) or not issubclass(value, ActiveRecord) or value is ActiveRecord:
                continue
            model: Model = value
            home = model.__module__
            if model.__dict__.get('__abstract__') or not (home == module_name or home.startswith(module_name + '.')):
                continue
            found[model] = None
    return list(found)


def render_revision(changes: Changes, revision: str, down_revision: str | None, message: str) -> str:
    """The source of a revision file with `up(op)` and `down(op)`."""
    calls = ['def up(op):', *_lines(changes.up), '', '', 'def down(op):', *_lines(changes.down)]
    imports = _imports_for('\n'.join(calls))
    title = (message.strip() or revision).replace('\\', '\\\\').replace('"""', '\\"\\"\\"')
    header = f'"""{title}\n\nGenerated by `python -m activerecord migrate make`; review it before applying.\n"""'
    body = [header, 'from __future__ import annotations', '']
    if imports:
        body += [imports, '']
    body += ['', f'revision = {revision!r}', f'down_revision = {down_revision!r}', '', '',
             *calls]
    return '\n'.join(body) + '\n'


def _lines(calls: list[OpCall]) -> list[str]:
    lines: list[str] = []
    for call in calls:
        if call.comment:
            lines += ['    # ' + line for line in call.comment.splitlines()]
        lines.append('    ' + call.source('    '))
    return lines or ['    pass']


def slug(message: str) -> str:
    """'Add colour!' -> 'add_colour' (a revision id's readable part)."""
    words = re.findall(r'[a-z0-9]+', message.lower())
    return '_'.join(words)[:40].strip('_') or 'migration'


def table_filter(include: Sequence[str] = (), exclude: Sequence[str] = ()) -> Callable[[str], bool] | None:
    """`include_table` for compare/make from fnmatch patterns over table names (case-insensitive):
    a table no model has is dropped only when it matches an `include` pattern (any table when none
    is given) and no `exclude` pattern. None when no pattern is given (every such table)."""
    if not include and not exclude:
        return None
    wanted = [pattern.lower() for pattern in include]
    unwanted = [pattern.lower() for pattern in exclude]

    def include_table(name: str) -> bool:
        lowered = name.lower()
        return ((not wanted or any(fnmatch.fnmatchcase(lowered, pattern) for pattern in wanted))
                and not any(fnmatch.fnmatchcase(lowered, pattern) for pattern in unwanted))
    return include_table


def make(message: str, models: Sequence[Model], backend: Any, directory: str | Path,
         include_table: Callable[[str], bool] | None = None, origin: str = 'the models given') -> Path | None:
    """Write the revision that brings the database to the models; None when nothing differs.

    `include_table` and `origin` as for compare().

    MigrationError when the folder has revisions the database has not applied: the comparison
    would repeat their changes (`migrate up` first).
    """
    folder = Path(directory)
    chain = build_chain(load_revisions(folder)) if folder.is_dir() else []
    if chain:
        with Migrator(backend, folder) as migrator:
            applied = migrator.history()
        pending = [item.revision for item in chain if item.revision not in applied]
        if pending:
            raise MigrationError(f'revision(s) {", ".join(pending)} of {str(folder)!r} are not applied to this '
                                 'database; run `migrate up` before `migrate make`')
    changes = compare(models, backend, include_table, origin)
    if not changes:
        return None
    # after the highest numbered file, so that the folder lists the revisions in their order
    numbers = [int(match.group(1)) for path in folder.glob('*.py') if (match := re.match(r'(\d+)_', path.name))]
    revision = f'{max(numbers + [len(chain)]) + 1:04d}_{slug(message)}'
    path = folder / f'{revision}.py'
    if path.exists():
        raise FileExistsError(f'{path} exists already; remove it or choose another message')
    source = render_revision(changes, revision, chain[-1].revision if chain else None, message)
    folder.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix('.tmp')
    temporary.write_text(source, encoding='utf-8')
    temporary.replace(path)   # never a half-written revision the migrator would load
    return path


#: scrub(text, password, url) -> text without the password (activerecord/cli.py's)
Scrub = Callable[[str, 'str | None', str], str]

EXIT_OK = 0
EXIT_FAILED = 1       # the database could not be reached
EXIT_BAD_INPUT = 2    # the URL, the models or the revision folder are wrong


def run_make(message: str, modules: Sequence[str], url: str, directory: str, out: TextIO, err: TextIO,
             scrub: Scrub, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> int:
    """`migrate make`: write the autogenerated revision (or say there is nothing to do); the exit status."""
    try:
        backend = backend_for_url(url)
    except (ConfigurationError, ImportError) as error:
        err.write(f'error: {scrub(str(error), None, url)}\n')
        return EXIT_BAD_INPUT
    password = backend.config.password
    try:
        try:
            models = models_in(modules)
        except Exception as error:   # the user's module failed to import: say which and why
            err.write(f'error: cannot import the models module(s) {", ".join(modules)}: '
                      f'{type(error).__name__}: {scrub(str(error), password, url)}\n')
            return EXIT_BAD_INPUT
        if not models:
            err.write(f'error: no ActiveRecord model with a table in {", ".join(modules)}\n')
            return EXIT_BAD_INPUT
        try:
            path = make(message, models, backend, directory, table_filter(include, exclude),
                        f'--models {" ".join(modules)}')
        except (MigrationError, ConfigurationError, FileExistsError) as error:
            err.write(f'error: {scrub(str(error), password, url)}\n')
            return EXIT_BAD_INPUT
        except ActiveRecordError as error:
            err.write(f'error: {scrub(database_error(backend, error), password, url)}\n')
            return EXIT_FAILED
    finally:
        backend.close()
    if path is None:
        out.write(f'nothing to do: the database matches the {len(models)} model(s); no revision written\n')
    else:
        out.write(f'wrote {path}\n')
    return EXIT_OK


__all__ = ['Changes', 'Code', 'OpCall', 'compare', 'database_table', 'make', 'model_table', 'models_in',
           'render_revision', 'run_make', 'slug', 'table_filter']
