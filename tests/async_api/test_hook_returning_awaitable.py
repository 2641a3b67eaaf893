"""A listener that is a plain function returning a coroutine (`lambda record: notify(record)`):
not an `async def` itself, yet its coroutine is awaited on the async path and refused on the sync
one, exactly as an `async def` listener is (never dropped un-awaited)."""
from __future__ import annotations

import asyncio
import warnings
from typing import Any

import pytest

from activerecord.errors import ActiveRecordError

from .driver import Api
from .models import HOOK_CALLS, MODELS, Note


@pytest.fixture
def live(db: Any) -> Any:
    db.use(*MODELS)
    HOOK_CALLS.clear()
    return db


def test_a_listener_returning_a_coroutine_is_awaited_or_refused(live: Any, api: Api) -> None:
    seen: list[str] = []

    async def notify(record: Any) -> None:
        await asyncio.sleep(0)          # really suspends: it runs on the event loop
        seen.append(record.text)

    def listener(record: Any) -> Any:   # a plain function: inspect.iscoroutinefunction() is False
        return notify(record)

    Note.on('after_create', listener)
    try:
        async def scenario() -> None:
            if api.is_async:
                await api.call(Note, 'create', text='awaited')
                assert seen == ['awaited']
                assert await api.call(Note.query(), 'pluck', 'text') == ['awaited']
            else:
                with pytest.raises(ActiveRecordError, match=r'reached from synchronous code.*asave\(\)'):
                    await api.call(Note, 'create', text='refused')
                assert seen == []
                assert await api.call(Note.query(), 'count') == 0   # the INSERT was rolled back
        with warnings.catch_warnings():
            warnings.simplefilter('error')   # a coroutine never awaited would warn: it must not happen
            api.run(scenario())
    finally:
        Note.off('after_create', listener)


def test_a_listener_returning_a_plain_value_is_left_alone(live: Any, api: Api) -> None:
    def listener(record: Any) -> Any:
        return record.text               # not awaitable: ignored, as before

    Note.on('after_create', listener)
    try:
        async def scenario() -> None:
            note = await api.call(Note, 'create', text='plain')
            assert note.text == 'plain'
            assert HOOK_CALLS == [('before_save', 'plain'), ('after_create', 'plain')]
        api.run(scenario())
    finally:
        Note.off('after_create', listener)
