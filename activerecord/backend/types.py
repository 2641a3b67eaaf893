"""TypeMap: Python types <-> column types and value converters, per dialect as data.

A field's annotation is reduced to a `ColumnSpec`; `TypeMap.kind_of(spec)` names its kind
('int', 'decimal', 'datetime', ...). Each dialect's type map is then three tables keyed by
kind: the column type template, the converter to the driver value, and the converter back.
Converters are resolved once per field, so binding and reading rows cost one call per value.
"""
from __future__ import annotations

import datetime
import decimal
import enum
import json
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Callable, ClassVar, Mapping, Sequence

from ..errors import ConfigurationError, DataError

Converter = Callable[[Any], Any]
#: the builtin type(), typed for values of unknown type (the checkers read type(<Any>) as a type of an
#: unknown class); the same function, so a lookup costs what `type` costs
type_of: Callable[[object], type[Any]] = type


@dataclass(frozen=True)
class ColumnSpec:
    """What the type map needs to know about one field."""
    python_type: Any
    nullable: bool = False
    max_length: int | None = None
    max_digits: int | None = None
    decimal_places: int | None = None
    item_type: Any = None             # list[int] -> int
    timezone: bool = True             # datetime: an instant (False for pydantic NaiveDatetime)
    options: Mapping[str, Any] = field(default_factory=dict[str, Any])  # Column(...) extras (srid, ...)
    # tuple/set/frozenset: stored as a list field is (JSON, or a PostgreSQL array), read back as this
    container: Any = None


@dataclass(frozen=True)
class CustomType:
    """A user-registered Python type: its column type(s) and converters."""
    python_type: type
    column_type: str | Mapping[str, str]   # one type, or dialect name -> type ('*' = default)
    to_db: Converter
    from_db: Converter

    def column_type_for(self, dialect_name: str) -> str:
        """The column type on one dialect."""
        if isinstance(self.column_type, str):
            return self.column_type
        if dialect_name in self.column_type:
            return self.column_type[dialect_name]
        if '*' in self.column_type:
            return self.column_type['*']
        raise ConfigurationError(f'custom type {self.python_type.__name__} has no column type for '
                                 f'{dialect_name}; give column_type={{"{dialect_name}": ..., "*": ...}}')


_custom_types: dict[type, CustomType] = {}


def register_type(python_type: type, column_type: str | Mapping[str, str],
                  to_db: Converter, from_db: Converter) -> None:
    """Register a Python type with its column type and two converters (for every backend)."""
    if not isinstance(python_type, type):  # pyright: ignore[reportUnnecessaryIsInstance]  # guards untyped callers
        raise ConfigurationError(f'register_type: {python_type!r} is not a type')
    if not callable(to_db) or not callable(from_db):
        raise ConfigurationError(f'register_type({python_type.__name__}): to_db and from_db must be callables')
    _custom_types[python_type] = CustomType(python_type, column_type, to_db, from_db)


def custom_type(python_type: Any) -> CustomType | None:
    """The registration of a custom type (or of its nearest registered base class)."""
    if not isinstance(python_type, type):
        return None
    return next((_custom_types[klass] for klass in python_type.__mro__ if klass in _custom_types), None)


# -- converters shared by several dialects ----------------------------------------------

def datetime_to_utc_naive(value: datetime.datetime) -> datetime.datetime:
    """For columns without a zone: store the UTC wall time of the instant (a naive one is UTC already)."""
    return value if value.tzinfo is None else value.astimezone(datetime.timezone.utc).replace(tzinfo=None)


