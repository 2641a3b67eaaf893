"""Which vendor operators a column offers, by the Python type of its model field.

`ColumnRef` is composed per field as `(*operator_mixins(field), ColumnRef)`: a dict field's
column has the JSON operators, a list field's also the array ones, a str field's `match`, a
Point/Geometry field's `st_*`. Whether the database can run them is the dialect's
`operator_templates`, asked when the SQL is rendered.
"""
from __future__ import annotations

from typing import Any

from ..spatial import Geometry
from .documents import ArrayOperators, JsonOperators
from .operations import UnofferedOperators
from .spatial_ops import SpatialOperators
from .text_search import TextSearchOperators

#: a field's Python type -> the operator mixins of its column
_BY_TYPE: dict[Any, tuple[type, ...]] = {
    dict: (JsonOperators, UnofferedOperators),
    list: (ArrayOperators, JsonOperators, UnofferedOperators),
    str: (TextSearchOperators, UnofferedOperators),
}
_SPATIAL = (SpatialOperators, UnofferedOperators)
_NONE = (UnofferedOperators,)


def operator_mixins(field: Any) -> tuple[type, ...]:
    """The operator mixin classes (each with empty __slots__) of a column of this model field."""
    python_type = getattr(field, 'python_type', None)
    mixins = _BY_TYPE.get(python_type)
    if mixins is not None:
        return mixins
    if isinstance(python_type, type) and issubclass(python_type, Geometry):
        return _SPATIAL
    return _NONE
