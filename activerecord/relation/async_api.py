"""Awaitable twins of the relation accessors: `await alice.posts.aload()`, `await alice.groups.aadd(g)`.

A twin runs the sync call, whole, through `backend.arun` (docs/async.md), so it reads and fills
the same per-instance cache as the sync call and writes many-to-many links in the same single
transaction. A read the cache answers sends nothing, and does not leave the event loop.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, Iterable, TypeVar

from ..backend.base import StorageBackend

T = TypeVar('T')  # the relation's target model
R = TypeVar('R')  # what reading the relation returns (a list, or a record or None)


class AsyncBoundRelation(Generic[T, R]):
    """aload() of every bound accessor (`record.<relation>`); BoundRelation (descriptors.py) extends it."""

    __slots__ = ()

    if TYPE_CHECKING:  # defined by BoundRelation
        def __call__(self, reload: bool = False) -> R: ...
        @property
        def loaded(self) -> bool: ...

    def _model_backend(self, through: bool) -> StorageBackend:
        """The backend of the relation's target model, or of its join model (`through`, if any)."""
        accessor: Any = self   # BoundRelation's `relation` (typed there; this mixin only reads it)
        resolved = accessor.relation.resolve()
        model: Any = resolved.through.target if through and resolved.through is not None else resolved.target
        backend: StorageBackend = model.backend()
        return backend

    async def aload(self, reload: bool = False) -> R:
        """Awaitable read of the related record(s), cached like `record.relation()`; reload=True reads again."""
        if not reload and self.loaded:
            return self()   # answered from the cache: no statement, no thread
        return await self._model_backend(through=False).arun(self, reload)


class AsyncHasAccessor(AsyncBoundRelation[T, R]):
    """acreate() of HasOne/HasMany accessors, and aadd/aremove/aset of many-to-many ones."""

    __slots__ = ()

    if TYPE_CHECKING:  # defined by HasAccessor
        def create(self, **values: Any) -> T: ...
        def add(self, target: T, **join_fields: Any) -> Any: ...
        def remove(self, *targets: T) -> int: ...
        def set(self, targets: Iterable[T], **join_fields: Any) -> None: ...

    async def acreate(self, **values: Any) -> T:
        """Awaitable create(): a saved target whose foreign key points at this record."""
        return await self._model_backend(through=False).arun(self.create, **values)

    async def aadd(self, target: T, **join_fields: Any) -> Any:
        """Awaitable add(): link `target` by saving one join record (in a transaction); returns it."""
        return await self._model_backend(through=True).arun(self.add, target, **join_fields)

    async def aremove(self, *targets: T) -> int:
        """Awaitable remove(): delete the join records linking the targets; how many were deleted."""
        return await self._model_backend(through=True).arun(self.remove, *targets)

    async def aset(self, targets: Iterable[T], **join_fields: Any) -> None:
        """Awaitable set(): make the links exactly `targets`, in one transaction."""
        await self._model_backend(through=True).arun(self.set, targets, **join_fields)


__all__ = ['AsyncBoundRelation', 'AsyncHasAccessor']
