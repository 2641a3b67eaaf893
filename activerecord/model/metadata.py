"""ModelMeta / FieldMeta: what the other layers know about a model, built once per class."""
from __future__ import annotations

import datetime
import enum
import re
import types
import typing
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Literal

import annotated_types
import pydantic

from ..backend.base import StorageBackend
from ..backend.dialect import Dialect
from ..backend.types import ColumnSpec, Converter, TypeMap, type_of
from ..errors import ConfigurationError
from ..query import Query
from .column import UNSET, Column


class FieldMeta:
    """One model field that is a column: its name, column, type spec and converters."""

    __slots__ = ('name', 'column', 'spec', 'nullable', 'primary_key', 'python_type', 'column_info',
                 'unique', 'index', 'autoincrement', 'mutable', 'db_generated',
                 '_to_db', '_from_db', '_to_db_safe', '_from_db_safe')

    def __init__(self, name: str, column: str, spec: ColumnSpec, *, primary_key: bool,
                 column_info: Column | None) -> None:
        self.name = name
        self.column = column
        self.spec = spec
        self.python_type = spec.python_type
        self.primary_key = primary_key
        self.nullable = spec.nullable and not primary_key
        self.column_info = column_info
        self.unique = bool(column_info and column_info.unique)
        self.index = bool(column_info and column_info.index)
        self.autoincrement = False
        # dict/list/set values can change in place: dirty tracking compares their JSON text
        self.mutable = spec.python_type in (dict, list) and spec.container not in (tuple, frozenset)
        # a default the database computes (an SQL expression): read back after INSERT
        self.db_generated = bool(column_info and column_info.has_default
                                 and hasattr(column_info.default, '__sql__'))
        # converters by Dialect.cache_key: a type map may depend on its dialect's settings, and
        # equal dialects (a fresh one per to_sql(dialect=...)) must not grow these caches
        self._to_db: dict[str, Converter | None] = {}
        self._from_db: dict[str, Converter | None] = {}
        self._to_db_safe: dict[str, Converter | None] = {}
        self._from_db_safe: dict[str, Converter | None] = {}

    def __repr__(self) -> str:
        return f'FieldMeta({self.name!r}, column={self.column!r}, type={_type_name(self.python_type)})'

    # Raw converters: never called with None (the model layer checks for None itself).

    def raw_to_db(self, dialect: Dialect) -> Converter | None:
        """The type map's converter to the driver value (not None-safe)."""
        try:
            return self._to_db[dialect.cache_key]
        except KeyError:
            converter = self._to_db[dialect.cache_key] = type_map_of(dialect).to_db(self.spec)
            return converter

    def raw_from_db(self, dialect: Dialect) -> Converter | None:
        """The type map's converter from the driver value (not None-safe)."""
        try:
            return self._from_db[dialect.cache_key]
        except KeyError:
            converter = self._from_db[dialect.cache_key] = type_map_of(dialect).from_db(self.spec)
            return converter

    def to_db_for(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """Converter of a Python value to what the driver binds (passes None through); None = as is."""
        try:
            return self._to_db_safe[dialect.cache_key]
        except KeyError:
            converter = self._to_db_safe[dialect.cache_key] = _none_safe(self.raw_to_db(dialect))
            return converter

    def from_db_for(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """Converter of a driver value to the Python value (passes None through); None = as is."""
        try:
            return self._from_db_safe[dialect.cache_key]
        except KeyError:
            converter = self._from_db_safe[dialect.cache_key] = _none_safe(self.raw_from_db(dialect))
            return converter


def _none_safe(converter: Converter | None) -> Callable[[Any], Any] | None:
    if converter is None:
        return None

    def convert(value: Any) -> Any:
        return None if value is None else converter(value)
    convert.__wrapped__ = converter  # type: ignore[attr-defined]
    return convert


def type_map_of(dialect: Dialect) -> TypeMap:
    """The dialect's type map (ConfigurationError when it has none)."""
    type_map = dialect.type_map
    if type_map is None:
        raise ConfigurationError(f'dialect {dialect.name} has no type map (set type_map_class)')
    return type_map


class ModelMeta:
    """Table, key and fields of one model class."""

    def __init__(self, model: type[ModelAttributes], table_name: str, primary_key: tuple[str, ...],
                 fields: dict[str, FieldMeta]) -> None:
        self.model = model
        self.table_name = table_name
        self.primary_key = primary_key
        self.fields = fields
        self.by_column = {meta.column: meta for meta in fields.values()}
        self.pk_fields = tuple(fields[name] for name in primary_key)
        key = self.pk_fields[0] if len(self.pk_fields) == 1 else None
        self.autoincrement = bool(
            key is not None and key.python_type is int
            and (key.column_info is None or key.column_info.options.get('autoincrement', True)))
        if key is not None and self.autoincrement:
            key.autoincrement = True
        self.mutable_fields = tuple(name for name, meta in fields.items() if meta.mutable)
        self.db_generated = tuple(name for name, meta in fields.items() if meta.db_generated)
        self.statements: dict[str, Any] = {}   # Dialect.cache_key -> model.statements.Statements

    def __repr__(self) -> str:
        return f'ModelMeta({self.model.__name__}, table={self.table_name!r}, primary_key={self.primary_key})'


#: model class -> its ModelMeta (filled by ActiveRecord.__meta__ on first use)
meta_cache: dict[type, ModelMeta] = {}


if TYPE_CHECKING:
    _PydanticModel = pydantic.BaseModel
else:
    _PydanticModel = object


class ModelAttributes(_PydanticModel):
    """The model mixins' common base, empty at run time: for type checkers, what ActiveRecord gives them.

    The mixins (state, CRUD, finders, bulk) are composed with pydantic's BaseModel into
    ActiveRecord in model/base.py, which they cannot import (it imports them). Checkers see this
    class as a BaseModel declaring ActiveRecord's class data and classmethods, so a mixin method's
    `cls` and `self` are typed as the model they end up in.
    """

    __slots__ = ()

    if TYPE_CHECKING:
        __meta__: ClassVar[ModelMeta]                      # ActiveRecordMeta.__meta__
        c: ClassVar[Any]                                   # ActiveRecordMeta.c (the ColumnNamespace)
        __default_scopes__: ClassVar[dict[str, Callable[[Any], Any]]]
        __timestamps__: ClassVar[tuple[str, ...] | None]
        __lock_field__: ClassVar[str | None]
        __soft_delete_field__: ClassVar[str | None]
        __db_filled__: ClassVar[tuple[str, ...]]

        @classmethod
        def backend(cls) -> StorageBackend: ...

        @classmethod
        def query(cls) -> Query[Any]: ...   # ActiveRecord's is Query[Self]

        def _ar_changed(self) -> list[str]: ...           # StateMixin (model/state.py)

        def _ar_fingerprint(self) -> dict[str, Any]: ...  # StateMixin (model/state.py)


# -- building -------------------------------------------------------------------------------

def build_meta(model: type[ModelAttributes]) -> ModelMeta:
    """Read table name, key and column specs from a pydantic model class."""
    # An inherited __table_name__ is the parent's table: a subclass gets its own default name.
    table_name = model.__dict__.get('__table_name__') or default_table_name(model.__name__)
    if not isinstance(table_name, str) or not table_name:
        raise ConfigurationError(f'{model.__name__}.__table_name__: {table_name!r} is not a table name')
    columns: dict[str, FieldMeta] = {}
    declared_keys = [name for name, info in model.model_fields.items()
                     if (column := _column_of(info)) is not None and column.primary_key]
    primary_key = primary_key_names(model, declared_keys)
    filled = {name for klass in model.__mro__ for name in klass.__dict__.get('__db_filled__', ())}
    for name, info in model.model_fields.items():
        column_info = _column_of(info)
        spec = column_spec(model, name, info, column_info)
        column_name = column_info.name if column_info is not None and column_info.name else name
        if column_name in (meta.column for meta in columns.values()):
            raise ConfigurationError(f'{model.__name__}.{name}: column name {column_name!r} is used twice')
        columns[name] = FieldMeta(name, column_name, spec, primary_key=name in primary_key,
                                  column_info=column_info)
        if name in filled:   # None only until the database fills it in: still NOT NULL
            columns[name].nullable = False
    columns = _table_order(model, columns, primary_key)
    missing = [name for name in primary_key if name not in columns]
    if missing:
        raise ConfigurationError(
            f'{model.__name__}: primary key field {missing[0]!r} is not a field of the model; declare it '
            f'(e.g. `{missing[0]}: int`) or set __primary_key__ to one of: {", ".join(columns) or "(no fields)"}')
    return ModelMeta(model, table_name, primary_key, columns)


def _table_order(model: type, columns: dict[str, FieldMeta], primary_key: tuple[str, ...]) -> dict[str, FieldMeta]:
    """Key fields first, then the model's own fields, then those of abstract bases (mixins)."""
    def from_abstract_base(name: str) -> bool:
        for klass in model.__mro__:
            if name in (klass.__dict__.get('__annotations__') or {}):
                return bool(klass.__dict__.get('__abstract__'))
        return False
    keys = [name for name in primary_key if name in columns]
    rest = [name for name in columns if name not in keys]
    ordered = keys + [name for name in rest if not from_abstract_base(name)] + \
        [name for name in rest if from_abstract_base(name)]
    return {name: columns[name] for name in ordered}


def primary_key_names(model: type, declared: list[str]) -> tuple[str, ...]:
    """__primary_key__ (a name or a tuple) or Column(primary_key=True) fields, else ('id',)."""
    explicit = next((klass.__dict__['__primary_key__'] for klass in model.__mro__
                     if '__primary_key__' in klass.__dict__), None)
    if explicit is None:
        return tuple(declared) or ('id',)
    names = (explicit,) if isinstance(explicit, str) else tuple(explicit)
    if not names or not all(isinstance(name, str) and name for name in names):
        raise ConfigurationError(f'{model.__name__}.__primary_key__: {explicit!r} is not allowed; '
                                 'expected a field name or a tuple of field names')
    return names


_CAMEL = re.compile(r'(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])')


def snake_case(name: str) -> str:
    """'BlogPost' -> 'blog_post' (table names and default foreign keys)."""
    return _CAMEL.sub('_', name).lower()


def default_table_name(class_name: str) -> str:
    """'BlogPost' -> 'blog_posts', 'Category' -> 'categories', 'Address' -> 'addresses'."""
    snake = snake_case(class_name)
    if snake.endswith('y') and len(snake) > 1 and snake[-2] not in 'aeiou':
        return snake[:-1] + 'ies'
    if snake.endswith(('s', 'x', 'z', 'ch', 'sh')):
        return snake + 'es'
    return snake + 's'


def _column_of(info: Any) -> Column | None:
    return next((item for item in _all_metadata(info) if isinstance(item, Column)), None)


def _all_metadata(info: Any) -> list[Any]:
    """Metadata of a field, including that of Annotated[...] nested inside Optional[...]."""
    found: list[Any] = []
    for item in list(info.metadata) + _unwrap(info.annotation)[2]:
        # Annotated[str, Field(max_length=N)] | None keeps the Field whole inside the Optional
        # (pydantic unpacks it only at the top): its constraints are its own metadata
        found.extend(item.metadata if isinstance(item, pydantic.fields.FieldInfo) else [item])
    return found


def _unwrap(annotation: Any) -> tuple[Any, bool, list[Any]]:
    """The type inside Optional[Annotated[Optional[X], ...]] and friends, whether it may be None, the metadata."""
    nullable = False
    metadata: list[Any] = []
    for _ in range(4):
        annotation, was_optional = _strip_optional(annotation)
        nullable = nullable or was_optional
        if typing.get_origin(annotation) is not typing.Annotated:
            break
        metadata.extend(annotation.__metadata__)
        annotation = annotation.__origin__
    return annotation, nullable, metadata


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        nullable = len(args) < len(typing.get_args(annotation))
        if len(args) == 1:
            return args[0], nullable
    return annotation, False


def column_spec(model: type, name: str, info: Any, column_info: Column | None) -> ColumnSpec:
    """Reduce a field's annotation and constraints to a ColumnSpec."""
    annotation, nullable, _ = _unwrap(info.annotation)
    max_length: int | None = None
    max_digits: int | None = None
    decimal_places: int | None = None
    for item in _all_metadata(info):
        if isinstance(item, annotated_types.MaxLen) or (hasattr(item, 'max_length') and not isinstance(item, Column)):
            max_length = getattr(item, 'max_length', None) or max_length
        digits = getattr(item, 'max_digits', None)
        if digits is not None:
            max_digits = digits
        places = getattr(item, 'decimal_places', None)
        if places is not None:
            decimal_places = places
    timezone = True
    item_type = container = None
    python_type = annotation
    origin = typing.get_origin(annotation)
    if annotation is pydantic.NaiveDatetime:
        python_type, timezone = datetime.datetime, False
    elif annotation is pydantic.AwareDatetime:
        python_type = datetime.datetime
    elif origin is Literal:
        python_type, literal_length = _literal_type(model, name, typing.get_args(annotation))
        if literal_length is not None and max_length is None:
            max_length = literal_length
    elif origin in (list, tuple, set, frozenset) or annotation in (tuple, set, frozenset):
        # stored as a list field is; a tuple/set field is read back as its own container
        container = None if annotation is list or origin is list else (origin or annotation)
        python_type, item_type = list, _item_type(typing.get_args(annotation))
    elif origin is dict or annotation is dict:
        python_type = dict
    elif annotation is typing.Any or annotation is object:
        raise ConfigurationError(f'{model.__name__}.{name}: {annotation!r} has no column type; give the field '
                                 'a concrete type (int, str, dict, ...)')
    options = dict(column_info.options) if column_info is not None else {}
    return ColumnSpec(python_type, nullable=nullable, max_length=max_length, max_digits=max_digits,
                      decimal_places=decimal_places, item_type=item_type, timezone=timezone, options=options,
                      container=container)


def _item_type(args: tuple[Any, ...]) -> Any:
    """The one item type of list[X], set[X], tuple[X, ...] or tuple[X, X]; None when they differ."""
    items = [arg for arg in args if arg is not Ellipsis]
    return items[0] if items and all(item == items[0] for item in items) else None


def _literal_type(model: type, name: str, values: tuple[Any, ...]) -> tuple[type, int | None]:
    if values and all(isinstance(value, str) for value in values):
        return str, max(len(value) for value in values)
    if values and all(isinstance(value, int) and not isinstance(value, bool) for value in values):
        return int, None
    if values and all(isinstance(value, enum.Enum) for value in values):
        return type_of(values[0]), None
    raise ConfigurationError(f'{model.__name__}.{name}: Literal{list(values)!r} mixes types; '
                             'a Literal column needs all str or all int values')


def _type_name(python_type: Any) -> str:
    return getattr(python_type, '__name__', repr(python_type))


__all__ = ['FieldMeta', 'ModelAttributes', 'ModelMeta', 'build_meta', 'default_table_name', 'column_spec', 'meta_cache',
           'type_map_of', 'UNSET']
