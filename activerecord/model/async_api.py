"""Awaitable twins of the model's database calls: `await User.acreate(...)`, `await u.asave()`.

Each twin runs its sync method, whole, through `backend.arun` (docs/async.md): on a worker
thread, with a pooled connection lent to it for its length (or inside the task's transaction),
so hooks, validation, savepoints and errors are exactly those of the sync call and the event
loop never waits on the database. A twin adds no logic of its own: a behaviour change belongs
in the sync method, and both paths get it.
"""
from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable, Sequence, TypeVar

from typing_extensions import Self  # typing.Self from 3.11; pydantic depends on typing_extensions

from ..backend.base import StorageBackend
from . import ddl
from .bulk import BulkMixin
from .crud import CrudMixin
from .finders import FinderMixin

R = TypeVar('R')


class AsyncModelMixin(CrudMixin, FinderMixin, BulkMixin):
    """The `a`-prefixed twins of ActiveRecord (listed first in its bases: it extends the sync mixins)."""

    __slots__ = ()

    if TYPE_CHECKING:  # defined by ActiveRecord itself (model/base.py), which lists this mixin first
        @classmethod
        def backend(cls) -> StorageBackend: ...
        @classmethod
        def create_table(cls, if_not_exists: bool = True) -> None: ...
        @classmethod
        def drop_table(cls, if_exists: bool = True) -> None: ...
        @classmethod
        def check_schema(cls) -> list[Any]: ...

    # -- writes -------------------------------------------------------------------------

    @classmethod
    async def acreate(cls, **values: Any) -> Self:
        """Awaitable create(): construct (validating) and save a record; returns it."""
        return await cls.backend().arun(cls.create, **values)

    async def asave(self) -> Self:
        """Awaitable save(): INSERT or UPDATE of the changed columns; returns self."""
        return await type(self).backend().arun(self.save)

    async def adelete(self) -> bool:
        """Awaitable delete(): True if it deleted the row, False if the row was already gone."""
        return await type(self).backend().arun(self.delete)

    async def arefresh(self) -> Self:
        """Awaitable refresh(): read the row again into this record; RecordNotFound if it is gone."""
        return await type(self).backend().arun(self.refresh)

    @classmethod
    async def ainsert_many(cls, rows: Iterable[Any], *, batch_size: int | None = None,
                           return_keys: bool = False) -> Any:
        """Awaitable insert_many(): the row count (or the keys, with return_keys=True)."""
        return await cls.backend().arun(cls.insert_many, rows, batch_size=batch_size, return_keys=return_keys)

    @classmethod
    async def aupsert(cls, rows: Iterable[Any], conflict: Sequence[str], update: Sequence[str] | None = None, *,
                      batch_size: int | None = None) -> int:
        """Awaitable upsert(): INSERT, or UPDATE on a conflict; the number of rows written."""
        return await cls.backend().arun(cls.upsert, rows, conflict, update, batch_size=batch_size)

    # -- lookups ------------------------------------------------------------------------

    @classmethod
    async def afind_one(cls, condition: Any) -> Self | None:
        """Awaitable find_one(): the record with this key (or matching a dict), else None."""
        return await cls.backend().arun(cls.find_one, condition)

    @classmethod
    async def afind_one_or_fail(cls, condition: Any) -> Self:
        """Awaitable find_one_or_fail(): like afind_one, but RecordNotFound when nothing matches."""
        return await cls.backend().arun(cls.find_one_or_fail, condition)

    @classmethod
    async def afind_all(cls, condition: Any = None) -> list[Self]:
        """Awaitable find_all(): every record, those with these keys (a list), or matching a dict."""
        return await cls.backend().arun(cls.find_all, condition)

    # -- transactions -------------------------------------------------------------------

    @classmethod
    def atransaction(cls, isolation_level: Any = None, read_only: bool = False) -> AbstractAsyncContextManager[Any]:
        """`async with Model.atransaction():` the task's transaction; nested = savepoint."""
        return cls.backend().atransaction(isolation_level, read_only)

    @classmethod
    async def arun_transaction(cls, fn: Callable[..., Awaitable[R]], *args: Any, retries: int = 3,
                               isolation_level: Any = None, **kwargs: Any) -> R:
        """await fn(*args, **kwargs) in a transaction, run again (after a short backoff) on a retryable error."""
        return await cls.backend().arun_transaction(fn, *args, retries=retries, isolation_level=isolation_level,
                                                    **kwargs)

    # -- schema -------------------------------------------------------------------------

    @classmethod
    async def acreate_table(cls, if_not_exists: bool = True) -> None:
        """Awaitable create_table()."""
        await cls.backend().arun(cls.create_table, if_not_exists)

    @classmethod
    async def adrop_table(cls, if_exists: bool = True) -> None:
        """Awaitable drop_table()."""
        await cls.backend().arun(cls.drop_table, if_exists)

    @classmethod
    async def acheck_schema(cls) -> list[Any]:
        """Awaitable check_schema(): how the live table differs from the model."""
        return await cls.backend().arun(cls.check_schema)



# The module-level schema calls: like create_all(), they run on the first model's backend.

async def acreate_all(models: Sequence[ddl.Model], if_not_exists: bool = True) -> None:
    """Awaitable create_all()."""
    if models:
        await models[0].backend().arun(ddl.create_all, models, if_not_exists)


async def adrop_all(models: Sequence[ddl.Model], if_exists: bool = True) -> None:
    """Awaitable drop_all()."""
    if models:
        await models[0].backend().arun(ddl.drop_all, models, if_exists)


__all__ = ['AsyncModelMixin', 'acreate_all', 'adrop_all']
