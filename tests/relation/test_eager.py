"""Eager loading: one statement per relation level (per chunk of keys), never one per record."""
from __future__ import annotations

import pytest

from activerecord.errors import DatabaseError
from activerecord.relation import strict_loading

from .support import expected_tree, param_count, seed, statements, tree_of
from .models import Comment, Group, Membership, Post, Profile, User


def test_100_users_with_posts_and_comments_take_exactly_three_statements(social):
    seed(100, posts_per_user=3, comments_per_post=2)
    with statements() as sent:
        users = User.query().order_by(User.c.id).with_('posts.comments').all()
    assert len(sent) == 3
    assert [('rel_users' in sql, 'rel_posts' in sql, 'rel_comments' in sql) for sql in sent] == [
        (True, False, False), (False, True, False), (False, False, True)]
    assert [param_count(sql) for sql in sent] == [0, 100, 300]
    with statements() as later, strict_loading():
        assert tree_of(users) == expected_tree(100, posts_per_user=3, comments_per_post=2)
        # the inverse sides were filled in too
        assert all(post.user() is user for user in users for post in user.posts())
        assert all(comment.post() is post for user in users for post in user.posts() for comment in post.comments())
    assert later == []


def test_several_relations_at_once_and_records_without_any(social):
    people = seed(6, posts_per_user=1, comments_per_post=0)
    Profile.create(user_id=people[0].id, bio='first')
    club = Group.create(name='club')
    Membership.insert_many([{'user_id': user.id, 'group_id': club.id} for user in people[:3]])
    with statements() as sent:
        users = User.query().order_by(User.c.id).with_('posts', 'profile', 'groups').all()
    # users, posts, profiles, then groups through memberships (two levels: the join rows, the groups)
    assert len(sent) == 5
    with statements() as later, strict_loading():
        assert [user.profile() and user.profile().bio for user in users] == ['first', None, None, None, None, None]
        assert [[group.name for group in user.groups()] for user in users] == [['club']] * 3 + [[]] * 3
        assert [len(user.memberships()) for user in users] == [1, 1, 1, 0, 0, 0]
        assert users[0].profile().user() is users[0]
    assert later == []


def test_a_level_with_no_keys_sends_nothing(social):
    User.insert_many([{'username': 'lonely'}])
    with statements() as sent:
        users = User.query().with_('posts.comments').all()
    assert len(sent) == 2   # users, posts; no post was found, so no comment statement
    with strict_loading():
        assert users[0].posts() == []


def test_per_relation_modifier_filters_and_orders_that_level(social):
    seed(10, posts_per_user=4, comments_per_post=1)
    with statements() as sent:
        users = (User.query().order_by(User.c.id)
                 .with_(('posts', lambda q: q.where(Post.c.score >= 3).order_by(Post.c.score.desc())),
                        'posts.comments').all())
    assert len(sent) == 3
    with strict_loading():
        assert [[post.title for post in user.posts()] for user in users[:2]] == [['u1-p4', 'u1-p3'], ['u2-p4', 'u2-p3']]
        assert [comment.body for comment in users[0].posts()[0].comments()] == ['u1-p4-c1']


def test_modifier_on_a_nested_level(social):
    seed(3, posts_per_user=2, comments_per_post=3)
    users = User.query().order_by(User.c.id).with_(
        ('posts.comments', lambda q: q.where(Comment.c.body.endswith('-c2')))).all()
    with strict_loading():
        assert tree_of(users) == {f'u{u}': [(f'u{u}-p{p}', [f'u{u}-p{p}-c2']) for p in (1, 2)] for u in (1, 2, 3)}


def test_modifier_must_return_a_query_of_the_target(social):
    seed(2, posts_per_user=1, comments_per_post=0)
    from activerecord.relation import RelationError
    with pytest.raises(RelationError, match=r'User\.posts.*must return a query of Post'):
        User.query().with_(('posts', lambda q: None)).all()


def test_keys_are_chunked_to_the_in_list_limit(social, monkeypatch):
    seed(100, posts_per_user=1, comments_per_post=0)
    backend = User.backend()
    monkeypatch.setattr(backend.dialect, 'features', backend.features.with_(max_in_list=30))
    with statements() as sent:
        users = User.query().with_('posts').all()
    assert [param_count(sql) for sql in sent] == [0, 30, 30, 30, 10]
    with strict_loading():
        titles = sorted(post.title for user in users for post in user.posts())
        assert titles == sorted(f'u{n}-p1' for n in range(1, 101))


def test_chunks_leave_room_for_the_levels_own_parameters(social, monkeypatch):
    seed(100, posts_per_user=1, comments_per_post=0)
    backend = User.backend()
    monkeypatch.setattr(backend.dialect, 'features', backend.features.with_(max_parameters=41))
    with statements() as sent:
        users = User.query().with_(('posts', lambda q: q.where(Post.c.score >= 1))).all()
    # each posts statement binds the score, then at most 40 keys
    assert [param_count(sql) for sql in sent] == [0, 41, 41, 21]
    assert sum(len(user.posts()) for user in users) == 100


