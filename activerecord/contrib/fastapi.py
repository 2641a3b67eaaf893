"""FastAPI integration (`pip install 'activerecord[fastapi]'`).

- `install(app)`: `RecordNotFound` answers 404, `IntegrityError` 409 and the ORM's
  `ValidationError` 422 with the field errors (in FastAPI's own `{"detail": [...]}` shape).
- `transaction_dependency(Model)`: a dependency that runs the request in one transaction of the
  model's backend, committed when the handler returns and rolled back when it raises.

The transaction is opened by the request's own task (FastAPI runs a plain `def` handler in a
worker thread that inherits the task's context, so its statements run inside it); its BEGIN and
COMMIT are sent from the event loop's thread.
"""
from __future__ import annotations

import math
from typing import Any, AsyncIterator, Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ..errors import IntegrityError, RecordNotFound, ValidationError


def _plain(value: Any) -> Any:
    """A JSON-safe form of a value from an error report (the input a client sent, a ctx value)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType] - JSON-like report values
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]  # pyright: ignore[reportUnknownVariableType] - as above
    return str(value)


def validation_errors(error: ValidationError) -> list[dict[str, Any]]:
    """The field errors of an ORM ValidationError as JSON-safe dicts: type, loc, msg, input (and ctx)."""
    details: list[dict[str, Any]] = []
    for item in error.errors():
        detail: dict[str, Any] = {'type': item.get('type'), 'loc': [_plain(part) for part in item.get('loc', ())],
                                  'msg': item.get('msg'), 'input': _plain(item.get('input'))}
        if item.get('ctx'):
            detail['ctx'] = _plain(item['ctx'])
        details.append(detail)
    return details


async def _not_found(request: Request, error: Exception) -> JSONResponse:
    return JSONResponse(status_code=404, content={'detail': str(error) or 'not found'})


async def _conflict(request: Request, error: Exception) -> JSONResponse:
    return JSONResponse(status_code=409, content={'detail': str(error) or 'conflict'})


async def _invalid(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ValidationError)
    return JSONResponse(status_code=422, content={'detail': validation_errors(error)})


def install(app: FastAPI) -> FastAPI:
    """Map RecordNotFound to 404, IntegrityError to 409 and ValidationError to 422; returns app."""
    if not isinstance(app, FastAPI):  # pyright: ignore[reportUnnecessaryIsInstance] - callers may pass anything
        raise TypeError(f'install(app): expected a fastapi.FastAPI application, got {type(app).__name__}')
    app.add_exception_handler(RecordNotFound, _not_found)
    app.add_exception_handler(IntegrityError, _conflict)
    app.add_exception_handler(ValidationError, _invalid)
    return app


def transaction_dependency(model: Any, *, isolation_level: Any = None,
                           read_only: bool = False) -> Callable[[], AsyncIterator[Any]]:
    """A FastAPI dependency (`Depends(transaction_dependency(User))`) running the request in one
    transaction of `model`'s backend: COMMIT when the handler returns, ROLLBACK when it raises."""
    transaction: Callable[..., Any] | None = getattr(model, 'transaction', None)
    if not isinstance(model, type) or not callable(transaction):
        raise TypeError(f'transaction_dependency(model): expected an ActiveRecord model class, got {model!r}')

    async def run_in_transaction() -> AsyncIterator[Any]:
        with transaction(isolation_level, read_only) as handle:
            yield handle

    run_in_transaction.__name__ = f'{model.__name__.lower()}_transaction'
    return run_in_transaction


__all__ = ['install', 'transaction_dependency', 'validation_errors']