def datetime_from_utc_naive(value: Any) -> datetime.datetime:
    """Read a UTC wall time back as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    result: datetime.datetime = (value.replace(tzinfo=datetime.timezone.utc) if value.tzinfo is None
                                 else value.astimezone(datetime.timezone.utc))
    return result


def json_dumps(value: Any) -> str:
    """JSON text for a dict/list column (compact, keys kept in order)."""
    return json.dumps(value, separators=(',', ':'), ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f'{type(value).__name__} value {value!r} cannot be stored as JSON')


def json_loads(value: Any) -> Any:
    """A dict/list from JSON text (drivers that decode JSON themselves pass objects through)."""
    if isinstance(value, (bytes, bytearray)):
        value = value.decode()
    return json.loads(value) if isinstance(value, str) else value


def timedelta_to_microseconds(value: datetime.timedelta) -> int:
    """An exact integer for an interval column stored as BIGINT."""
    return (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds


def microseconds_to_timedelta(value: Any) -> datetime.timedelta:
    """Back from BIGINT microseconds."""
    return datetime.timedelta(microseconds=int(value))


def to_uuid(value: Any) -> uuid.UUID:
    """A UUID from text, bytes or a UUID."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, (bytes, bytearray)) and len(value) == 16:
        return uuid.UUID(bytes=bytes(value))
    return uuid.UUID(str(value))


def to_decimal(value: Any) -> decimal.Decimal:
    """A Decimal from what a driver returns (Decimal, int, float or text)."""
    if isinstance(value, decimal.Decimal):
        return value
    if isinstance(value, float):
        return decimal.Decimal(repr(value))
    return decimal.Decimal(value)


def refuse_nan(value: float) -> float:
    """A float to bind; NaN is refused with DataError (SQLite would store NULL, MySQL cannot take it)."""
    if value != value:
        raise DataError('a float NaN cannot be stored in this database')
    return value


def refuse_non_finite(value: float) -> float:
    """A float to bind; NaN and infinities are refused with DataError (MySQL's DOUBLE has neither)."""
    if value - value != 0.0:
        raise DataError(f'the float {value} cannot be stored in this database (finite numbers only)')
    return value


def to_bytes(value: Any) -> bytes:
    """bytes from memoryview/bytearray (drivers differ)."""
    return bytes(value)


