"""PostgreSQL through models and queries: the backends chapter's examples, keys, locking, streaming."""
from __future__ import annotations

import datetime
import threading
import tracemalloc
import uuid
from decimal import Decimal
from typing import ClassVar, Iterator
from urllib.parse import urlsplit

import pytest
from pydantic import Field

from activerecord import ActiveRecord, errors
from activerecord.backend.impl.pgsql.backend import PostgreSQLBackend
from activerecord.backend.transaction import IsolationLevel
from activerecord.backend.typing import ConnectionConfig
from activerecord.mixins import UUIDPrimaryKeyMixin
from activerecord.relation import BelongsTo, HasMany
from tests.conftest import require_server
from tests.support.servers import ThrowawayPostgres, make_certificates

pytestmark = pytest.mark.backends('postgresql')


# -- the backends chapter: social media on PostgreSQL with a pool ------------------------

class User(ActiveRecord):
    __table_name__ = 'users'
    id: int
    username: str
    email: str
    posts: ClassVar[HasMany['Post']] = HasMany(foreign_key='user_id', inverse_of='user')


class Post(ActiveRecord):
    __table_name__ = 'ar_pg_social_posts'
    id: int
    user_id: int
    title: str
    user: ClassVar[BelongsTo['User']] = BelongsTo(foreign_key='user_id', inverse_of='posts')


def matrix_config(**changes: object) -> ConnectionConfig:
    parts = urlsplit(require_server('postgresql'))
    return ConnectionConfig(database=parts.path.lstrip('/'), host=parts.hostname, port=parts.port,
                            username=parts.username, **changes)


@pytest.fixture
def social(db) -> Iterator[None]:
    for model in (User, Post):
        model.configure(matrix_config(pool_size=10), backend_class=PostgreSQLBackend)
    db.models.extend([User, Post])       # the matrix fixture drops the tables afterwards
    Post.drop_table(if_exists=True)
    User.drop_table(if_exists=True)
    User.create_table()
    Post.create_table()
    yield
    User.backend().close()


def test_social_media_example_runs_with_pool_size(social) -> None:
    backend = User.backend()
    assert isinstance(backend, PostgreSQLBackend) and backend.pool.status()['size'] == 10
    assert Post.backend() is backend                     # equal configs share one backend and pool
    alice = User.create(username='alice', email='alice@example.com')
    bob = User(username='bob', email='bob@example.com')
    bob.save()
    assert (alice.id, bob.id) == (1, 2)
    for title in ('hello', 'again'):
        Post.create(user_id=alice.id, title=title)
    alice.email = 'alice@example.org'
    alice.save()
    assert User.find_one({'email': 'alice@example.org'}).username == 'alice'
    assert [post.title for post in alice.posts()] == ['hello', 'again']
    assert Post.find_one(1).user().username == 'alice'
    users = User.query().with_('posts').order_by('id').all()
    assert [len(user.posts()) for user in users] == [2, 0]
    with pytest.raises(RuntimeError):
        with User.transaction():
            User.create(username='carol', email='carol@example.com')
            raise RuntimeError('roll back')
    assert User.query().count() == 2
    results: list[int] = []

    def worker(n: int) -> None:
        for i in range(5):
            User.create(username=f'u{n}-{i}', email=f'u{n}-{i}@example.com')
        results.append(User.query().where(User.c.username.like(f'u{n}-%')).count())

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [5] * 8 and User.query().count() == 42
    status = backend.pool.status()
    assert status['checked_out'] == 0 and status['open'] <= 10


# -- the backends chapter: e-commerce on PostgreSQL with pool_size and ssl_ca -------------

class Order(ActiveRecord):
    __table_name__ = 'orders'
    id: int
    total: Decimal = Field(max_digits=12, decimal_places=2)
    status: str


@pytest.mark.server
def test_ecommerce_example_runs_over_verified_tls_with_pool_size(tmp_path) -> None:
    certs = make_certificates(tmp_path / 'certs')
    with ThrowawayPostgres(ssl=True, certs=certs) as server:
        Order.configure(ConnectionConfig(database='postgres', host=server.host, port=server.port,
                                         username='postgres', pool_size=20, ssl_ca=str(certs.ca_cert)),
                        backend_class=PostgreSQLBackend)
        backend = Order.backend()
        try:
            Order.create_table()
            assert backend.tls_in_use() is True
            Order.insert_many([{'total': Decimal('19.99'), 'status': 'paid'},
                               {'total': Decimal('5.01'), 'status': 'paid'},
                               {'total': Decimal('100'), 'status': 'open'}])
            assert Order.query().where(status='paid').sum(Order.c.total) == Decimal('25.00')
            order = Order.find_one_or_fail(3)
            assert order.total == Decimal('100.00')
            order.status = 'shipped'
            order.save()
            with Order.transaction(isolation_level=IsolationLevel.SERIALIZABLE):
                Order.query().where(status='open').update_all(status='cancelled')
            counts = (Order.query().select(Order.c.status, _count().as_('n')).group_by(Order.c.status)
                      .order_by('status').as_dicts().all())
            assert counts == [{'status': 'paid', 'n': 2}, {'status': 'shipped', 'n': 1}]
            assert backend.pool.status()['size'] == 20
        finally:
            backend.close()


