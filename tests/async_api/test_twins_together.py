"""The twins from many tasks at once on a small pool, and the hook tables they rely on."""
from __future__ import annotations

import asyncio
from typing import Any

from activerecord import acreate_all, adrop_all
from activerecord.backend.transaction import IsolationLevel
from activerecord.model import hooks

from .models import Journal, Note, Post, User


def _with_pool(url: str, **options: int) -> str:
    query = '&'.join(f'{name}={value}' for name, value in options.items())
    return f'{url}{"&" if "?" in url else "?"}{query}'


def test_many_tasks_share_a_small_pool(db: Any) -> None:
    db.url = _with_pool(db.url, pool_size=2, max_overflow=0)
    db.use(User)
    backend = User.backend()
    # SQLite: BEGIN IMMEDIATE, so that two transactions never both hold a read lock and wait to write
    isolation = IsolationLevel.SERIALIZABLE if db.name == 'sqlite' else None

    async def bump(key: int) -> int:
        user = await User.afind_one_or_fail(key)
        user.karma += 100
        await user.asave()
        return user.karma

    async def worker(number: int) -> tuple[int, int]:
        user = await User.acreate(username=f'worker {number}', karma=number)
        bumped = await User.arun_transaction(bump, user.id, retries=10, isolation_level=isolation)
        found = await User.afind_one_or_fail(user.id)
        return bumped, found.karma

    async def scenario() -> list[tuple[int, int]]:
        return await asyncio.gather(*(worker(number) for number in range(30)))

    results = asyncio.run(scenario())
    assert results == [(number + 100, number + 100) for number in range(30)]
    assert sorted(User.query().pluck(User.c.karma)) == [number + 100 for number in range(30)]
    status = backend.pool.status()
    assert status['checked_out'] == 0 and status['open'] <= 2, status


def test_only_async_hooks_are_wrapped() -> None:
    # a model without async hooks calls its own functions, as before: nothing is added per call
    table = hooks.hook_table(Note)
    assert table['before_save'] == (Note.before_save,) and table['after_create'] == (Note.after_create,)
    wrapped = hooks.hook_table(Journal)['after_save']
    assert len(wrapped) == 1 and isinstance(wrapped[0], hooks.AsyncHook) and wrapped[0].hook is Journal.after_save


def test_create_all_and_drop_all_have_twins(db: Any) -> None:
    db.use(User, Post)
    backend = User.backend()
    tables = {User.__meta__.table_name, Post.__meta__.table_name}
    asyncio.run(adrop_all([User, Post]))
    assert tables.isdisjoint(backend.schema.tables())
    asyncio.run(acreate_all([User, Post]))
    assert tables <= set(backend.schema.tables())
    assert backend.pool.status()['checked_out'] == 0
