"""ActiveRecord: the pydantic v2 base model with a table, a backend, CRUD and hooks."""
from __future__ import annotations

import re
import sys
import typing
from contextlib import AbstractContextManager
from typing import Any, Callable, ClassVar, Optional, Sequence

from typing_extensions import Self, dataclass_transform  # in typing from 3.11/3.12; pydantic depends on typing_extensions

import pydantic
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from ..backend.base import StorageBackend
from ..backend.typing import ConnectionConfig
from ..errors import ConfigurationError, ValidationError
from ..query import ColumnNamespace, Query
from . import config as _config
from . import ddl, hooks, schema_check, schemas
from .async_api import AsyncModelMixin
from .bulk import BulkMixin
from .column import Column
from .crud import CrudMixin
from .finders import FinderMixin
from .metadata import ModelAttributes, ModelMeta, build_meta, meta_cache
from .pydantic_internals import ModelMetaclass, mark_base_init
from .state import NEW, PERSISTED, StateMixin, is_lazy, private_state
from .statements import statements_for

_namespaces: dict[type, Any] = {}
#: field names that would hide the model's API
RESERVED_NAMES = frozenset({'c'})
_api_names: frozenset[str] = frozenset()   # filled in below, once ActiveRecord exists


# Type checkers read a model's constructor (its fields as keyword arguments) from this marker.
# pydantic puts it on its own metaclass, but checkers do not carry it over to a metaclass that
# extends that one, so it is repeated here (same settings as pydantic's).
@dataclass_transform(kw_only_default=True, field_specifiers=(Field, PrivateAttr))
class ActiveRecordMeta(ModelMetaclass):
    """Prepares the class body (optional int keys, database defaults) before pydantic reads it."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> type:
        _prepare_namespace(name, bases, namespace)
        scopes: dict[str, Callable[[Any], Any]] = {}
        for base in reversed(bases):
            scopes.update(getattr(base, '__default_scopes__', None) or {})
        scopes.update(namespace.get('__default_scopes__') or {})
        namespace['__default_scopes__'] = scopes
        return super().__new__(mcs, name, bases, namespace, **kwargs)

    @property
    def __meta__(cls) -> ModelMeta:
        """Table, key and column metadata (built on first use)."""
        meta = meta_cache.get(cls)
        if meta is None:
            if cls.__dict__.get('__abstract__'):
                raise ConfigurationError(f'{cls.__name__} is abstract (__abstract__ = True): it has no table')
            # the classes this metaclass makes are ActiveRecord subclasses (built once per class)
            meta = meta_cache[cls] = build_meta(typing.cast('type[ModelAttributes]', cls))
        return meta

    @property
    def c(cls) -> Any:
        """Column expressions: `Model.c.field` (an unknown name raises AttributeError)."""
        namespace = _namespaces.get(cls)
        if namespace is None:
            namespace = _namespaces[cls] = ColumnNamespace(cls)
        return namespace


def _prepare_namespace(name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> None:
    annotations: dict[str, Any] = namespace.get('__annotations__') or {}
    for field_name in annotations:
        if field_name in RESERVED_NAMES or (field_name in _api_names and not field_name.startswith('_')):
            raise ConfigurationError(f'{name}.{field_name}: {field_name!r} is reserved by ActiveRecord '
                                     f'(it would hide {"the column namespace" if field_name == "c" else "a method"}); '
                                     f'use another field name and Column(name={field_name!r}) for the column')
    key = _single_key_name(bases, namespace, annotations)
    if key is not None and key in annotations and key not in namespace and _is_int(annotations[key]):
        # `id: int` without a default: None until saved, then filled in by the database
        annotations[key] = _optional(annotations[key])
        namespace[key] = None
    filled: list[str] = []
    for field_name, annotation in annotations.items():
        column = _column_in(annotation, namespace)
        if column is None or not column.has_default or field_name in namespace:
            continue
        if hasattr(column.default, '__sql__'):   # computed by the database: read back after INSERT
            if not _is_optional(annotation):
                filled.append(field_name)    # None only until saved: the column stays NOT NULL
            annotations[field_name] = _optional(annotation)
            namespace[field_name] = None
        else:
            namespace[field_name] = column.default
    namespace['__db_filled__'] = tuple(filled)


def _single_key_name(bases: tuple[type, ...], namespace: dict[str, Any], annotations: dict[str, Any]) -> str | None:
    explicit = namespace.get('__primary_key__')
    if explicit is None:
        declared = [field for field, annotation in annotations.items()
                    if (column := _column_in(annotation, namespace)) is not None and column.primary_key]
        if declared:
            return declared[0] if len(declared) == 1 else None
        explicit = next((klass.__dict__['__primary_key__'] for base in bases for klass in base.__mro__
                         if '__primary_key__' in klass.__dict__), None)
    if explicit is None:
        return 'id'
    if isinstance(explicit, str):
        return explicit
    if not isinstance(explicit, (tuple, list)):
        return None
    names = typing.cast('Sequence[Any]', explicit)   # a class attribute of the user's: items of any type
    return names[0] if len(names) == 1 else None


_INT_TEXT = re.compile(r'^\s*(int|Annotated\[\s*int\s*,.*\])\s*$', re.S)


def _is_int(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return bool(_INT_TEXT.match(annotation))
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = annotation.__origin__
    return annotation is int


def _is_optional(annotation: Any) -> bool:
    if isinstance(annotation, str):
        text = annotation.replace(' ', '')
        return text.startswith('Optional[') or text.endswith('|None') or text.startswith('None|')
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = annotation.__origin__
    return type(None) in typing.get_args(annotation)


def _optional(annotation: Any) -> Any:
    if isinstance(annotation, str):
        return f'{annotation} | None'
    return Optional[annotation]


def _column_in(annotation: Any, namespace: dict[str, Any] | None = None) -> Column | None:
    if isinstance(annotation, str):
        annotation = _evaluate(annotation, namespace or {})
    if typing.get_origin(annotation) is not typing.Annotated:
        return None
    return next((item for item in annotation.__metadata__ if isinstance(item, Column)), None)


def _evaluate(text: str, namespace: dict[str, Any]) -> Any:
    """A string annotation (from __future__ import annotations) that mentions Column(...)."""
    if 'Column(' not in text:
        return None
    module = sys.modules.get(namespace.get('__module__', ''))
    try:
        return eval(text, dict(vars(module)) if module else {}, dict(namespace))  # noqa: S307 - class source
    except Exception:
        return None   # a forward reference: pydantic resolves it later; no DB default shortcut then


# The model class is composed here, from mixins that each import only downward (crud and bulk
# share model/values.py rather than each other).
class ActiveRecord(AsyncModelMixin, StateMixin, CrudMixin, FinderMixin, BulkMixin, BaseModel,
                   metaclass=ActiveRecordMeta):
    """A pydantic model stored in a table: configure(), create_table(), save(), find_one(), query()."""

    # A mistyped field name is an error, never silently dropped (pydantic's default is 'ignore').
    model_config = ConfigDict(arbitrary_types_allowed=True, extra='forbid')

    __abstract__: ClassVar[bool] = True
    __default_scopes__: ClassVar[dict[str, Callable[[Any], Any]]] = {}
    #: set by mixins (data the CRUD code reads, rather than overridden methods)
    __timestamps__: ClassVar[tuple[str, ...] | None] = None       # (created, updated) field names
    __lock_field__: ClassVar[str | None] = None                   # optimistic lock version field
    __soft_delete_field__: ClassVar[str | None] = None            # deleted-at field
    __db_filled__: ClassVar[tuple[str, ...]] = ()                 # set by the metaclass

    # The record's state lives in __pydantic_private__ as '_ar_snap' (the snapshot of values last
    # loaded or saved; for a new record VALIDATED, or None once a value was assigned) and
    # '_ar_state' (NEW, PERSISTED, DELETED). It is not declared with PrivateAttr, whose
    # per-instance defaults are slow: a record constructed by pydantic has none of it yet, which
    # means "new, validated by its construction" (see state.private_state).

    # Only the error type differs from pydantic's __init__: tell pydantic it is the base one, so
    # that validation (model_validate, bulk rows) builds instances directly instead of calling it.
    @mark_base_init
    def __init__(self, /, **data: Any) -> None:
        """Validate the values (activerecord.errors.ValidationError names each problem)."""
        try:
            self.__pydantic_validator__.validate_python(data, self_instance=self)
        except pydantic.ValidationError as error:
            raise ValidationError.from_pydantic(type(self).__name__, error) from None

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Any:
        """pydantic's model_validate, raising activerecord.errors.ValidationError."""
        try:
            return super().model_validate(obj, *args, **kwargs)
        except pydantic.ValidationError as error:
            raise ValidationError.from_pydantic(cls.__name__, error) from None

    @classmethod
    def model_validate_json(cls, json_data: Any, *args: Any, **kwargs: Any) -> Any:
        """pydantic's model_validate_json, raising activerecord.errors.ValidationError."""
        try:
            return super().model_validate_json(json_data, *args, **kwargs)
        except pydantic.ValidationError as error:
            raise ValidationError.from_pydantic(cls.__name__, error) from None

    def __setattr__(self, name: str, value: Any) -> None:
        """pydantic's assignment; a new record then needs validating again before it is saved."""
        private = self.__pydantic_private__
        if is_lazy(private):
            private = private_state(self)   # a clean record's snapshot, taken before the value changes
        BaseModel.__setattr__(self, name, value)
        if private is None or '_ar_state' not in private:
            private_state(self)['_ar_snap'] = None
        elif private['_ar_state'] == NEW:
            private['_ar_snap'] = None

    def __copy__(self) -> Self:
        """pydantic's shallow copy, with a snapshot of its own (model_copy(update=...) writes values directly)."""
        private_state(self)
        return super().__copy__()

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        """pydantic's deep copy, with a snapshot of its own (as __copy__)."""
        private_state(self)
        return super().__deepcopy__(memo)

    def __eq__(self, other: object) -> bool:
        """Records are equal when they are of the same model and their field values are equal."""
        if not isinstance(other, BaseModel):
            return NotImplemented
        if type(self) is not type(other):
            return False
        mine, theirs = self.__dict__, other.__dict__
        return all(mine.get(name) == theirs.get(name) for name in type(self).model_fields)

    __hash__ = None  # type: ignore[assignment]  # mutable records are not hashable (as in pydantic)

    # -- configuration ------------------------------------------------------------------

    @classmethod
    def configure(cls, config: ConnectionConfig | str, backend_class: type | None = None, *,
                  replicas: Sequence[ConnectionConfig | str] | None = None, max_replica_lag: float = 5.0,
                  replica_check_interval: float = 1.0, replica_wait: float = 0.0) -> StorageBackend:
        """Bind this model (and subclasses without their own configuration) to a shared backend."""
        return _config.configure(cls, config, backend_class, replicas=replicas, max_replica_lag=max_replica_lag,
                                 replica_check_interval=replica_check_interval, replica_wait=replica_wait)

    @classmethod
    def connected_to(cls, role: str) -> AbstractContextManager[None]:
        """`with Model.connected_to(role='reading'):` reads from replicas, writes raise ReadOnlyError."""
        return cls.backend().connected_to(role)

    @classmethod
    def backend(cls) -> StorageBackend:
        """The configured backend (ActiveRecordError if none)."""
        try:
            return _config._resolved[cls]  # pyright: ignore[reportPrivateUsage]  # configure()'s cache, without a call
        except KeyError:
            return _config.resolve(cls)

    @classmethod
    def transaction(cls, isolation_level: Any = None, read_only: bool = False) -> Any:
        """`with Model.transaction():` BEGIN ... COMMIT, ROLLBACK on exception; nested = savepoint."""
        return cls.backend().transaction(isolation_level, read_only)

    @classmethod
    def run_transaction(cls, fn: Callable[..., Any], *args: Any, retries: int = 3,
                        isolation_level: Any = None, **kwargs: Any) -> Any:
        """fn(*args, **kwargs) in a transaction, run again (after a short backoff) on a retryable error."""
        return cls.backend().run_transaction(fn, *args, retries=retries, isolation_level=isolation_level,
                                             **kwargs)

    @classmethod
    def query(cls) -> Query[Self]:
        """A new Query on this model (default scopes apply when it renders)."""
        return Query(cls)

    @classmethod
    def on(cls, event: str, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """Register fn(record) for a lifecycle event on this model and its subclasses; returns fn."""
        hooks.add_listener(cls, event, fn)
        return fn

    @classmethod
    def off(cls, event: str, fn: Callable[[Any], Any]) -> None:
        """Remove a listener registered with on()."""
        hooks.remove_listener(cls, event, fn)

    # -- schema -------------------------------------------------------------------------

    @classmethod
    def create_table(cls, if_not_exists: bool = True) -> None:
        """CREATE TABLE (and its indexes) from the model, through the backend's dialect."""
        ddl.create_table(cls, if_not_exists=if_not_exists)

    @classmethod
    def drop_table(cls, if_exists: bool = True) -> None:
        """DROP TABLE of the model."""
        ddl.drop_table(cls, if_exists=if_exists)

    @classmethod
    def check_schema(cls) -> list[Any]:
        """How the live table differs from the model (SchemaDifference items; [] when they agree)."""
        return schema_check.differences(cls.__meta__, cls.backend())

    @classmethod
    def create_schema(cls) -> type[BaseModel]:
        """A pydantic model for a create request body: the fields without those the database or the
        ORM fills in (generated key, mixin fields, `Column(read_only=True)`); other keys are refused."""
        return schemas.build_schema(cls, 'create')

    @classmethod
    def update_schema(cls) -> type[BaseModel]:
        """Like create_schema(), with every field optional (read it with model_dump(exclude_unset=True))."""
        return schemas.build_schema(cls, 'update')

    @classmethod
    def _checked_backend(cls) -> StorageBackend:
        """The backend, once the model's table was checked against its fields there (first use only)."""
        return schema_check.plan_for(cls)[0]

    # -- rows ---------------------------------------------------------------------------

    @classmethod
    def _from_rows(cls, labels: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Instances from database rows, without re-validation, persisted and clean."""
        statements = statements_for(cls.__meta__, cls.backend().dialect)
        return statements.row_builder(labels)(rows)


_api_names = frozenset(name for klass in ActiveRecord.__mro__[:ActiveRecord.__mro__.index(BaseModel)]
                       for name in vars(klass) if not name.startswith('_'))
__all__ = ['ActiveRecord', 'ActiveRecordMeta', 'PERSISTED']
