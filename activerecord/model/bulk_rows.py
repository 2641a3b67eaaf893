"""The per-row work of insert_many / upsert, done in as few Python steps as the rules allow.

- Validation: every row is validated in one call for the whole list. When validating the model
  is exactly validating its fields (no model validator, no custom __init__, no
  model_post_init), the call runs the model's own field schema and config over the list and
  returns each row's values without building a record per row; otherwise it builds the
  records (pydantic's list[Model]). Either way the rules, the defaults and the errors (located
  by row index, then field) are pydantic's, from the same field schemas; only the digit limits
  of Decimal fields get a quicker first look (see _with_quick_decimals).
- Parameters: the flat parameter list of a batch comes from code generated once per
  (field, converter) list: one tuple per row, with a converter call only where a field has one.
"""
from __future__ import annotations

import itertools
import operator
from decimal import Decimal
from typing import Any, Callable, Mapping, Sequence, cast

import pydantic
from pydantic_core import CoreConfig, CoreSchema, PydanticKnownError, SchemaValidator, ValidationError, core_schema
from pydantic_core.core_schema import ErrorType

from .metadata import ModelAttributes
from .pydantic_internals import plain_fields_schema

#: rows (dicts) -> their validated field values (dicts)
RowsValidator = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
#: rows (dicts of field values) -> the flat parameter list of the batch
Flattener = Callable[[Sequence[dict[str, Any]]], list[Any]]
#: (field name, converter to the driver's value or None)
Pairs = tuple[tuple[str, Callable[[Any], Any] | None], ...]

_validators: dict[type, RowsValidator] = {}
_flatteners: dict[Pairs, Flattener] = {}


def rows_validator(model: type[ModelAttributes]) -> RowsValidator:
    """A function validating a list of dicts into the list of their field values (dicts)."""
    validator = _validators.get(model)
    if validator is None:
        validator = _validators[model] = _fields_only(model) or _through_records(model)
    return validator


def _fields_only(model: type[ModelAttributes]) -> RowsValidator | None:
    """The model's field schema over a list, when that is all that validating the model does."""
    try:
        fields = plain_fields_schema(model)
        if fields is None:
            return None
        model_schema: Mapping[str, Any] = model.__pydantic_core_schema__
        config: CoreConfig | None = model_schema.get('config')
        # the model's config, as the model's own validator builds its fields with it
        items = cast(CoreSchema, _with_quick_decimals(fields, config))
        validator = SchemaValidator(core_schema.list_schema(items), config)
    except Exception:   # a schema that cannot stand alone (references to definitions, ...)
        return None

    def validate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # each item is (field values, extra values, fields set); a record's __dict__ is the first
        return [values for values, _extra, _set in validator.validate_python(rows)]
    return validate


_DIGIT_LIMITS = frozenset({'max_digits', 'decimal_places'})
#: a Decimal schema with only these keys is checked quickly (other constraints keep pydantic's order)
_PLAIN_DECIMAL_KEYS = frozenset({'type', 'max_digits', 'decimal_places', 'strict', 'metadata', 'serialization'})


def _with_quick_decimals(fields: dict[str, Any], config: CoreConfig | None) -> dict[str, Any]:
    """The fields schema with each digit-limited Decimal field given the quick digit check.

    pydantic checks max_digits / decimal_places through Decimal.normalize() and two
    Decimal.as_tuple() calls, three times the cost of the rest of a row. The quick check
    accepts a value whose plain text (no exponent) is within the limits, which pydantic accepts
    too; any other value is checked by pydantic's own validator for that same schema, so the
    outcome, the error and its message are pydantic's.
    """
    changed: dict[str, Any] = {}
    field_schemas: dict[str, dict[str, Any]] = fields['fields']
    for name, field in field_schemas.items():
        quick = _quick_decimal(field['schema'], config)
        if quick is not None:
            changed[name] = {**field, 'schema': quick}
    return {**fields, 'fields': {**fields['fields'], **changed}} if changed else fields


