"""A DataError from a model's write names the field whose value the database refused.

The servers name the column for some mistakes (MariaDB: "for column 'n'") and not for others
(PostgreSQL: "bigint out of range"; SQLite's driver: "Python int too large"). Only after a write
failed, the values that were sent are looked at (never on the success path, which stays as fast
as it was), and the error is raised again as `Model.field: <the database's message>`.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from .. import errors
from .model_types import ModelClass

_INT64 = range(-2 ** 63, 2 ** 63)
_QUOTED_NAME = re.compile(r"""column ['"`]?(\w+)['"`]?""", re.IGNORECASE)


def _refused(value: Any, max_length: int | None) -> bool:
    """Whether a database would refuse this value whatever its column (or its max_length)."""
    if isinstance(value, str):
        if '\x00' in value or (max_length is not None and len(value) > max_length):
            return True
        try:
            value.encode('utf-8')
        except UnicodeEncodeError:
            return True   # a lone surrogate
        return False
    return isinstance(value, int) and not isinstance(value, bool) and value not in _INT64


def _non_finite(value: Any, max_length: int | None) -> bool:
    """A float NaN or infinity: refused by some databases only (SQLite: NaN; MySQL: both)."""
    return isinstance(value, float) and value - value != 0.0


def naming_field(model: Any, rows: Iterable[Mapping[str, Any]], names: Iterable[str],
                 error: errors.DataError) -> errors.DataError:
    """`error` again, prefixed with the model (class) and field it came from (unchanged if none is found)."""
    model_class: ModelClass = model   # Any: a model class's metaclass properties escape a Protocol
    fields = model_class.__meta__.fields
    names = [name for name in names if name in fields]
    prefix = f'{model_class.__name__}.'
    if str(error).startswith(prefix):
        return error
    culprit = None
    # A NaN is only a suspect after every value refused everywhere: PostgreSQL stores it, so on
    # PostgreSQL the error may come from another field of the same row.
    for refused in (_refused, _non_finite):
        for values in rows:
            culprit = next((name for name in names if refused(values.get(name), fields[name].spec.max_length)),
                           None)
            if culprit is not None:
                break
        if culprit is not None:
            break
    if culprit is None:
        mentioned = _QUOTED_NAME.search(str(error))
        by_column = {fields[name].column: name for name in names}
        culprit = by_column.get(mentioned.group(1)) if mentioned else None
    if culprit is None:
        return error
    named = errors.DataError(f'{prefix}{culprit}: {error}', code=error.code, sqlstate=error.sqlstate,
                             retryable=error.retryable)
    named.__cause__ = error.__cause__ if error.__cause__ is not None else error
    return named


def refuse_too_long(model: Any, values: Mapping[str, Any]) -> None:
    """DataError naming the field for a text longer than its max_length (values pydantic did not see).

    The servers refuse such text in a VARCHAR(n) column and SQLite would store it whole: checked
    here, the same write fails the same way everywhere.
    """
    model_class: ModelClass = model   # Any: a model class's metaclass properties escape a Protocol
    fields = model_class.__meta__.fields
    for name, value in values.items():
        field = fields.get(name)
        limit = field.spec.max_length if field is not None else None
        if limit is not None and isinstance(value, str) and len(value) > limit:
            raise errors.DataError(f'{model_class.__name__}.{name}: a text of {len(value)} characters is too long '
                                   f'for its column (max_length={limit})')
