"""Models of the relation tests: users, posts, threaded comments, groups through memberships."""
from __future__ import annotations

from typing import ClassVar, Optional

from activerecord import ActiveRecord
from activerecord.relation import BelongsTo, HasMany, HasOne


class User(ActiveRecord):
    __table_name__ = 'rel_users'
    id: int
    username: str
    posts: ClassVar[HasMany['Post']] = HasMany(foreign_key='user_id', inverse_of='user', dependent='delete')
    profile: ClassVar[HasOne['Profile']] = HasOne(foreign_key='user_id', inverse_of='user', dependent='delete_all')
    memberships: ClassVar[HasMany['Membership']] = HasMany(foreign_key='user_id', inverse_of='user',
                                                           dependent='delete_all')
    groups: ClassVar[HasMany['Group']] = HasMany(through='memberships')


class Profile(ActiveRecord):
    __table_name__ = 'rel_profiles'
    id: int
    user_id: int
    bio: str = ''
    user: ClassVar[BelongsTo['User']] = BelongsTo(foreign_key='user_id', inverse_of='profile')


class Post(ActiveRecord):
    __table_name__ = 'rel_posts'
    id: int
    user_id: int
    title: str
    score: int = 0
    user: ClassVar[BelongsTo['User']] = BelongsTo(foreign_key='user_id', inverse_of='posts')
    comments: ClassVar[HasMany['Comment']] = HasMany(foreign_key='post_id', inverse_of='post', dependent='delete_all')
    attachments: ClassVar[HasMany['Attachment']] = HasMany(foreign_key='post_id', dependent='nullify')


class Comment(ActiveRecord):
    __table_name__ = 'rel_comments'
    id: int
    post_id: int
    parent_id: Optional[int] = None
    body: str
    post: ClassVar[BelongsTo['Post']] = BelongsTo(foreign_key='post_id', inverse_of='comments')
    parent: ClassVar[BelongsTo['Comment']] = BelongsTo(foreign_key='parent_id', inverse_of='replies')
    replies: ClassVar[HasMany['Comment']] = HasMany(foreign_key='parent_id', inverse_of='parent')


class Attachment(ActiveRecord):
    __table_name__ = 'rel_attachments'
    id: int
    post_id: Optional[int] = None
    name: str


class Group(ActiveRecord):
    __table_name__ = 'rel_groups'
    id: int
    name: str
    memberships: ClassVar[HasMany['Membership']] = HasMany(foreign_key='group_id', inverse_of='group',
                                                           dependent='restrict')
    members: ClassVar[HasMany['User']] = HasMany(through='memberships')


class Membership(ActiveRecord):
    __table_name__ = 'rel_memberships'
    id: int
    user_id: int
    group_id: int
    role: str = 'member'
    user: ClassVar[BelongsTo['User']] = BelongsTo(foreign_key='user_id', inverse_of='memberships')
    group: ClassVar[BelongsTo['Group']] = BelongsTo(foreign_key='group_id', inverse_of='memberships')


ALL_MODELS = (User, Profile, Post, Comment, Attachment, Group, Membership)
