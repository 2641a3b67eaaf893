"""activerecord: an ActiveRecord-style ORM on pydantic v2 models and pure-Python DB-API drivers."""
from __future__ import annotations

from typing import Any

from .model import ActiveRecord, Column
from .model.ddl import create_all, drop_all

#: names of the query layer, imported on first use (it imports the model layer itself)
_QUERY_NAMES = ('func', 'raw', 'value', 'case', 'cast', 'exists', 'and_', 'or_', 'aliased', 'table',
                'Frame', 'Query')

__all__ = ['ActiveRecord', 'Column', 'create_all', 'drop_all', *_QUERY_NAMES]


def __getattr__(name: str) -> Any:
    if name in _QUERY_NAMES:
        from . import query
        value = getattr(query, name)
        globals()[name] = value
        return value
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
