"""Model mixins: timestamps, soft delete, optimistic locking, UUID primary keys.

A mixin is an abstract ActiveRecord: list it before (or instead of) ActiveRecord in the bases,
`class Post(TimestampMixin, SoftDeleteMixin, ActiveRecord)`. Mixins declare fields and class
data that save()/delete() read; they do not use the public hook names, so a model's own hooks
never hide them.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Optional

from pydantic import Field
from typing_extensions import Self  # typing.Self from 3.11; pydantic depends on typing_extensions

from .errors import ActiveRecordError
from .model.base import ActiveRecord
from .model.crud import update_columns
from .model.state import private_state
from .query import Query


class TimestampMixin(ActiveRecord):
    """`created_at` and `updated_at` (aware UTC) set by save(): on INSERT both, on UPDATE updated_at.

    A save that changes nothing leaves updated_at alone; values given explicitly are kept.
    """

    __abstract__ = True
    __timestamps__ = ('created_at', 'updated_at')

    created_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None


def soft_delete_scope(query: Any) -> Any:
    """The default scope of SoftDeleteMixin: rows whose deleted_at is NULL."""
    model = query.model
    return query.where(getattr(model.c, model.__soft_delete_field__).is_null())


class SoftDeleteMixin(ActiveRecord):
    """`deleted_at`: delete() sets it instead of removing the row; queries and finders hide such rows.

    `Model.with_deleted()` (or `query.with_deleted()`) shows them; `record.restore()` clears the
    mark; `record.force_delete()` removes the row.
    """

    __abstract__ = True
    __soft_delete_field__ = 'deleted_at'
    __default_scopes__ = {'soft_delete': soft_delete_scope}

    deleted_at: Optional[datetime] = None

    @classmethod
    def with_deleted(cls) -> Query[Self]:
        """A query that also returns soft-deleted rows."""
        return cls.query().with_deleted()

    @property
    def is_soft_deleted(self) -> bool:
        """True when delete() has marked the record."""
        field = type(self).__soft_delete_field__
        assert field is not None   # set above (the ClassVar's declared type allows None)
        return getattr(self, field) is not None

    def restore(self) -> Self:
        """Clear the deleted mark (an UPDATE of that column only); returns self."""
        cls = type(self)
        if self.is_new_record or self.is_deleted:
            raise ActiveRecordError(f'cannot restore {cls.__name__}: it is not a stored record')
        field = cls.__soft_delete_field__
        assert field is not None   # as in is_soft_deleted
        if getattr(self, field) is None and private_state(self)['_ar_snap'].get(field) is None:
            return self
        update_columns(self, **{field: None})
        return self

    def force_delete(self) -> bool:
        """DELETE the row for good (runs the delete hooks); True if deleted, False if it was gone."""
        # one code path for hooks and state: delete() with a per-call switch
        private_state(self)['_ar_force'] = True
        try:
            return self.delete()
        finally:
            private_state(self).pop('_ar_force', None)

    async def arestore(self) -> Self:
        """Awaitable restore() (see model/async_api.py)."""
        return await type(self).backend().arun(self.restore)

    async def aforce_delete(self) -> bool:
        """Awaitable force_delete() (see model/async_api.py)."""
        return await type(self).backend().arun(self.force_delete)


class OptimisticLockMixin(ActiveRecord):
    """`version`: every UPDATE/DELETE checks it and an UPDATE increments it; a stale write raises
    StaleObjectError and changes nothing."""

    __abstract__ = True
    __lock_field__ = 'version'

    version: int = 1


class UUIDPrimaryKeyMixin(ActiveRecord):
    """`id: UUID`, generated (uuid4) when the record is constructed."""

    __abstract__ = True

    id: uuid.UUID = Field(default_factory=uuid.uuid4)


__all__ = ['TimestampMixin', 'SoftDeleteMixin', 'OptimisticLockMixin', 'UUIDPrimaryKeyMixin', 'soft_delete_scope']
