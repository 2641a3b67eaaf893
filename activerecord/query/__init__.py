"""The query layer: column expressions, functions and the chainable Query.

Public names (re-exported by `activerecord`): func, raw, value, case, cast, exists, and_, or_,
aliased, table, Frame, Query.
"""
from .expressions import (ColumnNamespace, ColumnRef, Expression, and_, case, cast, exists, or_, raw,
                          value)
from .functions import Frame, func
from .query import Query
from .set_ops import CompoundQuery
from .sources import aliased, table

__all__ = ['ColumnNamespace', 'ColumnRef', 'CompoundQuery', 'Expression', 'Frame', 'Query', 'aliased',
           'and_', 'case', 'cast', 'exists', 'func', 'or_', 'raw', 'table', 'value']
