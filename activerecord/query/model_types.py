"""What the query layer reads of a model class, as Protocols (the model floor sits above this one).

A model class gives these through its metaclass (`__meta__`, `c`) and classmethods; checkers do not
match metaclass properties against a Protocol, so an entry point that takes a model class
(`Query(model)`, `ColumnNamespace(model)`) accepts `type` and keeps it typed as `ModelClass`.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Protocol, Sequence

from ..backend.base import StorageBackend
from ..backend.dialect import Dialect
from ..backend.types import ColumnSpec


class FieldInfo(Protocol):
    """One column field of a model (model.metadata.FieldMeta)."""

    @property
    def name(self) -> str: ...

    @property
    def column(self) -> str: ...

    @property
    def spec(self) -> ColumnSpec: ...

    @property
    def python_type(self) -> Any: ...

    def to_db_for(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """Converter of a Python value to what the driver binds (None: as is)."""
        ...

    def from_db_for(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """Converter of a driver value to the Python value (None: as is)."""
        ...


class ModelInfo(Protocol):
    """Table, key and fields of a model (model.metadata.ModelMeta)."""

    @property
    def table_name(self) -> str: ...

    @property
    def primary_key(self) -> tuple[str, ...]: ...

    @property
    def fields(self) -> Mapping[str, FieldInfo]: ...

    @property
    def by_column(self) -> Mapping[str, FieldInfo]: ...


class ModelClass(Protocol):
    """A model class as the query layer uses it."""

    __name__: str

    @property
    def __meta__(self) -> ModelInfo: ...

    @property
    def c(self) -> Any: ...   # the model's ColumnNamespace

    @property
    def __default_scopes__(self) -> Mapping[str, Callable[[Any], Any]]: ...

    def backend(self) -> StorageBackend:
        """The model's backend."""
        ...

    def _checked_backend(self) -> StorageBackend: ...

    def _from_rows(self, labels: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> list[Any]: ...
