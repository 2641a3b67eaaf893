"""`python -m activerecord demo`: the backends guide's social-media example, end to end.

It defines two models, creates their tables, runs CRUD, a join and a grouped query, and rolls
a transaction back, printing each step and (unless --no-sql) every statement it sends. With no
URL it runs on a temporary SQLite file in WAL mode, which is removed afterwards.
"""
from __future__ import annotations

import logging
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from .backend.impl.sqlite.backend import SQLiteBackend
from .backend.typing import ConnectionConfig
from .errors import ActiveRecordError
from .model import ActiveRecord
from .query import func

#: the demo's tables: prefixed so that a demo run on a real database cannot touch an app's tables
USERS_TABLE = 'ar_demo_users'
POSTS_TABLE = 'ar_demo_posts'


class _EchoSQL(logging.Handler):
    """Prints each statement of the `activerecord.sql` logger, indented under the step."""

    def __init__(self, out: TextIO) -> None:
        super().__init__(logging.DEBUG)
        self.out = out

    def emit(self, record: logging.LogRecord) -> None:
        sql = record.getMessage().split(' -- ')[0]
        self.out.write('      sql> ' + ' '.join(sql.split()) + '\n')


def define_models() -> tuple[type[ActiveRecord], type[ActiveRecord]]:
    """The example's User and Post models (defined on call: each run gets fresh classes)."""
    class User(ActiveRecord):
        __table_name__ = USERS_TABLE
        id: int
        username: str
        email: str

    class Post(ActiveRecord):
        __table_name__ = POSTS_TABLE
        id: int
        user_id: int
        title: str
        likes: int = 0

    return User, Post


def run_demo(url: str | None = None, show_sql: bool = True, out: TextIO | None = None) -> int:
    """Run the example; returns the exit status (0 when every step did what it should)."""
    stream: TextIO = out or sys.stdout
    scratch = None
    handler = _EchoSQL(stream)
    sql_logger = logging.getLogger('activerecord.sql')
    old_level = sql_logger.level
    User, Post = define_models()
    try:
        say = _Printer(stream)
        say.step('Configure the models')
        if url is None:
            scratch = Path(tempfile.mkdtemp(prefix='activerecord-demo-'))
            config = ConnectionConfig(database=str(scratch / 'social_media.db'), options={'journal_mode': 'WAL'})
            User.configure(config, backend_class=SQLiteBackend)
            Post.configure(config, backend_class=SQLiteBackend)
            say.line(f'User and Post on SQLite file {config.database} (journal_mode=WAL)')
        else:
            User.configure(url)
            Post.configure(url)
            say.line(f'User and Post on {User.backend().config.display_url()}')
        backend = User.backend()
        say.line(f'one shared backend: {Post.backend() is backend}; server version '
                 f'{".".join(map(str, backend.server_version()))}')
        if show_sql:
            sql_logger.addHandler(handler)
            sql_logger.setLevel(logging.DEBUG)
        return _walk_through(User, Post, say)
    except ActiveRecordError as error:
        stream.write(f'demo failed: {error}\n')
        return 1
    finally:
        sql_logger.removeHandler(handler)
        sql_logger.setLevel(old_level)
        _clean_up(User, Post)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _walk_through(User: Any, Post: Any, say: '_Printer') -> int:
    _, bob, found = _create_read_update(User, Post, say)   # alice is only read through queries here

    say.step('Query: posts of alice with 2+ likes, newest first')
    posts = (Post.query()
             .join(User, Post.c.user_id == User.c.id)
             .where(User.c.username == 'alice')
             .where(Post.c.likes >= 2)
             .order_by(Post.c.id.desc())
             .all())
    for post in posts:
        say.line(f'#{post.id} {post.title!r} ({post.likes} likes)')
    per_user = (Post.query()
                .select(Post.c.user_id, func.count().as_('posts'), func.sum(Post.c.likes).as_('likes'))
                .group_by(Post.c.user_id).order_by('user_id').as_dicts().all())
    say.line(f'posts and likes per user: {per_user}')

    say.step('A transaction that fails is rolled back')
    before = User.query().count()
    try:
        with User.transaction():
            mallory = User.create(username='mallory', email='mallory@example.com')
            Post.create(user_id=mallory.id, title='spam', likes=0)
            say.line(f'inside the transaction: {User.query().count()} users')
            raise RuntimeError('changed our mind')
    except RuntimeError as error:
        say.line(f'the block raised {error!r}: ROLLBACK')
    after = User.query().count()
    say.line(f'users before {before}, after {after}; mallory: {User.find_one({"username": "mallory"})}')

    say.step('Delete a record')
    bob.delete()
    say.line(f'users left: {[user.username for user in User.find_all()]}')

    say.step('The pool')
    say.line(str(User.backend().pool.status()))
    ok = after == before and len(posts) == 2 and found.id == bob.id
    say.step('Done' if ok else 'Something did not behave as documented')
    return 0 if ok else 1


def _create_read_update(User: Any, Post: Any, say: '_Printer') -> tuple[Any, Any, Any]:
    """Tables, records, lookups and an update; returns alice, bob and bob as found by email."""
    say.step('Create the tables')
    Post.drop_table(if_exists=True)
    User.drop_table(if_exists=True)
    User.create_table()
    Post.create_table()

    say.step('Create records')
    alice = User(username='alice', email='alice@example.com')
    say.line(f'before save: new record {alice.is_new_record}, id {alice.id}')
    alice.save()
    say.line(f'after save: id {alice.id}')
    bob = User.create(username='bob', email='bob@example.com')
    inserted = Post.insert_many([
        {'user_id': alice.id, 'title': 'Hello, world', 'likes': 3},
        {'user_id': alice.id, 'title': 'Storage backends', 'likes': 10},
        {'user_id': bob.id, 'title': 'First post', 'likes': 1},
    ])
    say.line(f'users alice (id {alice.id}) and bob (id {bob.id}); {inserted} posts in one round trip')

    say.step('Read them back')
    found = User.find_one({'email': 'bob@example.com'})
    say.line(f'find_one by email -> {found.username} (id {found.id})')
    say.line(f'find_one(999) -> {User.find_one(999)}')

    say.step('Update a record (only the changed column is written)')
    alice.email = 'alice@social.example'
    say.line(f'changes: {alice.changes}')
    alice.save()
    alice.refresh()
    say.line(f'after refresh: {alice.email}')
    return alice, bob, found


def _clean_up(User: Any, Post: Any) -> None:
    """Drop the demo's tables and close its backend, whatever happened before."""
    try:
        backend = User.backend()
    except Exception:  # never configured: nothing to clean
        return
    for model in (Post, User):
        try:
            model.drop_table(if_exists=True)
        except Exception:  # a broken connection must not hide the demo's own outcome
            pass
    backend.close()


class _Printer:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.number = 0

    def step(self, title: str) -> None:
        self.number += 1
        self.out.write(f'\n{self.number}. {title}\n')

    def line(self, text: str) -> None:
        self.out.write(f'   {text}\n')
