"""The shared scenario list: each scenario is written once and runs through the sync API and
through its awaitable twins (the `api` fixture), on every live backend (the `db` fixture).

Both runs must give the same answers: that is what makes the twins twins. Between them the
scenarios call every twin: model CRUD, finders, bulk writes and upsert, DDL, every query method
that runs SQL (streaming included), relation reads and writes (many-to-many too), transactions
(nested, rolled back, retried), hooks (an async one too) and validation errors.
"""
from __future__ import annotations

import logging
from typing import Any, Iterator

import pytest

from activerecord import errors
from activerecord.errors import ActiveRecordError, MultipleRecordsFound, RecordNotFound, ValidationError
from activerecord.query import CompoundQuery, Query

from .driver import Api
from .models import HOOK_CALLS, MODELS, Archive, Group, Journal, Membership, Note, Post, User


@pytest.fixture
def live(db: Any) -> Any:
    """Every model of the scenarios on the live backend, tables empty."""
    db.use(*MODELS)
    HOOK_CALLS.clear()
    return db


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.statements.append(record.getMessage())


@pytest.fixture
def sent() -> Iterator[list[str]]:
    """The statements logged to `activerecord.sql` while the test runs (from any thread)."""
    collector = _Collector()
    logger = logging.getLogger('activerecord.sql')
    previous = logger.level
    logger.addHandler(collector)
    logger.setLevel(logging.DEBUG)
    try:
        yield collector.statements
    finally:
        logger.removeHandler(collector)
        logger.setLevel(previous)


async def _users(api: Api, *names: str) -> list[User]:
    return [await api.call(User, 'create', username=name, email=f'{name}@x', karma=index)
            for index, name in enumerate(names, 1)]


# -- model CRUD -------------------------------------------------------------------------------

async def crud(api: Api) -> None:
    ann = await api.call(User, 'create', username='ann', email='ann@x', karma=1)
    assert ann.id is not None and not ann.is_new_record
    ann.karma = 5
    assert await api.call(ann, 'save') is ann
    assert not ann.is_dirty
    copy = await api.call(User, 'find_one', ann.id)
    assert copy is not None and copy.karma == 5 and copy == ann
    assert await api.call(User.query().where(id=ann.id), 'update_all', karma=7) == 1
    assert await api.call(ann, 'refresh') is ann
    assert ann.karma == 7
    assert await api.call(ann, 'delete') is True
    assert await api.call(copy, 'delete') is False          # already gone
    assert await api.call(User, 'find_one', ann.id) is None
    with pytest.raises(RecordNotFound, match='User not found'):
        await api.call(User, 'find_one_or_fail', ann.id)
    with pytest.raises(RecordNotFound, match='no longer exists'):
        await api.call(copy, 'refresh')


def test_crud(live: Any, api: Api) -> None:
    api.run(crud(api))


async def finders(api: Api) -> None:
    ann, bob, cy = await _users(api, 'ann', 'bob', 'cy')
    assert [user.username for user in await api.call(User, 'find_all')] == ['ann', 'bob', 'cy']
    assert [user.id for user in await api.call(User, 'find_all', [cy.id, ann.id])] == [ann.id, cy.id]
    assert [user.username for user in await api.call(User, 'find_all', {'username': 'bob'})] == ['bob']
    assert await api.call(User, 'find_one', {'email': 'cy@x'}) == cy
    assert await api.call(User, 'find_one_or_fail', bob.id) == bob
    assert await api.call(User, 'find_all', []) == []


def test_finders(live: Any, api: Api) -> None:
    api.run(finders(api))


async def bulk(api: Api) -> None:
    rows = [{'username': f'u{index}', 'email': f'u{index}@x', 'karma': index} for index in range(5)]
    assert await api.call(User, 'insert_many', rows, batch_size=2) == 5
    assert await api.call(User, 'upsert', [{'username': 'u1', 'email': 'new@x', 'karma': 100},
                                           {'username': 'u9', 'email': 'u9@x', 'karma': 9}],
                          conflict=['username'], update=['karma']) in (2, 3)   # MySQL counts an update twice
    found = {user.username: user for user in await api.call(User, 'find_all')}
    assert len(found) == 6
    assert (found['u1'].karma, found['u1'].email) == (100, 'u1@x')
    assert found['u9'].karma == 9
    with pytest.raises(ValidationError):
        await api.call(User, 'insert_many', [{'username': 'ok'}, {'username': 'x' * 41}])
    assert await api.call(User.query(), 'count') == 6        # the valid row was not written either


