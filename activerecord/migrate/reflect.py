"""`reflect`: model source for tables that already exist, read through `backend.schema`.

Each table becomes an `ActiveRecord` class with its `__table_name__`, fields typed from the
columns (`X | None = None` for a nullable column), `Column(...)` for keys, unique and indexed
columns, database defaults and single-column foreign keys, `__primary_key__` for a composite
key, `__indexes__` for indexes over several columns, and `BelongsTo` / `HasMany` relations from
the foreign keys between the reflected tables. The source is written so that `migrate make`
against the same database finds nothing to do: every type is spelled the way the model layer
turns it back into the same column type (kind and size), which is what autogenerate compares.

The database-to-Python helpers here (`type_shape`, `type_source`, `normal_default`,
`default_source`) are shared with autogenerate, which compares through them and needs them for
the `down` side of a drop.
"""
from __future__ import annotations

import decimal
import keyword
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, TextIO

from ..backend.registry import backend_for_url
from ..backend.schema import ColumnInfo, ForeignKeyInfo, IndexInfo, kind_of_sql_type
from ..errors import ActiveRecordError, ConfigurationError
from ..model import ActiveRecord
from .migrator import HISTORY_TABLE

#: kinds whose column the database may read back under another kind than the DDL that made it
#: (MariaDB keeps JSON as LONGTEXT with a CHECK constraint): compared as the second kind
SAME_STORAGE: dict[str, str] = {'json': 'str'}

#: the kind of a column declared without a type (SQLite: any value, no affinity); reflected as
#: `str` and compared equal to whatever a model declares
UNTYPED = 'untyped'

_SIZE = re.compile(r'\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)')
_TIMEZONE = re.compile(r'with time zone|timestamptz')


@dataclass(frozen=True)
class TypeShape:
    """What autogenerate compares of a column type: portable kind plus the sizes that matter.

    `length` is a bounded string's (or sized binary's) length, `precision`/`scale` a decimal's;
    `sized` is False when a bounded type is spelled without its size (information_schema's bare
    `character varying`): an unknown size is never reported as a change.
    """

    kind: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    timezone: bool = False
    sized: bool = True
    item: str | None = None   # an array's item type (PostgreSQL 'text[]' -> 'text')

    def differs(self, other: TypeShape) -> bool:
        """Whether a column of this shape has to change to become `other` (unknown sizes match)."""
        if UNTYPED in (self.kind, other.kind):
            return False   # a column of no type (SQLite) holds any value: nothing to change for a model
        if SAME_STORAGE.get(self.kind, self.kind) != SAME_STORAGE.get(other.kind, other.kind):
            return True
        if self.timezone != other.timezone:
            return True
        if not (self.sized and other.sized):
            return False
        return (self.length, self.precision, self.scale) != (other.length, other.precision, other.scale)


def type_shape(sql_type: str) -> TypeShape:
    """The shape of a column type as written in DDL or as the database reads it back."""
    text = ' '.join(sql_type.lower().split())
    if not text:
        return TypeShape(UNTYPED)
    kind = kind_of_sql_type(text)
    size = _SIZE.search(text)
    first = int(size.group(1)) if size else None
    second = int(size.group(2)) if size and size.group(2) else None
    timezone = bool(_TIMEZONE.search(text))
    if kind == 'str':
        bounded = 'char' in text.split('(')[0] and 'text' not in text
        if not bounded:
            return TypeShape('str')
        return TypeShape('str', length=first, sized=size is not None)
    if kind == 'bytes':
        bounded = 'varbinary' in text or text.startswith('binary')
        return TypeShape('bytes', length=first if bounded else None, sized=size is not None or not bounded)
    if kind == 'decimal' and 'money' not in text:
        # NUMERIC without a precision is the unbounded decimal (not an unknown size)
        return TypeShape('decimal', precision=first, scale=(second or 0) if first is not None else None)
    if kind == 'list':
        item = text[:-2] if text.endswith('[]') else None
        return TypeShape('list', item=item)
    return TypeShape(kind, timezone=timezone and kind == 'datetime')


# -- defaults -------------------------------------------------------------------------------

_CAST = re.compile(r"::[a-z_][a-z0-9_ ]*(\(\d+(,\s*\d+)?\))?(\[\])?$", re.IGNORECASE)
_NOW = re.compile(r'^(current_timestamp|now|localtimestamp|getdate|sysdate)(\(\d*\))?$', re.IGNORECASE)


