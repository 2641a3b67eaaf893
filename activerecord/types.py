"""Public type helpers: register a custom Python type with its column type and converters.

    from activerecord.types import register_type
    register_type(Money, 'BIGINT', to_db=lambda m: m.cents, from_db=lambda v: Money(cents=v))

`column_type` is one type for every database, or a dict of dialect name -> type with '*' as
the fallback. Backend-specific value types (Point, Geometry on MySQL) are added here too.
"""
from __future__ import annotations

from .backend.types import ColumnSpec, CustomType, custom_type, register_type
from .spatial import Geometry as Geometry, Point as Point  # spatial column types (MySQL/MariaDB), re-exported

__all__ = ['register_type', 'custom_type', 'CustomType', 'ColumnSpec']
