"""Columns in expressions: `Model.c.<field>` (ColumnRef) and the columns of named sources.

A value compared with a model column is converted the way that column stores it
(`FieldMeta.to_db_for`). The node base and the other nodes are in tree.py, nodes.py and functions.py.
"""
from __future__ import annotations

from typing import Any, Iterator

from ..backend.types import ColumnSpec
from ..errors import ActiveRecordError, DataError
from .tree import BoundValue, Expression, python_type_name
from .column_operators import operator_mixins
from .model_types import FieldInfo, ModelClass
from .result_types import Scope, column_of_source, rule
from ..backend.dialect import SQLContext



class ColumnRef(Expression):
    """A model field as a column, qualified by its table (or the table's alias).

    A column of a field is an instance of a subclass that adds the operators of the field's type
    (`column_operators.operator_mixins`): build one with `column_ref()`.
    """

    __slots__ = ('model', 'name', 'field', 'table_alias', '_texts')

    def __init__(self, model: ModelClass, name: str, field: FieldInfo, table_alias: str | None = None) -> None:
        self.model = model
        self.name = name
        self.field = field
        self.table_alias = table_alias
        self._texts: dict[type, str] = {}   # dialect class -> quoted "table"."column"

    @property
    def column(self) -> str:
        """The column name in the database."""
        return self.field.column

    @property
    def label(self) -> str:  # type: ignore[override]
        return self.field.column

    def __sql__(self, ctx: 'SQLContext') -> None:
        dialect = ctx.dialect
        if ctx.state.get('unqualified'):
            ctx.parts.append(dialect.quote(self.field.column))
            return
        # Quoting is class-level data of the dialect: the text is built once per dialect class.
        text = self._texts.get(type(dialect))
        if text is None:
            table = dialect.quote(self.table_alias) if self.table_alias else dialect.quote_table(
                self.model.__meta__.table_name)
            text = self._texts[type(dialect)] = table + '.' + dialect.quote(self.field.column)
        ctx.parts.append(text)

    def to_db(self, dialect: Any, python_value: Any) -> Any:
        """`python_value` as this column binds it on `dialect`."""
        if python_value is None:
            return None
        converter = self.field.to_db_for(dialect)
        if converter is None:
            return python_value
        try:
            return converter(python_value)
        except ActiveRecordError:
            raise
        except Exception as error:
            raise DataError(f'{self.model.__name__}.{self.name}: cannot bind {python_value!r} as '
                            f'{python_type_name(self.field.python_type)} ({error})') from error

    def from_db_converter(self, dialect: Any) -> Any:
        """The converter for this column's values read back (None: as is)."""
        return self.field.from_db_for(dialect)

    def _bind(self, value: Any) -> Any:
        if hasattr(value, '__sql__'):
            return value
        return BoundValue(value, self)

    def _bind_arithmetic(self, value: Any) -> Any:
        # Only a value of the column's own type goes through its converter (a timedelta added
        # to an interval column); a plain number added to a Decimal column binds as it is.
        python_type = self.field.python_type
        if (not hasattr(value, '__sql__') and isinstance(python_type, type)
                and isinstance(value, python_type) and not isinstance(value, bool)):
            return BoundValue(value, self)
        return Expression._bind(self, value)

    def __repr__(self) -> str:
        prefix = f'{self.table_alias}:' if self.table_alias else ''
        return f'{prefix}{self.model.__name__}.c.{self.name}'


@rule(ColumnRef)
def _column_type(node: ColumnRef, scope: Scope) -> ColumnSpec:
    return node.field.spec


#: operator mixins -> the ColumnRef subclass that offers them (one class per combination)
_COLUMN_CLASSES: dict[tuple[type, ...], type[ColumnRef]] = {}


def column_ref(model: ModelClass, name: str, field: FieldInfo, table_alias: str | None = None) -> ColumnRef:
    """The column of `model.name`, offering the operators of its field's type."""
    mixins = operator_mixins(field)
    cls = _COLUMN_CLASSES.get(mixins)
    if cls is None:
        # named ColumnRef too: the class shows in messages about the column
        cls = _COLUMN_CLASSES[mixins] = type('ColumnRef', (*mixins, ColumnRef), {'__slots__': ()})
    return cls(model, name, field, table_alias)


class ColumnNamespace:
    """`Model.c`: attribute access gives the ColumnRef of a field."""

    __slots__ = ('_model', '_alias', '_columns')

    def __init__(self, model: type, alias: str | None = None) -> None:
        model_class: Any = model   # a model class: its metaclass properties escape a Protocol
        self._model: ModelClass = model_class
        self._alias = alias
        self._columns: dict[str, ColumnRef] = {}

    def __getattr__(self, name: str) -> ColumnRef:
        if name.startswith('__'):
            raise AttributeError(name)
        column = self._columns.get(name)
        if column is None:
            fields = self._model.__meta__.fields
            field = fields.get(name)
            if field is None:
                raise AttributeError(f'{self._model.__name__} has no field {name!r}; its fields are: '
                                     f'{", ".join(fields) or "(none)"}')
            column = self._columns[name] = column_ref(self._model, name, field, self._alias)
        return column

    def __getitem__(self, name: str) -> ColumnRef:
        try:
            column: ColumnRef = getattr(self, name)
        except AttributeError as error:
            raise KeyError(str(error)) from None
        return column

    def __iter__(self) -> Iterator[ColumnRef]:
        return (getattr(self, name) for name in self._model.__meta__.fields)

    def __dir__(self) -> list[str]:
        return list(self._model.__meta__.fields)

    def __repr__(self) -> str:
        return f'<columns of {self._model.__name__}>'


class NamedColumn(Expression):
    """A column of a named source that is not a model: a CTE, a subquery alias, a raw table."""

    __slots__ = ('table', 'name')

    def __init__(self, table: str | None, name: str) -> None:
        self.table = table
        self.name = name

    @property
    def label(self) -> str:  # type: ignore[override]
        return self.name

    def __sql__(self, ctx: 'SQLContext') -> None:
        if self.table is None or ctx.state.get('unqualified'):
            ctx.identifier(self.name)
        else:
            ctx.identifier(self.table, self.name)

    def __repr__(self) -> str:
        return f'{self.table}.c.{self.name}'


class NamedColumns:
    """`.c` of a CTE or subquery alias: any attribute is a column of that name."""

    __slots__ = ('_table',)

    def __init__(self, table: str) -> None:
        self._table = table

    def __getattr__(self, name: str) -> NamedColumn:
        if name.startswith('__'):
            raise AttributeError(name)
        return NamedColumn(self._table, name)

    def __getitem__(self, name: str) -> NamedColumn:
        return NamedColumn(self._table, name)


@rule(NamedColumn)
def _named_column_type(node: NamedColumn, scope: Scope) -> ColumnSpec | None:
    return column_of_source(scope, node.table, node.name)