@dataclass(frozen=True)
class DefaultValue:
    """A database default read as autogenerate compares it: ('str' | 'num' | 'expr', text)."""

    form: str
    text: str


def normal_default(sql: str | None) -> DefaultValue | None:
    """A default's SQL text in one form for every backend (None: no default, or DEFAULT NULL).

    Applied to both sides of a comparison: the model's default as its dialect writes it in DDL
    and the database's (already in `backend.schema`'s normal form, which this reads as well), and
    parsed into a form `default_source` can write back as Python.

    PostgreSQL's casts (`'red'::character varying`), parentheses, MariaDB's `NULL` for "no
    default", boolean spellings (TRUE/true/1) and numbers written with trailing zeros all come
    to the same value; `CURRENT_TIMESTAMP`, `now()` and `current_timestamp(6)` are one expression.
    """
    if sql is None:
        return None
    text = sql.strip()
    for _ in range(4):
        stripped = _CAST.sub('', text).strip()
        if stripped.startswith('(') and stripped.endswith(')') and _balanced(stripped[1:-1]):
            stripped = stripped[1:-1].strip()
        if stripped == text:
            break
        text = stripped
    if not text or text.upper() == 'NULL':
        return None
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'" and "'" not in text[1:-1].replace("''", ''):
        value = text[1:-1].replace("''", "'")
        number = _number(value)
        return DefaultValue('num', number) if number is not None else DefaultValue('str', value)
    lowered = text.lower()
    if lowered in ('true', 'false'):
        return DefaultValue('num', '1' if lowered == 'true' else '0')
    number = _number(text)
    if number is not None:
        return DefaultValue('num', number)
    if _NOW.match(text):
        return DefaultValue('expr', 'current_timestamp')
    return DefaultValue('expr', ' '.join(lowered.split()))


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += 1 if char == '(' else -1 if char == ')' else 0
        if depth < 0:
            return False
    return depth == 0


def _number(text: str) -> str | None:
    try:
        number = decimal.Decimal(text.strip())
    except decimal.InvalidOperation:
        return None
    if not number.is_finite():
        return None
    normal = number.normalize()
    # 1E+1 -> 10: the same number whatever the exponent form
    return format(normal, 'f')


def default_source(default: DefaultValue, shape: TypeShape, original: str) -> str:
    """Python source of a default for `Column(default=...)` / an operation (raw() for an expression)."""
    if default.form == 'str' or (default.form == 'num' and shape.kind == 'str'):
        return repr(default.text)
    if default.form == 'num':
        if shape.kind == 'bool':
            return 'True' if default.text != '0' else 'False'
        if shape.kind == 'decimal':
            return f'Decimal({default.text!r})'
        if shape.kind == 'float':
            return repr(float(default.text))
        if '.' not in default.text:
            return default.text
        return f'Decimal({default.text!r})'
    text = original.strip()
    text = _CAST.sub('', text).strip()
    return f'raw({text!r})'


# -- types ----------------------------------------------------------------------------------

@dataclass
class Imports:
    """The imports a piece of generated source needs (printed once, sorted)."""

    lines: set[str] = field(default_factory=set[str])

    def need(self, line: str) -> None:
        """Record one import line."""
        self.lines.add(line)

    def render(self) -> str:
        """The import block (`from m import a, b` once per module)."""
        plain = sorted(line for line in self.lines if line.startswith('import '))
        names: dict[str, set[str]] = {}
        for line in self.lines:
            if line.startswith('from '):
                module, _, name = line[len('from '):].partition(' import ')
                names.setdefault(module, set()).add(name)
        froms = [f'from {module} import {", ".join(sorted(found))}' for module, found in sorted(names.items())]
        return '\n'.join(plain + froms)


_ITEM_TYPES = {'int': 'int', 'str': 'str', 'float': 'float', 'bool': 'bool', 'decimal': 'Decimal'}


def type_source(shape: TypeShape, imports: Imports, naive_datetime: bool = False) -> str:
    """Python type source for a column of this shape (without `| None`).

    `naive_datetime`: a datetime column without a time zone on a database whose model datetimes
    have one (PostgreSQL's TIMESTAMP next to TIMESTAMPTZ) is a pydantic NaiveDatetime.
    """
    base, metadata = type_parts(shape, imports, naive_datetime)
    if not metadata:
        return base
    imports.need('from typing import Annotated')
    return f'Annotated[{base}, {", ".join(metadata)}]'


