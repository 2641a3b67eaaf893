"""Reading relations one record at a time: calls, caching, queries, building children, strict mode."""
from __future__ import annotations

import pytest

from activerecord.errors import ActiveRecordError
from activerecord.relation import LazyLoadError, RelationError, set_strict_loading, strict_loading

from .support import seed, statements
from .models import Comment, Group, Membership, Post, Profile, User


def test_a_call_reads_once_then_answers_from_the_cache(social):
    alice = seed(2, posts_per_user=2, comments_per_post=0)[0]
    with statements() as sent:
        titles = [post.title for post in alice.posts()]
        again = alice.posts()
    assert titles == ['u1-p1', 'u1-p2']
    assert len(sent) == 1 and again is alice.posts()
    with statements() as sent:
        Post.query().where(Post.c.user_id == alice.id).update_all(title='renamed')
        assert [post.title for post in alice.posts()] == ['u1-p1', 'u1-p2']      # cached
        assert [post.title for post in alice.posts(reload=True)] == ['renamed', 'renamed']
    assert len(sent) == 2


def test_belongs_to_reads_the_owner_and_follows_a_changed_key(social):
    alice, bob = seed(2, posts_per_user=1, comments_per_post=0)
    post = Post.find_one({'title': 'u1-p1'})
    with statements() as sent:
        assert post.user().username == 'u1'
        assert post.user().username == 'u1'
    assert len(sent) == 1
    post.user_id = bob.id
    with statements() as sent:
        assert post.user().username == 'u2'   # the key changed: the cached alice is stale
    assert len(sent) == 1


def test_inverse_of_fills_the_other_side(social):
    alice = seed(1, posts_per_user=2, comments_per_post=0)[0]
    posts = alice.posts()
    with statements() as sent:
        assert all(post.user() is alice for post in posts)
    assert sent == []


def test_no_key_means_nothing_related_without_a_statement(social):
    with statements() as sent:
        draft = User(username='draft')
        assert draft.posts() == [] and draft.profile() is None and draft.groups() == []
        assert Comment(post_id=1, body='x').parent() is None
    assert sent == []


def test_has_one(social):
    alice = seed(1, posts_per_user=0, comments_per_post=0)[0]
    assert alice.profile() is None
    profile = alice.profile.create(bio='hello')
    assert profile.user_id == alice.id and not profile.is_new_record
    with statements() as sent:
        assert alice.profile() is profile          # create() updated the loaded relation
        assert profile.user() is alice             # and the inverse
    assert sent == []
    assert User.find_one(alice.id).profile().bio == 'hello'


def test_query_through_a_relation_filters_orders_and_counts(social):
    alice = seed(2, posts_per_user=5, comments_per_post=0)[0]
    query = alice.posts.query()
    assert query.count() == 5
    assert [post.title for post in query.where(Post.c.score >= 4).order_by(Post.c.score.desc()).all()] == [
        'u1-p5', 'u1-p4']
    assert alice.posts.query().where(Post.c.title == 'u2-p1').all() == []   # the other user's post
    assert not alice.posts.loaded    # a query is never cached on the record
    sql, params = alice.posts.query().to_sql()
    assert 'rel_posts' in sql and params == (alice.id,)


def test_build_and_create_set_the_foreign_key(social):
    alice = seed(1, posts_per_user=1, comments_per_post=0)[0]
    assert len(alice.posts()) == 1
    built = alice.posts.build(title='draft')
    assert built.user_id == alice.id and built.is_new_record
    assert len(alice.posts()) == 1                  # built, not saved: not part of the relation yet
    with statements() as sent:
        created = alice.posts.create(title='saved', score=9)
    assert len(sent) == 1                           # the INSERT only
    assert [post.title for post in alice.posts()] == ['u1-p1', 'saved']
    assert [post.title for post in alice.posts(reload=True)] == ['u1-p1', 'saved']
    assert created.user() is alice
    with pytest.raises(RelationError, match='contradicts'):
        alice.posts.build(title='x', user_id=alice.id + 1)
    with pytest.raises(ActiveRecordError, match=r'User\.posts\.build\(\).*save it first'):
        User(username='unsaved').posts.build(title='x')


def test_belongs_to_set(social):
    alice, bob = seed(2, posts_per_user=1, comments_per_post=0)
    post = alice.posts()[0]
    post.user.set(bob)
    assert post.user_id == bob.id and post.user() is bob
    post.save()
    assert Post.find_one(post.id).user().username == 'u2'
    with pytest.raises(RelationError, match='expected a User'):
        post.user.set(post)
    with pytest.raises(ActiveRecordError, match='save it first'):
        post.user.set(User(username='new'))


