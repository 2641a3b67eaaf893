"""API.md, "Relations": lazy and cached reads, reload=True, through, eager loading per level, resolution."""
from __future__ import annotations

from typing import Any, ClassVar

import pytest

from activerecord import ActiveRecord
from activerecord.errors import ActiveRecordError
from activerecord.relation import BelongsTo, HasMany, HasOne


class RUser(ActiveRecord):
    __table_name__ = 'apic_r_users'
    id: int
    username: str
    posts: ClassVar[HasMany['RPost']] = HasMany(foreign_key='user_id', inverse_of='user')
    profile: ClassVar[HasOne['RProfile']] = HasOne(foreign_key='user_id', inverse_of='user')
    memberships: ClassVar[HasMany['RMembership']] = HasMany(foreign_key='user_id', inverse_of='user')
    groups: ClassVar[HasMany['RGroup']] = HasMany(through='memberships')


class RProfile(ActiveRecord):
    __table_name__ = 'apic_r_profiles'
    id: int
    user_id: int
    bio: str
    user: ClassVar[BelongsTo['RUser']] = BelongsTo(foreign_key='user_id', inverse_of='profile')


class RPost(ActiveRecord):
    __table_name__ = 'apic_r_posts'
    id: int
    user_id: int
    title: str
    user: ClassVar[BelongsTo['RUser']] = BelongsTo(foreign_key='user_id', inverse_of='posts')
    comments: ClassVar[HasMany['RComment']] = HasMany(foreign_key='post_id', inverse_of='post')


class RComment(ActiveRecord):
    __table_name__ = 'apic_r_comments'
    id: int
    post_id: int
    body: str
    post: ClassVar[BelongsTo['RPost']] = BelongsTo(foreign_key='post_id', inverse_of='comments')


class RGroup(ActiveRecord):
    __table_name__ = 'apic_r_groups'
    id: int
    name: str


class RMembership(ActiveRecord):
    __table_name__ = 'apic_r_memberships'
    id: int
    user_id: int
    group_id: int
    user: ClassVar[BelongsTo['RUser']] = BelongsTo(foreign_key='user_id', inverse_of='memberships')
    group: ClassVar[BelongsTo['RGroup']] = BelongsTo(foreign_key='group_id')


USERS = 4


@pytest.fixture
def social(db: Any) -> Any:
    db.use(RUser, RProfile, RPost, RComment, RGroup, RMembership)
    RUser.insert_many([{'id': u, 'username': f'user{u}'} for u in range(1, USERS + 1)])
    RProfile.insert_many([{'user_id': u, 'bio': f'bio{u}'} for u in (1, 2)])
    RPost.insert_many([{'id': u * 10 + p, 'user_id': u, 'title': f'u{u}p{p}'}
                       for u in range(1, USERS) for p in range(1, u + 1)])
    RComment.insert_many([{'post_id': post.id, 'body': f'{post.title}c{k}'}
                          for post in RPost.find_all() for k in (1, 2)])
    RGroup.insert_many([{'id': 1, 'name': 'red'}, {'id': 2, 'name': 'blue'}])
    RMembership.insert_many([{'user_id': 1, 'group_id': 1}, {'user_id': 1, 'group_id': 2},
                             {'user_id': 2, 'group_id': 2}])
    return db


def _titles(posts: list) -> list[str]:
    return sorted(post.title for post in posts)


def test_relation_calls_are_lazy_then_cached_and_reload_reads_again(social: Any, sent: Any) -> None:
    sent.clear()
    alice = RUser.find_one(3)
    assert len(sent.statements()) == 1                # nothing loaded with the record
    posts = alice.posts()
    assert isinstance(posts, list) and _titles(posts) == ['u3p1', 'u3p2', 'u3p3']
    assert len(sent.statements()) == 2
    assert alice.posts() is posts or alice.posts() == posts
    assert len(sent.statements()) == 2                 # cached on the instance
    RPost.create(user_id=3, title='u3p4')
    assert len(alice.posts()) == 3
    assert _titles(alice.posts(reload=True)) == ['u3p1', 'u3p2', 'u3p3', 'u3p4']
    post = RPost.find_one(31)
    owner = post.user()
    assert isinstance(owner, RUser) and owner.id == 3
    assert RUser.find_one(1).profile().bio == 'bio1' and RUser.find_one(4).profile() is None


def test_many_to_many_through_a_join_model(social: Any) -> None:
    assert sorted(group.name for group in RUser.find_one(1).groups()) == ['blue', 'red']
    assert [group.name for group in RUser.find_one(2).groups()] == ['blue']
    assert RUser.find_one(3).groups() == []


def test_eager_loading_sends_one_statement_per_level(social: Any, sent: Any) -> None:
    sent.clear()
    users = RUser.query().with_('posts').order_by('id').all()
    assert len(sent.statements()) == 2
    sent.clear()
    assert [_titles(user.posts()) for user in users] == [['u1p1'], ['u2p1', 'u2p2'], ['u3p1', 'u3p2', 'u3p3'], []]
    assert sent.statements() == []
    users = RUser.query().with_('posts.comments').order_by('id').all()
    assert len(sent.statements()) == 3
    sent.clear()
    bodies = [sorted(c.body for post in user.posts() for c in post.comments()) for user in users]
    assert bodies[1] == ['u2p1c1', 'u2p1c2', 'u2p2c1', 'u2p2c2'] and bodies[3] == []
    assert all(post.user() is user for user in users for post in user.posts())   # inverse_of
    assert sent.statements() == []


def test_a_target_name_found_by_class_name_and_an_ambiguous_one() -> None:
    def make_target() -> type:
        class ApicFarTarget(ActiveRecord):
            __table_name__ = 'apic_far_targets'
            id: int
            owner_id: int
        return ApicFarTarget

    far = make_target()

    class ApicNear(ActiveRecord):
        __table_name__ = 'apic_near'
        id: int
        targets: ClassVar[HasMany['ApicFarTarget']] = HasMany(foreign_key='owner_id')

    backend = ApicNear.configure('sqlite://')
    far.configure('sqlite://')
    try:
        ApicNear.create_table()
        far.create_table()
        near = ApicNear.create()
        far.create(owner_id=near.id)
        assert [type(target) for target in near.targets()] == [far]
        twins = (make_target(), make_target())

        class ApicConfused(ActiveRecord):
            id: int
            targets: ClassVar[HasMany['ApicFarTarget']] = HasMany(foreign_key='owner_id')

        with pytest.raises(ActiveRecordError, match='ApicFarTarget'):
            ApicConfused.query().with_('targets')
        assert len(twins) == 2
    finally:
        backend.close()