def type_parts(shape: TypeShape, imports: Imports, naive_datetime: bool = False) -> tuple[str, list[str]]:
    """The base type and the Annotated metadata (`Field(max_length=...)`) of a column's type.

    Kept apart so that a nullable field is `Annotated[str | None, Field(...)]`: the model layer
    reads a size from the field's own metadata, not from an Annotated nested in `X | None`.
    """
    kind = shape.kind
    if kind in ('str', 'bytes'):
        if shape.length is not None:
            imports.need('from pydantic import Field')
            return kind, [f'Field(max_length={shape.length})']
        return kind, []
    if kind == 'decimal':
        imports.need('from decimal import Decimal')
        if shape.precision is not None:
            imports.need('from pydantic import Field')
            return 'Decimal', [f'Field(max_digits={shape.precision}, decimal_places={shape.scale or 0})']
        return 'Decimal', []
    return _plain_type(shape, imports, naive_datetime), []


def _plain_type(shape: TypeShape, imports: Imports, naive_datetime: bool) -> str:
    kind = shape.kind
    if kind == 'datetime':
        if naive_datetime and not shape.timezone:
            imports.need('from pydantic import NaiveDatetime')
            return 'NaiveDatetime'
        imports.need('import datetime')
        return 'datetime.datetime'
    if kind in ('date', 'time', 'timedelta'):
        imports.need('import datetime')
        return f'datetime.{kind}'
    if kind == 'uuid':
        imports.need('import uuid')
        return 'uuid.UUID'
    if kind == 'json':
        imports.need('from typing import Any')
        return 'dict[str, Any]'
    if kind == 'list':
        item = _ITEM_TYPES.get(kind_of_sql_type(shape.item or 'text'), 'str')
        if item == 'Decimal':
            imports.need('from decimal import Decimal')
        return f'list[{item}]'
    if kind in ('int', 'bool', 'float'):
        return kind
    return 'str'   # a type no rule knows ('other'): text is what the driver hands back


def naive_datetimes(dialect: Any) -> bool:
    """Whether this database's model datetimes carry a time zone, so a column without one is naive."""
    template: str = dialect.type_map.column_types.get('datetime', '')
    return bool(_TIMEZONE.search(template.lower()))


# -- reflecting tables ----------------------------------------------------------------------

@dataclass
class TableFacts:
    """What the database says about one table."""

    name: str
    columns: list[ColumnInfo]
    indexes: list[IndexInfo]
    foreign_keys: list[ForeignKeyInfo]
    #: indexes over an expression or partial (WHERE ...): no model declares them; named in a comment
    unlisted: list[IndexInfo] = field(default_factory=list[IndexInfo])


def read_tables(schema: Any, tables: Sequence[str] | None = None) -> list[TableFacts]:
    """Columns, indexes and foreign keys of the named tables (default: every table), by name."""
    existing = schema.tables()
    if tables is None:
        names = [name for name in existing if name.lower() != HISTORY_TABLE]
    else:
        known = {name.lower(): name for name in existing}
        missing = [name for name in tables if name.lower() not in known]
        if missing:
            raise LookupError(f'no table {", ".join(repr(name) for name in missing)} in the database '
                              f'(it has: {", ".join(existing) or "no tables"})')
        names = [known[name.lower()] for name in tables]
    return [TableFacts(name, schema.columns(name), schema.indexes(name), schema.foreign_keys(name),
                       schema.expression_indexes(name))
            for name in sorted(names)]


def class_name(table: str) -> str:
    """'blog_posts' -> 'BlogPost', 'categories' -> 'Category' (a guess; __table_name__ is explicit)."""
    bare = table.rsplit('.', 1)[-1]
    words = [word for word in re.split(r'[^0-9a-zA-Z]+', bare) if word]
    if words:
        last = words[-1]
        if last.lower().endswith('ies') and len(last) > 3:
            last = last[:-3] + 'y'
        elif last.lower().endswith(('sses', 'xes', 'ches', 'shes')):
            last = last[:-2]
        elif last.lower().endswith('s') and not last.lower().endswith(('ss', 'us', 'is')) and len(last) > 1:
            last = last[:-1]
        words[-1] = last
    name = ''.join(word[:1].upper() + word[1:] for word in words) or 'Table'
    if not name.isidentifier() or name[0].isdigit():
        name = 'T' + name
    # a table named `columns` must not hide the Column the generated source imports
    return name + 'Model' if name in _IMPORTED_NAMES else name


