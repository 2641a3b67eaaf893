"""What a type checker sees of the awaitable twins; test_typed_twins.py runs mypy over this file.

Never executed: the calls only have to type-check (assert_type is checked statically).
"""
from __future__ import annotations

from typing import Any, AsyncIterator, ClassVar

from typing_extensions import assert_type

from activerecord import ActiveRecord
from activerecord.query import Query
from activerecord.relation import BelongsTo, HasMany


class Shelf(ActiveRecord):
    __table_name__ = 'typed_shelves'
    id: int
    name: str
    volumes: ClassVar[HasMany['Volume']] = HasMany(foreign_key='shelf_id', inverse_of='shelf')


class Volume(ActiveRecord):
    __table_name__ = 'typed_volumes'
    id: int
    shelf_id: int
    title: str
    shelf: ClassVar[BelongsTo['Shelf']] = BelongsTo(foreign_key='shelf_id', inverse_of='volumes')


async def check_models() -> None:
    shelf = await Shelf.acreate(name='a')
    assert_type(shelf, Shelf)
    assert_type(await shelf.asave(), Shelf)
    assert_type(await shelf.arefresh(), Shelf)
    assert_type(await shelf.adelete(), bool)
    assert_type(await Shelf.afind_one(1), 'Shelf | None')
    assert_type(await Shelf.afind_one_or_fail(1), Shelf)
    assert_type(await Shelf.afind_all([1, 2]), 'list[Shelf]')
    assert_type(await Shelf.aupsert([{'name': 'b'}], conflict=['name']), int)
    async with Shelf.atransaction():
        pass

    async def work(name: str) -> int:
        return len(name)
    assert_type(await Shelf.arun_transaction(work, 'x'), int)


async def check_queries() -> None:
    query = Shelf.query()
    assert_type(await query.aall(), 'list[Shelf]')
    assert_type(await query.afirst(), 'Shelf | None')
    assert_type(await query.aone(), Shelf)
    assert_type(await query.acount(), int)
    assert_type(await query.aexists(), bool)
    assert_type(await query.aupdate_all(name='b'), int)
    assert_type(await query.adelete_all(), int)
    assert_type(query.aiter(batch_size=10), 'AsyncIterator[Shelf]')
    async for shelf in query:
        assert_type(shelf, Shelf)
    assert_type(await query.as_dicts().aall(), 'list[dict[str, Any]]')
    assert_type(await query.apluck('name'), 'list[Any]')
    both: Query[Shelf] = query
    assert_type(await both.union(query).acount(), int)


async def check_relations(shelf: Shelf, volume: Volume) -> None:
    assert_type(await shelf.volumes.aload(), 'list[Volume]')
    assert_type(await volume.shelf.aload(reload=True), 'Shelf | None')
    assert_type(await shelf.volumes.acreate(title='t'), Volume)
    assert_type(await shelf.volumes.aremove(volume), int)