def test_self_referential_parent_and_replies(social):
    post = User.create(username='a').posts.create(title='t')
    top = post.comments.create(body='top')
    reply = top.replies.create(body='reply', post_id=post.id)
    assert reply.parent_id == top.id and reply.parent() is top
    fresh = Comment.find_one(reply.id)
    assert fresh.parent().body == 'top'
    assert [comment.body for comment in fresh.parent().replies()] == ['reply']
    assert top.parent() is None


def test_many_to_many_through_a_join_model(social):
    alice, bob = seed(2, posts_per_user=0, comments_per_post=0)
    red, blue = Group.create(name='red'), Group.create(name='blue')
    Membership.create(user_id=alice.id, group_id=blue.id)
    Membership.create(user_id=alice.id, group_id=red.id, role='admin')
    Membership.create(user_id=bob.id, group_id=red.id)
    assert [group.name for group in alice.groups()] == ['red', 'blue']   # in the groups' key order
    assert [user.username for user in red.members()] == ['u1', 'u2']
    assert alice.groups.query().where(Group.c.name == 'blue').count() == 1
    assert red.members.query().count() == 2
    with pytest.raises(RelationError, match='goes through User.memberships'):
        alice.groups.build(name='green')


def test_through_reuses_join_records_already_loaded(social):
    alice = seed(1, posts_per_user=0, comments_per_post=0)[0]
    Membership.create(user_id=alice.id, group_id=Group.create(name='red').id)
    user = User.find_one(alice.id)
    assert len(user.memberships()) == 1
    with statements() as sent:
        assert [group.name for group in user.groups()] == ['red']
    assert len(sent) == 1


def test_strict_loading_raises_on_lazy_reads_only(social):
    seed(2, posts_per_user=1, comments_per_post=1)
    loaded = User.query().with_('posts').first()
    plain = User.query().order_by(User.c.id.desc()).first()
    with strict_loading():
        assert loaded.posts()[0].title == 'u1-p1'      # eager: fine
        assert loaded.posts()[0].user() is loaded      # filled in by inverse_of: fine
        with pytest.raises(LazyLoadError, match=r"User\.posts was read lazily.*with_\('posts'\)"):
            plain.posts()
        with pytest.raises(LazyLoadError, match=r'Post\.comments'):
            loaded.posts()[0].comments()
        assert plain.posts.query().count() == 1        # an explicit query is not a lazy read
        with strict_loading(False):
            assert len(plain.posts()) == 1
    assert len(loaded.posts()[0].comments()) == 1


def test_strict_loading_for_the_whole_process_and_per_model(social, monkeypatch):
    seed(1, posts_per_user=1, comments_per_post=0)
    set_strict_loading(True)
    try:
        with pytest.raises(LazyLoadError):
            User.find_one({'username': 'u1'}).posts()
    finally:
        set_strict_loading(False)
    monkeypatch.setattr(Post, '__strict_loading__', True, raising=False)
    post = Post.find_one({'title': 'u1-p1'})
    with pytest.raises(LazyLoadError, match=r'Post\.user'):
        post.user()
    assert User.find_one({'username': 'u1'}).posts()[0].title == 'u1-p1'   # User is not strict


def test_relation_caches_stay_out_of_the_pydantic_fields(social):
    alice = seed(1, posts_per_user=1, comments_per_post=0)[0]
    alice.posts()
    assert alice.model_dump() == {'id': alice.id, 'username': 'u1'}
    assert 'posts' not in repr(alice) and not alice.is_dirty
    assert alice == User.find_one(alice.id)
    with statements() as sent:
        alice.save()                       # nothing changed: nothing is sent
    assert sent == []
    assert Profile.model_fields.keys() == {'id', 'user_id', 'bio'}


def test_eager_loading_records_read_without_their_key_column_says_so(social):
    seed(1, posts_per_user=1, comments_per_post=0)
    with pytest.raises(RelationError, match=r'User\.posts needs User\.id, which the query .* did not select'):
        User.query().select(User.c.username).with_('posts').all()
    with pytest.raises(RelationError, match=r'Post\.user needs Post\.user_id'):
        Post.query().select(Post.c.id, Post.c.title).with_('user').all()
    # a key that was selected and is NULL is no error: nothing is related
    Comment.create(post_id=Post.query().first().id, body='top level')
    tops = Comment.query().select(Comment.c.id, Comment.c.parent_id, Comment.c.body).with_('parent').all()
    with strict_loading():
        assert [comment.parent() for comment in tops] == [None]