def _quick_decimal(schema: dict[str, Any], config: CoreConfig | None) -> Mapping[str, Any] | None:
    """A copy of a field schema with its Decimal node (under default / nullable) made quick."""
    kind = schema.get('type')
    if kind in ('default', 'nullable'):
        inner = _quick_decimal(schema['schema'], config)
        return None if inner is None else {**schema, 'schema': inner}
    if kind == 'decimal' and schema.keys() & _DIGIT_LIMITS and schema.keys() <= _PLAIN_DECIMAL_KEYS:
        unlimited = {key: value for key, value in schema.items() if key not in _DIGIT_LIMITS}
        return core_schema.no_info_after_validator_function(_digit_check(schema, config),
                                                            cast(CoreSchema, unlimited))
    return None


def _digit_check(schema: dict[str, Any], config: CoreConfig | None) -> Callable[[Decimal], Decimal]:
    """The quick max_digits / decimal_places check of one Decimal schema (see _with_quick_decimals)."""
    exact = SchemaValidator(cast(CoreSchema, schema), config)
    max_digits, places = schema.get('max_digits'), schema.get('decimal_places')
    max_whole = None if max_digits is None or places is None else max_digits - places

    def check(value: Decimal) -> Decimal:
        # plain text: the exponent is minus the fraction's length, and the digits (leading zeros
        # included) bound pydantic's digit counts from above
        whole, _, fraction = str(value).partition('.')
        if whole[:1] == '-':
            whole = whole[1:]
        if (whole.isdigit() and (not fraction or fraction.isdigit())
                and (places is None or len(fraction) <= places)
                and (max_digits is None or len(whole) + len(fraction) <= max_digits)
                and (max_whole is None or len(whole) <= max_whole)):
            return value
        try:
            checked: Decimal = exact.validate_python(value)
            return checked
        except ValidationError as error:
            problem = error.errors()[0]
            raise PydanticKnownError(cast(ErrorType, problem['type']), problem.get('ctx')) from None
    return check


def _through_records(model: type[ModelAttributes]) -> RowsValidator:
    # records as Any: their __dict__ (a dict) is what the rows are
    adapter: pydantic.TypeAdapter[list[Any]] = pydantic.TypeAdapter(list[model])  # type: ignore[valid-type]

    def validate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [record.__dict__ for record in adapter.validate_python(rows)]
    return validate


def flattener(pairs: Sequence[tuple[str, Callable[[Any], Any] | None]]) -> Flattener:
    """rows -> [row0 field0, row0 field1, ..., row1 field0, ...], converted for the driver."""
    key = tuple(pairs)
    try:
        flatten = _flatteners.get(key)
    except TypeError:   # a custom converter that cannot be hashed: compiled, not cached
        return _compile_flattener(key)
    if flatten is None:
        flatten = _compile_flattener(key)
        if len(_flatteners) < 512:   # shapes are few; keep the cache bounded anyway
            _flatteners[key] = flatten
    return flatten


def _compile_flattener(pairs: Pairs) -> Flattener:
    names = [name for name, _ in pairs]
    if not names:
        empty: Flattener = lambda rows: []
        return empty
    if len(names) > 1 and all(convert is None for _, convert in pairs):
        pick = operator.itemgetter(*names)
        chain = itertools.chain.from_iterable
        plain: Flattener = lambda rows: list(chain(map(pick, rows)))
        return plain
    namespace: dict[str, Any] = {}
    reads: list[str] = []
    items: list[str] = []
    for index, (name, convert) in enumerate(pairs):
        if convert is None:
            items.append(f'row[{name!r}]')
        else:
            namespace[f'c{index}'] = convert
            reads.append(f'        v{index} = row[{name!r}]')
            items.append(f'v{index} if v{index} is None else c{index}(v{index})')
    body = ['def flatten(rows):',
            '    out = []',
            '    extend = out.extend',
            '    for row in rows:',
            *reads,
            '        extend((' + ', '.join(items) + ',))',
            '    return out']
    exec(compile('\n'.join(body), '<activerecord bulk parameters>', 'exec'), namespace)  # names are repr()s
    flatten: Flattener = namespace['flatten']
    return flatten
