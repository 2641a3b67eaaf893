"""Rows -> model instances without re-validation: a builder compiled once per label list.

Values from the database are trusted (they were validated when written), so a row becomes an
instance by filling `__dict__` directly, with one converter call per non-None value of a field
whose type needs one. The builder is generated code (one dict display per row), built once per
(model, dialect, labels) and cached.
"""
from __future__ import annotations

import datetime
import decimal
import enum
import uuid
from typing import Any, Callable, Sequence

from pydantic_core import PydanticUndefined

from ..backend.dialect import Dialect
from .metadata import ModelAttributes, ModelMeta
from .pydantic_internals import set_extra, set_fields_set, set_private
from .state import CLEAN, CURRENT, PERSISTED, SharedFieldNames, fingerprint

RowBuilder = Callable[[Sequence[tuple[Any, ...]]], list[Any]]
OneRowBuilder = Callable[[tuple[Any, ...]], Any]
#: defaults that are safe to share between records
_IMMUTABLE = (int, float, str, bytes, bool, tuple, frozenset, decimal.Decimal, enum.Enum, uuid.UUID,
              datetime.date, datetime.time, datetime.timedelta)


def compile_row_builders(meta: ModelMeta, dialect: Dialect, labels: Sequence[str]) -> tuple[RowBuilder, OneRowBuilder]:
    """Compile the functions turning rows (a list, or one row) with these labels into persisted, clean instances."""
    model = meta.model
    namespace: dict[str, Any] = {'cls': model, 'new': object.__new__, 'set_dict': _dict_setter(model),
                                 'fp': fingerprint, 'set_fields': set_fields_set, 'set_extra': set_extra,
                                 'set_private': set_private}
    by_column = meta.by_column
    lowered = {column.lower(): field for column, field in by_column.items()}
    items: list[str] = []
    loaded: list[str] = []
    for index, label in enumerate(labels):
        field = by_column.get(label) or lowered.get(
            label.lower() if isinstance(label, str)  # pyright: ignore[reportUnnecessaryIsInstance] - driver labels
            else label)
        if field is None or field.name in loaded:
            continue  # not a column of this model (a join's or an aggregate's): ignored
        loaded.append(field.name)
        converter = field.raw_from_db(dialect)
        if converter is None:
            items.append(f'{field.name!r}: v{index}')
        else:
            namespace[f'c{index}'] = converter
            items.append(f'{field.name!r}: None if v{index} is None else c{index}(v{index})')
    items.extend(_unselected_defaults(meta, loaded, namespace))
    namespace['LOADED'] = frozenset(loaded)
    # Lean records (see state.py): with every field loaded, the records of a builder share one
    # fields set; without dict/list fields (whose in-place changes only a snapshot can show)
    # their snapshot is taken when something first changes them, and without private
    # attributes of the model's own they share one private dict as well.
    complete = set(loaded) >= set(model.model_fields) and model.model_config.get('extra') != 'allow'
    namespace['FIELDS'] = SharedFieldNames(loaded)
    namespace['CLEAN'], namespace['CURRENT'] = CLEAN, CURRENT
    private_defaults = _private_defaults(model)
    lazy = not meta.mutable_fields
    snapshot_lines = [] if lazy else ['snap = d.copy()',
                                      *(f'snap[{name!r}] = fp(snap[{name!r}])' for name in meta.mutable_fields)]
    snap = 'CURRENT' if lazy else 'snap'
    if private_defaults is None:
        private = 'CLEAN' if lazy else f"{{'_ar_snap': snap, '_ar_state': {PERSISTED!r}}}"
    else:
        namespace['private_defaults'] = private_defaults
        private = f"{{**private_defaults(), '_ar_snap': {snap}, '_ar_state': {PERSISTED!r}}}"
    count = len(labels)
    unpack = ', '.join(f'v{index}' for index in range(count)) + ', = row' if 0 < count <= 255 else ''
    record = [
        *([unpack] if unpack else [f'v{index} = row[{index}]' for index in range(count)]),
        'd = {' + ', '.join(items) + '}',
        'obj = new(cls)',
        'set_dict(obj, d)',
        'set_fields(obj, ' + ('FIELDS' if complete else 'set(LOADED)') + ')',
        'set_extra(obj, None)',
        *snapshot_lines,
        f'set_private(obj, {private})',
    ]
    body = [
        'def build(rows):',
        '    out = []',
        '    append = out.append',
        # unpacking the row into locals in the for statement is cheaper than indexing it
        '    for ' + ', '.join(f'v{index}' for index in range(count)) + ', in rows:'
        if unpack else '    for row in rows:',
        *(f'        {line}' for line in record[1 if unpack else 0:]),
        '        append(obj)',
        '    return out',
        # one row (a lookup by key): no list around it
        'def build_one(row):',
        *(f'    {line}' for line in record),
        '    return obj',
    ]
    code = compile('\n'.join(body), f'<activerecord rows {model.__name__}>', 'exec')
    exec(code, namespace)  # generated from field names (identifiers) and indexes only
    return namespace['build'], namespace['build_one']


def _unselected_defaults(meta: ModelMeta, loaded: list[str], namespace: dict[str, Any]) -> list[str]:
    """Dict display items for the columns a statement did not select: each field's default, not "set"."""
    items: list[str] = []
    for name, info in meta.model.model_fields.items():
        if name in loaded or name not in meta.fields:
            continue
        if info.default_factory is None and _shareable(info.default):
            namespace[f'd_{name}'] = None if info.default is PydanticUndefined else info.default
            items.append(f'{name!r}: d_{name}')
        else:   # a mutable default or a factory: a fresh value per record, as pydantic gives
            namespace[f'd_{name}'] = info.get_default
            items.append(f'{name!r}: d_{name}(call_default_factory=True)')
    return items


def _shareable(default: Any) -> bool:
    """Whether records may share this default value (no default, None or an immutable value)."""
    return default is PydanticUndefined or default is None or isinstance(default, _IMMUTABLE)


def _dict_setter(model: type) -> Callable[[Any, dict[str, Any]], None]:
    """The __dict__ descriptor's setter of the model's instances (cheaper than setattr by name)."""
    for klass in model.__mro__:
        descriptor = klass.__dict__.get('__dict__')
        if descriptor is not None and hasattr(descriptor, '__set__'):
            setter: Callable[[Any, dict[str, Any]], None] = descriptor.__set__
            return setter
    return lambda obj, values: object.__setattr__(obj, '__dict__', values)


def _private_defaults(model: type[ModelAttributes]) -> Callable[[], dict[str, Any]] | None:
    """A factory of the model's own private attributes' defaults (None when it has none)."""
    extra = dict(model.__private_attributes__)
    if not extra:
        return None

    def defaults() -> dict[str, Any]:
        return {name: attr.get_default() for name, attr in extra.items()}
    return defaults