#: names the generated module imports
_IMPORTED_NAMES = frozenset({'ActiveRecord', 'Column', 'Field', 'Annotated', 'Any', 'ClassVar', 'BelongsTo',
                             'HasMany', 'Decimal', 'NaiveDatetime', 'raw', 'datetime', 'uuid'})


def field_name(column: str, taken: set[str]) -> str:
    """A field name for a column: itself when Python and ActiveRecord allow it, else a safe spelling."""
    name = re.sub(r'\W', '_', column)
    if not name or name[0].isdigit() or name.startswith('_'):
        name = 'f_' + name.lstrip('_')
    if keyword.iskeyword(name) or hasattr(ActiveRecord, name) or name in _RESERVED:
        name += '_'
    while name in taken:
        name += '_'
    return name


#: names pydantic or the model layer keep for themselves beyond ActiveRecord's attributes
_RESERVED = frozenset({'model_config', 'model_fields', 'c'})


def model_source(schema: Any, dialect: Any, tables: Sequence[str] | None = None) -> str:
    """A Python module with one ActiveRecord class per table (see the module docstring)."""
    facts = read_tables(schema, tables)
    imports = Imports()
    imports.need('from activerecord import ActiveRecord')
    naive = naive_datetimes(dialect)
    classes = {table.name.lower(): class_name(table.name) for table in facts}
    _unique_names(classes)
    fields = {table.name.lower(): _field_names(table) for table in facts}
    relations = _relations(facts, classes, fields)
    implicit = bool(getattr(dialect, 'introspect_foreign_key_indexes', False))
    bodies = [_class_source(table, classes, fields[table.name.lower()], relations.get(table.name.lower(), []),
                            imports, naive, implicit)
              for table in facts]
    header = ('"""Models reflected from the database by `python -m activerecord reflect`.\n\n'
              'Check the guesses (class names, relation names, str | None vs a default) before use.\n"""')
    return header + '\n' + 'from __future__ import annotations\n\n' + imports.render() + '\n\n\n' + \
        '\n\n\n'.join(bodies) + '\n'


def _unique_names(classes: dict[str, str]) -> None:
    seen: dict[str, int] = {}
    for table, name in sorted(classes.items()):
        count = seen.get(name, 0)
        seen[name] = count + 1
        if count:
            classes[table] = f'{name}{count + 1}'


def _field_names(table: TableFacts) -> dict[str, str]:
    """column -> its field's name in the reflected class."""
    taken: set[str] = set()
    names: dict[str, str] = {}
    for column in table.columns:
        names[column.name] = field_name(column.name, taken)
        taken.add(names[column.name])
    return names


def _relations(facts: list[TableFacts], classes: dict[str, str],
               fields: dict[str, dict[str, str]]) -> dict[str, list[tuple[str, str, str]]]:
    """table -> [(kind 'BelongsTo' | 'HasMany', target class, foreign key field)]."""
    found: dict[str, list[tuple[str, str, str]]] = {}
    keys = {table.name.lower(): [column.name.lower() for column in table.columns if column.primary_key]
            for table in facts}
    for table in facts:
        for key in table.foreign_keys:
            target = classes.get(key.ref_table.lower())
            # a relation loads its target by primary key: a key to another column stays a plain field
            if target is None or len(key.columns) != 1 or keys[key.ref_table.lower()] != [key.ref_columns[0].lower()]:
                continue
            field = fields[table.name.lower()].get(key.columns[0], key.columns[0])
            found.setdefault(table.name.lower(), []).append(('BelongsTo', target, field))
            found.setdefault(key.ref_table.lower(), []).append(('HasMany', classes[table.name.lower()], field))
    return found


