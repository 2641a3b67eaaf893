"""The builder steps a Query and a set operation (union, ...) share: paging, dict rows, CTEs, naming."""
from __future__ import annotations

from typing import Any, Sequence, TypeVar

from ..backend.dialect import SQLContext
from ..errors import ActiveRecordError
from .cte import CTE, make_cte
from .fetching import Fetching, T
from .sources import SubqueryAlias


def _non_negative(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ActiveRecordError(f'{what}() takes a non-negative int or None, got {value!r}')
    return value


_Self = TypeVar('_Self', bound='Builder[Any]')


class Builder(Fetching[T]):
    """A runnable query whose every builder step returns a changed copy (`_clone(**changes)`)."""

    __slots__ = ()

    _limit: int | None
    _ctes: tuple[CTE, ...]

    def _clone(self: _Self, **changes: Any) -> _Self:  # pragma: no cover - abstract
        raise NotImplementedError

    def limit(self: _Self, count: int | None) -> _Self:
        """At most `count` rows (None: no limit)."""
        return self._clone(_limit=_non_negative(count, 'limit'))

    def offset(self: _Self, count: int | None) -> _Self:
        """Skip the first `count` rows."""
        return self._clone(_offset=_non_negative(count, 'offset'))

    def as_dicts(self: _Self, enabled: bool = True) -> _Self:
        """Return rows as dicts keyed by column label instead of model instances."""
        return self._clone(_as_dicts=bool(enabled))

    def with_cte(self: _Self, name: str, query: Any, recursive: bool = False,
                 columns: Sequence[str] | None = None) -> _Self:
        """Add `name AS (query)` to the statement's WITH clause (join it with table(name))."""
        return self._clone(_ctes=self._ctes + (make_cte(name, query, recursive, columns),))

    def as_(self, name: str) -> SubqueryAlias:
        """This query under a name: a scalar subquery in select(), or a source for join()."""
        return SubqueryAlias(self, name)

    def __sql__(self, ctx: SQLContext) -> None:
        """As an operand: (SELECT ...)."""
        ctx.literal('(')
        self.__subquery_sql__(ctx)
        ctx.literal(')')

    def __subquery_sql__(self, ctx: SQLContext) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _with_limit(self: _Self, limit: int) -> _Self:
        if self._limit is not None and self._limit <= limit:
            return self
        return self._clone(_limit=limit)
