"""`Column(...)`: database details of a field, given in `Annotated[..., Column(...)]`."""
from __future__ import annotations

from typing import Any

from ..errors import ConfigurationError


class _Unset:
    """Marks "no database default" (None is a valid default: NULL)."""

    _instance: '_Unset | None' = None

    def __new__(cls) -> '_Unset':
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return 'UNSET'

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()


class Column:
    """Column details: primary_key, unique, index, name (column name), default (database default).

    Other keyword arguments: `references=Model` or `'table.column'` (a foreign key, with
    `on_delete='CASCADE'` etc.), `autoincrement=False` (no generated integer key),
    `read_only=True` (left out of the request schemas `create_schema()`/`update_schema()`), and
    backend-specific options (`fulltext=True` on MySQL, `srid=4326` for spatial columns).
    """

    __slots__ = ('primary_key', 'unique', 'index', 'name', 'default', 'read_only', 'options')

    def __init__(self, *, primary_key: bool = False, unique: bool = False, index: bool = False,
                 name: str | None = None, default: Any = UNSET, read_only: bool = False,
                 **options: Any) -> None:
        for flag, value in (('primary_key', primary_key), ('unique', unique), ('index', index),
                            ('read_only', read_only)):
            if not isinstance(value, bool):  # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
                raise ConfigurationError(f'Column({flag}={value!r}): expected True or False')
        if name is not None and (
                not isinstance(name, str)  # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
                or not name or '\x00' in name):
            raise ConfigurationError(f'Column(name={name!r}): expected a non-empty column name')
        self.primary_key = primary_key
        self.unique = unique
        self.index = index
        self.name = name
        self.default = default
        self.read_only = read_only
        self.options = dict(options)

    @property
    def has_default(self) -> bool:
        """Whether a database default was given."""
        return self.default is not UNSET

    def __repr__(self) -> str:
        parts = [f'{slot}={getattr(self, slot)!r}' for slot in ('primary_key', 'unique', 'index', 'read_only')
                 if getattr(self, slot)]
        if self.name is not None:
            parts.append(f'name={self.name!r}')
        if self.has_default:
            parts.append(f'default={self.default!r}')
        parts.extend(f'{key}={value!r}' for key, value in self.options.items())
        return f'Column({", ".join(parts)})'

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Column):
            return NotImplemented
        return all(getattr(self, slot) == getattr(other, slot) for slot in self.__slots__)

    def __hash__(self) -> int:
        return hash((self.primary_key, self.unique, self.index, self.name))
