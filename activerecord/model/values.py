"""Field values on their way to the database, shared by single-record and bulk writes."""
from __future__ import annotations

import datetime
from typing import Any

import pydantic

from .. import errors
from ..backend.base import StorageBackend
from ..errors import ActiveRecordError
from .statements import Pair, Statements


def to_params(model: type, values: dict[str, Any], pairs: list[Pair]) -> list[Any]:
    """Field values converted for the driver (a failing converter is reported with its field)."""
    try:
        return [value if (value := values[name]) is None or convert is None else convert(value)
                for name, convert in pairs]
    except Exception as error:
        raise conversion_error(model, values, pairs, error) from error


def conversion_error(model: type, values: dict[str, Any], pairs: list[Pair], error: Exception) -> Exception:
    """A DataError naming the field and value a converter refused."""
    for name, convert in pairs:
        value = values.get(name)
        if value is None or convert is None:
            continue
        try:
            convert(value)
        except Exception as failure:
            if isinstance(failure, errors.DataError):
                message = f'{model.__name__}.{name}: {failure}'
            else:
                message = (f'{model.__name__}.{name}: cannot store {type(value).__name__} value {value!r:.80} '
                           f'({failure})')
            return errors.DataError(message)
    return error if isinstance(error, ActiveRecordError) else errors.DataError(f'{model.__name__}: {error}')


def validate_record(record: Any) -> None:
    """Run pydantic validation on the record's current values, in place."""
    cls: type[pydantic.BaseModel] = record.__class__   # a model instance (crud passes its mixin self)
    values: dict[str, Any] = record.__dict__
    try:
        fresh: Any = cls.__pydantic_validator__.validate_python(
            {name: values[name] for name in cls.model_fields if name in values})
    except pydantic.ValidationError as error:
        raise errors.ValidationError.from_pydantic(cls.__name__, error) from None
    values.update(fresh.__dict__)


def utc_now() -> datetime.datetime:
    """The current instant, aware, in UTC (timestamps)."""
    return datetime.datetime.now(datetime.timezone.utc)


def sync_identity(backend: StorageBackend, statements: Statements) -> None:
    """After an explicit value for a generated key: keep the database's generator ahead of it."""
    synced = backend.dialect.sync_identity_sql(statements.table, statements.pk_columns[0])
    if synced is not None:
        backend.execute(*synced)

