"""The chordal supergraph's arcs as CSR over ranks, and the order the hierarchy compares
paths by: the primitives every phase shares (`hierarchy.py`'s docstring is the map)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
NONE = np.int32(np.iinfo(np.int32).min)  # `how` of a direction with no path


@njit(cache=True, nogil=True)
def _find(ptr: Any, head: Any, x: int, y: int) -> int:
    """Arc index of (x, y), x < y, by binary search in row x; -1 if absent."""
    lo_i, hi_i = ptr[x], ptr[x + 1]
    while lo_i < hi_i:
        mid = (lo_i + hi_i) // 2
        if head[mid] < y:
            lo_i = mid + 1
        else:
            hi_i = mid
    if lo_i < ptr[x + 1] and head[lo_i] == y:
        return int(lo_i)
    return -1


@njit(cache=True, nogil=True)
def _lt(t: float, ln: float, bt: float, bl: float) -> bool:
    return t < bt or (t == bt and ln < bl)


@njit(cache=True, nogil=True)
def _le(t: float, ln: float, bt: float, bl: float) -> bool:
    return t < bt or (t == bt and ln <= bl)


@njit(cache=True, nogil=True)
def _grow(a: Any, size: int) -> Any:
    """`a`, or a copy twice as large when it is shorter than `size`."""
    if size <= len(a):
        return a
    b = np.empty(max(size, 2 * len(a)), a.dtype)
    b[: len(a)] = a
    return b


@njit(cache=True, nogil=True)
def _row(ptr: Any, a: int) -> int:
    """The row (tail) of CSR position a."""
    lo_i, hi_i = 0, len(ptr) - 1
    while hi_i - lo_i > 1:
        mid = (lo_i + hi_i) // 2
        if ptr[mid] <= a:
            lo_i = mid
        else:
            hi_i = mid
    return lo_i
