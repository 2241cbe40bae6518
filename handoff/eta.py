"""The ED board's live ETA: a throttled recompute per carrying unit, off the ingest tick.

dispatch.services.units_positions_record sends dispatch.hooks.units_moved after its
transaction commits, and handoff/hooks.py calls `units_moved` from it (likewise
`unit_changed` from dispatch.hooks.unit_transporting).
That call only does set lookups in memory: whether the unit carries a patient to an ED (the
watch set, refreshed at most every HANDOFF_ETA_RECOMPUTE_SECONDS) and whether its last
recompute is older than that. Units that are due go to one background thread, which routes
them (handoff.services.destination.encounters_eta_refresh, which claims each encounter in the
database so several processes recompute it once) and emits the row to the hospital's stream.
The ingest path never waits for the database or the road graph on behalf of the ETA.

With HANDOFF_ETA_IN_BACKGROUND off (tests) the work runs inline, in the caller's thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
# unit id -> monotonic time of its last scheduled recompute (this process).
_last: dict[int, float] = {}
_watch: frozenset[int] = frozenset()
_watch_at = -float("inf")
_watch_pending = False
# Units due and not yet routed. Ticks that come while the thread is busy add to this set
# instead of queueing more work: the backlog is bounded by the number of units.
_due: set[int] = set()
_drain_queued = False


def _interval() -> float:
    return float(settings.HANDOFF_ETA_RECOMPUTE_SECONDS)


def _background() -> bool:
    return bool(getattr(settings, "HANDOFF_ETA_IN_BACKGROUND", True))


def _submit(job: Callable[[], Any]) -> None:
    global _executor
    if not _background():
        job()
        return
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="handoff-eta")
    _executor.submit(_in_thread, job)


def _in_thread(job: Callable[[], Any]) -> None:
    # The one worker thread keeps its database connection between jobs (opening one per
    # tick would cost more than the query); a failed job drops it, and the next reconnects.
    try:
        job()
    except Exception:
        # A failed recompute leaves the previous ETA; the next due fix tries again.
        logger.exception("live ETA recompute failed")
        connections.close_all()


def _refresh_watch() -> None:
    global _watch, _watch_at, _watch_pending
    from handoff.services.destination import eta_watch_units

    try:
        _watch = frozenset(eta_watch_units())
        _watch_at = time.monotonic()
    finally:
        _watch_pending = False


def _drain() -> None:
    global _drain_queued
    from handoff.services.destination import encounters_eta_refresh

    with _lock:
        unit_ids = sorted(_due)
        _due.clear()
        _drain_queued = False
    if unit_ids:
        encounters_eta_refresh(unit_ids=unit_ids, min_interval_s=_interval())


def units_moved(unit_ids: Iterable[int]) -> None:
    """Units whose position moved (after commit): schedule the ETA of those that are due."""
    global _watch_pending, _drain_queued
    now = time.monotonic()
    interval = _interval()
    if now - _watch_at >= interval and not _watch_pending:
        _watch_pending = True
        _submit(_refresh_watch)
    watch = _watch
    due = [u for u in unit_ids if u in watch and now - _last.get(u, -interval) >= interval]
    if not due:
        return
    for unit_id in due:
        _last[unit_id] = now
    with _lock:
        _due.update(due)
        queue = not _drain_queued
        _drain_queued = True
    if queue:
        _submit(_drain)


def unit_changed(unit_id: int) -> None:
    """A unit's crew status changed (leaving the scene): recompute now, not at the next window."""
    _last.pop(unit_id, None)
    _submit(lambda: _refresh_and_recompute(unit_id))


def _refresh_and_recompute(unit_id: int) -> None:
    from handoff.services.destination import encounters_eta_refresh

    _refresh_watch()
    encounters_eta_refresh(unit_ids=[unit_id], min_interval_s=0, force=True)


def reset() -> None:
    """Forget the throttle, the watch set and the backlog (tests)."""
    global _watch, _watch_at, _watch_pending, _drain_queued
    _last.clear()
    _watch = frozenset()
    _watch_at = -float("inf")
    _watch_pending = False
    with _lock:
        _due.clear()
        _drain_queued = False
