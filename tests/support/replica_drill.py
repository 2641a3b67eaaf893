"""The read-your-writes drill of the replica tests: writers insert a row and read it straight back
through a routed backend, from threads and from asyncio tasks."""
from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Callable

from activerecord.backend.base import StorageBackend

#: the drill's table: `CREATE TABLE marks (writer INTEGER, step INTEGER)` or its equivalent
WRITE = 'INSERT INTO marks (writer, step) VALUES (?, ?)'
READ_BACK = 'SELECT count(*) FROM marks WHERE writer = ? AND step = ?'


def drill(routed: StorageBackend, threads: int, thread_steps: int, tasks: int, task_steps: int,
          first_writer: int = 0, during: Callable[[], None] | None = None) -> tuple[list[Any], list[float]]:
    """What each read counted (or the error it raised) and how long each read took; writers are
    numbered from `first_writer`, and `during` runs on the test thread while the threads write."""
    seen: list[Any] = []
    read_times: list[float] = []

    def writer(number: int) -> None:
        for step in range(thread_steps):
            routed.execute(WRITE, (number, step))
            started = time.monotonic()
            try:
                seen.append(routed.fetch_value(READ_BACK, (number, step)))
            except BaseException as error:   # an error reaching a reader fails the test
                seen.append(error)
            read_times.append(time.monotonic() - started)

    async def task(number: int) -> None:
        for step in range(task_steps):
            await routed.aexecute(WRITE, (number, step))
            started = time.monotonic()
            try:
                seen.append(await routed.afetch_value(READ_BACK, (number, step)))
            except BaseException as error:
                seen.append(error)
            read_times.append(time.monotonic() - started)

    async def all_tasks() -> None:
        await asyncio.gather(*(task(first_writer + threads + number) for number in range(tasks)))
    workers = [threading.Thread(target=writer, args=(first_writer + number,)) for number in range(threads)]
    for worker in workers:
        worker.start()
    if during is not None:
        during()
    for worker in workers:
        worker.join(60)
    asyncio.run(all_tasks())
    return seen, read_times