class TypeMap:
    """The base map (standard SQL); a dialect's map overrides entries of the three tables."""

    #: kind -> column type; templates may use {length}, {precision}, {scale}, {srid}
    column_types: ClassVar[dict[str, str]] = {
        'bool': 'BOOLEAN', 'int': 'BIGINT', 'float': 'DOUBLE PRECISION',
        'decimal': 'NUMERIC({precision}, {scale})', 'decimal_unbounded': 'NUMERIC',
        'str': 'VARCHAR({length})', 'text': 'TEXT', 'bytes': 'BLOB',
        'datetime': 'TIMESTAMP WITH TIME ZONE', 'datetime_naive': 'TIMESTAMP',
        'date': 'DATE', 'time': 'TIME', 'timedelta': 'BIGINT', 'uuid': 'CHAR(36)',
        'json': 'TEXT', 'enum_str': 'VARCHAR({length})', 'enum_int': 'INTEGER',
    }
    #: kind -> converter from the Python value to what the driver binds (absent = as is)
    to_db_converters: ClassVar[dict[str, Converter]] = {
        'uuid': str, 'json': json_dumps, 'timedelta': timedelta_to_microseconds,
    }
    #: kind -> converter from what the driver returns to the Python value (absent = as is)
    from_db_converters: ClassVar[dict[str, Converter]] = {
        'uuid': to_uuid, 'json': json_loads, 'timedelta': microseconds_to_timedelta,
        'decimal': to_decimal, 'decimal_unbounded': to_decimal, 'bytes': to_bytes, 'bool': bool,
    }
    #: kind -> converter of a computed expression's value where the driver may give it in
    #: another form than a column's (MySQL: COALESCE(date_col, ?) is text); model columns keep
    #: from_db_converters, so loading rows pays nothing for it
    computed_converters: ClassVar[dict[str, Converter]] = {}
    #: widest exact decimal when a Decimal field gives no max_digits
    unbounded_decimal_precision: ClassVar[int | None] = None
    default_enum_length: ClassVar[int] = 50
    #: the longest bounded string column, in characters: a longer max_length is unbounded text
    max_string_length: ClassVar[int | None] = None
    #: the most digits the exact decimal type keeps (a wider max_digits is refused), and its name
    max_decimal_digits: ClassVar[int | None] = None
    decimal_type_name: ClassVar[str] = 'DECIMAL'
    #: refuse text with a NUL before sending (False where the server refuses it by itself)
    refuse_nul_text: ClassVar[bool] = True
    #: refuse a float NaN before sending (where the database would store NULL instead)
    refuse_nan_floats: ClassVar[bool] = False
    #: with refuse_nan_floats: refuse ±infinity too (where no numeric type holds it)
    refuse_infinite_floats: ClassVar[bool] = False

    def __init__(self, dialect: Any) -> None:
        self.dialect = dialect
        self._param_converters: dict[type, Converter | None] = {}
        #: the types seen without a converter: bound as they are (after the text and float checks)
        self._bound_as_is: set[type] = set()

    # -- kinds --------------------------------------------------------------------------

    def kind_of(self, spec: ColumnSpec) -> str:
        """The kind of a field: a key of the three tables."""
        python_type = spec.python_type
        if custom_type(python_type) is not None:
            return 'custom'
        if isinstance(python_type, type) and issubclass(python_type, enum.Enum):
            return 'enum_int' if all(isinstance(m.value, int) for m in python_type) else 'enum_str'
        kind = _BUILTIN_KINDS.get(python_type) or self.extra_kind(spec)
        if kind is None:
            raise ConfigurationError(
                f'no column type for {getattr(spec.python_type, "__name__", spec.python_type)!r} on '
                f'{self.dialect.name}; register it with activerecord.types.register_type(...)')
        if kind == 'str' and (spec.max_length is None or (
                self.max_string_length is not None and spec.max_length > self.max_string_length)):
            return 'text'
        if kind == 'decimal' and spec.max_digits is None:
            return 'decimal_unbounded'
        if kind == 'datetime' and not spec.timezone:
            return 'datetime_naive'
        if kind == 'list':
            return self.list_kind(spec)
        return kind

    def extra_kind(self, spec: ColumnSpec) -> str | None:
        """Hook: kinds only some databases have (spatial types, ...)."""
        return None

    def index_kind(self, spec: ColumnSpec) -> str | None:
        """Hook: the kind of index `index=True` makes on this field (None: a plain one; 'SPATIAL', ...)."""
        return None

    def list_kind(self, spec: ColumnSpec) -> str:
        """A list field: JSON text unless the database has native arrays."""
        return 'json'

    # -- DDL ----------------------------------------------------------------------------

    def column_type(self, spec: ColumnSpec) -> str:
        """The column type of a field in this dialect."""
        kind = self.kind_of(spec)
        if kind == 'custom':
            registered = custom_type(spec.python_type)
            assert registered is not None  # kind_of() said 'custom'
            return registered.column_type_for(self.dialect.name)
        if (kind == 'decimal' and self.max_decimal_digits is not None and spec.max_digits is not None
                and spec.max_digits > self.max_decimal_digits):
            raise ConfigurationError(f'a Decimal with max_digits={spec.max_digits} does not fit {self.decimal_type_name}, '
                                     f'which keeps at most {self.max_decimal_digits} digits')
        template = self.column_types.get(kind)
        if template is None:
            raise ConfigurationError(f'{self.dialect.name} has no column type for kind {kind!r}')
        length = spec.max_length
        if kind == 'enum_str':
            length = max((len(str(member.value)) for member in spec.python_type), default=1)
            length = max(length, self.default_enum_length if spec.max_length is None else spec.max_length)
        precision = spec.max_digits if spec.max_digits is not None else self.unbounded_decimal_precision
        scale = spec.decimal_places if spec.decimal_places is not None else 0
        # only an array template needs the item's column type (a JSON list's items may have none)
        item = self._item_type(spec) if '{item}' in template else ''
        return template.format(length=length, precision=precision, scale=scale,
                               srid=spec.options.get('srid', 0), item=item)

    def _item_type(self, spec: ColumnSpec) -> str:
        if spec.item_type is None:
            return ''
        return self.column_type(ColumnSpec(spec.item_type))

    # -- converters ---------------------------------------------------------------------

    def to_db(self, spec: ColumnSpec) -> Converter | None:
        """The converter for values of this field on their way to the driver (None: as is)."""
        if spec.container is not None:
            return container_to_db(spec.container, self.to_db(replace(spec, container=None)))
        kind = self.kind_of(spec)
        if kind == 'custom':
            registered = custom_type(spec.python_type)
            assert registered is not None  # kind_of() said 'custom'
            return registered.to_db
        if kind in ('enum_str', 'enum_int'):
            inner = self.to_db_converters.get(kind)
            return (lambda value: inner(value.value)) if inner else _enum_value
        return self.to_db_converters.get(kind)

    def from_db(self, spec: ColumnSpec) -> Converter | None:
        """The converter for values of this field read from the driver (None: as is)."""
        if spec.container is not None:
            return container_from_db(spec.container, self.from_db(replace(spec, container=None)))
        kind = self.kind_of(spec)
        if kind == 'custom':
            registered = custom_type(spec.python_type)
            assert registered is not None  # kind_of() said 'custom'
            return registered.from_db
        if kind in ('enum_str', 'enum_int'):
            enum_type = spec.python_type
            inner = self.from_db_converters.get(kind)
            return (lambda value: enum_type(inner(value))) if inner else enum_type
        converter = self.from_db_converters.get(kind)
        if kind == 'decimal' and spec.decimal_places is not None and converter is not None:
            exponent = decimal.Decimal(1).scaleb(-spec.decimal_places)
            exact = decimal.Decimal

            def read(value: Any) -> decimal.Decimal:
                # drivers that return Decimal (most) skip the converter's call: one per row and column
                return (value if type(value) is exact else converter(value)).quantize(exponent)
            return read
        return converter

    def adapt_params(self, params: Sequence[Any]) -> Sequence[Any]:
        """Convert raw-SQL parameter values the driver cannot bind, by their Python type."""
        converters = self._param_converters
        # Values no database may keep as given are refused here, not converted: a NUL in text
        # (SQLite and MariaDB would store it where PostgreSQL refuses it) and, where the type map
        # says so, a float NaN (SQLite would store NULL). A small statement looks at its values
        # on the way; a bulk one scans them once at C speed.
        if len(params) < 16:
            check_text, check_nan = self.refuse_nul_text, self.refuse_nan_floats
            as_is = self._bound_as_is
            for value in params:
                kind = type_of(value)
                if kind not in as_is:
                    if kind not in converters:
                        converters[kind] = self._param_converter(kind)
                    if converters[kind] is not None:
                        break
                    as_is.add(kind)
                if kind is str:
                    if check_text and '\x00' in value:
                        refuse_nul_text(params)
                elif kind is float and check_nan and value - value != 0.0:  # NaN or ±inf
                    self._refuse_float(value)
            else:
                return params  # the common case: nothing to convert, no copy
        else:
            # a bulk statement's thousands of values have a handful of types: look at each type once
            kinds = set(map(type, params))
            for kind in kinds:
                if kind not in converters:
                    converters[kind] = self._param_converter(kind)
                if converters[kind] is not None:
                    break
            else:
                self._refuse_unstorable(params, kinds)
                return params
        self._refuse_unstorable(params, set(map(type, params)))
        adapted: list[Any] = []
        for value in params:  # the loop above stopped early: later types may be new
            kind = type_of(value)
            if kind not in converters:
                converters[kind] = self._param_converter(kind)
            converter = converters[kind]
            adapted.append(value if converter is None else converter(value))
        return adapted

    def _refuse_unstorable(self, params: Sequence[Any], kinds: set[type]) -> None:
        """DataError for a NUL in text or (where refused) a float NaN among `params`."""
        if self.refuse_nul_text and str in kinds:
            refuse_nul_text(params)
        if self.refuse_nan_floats and float in kinds:
            refuse = self._refuse_float
            for value in filter(_IS_FLOAT, params):
                refuse(value)

    def _refuse_float(self, value: float) -> None:
        """DataError for a float this database cannot keep (NaN; ±inf where refuse_infinite_floats)."""
        (refuse_non_finite if self.refuse_infinite_floats else refuse_nan)(value)

    def _param_converter(self, python_type: type) -> Converter | None:
        if python_type in _DRIVER_NATIVE:
            return self.param_converters.get(python_type)
        if python_type in self.param_converters:
            return self.param_converters[python_type]
        if issubclass(python_type, enum.Enum):
            return _enum_param(self)
        try:
            spec = ColumnSpec(python_type)
            self.kind_of(spec)
        except ConfigurationError:
            return None  # let the driver say what it thinks of the value
        return self.to_db(spec)

    #: Python type -> converter for raw parameters whose driver needs help (e.g. SQLite + Decimal);
    #: None: the driver binds the value as it is (PostgreSQL's lists are arrays, not JSON)
    param_converters: ClassVar[dict[type, Converter | None]] = {}