def _class_source(table: TableFacts, classes: dict[str, str], names: dict[str, str],
                  relations: list[tuple[str, str, str]], imports: Imports, naive: bool,
                  implicit_key_indexes: bool) -> str:
    lines = [f'class {classes[table.name.lower()]}(ActiveRecord):', f'    __table_name__ = {table.name!r}']
    keys = [column.name for column in table.columns if column.primary_key]
    foreign = {key.columns[0].lower(): key for key in table.foreign_keys if len(key.columns) == 1}
    taken = set(names.values())
    key_columns = {key.lower() for key in keys}
    if len(keys) > 1:
        lines.append(f'    __primary_key__ = {tuple(names[key] for key in keys)!r}')
    elif not keys:
        stand_in, key_lines = _stand_in_key(table, names)
        lines.extend(key_lines)
        key_columns = {column.lower() for column in stand_in.columns} if stand_in is not None else set[str]()
    # the index InnoDB makes for a foreign key is not declared: the model's key makes it again
    implicit: set[tuple[str, ...]] = {key.columns for key in table.foreign_keys} if implicit_key_indexes else set()
    indexes = [index for index in table.indexes if index.unique or index.columns not in implicit]
    # an index on a key column goes in __indexes__: a key field's Column(unique=True) makes none
    single_columns = {index.columns[0].lower(): index for index in indexes
                      if len(index.columns) == 1 and index.columns[0].lower() not in key_columns}
    multi = [index for index in indexes if index not in single_columns.values()]
    for column in table.columns:
        lines.append('    ' + _field_source(column, names[column.name], keys, single_columns.get(column.name.lower()),
                                            foreign.get(column.name.lower()), imports, naive))
    by_column = {column.name.lower(): names[column.name] for column in table.columns}
    if multi:
        entries: list[str] = []
        for index in multi:
            fields = [by_column.get(column.lower(), column) for column in index.columns]
            entries.append(repr({'fields': fields, 'unique': True}) if index.unique else repr(fields))
        lines.append(f'    __indexes__ = [{", ".join(entries)}]')
    lines.extend(_relation_lines(relations, taken, imports))
    skipped = [key for key in table.foreign_keys if len(key.columns) != 1]
    for key in skipped:
        lines.append(f'    # composite foreign key ({", ".join(key.columns)}) -> {key.ref_table} '
                     f'({", ".join(key.ref_columns)}): models declare single-column keys only')
    for index in table.unlisted:
        lines.append(f'    # {"unique " if index.unique else ""}index {index.name!r} is over an expression or '
                     'partial (WHERE ...): models cannot declare it and `make` does not compare it; '
                     'keep it in a migration (op.execute)')
    return '\n'.join(lines)


def _field_source(column: ColumnInfo, name: str, keys: list[str], index: IndexInfo | None,
                  key: ForeignKeyInfo | None, imports: Imports, naive: bool) -> str:
    shape = type_shape(column.sql_type)
    base, metadata = type_parts(shape, imports, naive)
    options: list[str] = []
    primary = column.primary_key
    if name != column.name:
        options.append(f'name={column.name!r}')
    if primary and (len(keys) == 1 and (column.name != 'id' or not column.autoincrement)):
        options.append('primary_key=True')
    if primary and len(keys) == 1 and shape.kind == 'int' and not column.autoincrement:
        options.append('autoincrement=False')
    if index is not None and not primary:
        options.append('unique=True' if index.unique else 'index=True')
    default = None if column.autoincrement else normal_default(column.default)
    default_text: str | None = None
    if default is not None:
        default_text = default_source(default, shape, column.default or '')
        if default_text.startswith('raw('):
            imports.need('from activerecord import raw')
        if default_text.startswith('Decimal('):
            imports.need('from decimal import Decimal')
        options.append(f'default={default_text}')
    if key is not None:
        options.append(f'references={key.ref_table + "." + key.ref_columns[0]!r}')
        on_delete = normal_on_delete(key.on_delete)
        if on_delete is not None:
            options.append(f'on_delete={on_delete!r}')
    if options:
        imports.need('from activerecord import Column')
        metadata.append(f'Column({", ".join(options)})')
    generated = primary and column.autoincrement and len(keys) == 1
    # an autoincrement key is filled in on save: `int | None = None` is its typed spelling
    optional = column.nullable and not primary or generated
    if optional:
        base += ' | None'
    annotation = base
    if metadata:
        imports.need('from typing import Annotated')
        annotation = f'Annotated[{base}, {", ".join(metadata)}]'
    literal = default is not None and not default_text_is_expression(default_text)
    if literal:
        # the value a new record starts with, as the database would have filled it in
        return f'{name}: {annotation} = {default_text}'
    if optional:
        return f'{name}: {annotation} = None'
    return f'{name}: {annotation}'


