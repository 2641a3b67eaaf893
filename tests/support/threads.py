"""Small helpers for tests that need a fresh thread or a condition that becomes true later."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable


def in_thread(fn: Callable[[], Any], timeout: float = 60.0) -> Any:
    """fn() on a new thread (one with no history: e.g. it has written nothing): its result, or
    its error raised here."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(fn())
        except BaseException as error:   # handed to the test thread
            outcome.append(error)
    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout)
    assert outcome, f'the thread did not finish within {timeout:g} s'
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def eventually(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Return once condition() is true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f'{what}: not within {timeout:g}s'
        time.sleep(0.05)