def set_items(value: Any) -> list[Any]:
    """The items of a set as a list in a stable order (sorted, or by repr when they do not sort)."""
    try:
        return sorted(value)
    except TypeError:
        return sorted(value, key=repr)


def _hashable(item: Any) -> Any:
    """A JSON array inside a set was a tuple (lists cannot be set items)."""
    # pyright reads a list narrowed from Any as list[Unknown]; the items of a JSON array are Any
    return tuple(_hashable(inner) for inner in item) if isinstance(item, list) else item  # pyright: ignore[reportUnknownVariableType]


def container_to_db(container: type, inner: Converter | None) -> Converter:
    """A tuple/set field's values go to the driver as the list they are stored as."""
    items: Converter = list if container is tuple else set_items
    return items if inner is None else (lambda value: inner(items(value)))


def container_from_db(container: type, inner: Converter | None) -> Converter:
    """The stored list read back as the field's tuple / set / frozenset."""
    if container is tuple:
        return tuple if inner is None else (lambda value: tuple(inner(value)))
    if inner is None:
        return lambda value: container(_hashable(item) for item in value)
    return lambda value: container(_hashable(item) for item in inner(value))


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _enum_param(type_map: TypeMap) -> Converter:
    def convert(value: enum.Enum) -> Any:
        inner = value.value
        # the type map's own lookup, shared with this module's enum converter
        nested = type_map._param_converter(type_of(inner)) if not isinstance(inner, enum.Enum) else None  # pyright: ignore[reportPrivateUsage]
        return nested(inner) if nested else inner
    return convert


