"""dependent= options: what deleting an owner does to the records that point at it."""
from __future__ import annotations

import pytest

from activerecord.relation import DeleteRestrictedError

from .support import seed, statements
from .models import Attachment, Comment, Group, Membership, Post, Profile, User


def test_delete_cascades_through_each_child_and_delete_all_in_one_statement(social):
    alice, bob = seed(2, posts_per_user=2, comments_per_post=3)
    alice.profile.create(bio='a')
    Membership.create(user_id=alice.id, group_id=Group.create(name='g').id)
    alice.delete()
    # posts: each deleted (dependent='delete'), taking their comments along (delete_all)
    assert [post.title for post in Post.query().order_by(Post.c.id).all()] == ['u2-p1', 'u2-p2']
    assert Comment.query().count() == 6 and all(c.body.startswith('u2-') for c in Comment.query().all())
    assert Profile.query().count() == 0 and Membership.query().count() == 0
    assert [user.username for user in User.query().all()] == ['u2']


def test_delete_all_sends_one_statement_per_relation(social):
    post = seed(1, posts_per_user=1, comments_per_post=5)[0].posts()[0]
    with statements() as sent:
        post.delete()
    deletes = [sql for sql in sent if sql.upper().startswith('DELETE')]
    updates = [sql for sql in sent if sql.upper().startswith('UPDATE')]
    assert len(deletes) == 2 and 'rel_comments' in deletes[0] and 'rel_posts' in deletes[1]
    assert len(updates) == 1 and 'rel_attachments' in updates[0]   # the nullify of attachments
    assert Comment.query().count() == 0


def test_nullify_keeps_the_children_without_their_owner(social):
    post = seed(1, posts_per_user=1, comments_per_post=0)[0].posts()[0]
    Attachment.create(post_id=post.id, name='a.png')
    Attachment.create(post_id=None, name='loose.txt')
    post.delete()
    assert sorted((a.name, a.post_id) for a in Attachment.query().all()) == [('a.png', None), ('loose.txt', None)]


def test_restrict_refuses_and_leaves_everything_in_place(social):
    alice = seed(1, posts_per_user=0, comments_per_post=0)[0]
    group = Group.create(name='busy')
    Membership.create(user_id=alice.id, group_id=group.id)
    with pytest.raises(DeleteRestrictedError, match=r"Group .*memberships.*Group\.memberships is dependent='restrict'"):
        group.delete()
    assert Group.find_one(group.id) is not None and not group.is_deleted
    Membership.query().delete_all()
    group.delete()
    assert Group.find_one(group.id) is None


def test_a_failed_delete_undoes_the_dependents(social):
    """The dependents and the DELETE run in one transaction: an error later undoes the cascade."""
    alice = seed(1, posts_per_user=2, comments_per_post=1)[0]

    def refuse(record):
        raise RuntimeError('audit log unavailable')
    User.on('after_delete', refuse)
    try:
        with pytest.raises(RuntimeError, match='audit log'):
            alice.delete()
    finally:
        User.off('after_delete', refuse)
    assert Post.query().count() == 2 and Comment.query().count() == 2
    assert User.find_one(alice.id) is not None


def test_saving_a_model_with_dependents_sends_no_transaction(social):
    alice = seed(1, posts_per_user=0, comments_per_post=0)[0]
    with statements() as sent:
        alice.posts.create(title='x')
        alice.username = 'renamed'
        alice.save()
    assert len(sent) == 2 and not any(sql.upper().startswith(('BEGIN', 'START')) for sql in sent)


def test_deleting_clears_the_records_cached_relations(social):
    alice = seed(1, posts_per_user=1, comments_per_post=0)[0]
    assert len(alice.posts()) == 1
    alice.delete()
    assert not alice.posts.loaded
