"""Run a coroutine from synchronous code, whether or not this thread runs an event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from asgiref.sync import async_to_sync


def run_from_sync(func: Callable[..., Coroutine[Any, Any, None]], *args: Any) -> None:
    """Call `func(*args)` to completion, or schedule it on this thread's running loop.

    Sync code on a thread that runs an event loop (a test driving a browser, a sync
    callback inside a consumer) cannot block in async_to_sync, so the coroutine goes onto
    that loop as a task and its exceptions surface there; elsewhere it runs to completion
    and raises here.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is not None:
        loop.create_task(func(*args))
    else:
        async_to_sync(func)(*args)
