"""Models of the async API scenarios: users with posts, groups through memberships, hooked and
soft-deleted records (tables prefixed `aio_`)."""
from __future__ import annotations

import asyncio
from typing import Annotated, Any, ClassVar

from pydantic import Field

from activerecord import ActiveRecord, Column
from activerecord.mixins import SoftDeleteMixin
from activerecord.relation import BelongsTo, HasMany


class User(ActiveRecord):
    __table_name__ = 'aio_users'
    id: int
    username: Annotated[str, Field(max_length=40), Column(unique=True)]
    email: str = ''
    karma: int = 0
    posts: ClassVar[HasMany['Post']] = HasMany(foreign_key='user_id', inverse_of='user')
    memberships: ClassVar[HasMany['Membership']] = HasMany(foreign_key='user_id', inverse_of='user')
    groups: ClassVar[HasMany['Group']] = HasMany(through='memberships')


class Post(ActiveRecord):
    __table_name__ = 'aio_posts'
    id: int
    user_id: int
    title: str
    score: int = 0
    user: ClassVar[BelongsTo['User']] = BelongsTo(foreign_key='user_id', inverse_of='posts')


class Group(ActiveRecord):
    __table_name__ = 'aio_groups'
    id: int
    name: str


class Membership(ActiveRecord):
    __table_name__ = 'aio_memberships'
    id: int
    user_id: int
    group_id: int
    role: str = 'member'
    user: ClassVar[BelongsTo['User']] = BelongsTo(foreign_key='user_id', inverse_of='memberships')
    group: ClassVar[BelongsTo['Group']] = BelongsTo(foreign_key='group_id')


#: what the hooks saw, in order: (hook name, note's text)
HOOK_CALLS: list[tuple[str, str]] = []


class Note(ActiveRecord):
    """Sync hooks only: they run the same way on both paths."""

    __table_name__ = 'aio_notes'
    id: int
    text: str

    def before_save(self) -> None:
        HOOK_CALLS.append(('before_save', self.text))

    def after_create(self) -> None:
        HOOK_CALLS.append(('after_create', self.text))


class Journal(ActiveRecord):
    """An `async def` hook: awaited on the async path, refused on the sync one."""

    __table_name__ = 'aio_journals'
    id: int
    text: str

    async def after_save(self) -> None:
        await asyncio.sleep(0)          # really suspends: it runs on the event loop
        HOOK_CALLS.append(('after_save', self.text))
        if self.text.startswith('noted'):
            await Note.acreate(text=self.text)   # a twin awaited inside the hook: same transaction
        if self.text.endswith('fail'):
            raise ValueError(f'the async hook refuses {self.text!r}')


class Archive(SoftDeleteMixin, ActiveRecord):
    __table_name__ = 'aio_archives'
    id: int
    title: str


MODELS: tuple[Any, ...] = (User, Post, Group, Membership, Note, Journal, Archive)
__all__ = ['MODELS', 'HOOK_CALLS', 'User', 'Post', 'Group', 'Membership', 'Note', 'Journal', 'Archive']
