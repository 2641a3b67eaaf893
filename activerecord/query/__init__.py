"""The query layer: column expressions, functions and the chainable Query.

Public names (re-exported by `activerecord`): func, raw, value, case, cast, exists, and_, or_,
aliased, table, Frame, Query. Public here only: match (full-text search over several columns).
"""
from .tree import Expression, and_, or_, raw, value
from .expressions import ColumnNamespace, ColumnRef
from .nodes import case, exists
from .functions import Frame, cast, func
from .query import Query, register_eager_loading
from .set_ops import CompoundQuery
from .sources import aliased, table
from .text_search import match

__all__ = ['ColumnNamespace', 'ColumnRef', 'CompoundQuery', 'Expression', 'Frame', 'Query', 'aliased',
           'and_', 'case', 'cast', 'exists', 'func', 'match', 'or_', 'raw', 'register_eager_loading', 'table',
           'value']
