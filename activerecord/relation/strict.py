"""Strict loading: make every lazy relation read raise, to catch N+1 queries in tests."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Generator

from .errors import LazyLoadError

# None = not set in this context: the process-wide default decides.
_strict: ContextVar[bool | None] = ContextVar('activerecord_strict_loading', default=None)
_default = False


def set_strict_loading(enabled: bool) -> None:
    """Turn strict loading on or off for the whole process (contexts may still override it)."""
    global _default
    _default = bool(enabled)


def is_strict() -> bool:
    """Whether lazy relation reads raise here and now."""
    value = _strict.get()
    return _default if value is None else value


@contextmanager
def strict_loading(enabled: bool = True) -> Generator[None, None, None]:
    """`with strict_loading():` any lazy relation read in the block raises LazyLoadError."""
    token = _strict.set(bool(enabled))
    try:
        yield
    finally:
        _strict.reset(token)


def check_lazy_load(instance: object, relation_name: str) -> None:
    """Raise LazyLoadError if strict loading forbids reading this relation lazily."""
    if is_strict() or getattr(type(instance), '__strict_loading__', False):
        model = type(instance).__name__
        raise LazyLoadError(
            f'{model}.{relation_name} was read lazily while strict loading is on; '
            f"load it eagerly with {model}.query().with_('{relation_name}')")