@pytest.mark.backends('postgresql')
def test_a_key_set_beyond_the_real_parameter_limit(social):
    """More users than one statement may carry keys for: the posts level is split, and works.

    PostgreSQL's protocol counts bind parameters in 16 bits, so a statement with more than
    65535 is rejected whatever the server's settings. SQLite's limit depends on how it was
    built (this one accepts 250000) and pymysql binds on the client, so this runs where the
    limit is a fact; the chunking itself is tested on every backend above, with lowered limits.
    """
    backend = User.backend()
    count = backend.features.max_parameters + 5
    User.insert_many([{'username': f'n{index}'} for index in range(count)])
    last = User.query().order_by(User.c.id.desc()).first()
    Post.create(user_id=last.id, title='the last one')
    ids = User.query().pluck(User.c.id)
    with pytest.raises(DatabaseError):   # the limit is real: all the keys in one statement fail
        backend.fetch_all('SELECT id FROM rel_posts WHERE user_id IN (' + ', '.join('?' * len(ids)) + ')', ids)
    per_statement = min(backend.features.max_in_list, backend.features.max_parameters)
    with statements() as sent:
        users = User.query().with_('posts').all()
    assert len(sent) == 1 + -(-count // per_statement)
    assert max(param_count(sql) for sql in sent) == per_statement
    assert [post.title for user in users for post in user.posts()] == ['the last one']


def test_iter_loads_each_batch_with_one_statement_per_level(social):
    seed(100, posts_per_user=1, comments_per_post=1)
    with statements() as sent:
        tree = tree_of(list(User.query().order_by(User.c.id).with_('posts.comments').iter(batch_size=40)))
    # however the backend streams (a cursor, or DECLARE/FETCH), each of the 3 batches of users
    # costs one posts statement and one comments statement
    assert [sum(table in sql for sql in sent) for table in ('rel_posts', 'rel_comments')] == [3, 3]
    assert tree == expected_tree(100, posts_per_user=1, comments_per_post=1)


def test_first_and_belongs_to_from_the_child_side(social):
    seed(5, posts_per_user=2, comments_per_post=1)
    with statements() as sent:
        comments = Comment.query().order_by(Comment.c.id).with_('post.user').all()
        first = Post.query().with_('user').first()
    assert len(sent) == 3 + 2
    with strict_loading():
        assert [comment.post().user().username for comment in comments] == ['u1', 'u1', 'u2', 'u2', 'u3', 'u3',
                                                                             'u4', 'u4', 'u5', 'u5']
        # one User object per user, shared by the posts that belong to it
        assert comments[0].post().user() is comments[1].post().user()
        assert first.user().username == 'u1'


def test_self_referential_nesting(social):
    post = User.create(username='root').posts.create(title='thread')
    top = post.comments.create(body='top')
    reply = Comment.create(post_id=post.id, parent_id=top.id, body='reply')
    Comment.create(post_id=post.id, parent_id=reply.id, body='reply to reply')
    with statements() as sent:
        roots = Comment.query().where(Comment.c.parent_id.is_null()).with_('replies.replies').all()
    assert len(sent) == 3
    with strict_loading():
        assert [(c.body, [(r.body, [rr.body for rr in r.replies()]) for r in c.replies()]) for c in roots] == [
            ('top', [('reply', ['reply to reply'])])]
        assert roots[0].replies()[0].parent() is roots[0]


def test_many_to_many_both_ways(social):
    people = seed(4, posts_per_user=0, comments_per_post=0)
    red, blue = Group.create(name='red'), Group.create(name='blue')
    Membership.insert_many([{'user_id': people[0].id, 'group_id': red.id},
                            {'user_id': people[0].id, 'group_id': blue.id},
                            {'user_id': people[1].id, 'group_id': blue.id},
                            {'user_id': people[3].id, 'group_id': red.id}])
    with statements() as sent:
        groups = Group.query().order_by(Group.c.id).with_('members.groups').all()
    assert len(sent) == 5   # groups; memberships + users; memberships + groups
    with strict_loading():
        assert {group.name: [user.username for user in group.members()] for group in groups} == {
            'red': ['u1', 'u4'], 'blue': ['u1', 'u2']}
        assert [group.name for group in groups[0].members()[0].groups()] == ['red', 'blue']


def test_through_with_a_modifier_does_not_fill_the_join_records(social):
    people = seed(2, posts_per_user=0, comments_per_post=0)
    red, blue = Group.create(name='red'), Group.create(name='blue')
    Membership.insert_many([{'user_id': people[0].id, 'group_id': red.id},
                            {'user_id': people[0].id, 'group_id': blue.id}])
    user = User.query().with_(('groups', lambda q: q.where(Group.c.name == 'blue'))).first()
    with strict_loading():
        assert [group.name for group in user.groups()] == ['blue']
    with statements() as sent:
        # the join records' own relation was not cut down to the filtered groups: it reads in full
        assert sorted(membership.group().name for membership in user.memberships()) == ['blue', 'red']
    assert len(sent) == 2


def test_records_read_twice_each_get_a_list_of_their_own(social):
    # A join repeats a user once per post: every copy is an owner with the same key, and eager
    # loading hands the group it built to the first of them, so the others must get copies.
    seed(2, posts_per_user=2, comments_per_post=0)
    with statements() as sent:
        users = (User.query().join(Post, Post.c.user_id == User.c.id).order_by(User.c.id, Post.c.id)
                 .with_('posts').all())
    assert len(sent) == 2
    assert [user.username for user in users] == ['u1', 'u1', 'u2', 'u2']
    first, second = users[0].posts(), users[1].posts()
    assert [post.title for post in first] == [post.title for post in second] == ['u1-p1', 'u1-p2']
    assert first is not second
    first.clear()
    assert [post.title for post in users[1].posts()] == ['u1-p1', 'u1-p2']