_BUILTIN_KINDS: dict[Any, str] = {
    bool: 'bool', int: 'int', float: 'float', decimal.Decimal: 'decimal', str: 'str', bytes: 'bytes',
    datetime.datetime: 'datetime', datetime.date: 'date', datetime.time: 'time',
    datetime.timedelta: 'timedelta', uuid.UUID: 'uuid', dict: 'json', list: 'list',
}
_DRIVER_NATIVE = frozenset({int, str, float, bytes, type(None), bool})
_IS_TEXT = str.__instancecheck__   # a C-level predicate for filter()
_IS_FLOAT = float.__instancecheck__


def refuse_nul_text(params: Sequence[Any]) -> None:
    """DataError if a text value holds a NUL character (one C-speed scan of all of them)."""
    if '\x00' in '\x01'.join(filter(_IS_TEXT, params)):
        raise DataError('text values cannot contain a NUL character (\\x00); store binary data in a bytes field')


def check_decimal_digits(value: decimal.Decimal, limit: int, where: str) -> decimal.Decimal:
    """Refuse a Decimal with more significant digits than a float column keeps exactly."""
    digits = len(value.as_tuple().digits)
    if value.is_finite() and digits > limit:
        raise DataError(f'{where}: Decimal {value} has {digits} significant digits; this backend keeps '
                        f'{limit} exactly, so it would not round-trip')
    return value
