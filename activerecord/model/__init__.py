"""The model layer: ActiveRecord, Column, metadata, CRUD, DDL and hooks."""
from .base import ActiveRecord
from .column import Column
from .metadata import FieldMeta, ModelMeta

__all__ = ['ActiveRecord', 'Column', 'FieldMeta', 'ModelMeta']