def test_bulk_writes_and_upsert(live: Any, api: Api) -> None:
    api.run(bulk(api))


async def validation(api: Api) -> list[Any]:
    with pytest.raises(ValidationError) as construction:
        await api.call(User, 'create', username='x' * 41)
    ann = await api.call(User, 'create', username='ann')
    ann.username = 'y' * 41
    with pytest.raises(ValidationError) as saving:
        await api.call(ann, 'save')
    assert ann.is_dirty                                       # the record is as it was, still savable
    assert [user.username for user in await api.call(User, 'find_all')] == ['ann']
    return [construction.value.errors(), saving.value.errors()]


def test_validation_errors_are_the_same_on_both_paths(live: Any) -> None:
    sync, asynchronous = Api('sync'), Api('async')
    from_sync = sync.run(validation(sync))
    User.query().delete_all()
    from_async = asynchronous.run(validation(asynchronous))
    assert from_sync == from_async
    assert from_sync[0][0]['loc'] == ('username',) and from_sync[0][0]['type'] == 'string_too_long'


async def schema(api: Api) -> None:
    await api.call(Note, 'drop_table')
    await api.call(Note, 'create_table')
    assert await api.call(Note, 'check_schema') == []
    await api.call(Note, 'create', text='after the table came back')
    assert await api.call(Note.query(), 'count') == 1


def test_schema_calls(live: Any, api: Api) -> None:
    api.run(schema(api))


async def soft_delete(api: Api) -> None:
    kept = await api.call(Archive, 'create', title='kept')
    gone = await api.call(Archive, 'create', title='gone')
    assert await api.call(kept, 'delete') is True
    assert await api.call(Archive, 'find_all') == [gone]
    assert await api.call(kept, 'restore') is kept
    assert kept.deleted_at is None
    assert await api.call(gone, 'force_delete') is True
    assert [archive.title for archive in await api.call(Archive.with_deleted(), 'all')] == ['kept']


def test_soft_delete_mixin(live: Any, api: Api) -> None:
    api.run(soft_delete(api))


# -- queries ----------------------------------------------------------------------------------

async def query_results(api: Api) -> None:
    ann, bob, cy = await _users(api, 'ann', 'bob', 'cy')      # karma 1, 2, 3
    everyone: Query[User] = User.query().order_by('id')
    assert await api.call(everyone, 'all') == [ann, bob, cy]
    assert await api.call(User.query().order_by(User.c.karma.desc()), 'first') == cy
    assert await api.call(User.query().where(username='nobody'), 'first') is None
    assert await api.call(User.query().where(username='bob'), 'one') == bob
    with pytest.raises(RecordNotFound):
        await api.call(User.query().where(username='nobody'), 'one')
    with pytest.raises(MultipleRecordsFound):
        await api.call(everyone, 'one')
    assert await api.call(everyone, 'count') == 3
    assert await api.call(User.query().where(User.c.karma > 2), 'exists') is True
    assert await api.call(User.query().where(User.c.karma > 3), 'exists') is False
    assert await api.call(everyone, 'sum', User.c.karma) == 6
    assert await api.call(everyone, 'avg', User.c.karma) == 2
    assert await api.call(everyone, 'min', User.c.karma) == 1
    assert await api.call(everyone, 'max', User.c.karma) == 3
    assert await api.call(everyone, 'pluck', User.c.username) == ['ann', 'bob', 'cy']
    assert await api.call(everyone.as_dicts().select(User.c.username), 'all') == [
        {'username': 'ann'}, {'username': 'bob'}, {'username': 'cy'}]
    plan = await api.call(everyone.where(User.c.karma > 1), 'explain')
    assert isinstance(plan, str) and plan
    assert await api.rows(everyone, batch_size=2) == [ann, bob, cy]
    assert await api.rows(everyone.as_dicts().select(User.c.karma), batch_size=1) == [
        {'karma': 1}, {'karma': 2}, {'karma': 3}]
    assert await api.rows(User.query().where(username='nobody'), batch_size=5) == []
    # a set operation runs through the same twins
    both: CompoundQuery = User.query().where(username='ann').union(User.query().where(User.c.karma >= 3))
    assert await api.call(both.order_by('username'), 'pluck', 'username') == ['ann', 'cy']
    assert await api.call(both, 'count') == 2
    assert await api.call(both.order_by('username'), 'first') == ann
    assert await api.rows(both.order_by('username'), batch_size=1) == [ann, cy]