def _count():
    from activerecord import func
    return func.count()


# -- keys, types and row locks ------------------------------------------------------------

class Ticket(UUIDPrimaryKeyMixin, ActiveRecord):
    __table_name__ = 'ar_pg_tickets'
    subject: str
    opened_at: datetime.datetime
    ttl: datetime.timedelta = datetime.timedelta(hours=1)


class Job(ActiveRecord):
    __table_name__ = 'ar_pg_jobs'
    id: int
    name: str
    state: str = 'queued'


def test_uuid_keys_and_aware_timestamps(db) -> None:
    db.use(Ticket)
    opened = datetime.datetime(2024, 6, 1, 9, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=-7)))
    ticket = Ticket.create(subject='printer on fire', opened_at=opened, ttl=datetime.timedelta(days=2, seconds=1))
    assert isinstance(ticket.id, uuid.UUID)
    again = Ticket.find_one(ticket.id)
    assert again.opened_at == opened and again.opened_at.utcoffset() == datetime.timedelta(0)
    assert again.ttl == datetime.timedelta(days=2, seconds=1)
    later = opened + datetime.timedelta(minutes=1)
    assert Ticket.query().where(Ticket.c.opened_at < later).count() == 1
    assert Ticket.query().where(Ticket.c.ttl > datetime.timedelta(days=1)).count() == 1
    assert db.backend.fetch_value("SELECT data_type FROM information_schema.columns "
                                  "WHERE table_name = 'ar_pg_tickets' AND column_name = 'id'") == 'uuid'


def test_explicit_keys_do_not_break_generated_ones(db) -> None:
    db.use(Job)
    Job.create(id=1, name='explicit')
    assert Job.create(name='generated').id == 2
    Job.insert_many([{'id': 10, 'name': 'bulk'}])
    Job.upsert([{'id': 12, 'name': 'upserted'}], conflict=['id'])
    assert [Job.create(name=f'g{i}').id for i in range(2)] == [13, 14]


def test_upsert_uses_on_conflict(db) -> None:
    db.use(Job)
    Job.insert_many([{'id': 1, 'name': 'a'}, {'id': 2, 'name': 'b'}])
    assert Job.upsert([{'id': 2, 'name': 'b2', 'state': 'done'}, {'id': 3, 'name': 'c'}],
                      conflict=['id'], update=['name', 'state']) == 2
    assert [(job.id, job.name, job.state) for job in Job.query().order_by('id').all()] == [
        (1, 'a', 'queued'), (2, 'b2', 'done'), (3, 'c', 'queued')]


def test_for_update_nowait_and_skip_locked_through_queries(db) -> None:
    db.use(Job)
    Job.insert_many([{'name': f'job{i}'} for i in range(4)])
    other = PostgreSQLBackend(ConnectionConfig.from_url(db.url, pool_size=1))
    try:
        with Job.transaction():
            first = Job.query().order_by('id').limit(1).for_update(skip_locked=True).first()
            assert first.name == 'job0'
            sql, _ = Job.query().where(Job.c.id == first.id).for_update(nowait=True).to_sql()
            assert sql.endswith('FOR UPDATE NOWAIT')
            with pytest.raises(errors.OperationalError) as caught:
                with other.transaction():
                    other.fetch_all(sql, (first.id,))
            assert caught.value.sqlstate == '55P03'
            # A second worker (the other pool) takes the next free job instead of waiting.
            sql, params = Job.query().order_by('id').limit(1).for_update(skip_locked=True).to_sql()
            with other.transaction():
                assert other.fetch_one(sql, params)['name'] == 'job1'
    finally:
        other.close()


def test_ilike_and_explain_through_queries(db) -> None:
    db.use(Job)
    Job.insert_many([{'name': 'Backup'}, {'name': 'deploy'}])
    assert [job.name for job in Job.query().where(Job.c.name.ilike('b%')).all()] == ['Backup']
    assert 'ILIKE' in Job.query().where(Job.c.name.ilike('b%')).to_sql()[0]
    plan = Job.query().where(Job.c.name == 'deploy').explain()
    assert 'ar_pg_jobs' in plan and 'Filter' in plan


def test_query_iter_streams_with_flat_memory(db) -> None:
    db.use(Job)
    total = 12_000
    db.backend.execute("INSERT INTO ar_pg_jobs (name, state) SELECT 'job ' || repeat('x', 150) || g, ? "
                       'FROM generate_series(1, ?) AS g', ('queued', total))
    tracemalloc.start()
    try:
        everything = Job.query().all()
        assert len(everything) == total
        del everything
        loaded_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        seen = sum(1 for _ in Job.query().order_by('id').iter(batch_size=200))
        streamed_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    print(f'\nPostgreSQL {total} models: all() peak {loaded_peak / 1e6:.1f} MB, '
          f'iter() peak {streamed_peak / 1e6:.2f} MB')
    assert seen == total and streamed_peak * 8 < loaded_peak