def _stand_in_key(table: TableFacts, names: dict[str, str]) -> tuple[IndexInfo | None, list[str]]:
    """`__primary_key__` for a table without one: a unique index over NOT NULL columns (returned
    with the lines), else every column."""
    nullable = {column.name.lower() for column in table.columns if column.nullable}
    unique = next((index for index in table.indexes
                   if index.unique and not any(column.lower() in nullable for column in index.columns)), None)
    if unique is not None:
        by_lower = {column.lower(): field for column, field in names.items()}
        key = tuple(by_lower[column.lower()] for column in unique.columns)
        return unique, [f'    # no primary key: the unique index {unique.name} stands in for it (a model needs one)',
                        f'    __primary_key__ = {key!r}']
    return None, ['    # no primary key and no unique NOT NULL columns: every column stands in for one; give the',
                  '    # table a key before updating or deleting records through this model',
                  f'    __primary_key__ = {tuple(names.values())!r}']


def default_text_is_expression(text: str | None) -> bool:
    """Whether a default's source is a raw() SQL expression (not a value pydantic can hold)."""
    return text is not None and text.startswith('raw(')


def normal_on_delete(action: str | None) -> str | None:
    """ON DELETE as compared: NO ACTION and RESTRICT are the database's behaviour without one (None)."""
    if action is None:
        return None
    text = ' '.join(action.upper().split())
    return None if text in ('NO ACTION', 'RESTRICT') else text


def _relation_lines(relations: list[tuple[str, str, str]], taken: set[str], imports: Imports) -> list[str]:
    lines: list[str] = []
    for kind, target, column in relations:
        if kind == 'BelongsTo':
            base = column[:-3] if column.lower().endswith('_id') and len(column) > 3 else column + '_record'
        else:
            base = _plural_name(target)
        if base in taken or field_name(base, set()) != base:
            base = f'{base}_by_{column}'   # two keys to one table, or a name a field has
        name = field_name(base, taken)
        taken.add(name)
        imports.need('from typing import ClassVar')
        imports.need(f'from activerecord.relation import {kind}')
        lines.append(f"    {name}: ClassVar[{kind}['{target}']] = {kind}(foreign_key={column!r})")
    return lines


def _plural_name(class_name_: str) -> str:
    snake = re.sub(r'(?<=[a-z0-9])(?=[A-Z])', '_', class_name_).lower()
    if snake.endswith('y') and len(snake) > 1 and snake[-2] not in 'aeiou':
        return snake[:-1] + 'ies'
    if snake.endswith(('s', 'x', 'z', 'ch', 'sh')):
        return snake + 'es'
    return snake + 's'


#: scrub(text, password, url) -> text without the password (activerecord/cli.py's)
Scrub = Callable[[str, 'str | None', str], str]


def database_error(backend: Any, error: ActiveRecordError) -> str:
    """One line naming where the database was and what went wrong (as `check` says it)."""
    text = str(error)
    return text if text.startswith('cannot connect to') else f'{backend.name} at {backend.where()}: {text}'


def run_reflect(url: str, tables: str | None, out: TextIO, err: TextIO, scrub: Scrub) -> int:
    """`reflect`: print model source for the database's tables (all, or `tables`: 'a,b'); the exit status."""
    try:
        backend = backend_for_url(url)
    except (ConfigurationError, ImportError) as error:
        err.write(f'error: {scrub(str(error), None, url)}\n')
        return 2
    names = [name.strip() for name in tables.split(',') if name.strip()] if tables is not None else None
    try:
        source = model_source(backend.schema, backend.dialect, names)
    except LookupError as error:
        err.write(f'error: {scrub(str(error), backend.config.password, url)}\n')
        return 2
    except ActiveRecordError as error:
        err.write(f'error: {scrub(database_error(backend, error), backend.config.password, url)}\n')
        return 1
    finally:
        backend.close()
    out.write(source)
    return 0


__all__ = ['DefaultValue', 'Imports', 'SAME_STORAGE', 'TableFacts', 'TypeShape', 'class_name', 'database_error',
           'default_source', 'field_name', 'model_source', 'naive_datetimes', 'normal_default', 'normal_on_delete',
           'read_tables', 'run_reflect', 'type_parts', 'type_shape', 'type_source']