def test_query_results(live: Any, api: Api) -> None:
    api.run(query_results(api))


async def query_writes(api: Api) -> None:
    await _users(api, 'ann', 'bob', 'cy')
    assert await api.call(User.query().where(User.c.karma >= 2), 'update_all', {'email': 'many@x'}) == 2
    assert await api.call(User.query().where(email='many@x'), 'count') == 2
    assert await api.call(User.query().where(User.c.karma < 2), 'delete_all') == 1
    assert await api.call(User.query(), 'pluck', User.c.username) == ['bob', 'cy']


def test_query_writes(live: Any, api: Api) -> None:
    api.run(query_writes(api))


def test_async_for_over_a_query(live: Any) -> None:
    async def scenario() -> list[str]:
        await User.ainsert_many([{'username': f'u{index}'} for index in range(3)])
        return [user.username async for user in User.query().order_by('id')]
    assert Api('async').run(scenario()) == ['u0', 'u1', 'u2']


# -- relations --------------------------------------------------------------------------------

async def relation_reads(api: Api, sent: list[str]) -> None:
    ann, bob = await _users(api, 'ann', 'bob')
    first = await api.call(ann.posts, 'create', title='first')
    assert first.user_id == ann.id
    await api.call(Post, 'create', user_id=ann.id, title='second')
    posts = await api.call(ann.posts, '__call__')
    assert [post.title for post in posts] == ['first', 'second']
    assert ann.posts.loaded
    sent.clear()
    assert await api.call(ann.posts, '__call__') is posts     # the same cache: nothing is sent
    assert ann.posts() is posts
    assert sent == []
    third = await api.call(ann.posts, 'create', title='third')
    assert ann.posts() is posts and posts[-1] is third     # a created post joins the loaded list
    await api.call(Post, 'create', user_id=ann.id, title='elsewhere')
    reread = await api.call(ann.posts, '__call__', reload=True)
    assert [post.title for post in reread] == ['first', 'second', 'third', 'elsewhere']
    assert await api.call(bob.posts, '__call__') == []
    owner = await api.call(first.user, '__call__')
    assert owner == ann
    # eager loading runs inside the query's twin
    users = await api.call(User.query().with_('posts').order_by('id'), 'all')
    assert [len(user.posts()) for user in users] == [4, 0]


def test_relation_reads_and_create(live: Any, api: Api, sent: list[str]) -> None:
    api.run(relation_reads(api, sent))


async def many_to_many(api: Api) -> None:
    ann, = await _users(api, 'ann')
    red, green, blue = [await api.call(Group, 'create', name=name) for name in ('red', 'green', 'blue')]
    link = await api.call(ann.groups, 'add', red, role='admin')
    assert isinstance(link, Membership) and link.role == 'admin'
    assert await api.call(ann.groups, '__call__') == [red]
    await api.call(ann.groups, 'set', [green, blue])
    assert ann.groups() == [green, blue]                      # the cached relation was read again
    assert await api.call(ann.groups, 'remove', green, red) == 1
    assert await api.call(ann.groups, '__call__', reload=True) == [blue]
    assert await api.call(Membership.query(), 'pluck', Membership.c.group_id) == [blue.id]
    with pytest.raises(ActiveRecordError, match='save it first'):
        await api.call(ann.groups, 'add', Group(name='unsaved'))
    assert await api.call(Membership.query(), 'count') == 1


def test_many_to_many_writes(live: Any, api: Api) -> None:
    api.run(many_to_many(api))


# -- transactions -----------------------------------------------------------------------------

async def transactions(api: Api) -> None:
    async with api.transaction(User):
        await api.call(User, 'create', username='kept')
        with pytest.raises(ValueError):
            async with api.transaction(User):                  # nested: a savepoint
                await api.call(User, 'create', username='undone')
                raise ValueError('roll the savepoint back')
        await api.call(User, 'create', username='also kept')
    with pytest.raises(ValueError):
        async with api.transaction(User):
            await api.call(User, 'create', username='rolled back')
            assert await api.call(User.query().where(username='rolled back'), 'exists')
            raise ValueError('roll everything back')
    async with api.transaction(User, read_only=True):
        assert await api.call(User.query().order_by('id'), 'pluck', 'username') == ['kept', 'also kept']


