"""Many-to-many writes: add / remove / set on a HasMany(through=...), on every live backend."""
from __future__ import annotations

from typing import ClassVar

import pytest

from activerecord import ActiveRecord
from activerecord.errors import ActiveRecordError, IntegrityError
from activerecord.relation import BelongsTo, HasMany, RelationError, strict_loading

from .models import Group, Membership, Post, User
from .support import statements


class Student(ActiveRecord):
    __table_name__ = 'm2m_students'
    id: int
    name: str
    enrollments: ClassVar[HasMany['Enrollment']] = HasMany(foreign_key='student_id')
    courses: ClassVar[HasMany['Course']] = HasMany(through='enrollments')


class Course(ActiveRecord):
    __table_name__ = 'm2m_courses'
    id: int
    title: str


class Enrollment(ActiveRecord):
    __table_name__ = 'm2m_enrollments'
    __indexes__ = [{'fields': ['student_id', 'course_id'], 'unique': True}]
    id: int
    student_id: int
    course_id: int
    student: ClassVar[BelongsTo['Student']] = BelongsTo(foreign_key='student_id')
    course: ClassVar[BelongsTo['Course']] = BelongsTo(foreign_key='course_id')


def _people_and_groups():
    alice, bob = User.create(username='alice'), User.create(username='bob')
    red, blue, green = (Group.create(name=name) for name in ('red', 'blue', 'green'))
    return alice, bob, red, blue, green


def _links(user):
    return sorted((row.group_id, row.role) for row in Membership.query().where(Membership.c.user_id == user.id).all())


def test_add_stores_join_fields_and_refreshes_the_cache(social):
    alice, bob, red, blue, _ = _people_and_groups()
    assert alice.groups() == []                          # loaded (and cached) before the write
    assert red.members() == []
    membership = alice.groups.add(red, role='admin')
    assert (membership.user_id, membership.group_id, membership.role) == (alice.id, red.id, 'admin')
    alice.groups.add(blue)
    with statements() as sent:
        assert [group.name for group in alice.groups()] == ['red', 'blue']   # refreshed, no read
        assert alice.groups.loaded
    assert sent == []
    assert _links(alice) == [(red.id, 'admin'), (blue.id, 'member')]
    assert [user.username for user in red.members()] == ['alice']          # the target's side read again
    assert bob.groups() == []


def test_add_does_not_load_an_unloaded_relation(social):
    alice, _, red, _, _ = _people_and_groups()
    alice.groups.add(red)
    assert not alice.groups.loaded
    assert [group.name for group in alice.groups()] == ['red']


def test_remove_deletes_the_links_and_refreshes(social):
    alice, bob, red, blue, green = _people_and_groups()
    for group in (red, blue, green):
        alice.groups.add(group)
    bob.groups.add(red)
    assert len(alice.groups()) == 3
    assert alice.groups.remove(red, green) == 2
    assert [group.name for group in alice.groups()] == ['blue']
    assert _links(alice) == [(blue.id, 'member')]
    assert [group.name for group in bob.groups()] == ['red']               # other owners untouched
    assert Group.query().count() == 3                                      # targets are not deleted
    assert alice.groups.remove(red) == 0


def test_set_makes_the_links_exactly_the_list(social):
    alice, bob, red, blue, green = _people_and_groups()
    alice.groups.add(red, role='admin')
    alice.groups.add(blue)
    bob.groups.add(blue)
    assert len(alice.groups()) == 2
    alice.groups.set([red, green, green], role='guest')
    assert [group.name for group in alice.groups()] == ['red', 'green']
    assert _links(alice) == [(red.id, 'admin'), (green.id, 'guest')]      # a kept link keeps its fields
    assert [group.name for group in bob.groups()] == ['blue']
    alice.groups.set([])
    assert alice.groups() == []
    assert _links(alice) == []


def test_set_runs_in_one_transaction(social):
    alice, _, red, blue, green = _people_and_groups()
    alice.groups.add(red)
    alice.groups.add(blue)

    def refuse_green(record):
        if record.group_id == green.id:
            raise ValueError('no green')

    Membership.on('before_save', refuse_green)
    try:
        with pytest.raises(ValueError, match='no green'):
            alice.groups.set([blue, Group.create(name='white'), green])   # deletes red, adds white, fails
    finally:
        Membership.off('before_save', refuse_green)
    assert _links(alice) == [(red.id, 'member'), (blue.id, 'member')]      # the old links, as they were
    assert [group.name for group in alice.groups(reload=True)] == ['red', 'blue']


def test_duplicates_follow_the_join_table(social, db):
    db.use(Student, Course, Enrollment)
    ann = Student.create(name='ann')
    math = Course.create(title='math')
    ann.courses.add(math)
    with pytest.raises(IntegrityError):
        ann.courses.add(math)                                             # unique (student_id, course_id)
    assert [course.title for course in ann.courses(reload=True)] == ['math']
    assert Enrollment.query().count() == 1
    # without a unique index a second join row is stored; the relation still lists the target once
    alice, _, red, _, _ = _people_and_groups()
    alice.groups.add(red)
    alice.groups.add(red)
    assert Membership.query().where(Membership.c.user_id == alice.id).count() == 2
    assert [group.name for group in alice.groups()] == ['red']
    assert alice.groups.remove(red) == 2


def test_errors_name_the_relation_and_the_value(social):
    alice, _, red, _, _ = _people_and_groups()
    post = Post.create(user_id=alice.id, title='hello')
    with pytest.raises(RelationError, match=r'User\.posts\.add\(\): User\.posts is not a many-to-many relation'):
        alice.posts.add(post)
    with pytest.raises(RelationError, match=r'User\.profile\.set\(\): User\.profile is not a many-to-many'):
        alice.profile.set([])
    with pytest.raises(RelationError, match=r'User\.groups\.add\(\): expected a Group, got Post'):
        alice.groups.add(post)
    with pytest.raises(RelationError, match=r'User\.groups\.remove\(\): expected a Group, got str'):
        alice.groups.remove('red')
    with pytest.raises(RelationError, match=r'User\.groups\.set\(\): expected a list of Group, got Group'):
        alice.groups.set(red)
    with pytest.raises(ActiveRecordError, match=r'User\.groups\.add\(\): the Group .* has no id yet; save it first'):
        alice.groups.add(Group(name='unsaved'))
    with pytest.raises(ActiveRecordError, match=r'User\.groups\.add\(\): the User has no id yet'):
        User(username='new').groups.add(red)
    with pytest.raises(RelationError, match=r"'colour' is not a field of Membership \(its fields: id, user_id"):
        alice.groups.add(red, colour='blue')
    with pytest.raises(RelationError, match=r'group_id= is set from the records being linked'):
        alice.groups.add(red, group_id=3)
    assert Membership.query().count() == 0                                 # nothing was written


def test_writes_from_the_other_side_and_under_strict_loading(social):
    alice, bob, red, _, _ = _people_and_groups()
    assert red.members() == []
    with strict_loading():                                                # the refresh is not a lazy read
        red.members.add(bob, role='admin')
        red.members.add(alice)
        assert [user.username for user in red.members()] == ['alice', 'bob']
        red.members.set([alice])
        assert [user.username for user in red.members()] == ['alice']
    assert _links(bob) == []
    assert [group.name for group in alice.groups()] == ['red']
    assert red.members.remove() == 0
