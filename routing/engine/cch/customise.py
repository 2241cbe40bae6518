"""Customise: basic, then perfect customisation and pruning of one travel-time metric
(`hierarchy.py`'s docstring, steps 1-3)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from .arcs import NONE, _find, _le, _lt


@njit(cache=True, nogil=True)
def _customise(
    n: int, ptr: Any, head: Any, eu: Any, ev: Any, tt: Any, le: Any, h_up: Any, h_dn: Any
) -> tuple[Any, Any, Any, Any, Any, Any]:
    """Basic, then perfect customisation and pruning (module docstring). Writes how each
    direction was made into h_up/h_dn; returns the perfect (time, length) of both
    directions (lengths in float32, to keep the build's memory down) and keep flags."""
    a_n = len(head)
    t_up = np.full(a_n, np.inf)
    l_up = np.full(a_n, np.inf, np.float32)
    t_dn = np.full(a_n, np.inf)
    l_dn = np.full(a_n, np.inf, np.float32)
    h_up[:] = NONE
    h_dn[:] = NONE
    for e in range(len(eu)):
        x, y = eu[e], ev[e]
        if x == y:
            continue
        if x < y:
            a = _find(ptr, head, x, y)
            if _lt(tt[e], le[e], t_up[a], l_up[a]):
                t_up[a], l_up[a], h_up[a] = tt[e], le[e], e
        else:
            a = _find(ptr, head, y, x)
            if _lt(tt[e], le[e], t_dn[a], l_dn[a]):
                t_dn[a], l_dn[a], h_dn[a] = tt[e], le[e], e
    # Basic: lower triangles (v below x < y), in increasing v.
    for v in range(n):
        s, f = ptr[v], ptr[v + 1]
        for i in range(s, f):
            x = head[i]
            k = ptr[x]
            for j in range(i + 1, f):
                y = head[j]
                while head[k] != y:
                    k += 1
                ct = t_dn[i] + t_up[j]  # x -> v -> y
                cl = l_dn[i] + l_up[j]
                if _lt(ct, cl, t_up[k], l_up[k]):
                    t_up[k], l_up[k], h_up[k] = ct, cl, -1 - v
                ct = t_dn[j] + t_up[i]  # y -> v -> x
                cl = l_dn[j] + l_up[i]
                if _lt(ct, cl, t_dn[k], l_dn[k]):
                    t_dn[k], l_dn[k], h_dn[k] = ct, cl, -1 - v
    # Perfect, in decreasing x: for upward neighbours z < y of x (arc k = (z, y), perfect
    # already), the intermediate triangle of (x, y) and the upper triangle of (x, z).
    keep_up = np.ones(a_n, np.bool_)
    keep_dn = np.ones(a_n, np.bool_)
    for x in range(n - 1, -1, -1):
        s, f = ptr[x], ptr[x + 1]
        for j in range(s, f):
            z = head[j]
            k = ptr[z]
            for i in range(j + 1, f):
                y = head[i]
                while head[k] != y:
                    k += 1
                ct = t_up[j] + t_up[k]  # x -> z -> y
                cl = l_up[j] + l_up[k]
                if _lt(ct, cl, t_up[i], l_up[i]):
                    t_up[i], l_up[i] = ct, cl
                ct = t_dn[k] + t_dn[j]  # y -> z -> x
                cl = l_dn[k] + l_dn[j]
                if _lt(ct, cl, t_dn[i], l_dn[i]):
                    t_dn[i], l_dn[i] = ct, cl
                ct = t_up[i] + t_dn[k]  # x -> y -> z
                cl = l_up[i] + l_dn[k]
                if _lt(ct, cl, t_up[j], l_up[j]):
                    t_up[j], l_up[j] = ct, cl
                ct = t_up[k] + t_dn[i]  # z -> y -> x
                cl = l_up[k] + l_dn[i]
                if _lt(ct, cl, t_dn[j], l_dn[j]):
                    t_dn[j], l_dn[j] = ct, cl
        # The arcs of x are final now: prune the ones a higher node makes redundant.
        for j in range(s, f):
            z = head[j]
            k = ptr[z]
            for i in range(j + 1, f):
                y = head[i]
                while head[k] != y:
                    k += 1
                if _le(t_up[j] + t_up[k], l_up[j] + l_up[k], t_up[i], l_up[i]):
                    keep_up[i] = False
                if _le(t_dn[k] + t_dn[j], l_dn[k] + l_dn[j], t_dn[i], l_dn[i]):
                    keep_dn[i] = False
                if _le(t_up[i] + t_dn[k], l_up[i] + l_dn[k], t_up[j], l_up[j]):
                    keep_up[j] = False
                if _le(t_up[k] + t_dn[i], l_up[k] + l_dn[i], t_dn[j], l_dn[j]):
                    keep_dn[j] = False
        for i in range(s, f):
            if t_up[i] == np.inf:
                keep_up[i] = False
            if t_dn[i] == np.inf:
                keep_dn[i] = False
    return t_up, l_up, t_dn, l_dn, keep_up, keep_dn