def test_transactions_nested_and_rolled_back(live: Any, api: Api) -> None:
    api.run(transactions(api))
    assert sorted(User.query().pluck(User.c.username)) == ['also kept', 'kept']


async def retried(api: Api) -> None:
    attempts: list[str] = []

    async def transfer(name: str, karma: int, fails: int) -> int:
        attempts.append(name)
        tries = attempts.count(name)
        user = await api.call(User, 'create', username=f'{name}{tries}', karma=karma)
        if tries <= fails:
            raise errors.OperationalError('simulated serialization failure', retryable=True)
        return user.id

    key = await api.run_transaction(User, transfer, 'try', 5, fails=2, retries=3)
    assert attempts == ['try'] * 3
    assert [(user.id, user.username) for user in await api.call(User, 'find_all')] == [(key, 'try3')]
    with pytest.raises(errors.OperationalError, match='simulated'):
        await api.run_transaction(User, transfer, 'once', 0, fails=1, retries=0)
    with pytest.raises(errors.OperationalError, match='simulated'):
        await api.run_transaction(User, transfer, 'twice', 0, fails=5, retries=1)
    assert (attempts.count('once'), attempts.count('twice')) == (1, 2)
    with pytest.raises(ValueError):                            # not a DatabaseError: never retried
        await api.run_transaction(User, _fails_plainly, retries=3)
    assert await api.call(User.query(), 'count') == 1        # nothing of a failed attempt stayed


async def _fails_plainly() -> None:
    raise ValueError('not retryable')


def test_run_transaction_retries(live: Any, api: Api) -> None:
    api.run(retried(api))


# -- hooks ------------------------------------------------------------------------------------

async def sync_hooks(api: Api) -> None:
    note = await api.call(Note, 'create', text='hello')
    note.text = 'edited'
    await api.call(note, 'save')
    assert HOOK_CALLS == [('before_save', 'hello'), ('after_create', 'hello'), ('before_save', 'edited')]


def test_sync_hooks_run_on_both_paths(live: Any, api: Api) -> None:
    api.run(sync_hooks(api))


async def async_hook(api: Api) -> None:
    if not api.is_async:
        with pytest.raises(ActiveRecordError, match=r'Journal after_save hook Journal.after_save is async.*asave\(\)'):
            await api.call(Journal, 'create', text='refused')
        assert await api.call(Journal.query(), 'count') == 0     # its transaction was rolled back
        assert HOOK_CALLS == []
        return
    entry = await api.call(Journal, 'create', text='awaited')
    assert HOOK_CALLS == [('after_save', 'awaited')]
    entry.text = 'again'
    await api.call(entry, 'save')
    assert HOOK_CALLS[-1] == ('after_save', 'again')
    with pytest.raises(ValueError, match='refuses'):
        await api.call(Journal, 'create', text='fail')        # the async hook's error undoes the write
    assert await api.call(Journal.query(), 'pluck', 'text') == ['again']
    await api.call(Journal, 'create', text='noted')
    assert await api.call(Note.query(), 'pluck', 'text') == ['noted']
    with pytest.raises(ValueError, match='refuses'):
        await api.call(Journal, 'create', text='noted, then fail')   # the hook's own write is undone too
    assert await api.call(Note.query(), 'pluck', 'text') == ['noted']
    assert await api.call(Journal.query().order_by('id'), 'pluck', 'text') == ['again', 'noted']


def test_async_hook_awaited_on_the_async_path_refused_on_the_sync_path(live: Any, api: Api) -> None:
    api.run(async_hook(api))


def test_async_listener(live: Any, api: Api) -> None:
    seen: list[str] = []

    async def listener(record: Any) -> None:
        seen.append(record.text)

    Note.on('after_delete', listener)
    try:
        async def scenario() -> None:
            note = await api.call(Note, 'create', text='listened')
            if api.is_async:
                assert await api.call(note, 'delete') is True
                assert seen == ['listened']
            else:
                with pytest.raises(ActiveRecordError, match=r'after_delete hook .*listener is async.*adelete\(\)'):
                    await api.call(note, 'delete')
                assert await api.call(Note.query(), 'count') == 1   # the DELETE was rolled back
        api.run(scenario())
    finally:
        Note.off('after_delete', listener)
