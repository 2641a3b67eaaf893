"""activerecord: an ActiveRecord-style ORM on pydantic v2 models and pure-Python DB-API drivers."""
from .model import ActiveRecord, Column
from .model.async_api import acreate_all, adrop_all
from .model.ddl import create_all, drop_all
from .query import Frame, Query, aliased, and_, case, cast, exists, func, or_, raw, table, value
from .version import __version__ as __version__   # the explicit form: a re-export for type checkers

__all__ = ['ActiveRecord', 'Column', 'create_all', 'drop_all', 'acreate_all', 'adrop_all', 'func', 'raw', 'value', 'case', 'cast',
           'exists', 'and_', 'or_', 'aliased', 'table', 'Frame', 'Query']
