"""Compiled (Numba) search for one line with sequence-dependent setups.

The case of the Cicirello wtsds benchmark and of a plant's line without windows or locked
jobs: cost SUM_j f_j(C_j) + cs x SUM setups, f_j(C) = ct w_j max(C - d_j, 0) + cl [C > d_j],
the same arrays as ``single.SingleMachine`` (index n is the line start in ``setup``).

Move evaluation, specialised per move kind: an insertion of a block of 1-3 jobs (or-opt, to
the right or to the left) or a swap changes the order in at most three boundaries, so it
shifts the jobs of at most three contiguous ranges by one constant each (the moved block,
the jobs it jumps over and the tail, whose shift is the change of the total setup time).

- Block to the right: for a fixed block the jumped-over range only grows as the target
  sweeps right, always by the same shift, so its cost change accumulates in O(1) a target.
- Every range cost is first bounded in O(1) from prefix sums of the tardy jobs' weights (a
  tardy job's cost changes by exactly ct w x shift when it stays tardy, an on-time job's
  never falls): most moves are rejected on the bound alone (lazy evaluation); a range is
  summed job by job only for a move that could still beat the best one found.

Descent: VND over insertion (1 job, both directions), swap, 2- and 3-job blocks; for every
position (in a rotating order) the best move of the neighbourhood is applied if it
improves. Ties in cost are broken by the total setup time (a shorter line leaves slack to
later moves, which matters on the loose-due-date instances where most jobs are on time).

ILS: perturbation by a few random block moves (1-3 jobs) and swaps, sometimes a
double-bridge or the move of a run of jobs of one family; the walk accepts local minima up
to 1 / ACCEPT_WORSE_DIV worse and restarts from an elite pool after RESTART_AFTER kicks
without a new best. Own xorshift random numbers: deterministic for a seed and a budget.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit

from .single import SingleMachine

#: Kicks per ILS iteration: KICK_MIN + U[0, KICK_SPREAD) random block moves / swaps.
KICK_MIN, KICK_SPREAD = 2, 3
#: A kick's block moves land at most this many positions away (a quarter of the line
#: at n = 60); 0: anywhere.
KICK_REACH = 15
#: Out of 16 kicks, how many are a double bridge instead of block moves.
DOUBLE_BRIDGE_IN_16 = 2
#: The walk accepts a local minimum up to 1 / ACCEPT_WORSE_DIV worse than the current one.
ACCEPT_WORSE_DIV = 200
#: Non-improving kicks before the walk restarts from a member of the elite pool.
RESTART_AFTER = 60
ELITE = 8
#: Length of the neighbour lists of the long-block neighbourhood.
NEAR = 8
#: Neighbourhoods of the VND in order: (kind, shortest block, longest block, reach); kind 0
#: insertion of a block to any position (both directions), 1 swap, 2 blocks of every length
#: in the range to any position, 3 blocks of every length in the range next to a near
#: neighbour (NEAR cheapest setups); reach 0: any distance.
NEIGHBOURHOODS = np.array(
    [[0, 1, 1, 0], [1, 1, 1, 0], [0, 2, 2, 0], [0, 3, 3, 0], [3, 4, 2**30, 0]], dtype=np.int64
)
BIG = 2**62
#: The ILS settings as the compiled loop takes them (an array, so that a bench can vary them
#: without recompiling): the five above, then the setup tie-break (0: a move of equal cost
#: that shortens the line's setups counts as improving; -BIG: off), the neighbourhoods of
#: the first descent and the cost filter (1 / x above the current) for running the others
#: (without don't-look bits only), restart from a fresh randomised ATCS order instead of
#: the elite pool (1/0), and don't-look bits (1: after a kick only the jobs next to changed
#: boundaries are scanned, and those next to every applied move).
SETTINGS = (KICK_MIN, KICK_SPREAD, KICK_REACH, DOUBLE_BRIDGE_IN_16, ACCEPT_WORSE_DIV,
            RESTART_AFTER, 0, len(NEIGHBOURHOODS), 50, 0, 1)  # fmt: skip

# The compiled functions take their arrays unpacked (Numba passes tuples by value with
# reference counting on every call); long argument lists are kept packed.
# fmt: off


@njit(cache=True, inline="always")
def _rand(rng):
    x = rng[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    rng[0] = x
    return np.int64((x * np.uint64(2685821657736338717)) >> np.uint64(11))


@njit(cache=True, inline="always")
def _randint(rng, k):
    return _rand(rng) % k


@njit(cache=True, inline="always")
def _f(w, d, coef, j, c):
    late = c - d[j]
    if late > 0:
        return coef[0] * w[j] * late + coef[1]
    return 0


@njit(cache=True, _nrt=False)
def _rebuild(p, w, d, S, coef, seq, C, fc, F, WT, NT, tot):
    """Completion times, costs and prefix sums of ``seq``; tot = [cost, total setup]."""
    n = len(seq)
    prev, t, setups = n, 0, 0
    for q in range(n):
        j = seq[q]
        s = S[prev, j]
        setups += s
        t += s + p[j]
        C[q] = t
        c = _f(w, d, coef, j, t)
        fc[q] = c
        F[q + 1] = F[q] + c
        if t > d[j]:
            WT[q + 1] = WT[q] + coef[0] * w[j]
            NT[q + 1] = NT[q] + 1
        else:
            WT[q + 1] = WT[q]
            NT[q + 1] = NT[q]
        prev = j
    tot[0] = F[n] + coef[2] * setups
    tot[1] = setups


@njit(cache=True, inline="always")
def _bound(coef, WT, NT, lo, hi, delta):
    """Lower bound of the cost change of positions lo..hi all shifted by delta."""
    if lo > hi or delta == 0:
        return 0
    if delta > 0:
        return delta * (WT[hi + 1] - WT[lo])
    return delta * (WT[hi + 1] - WT[lo]) - coef[1] * (NT[hi + 1] - NT[lo])


@njit(cache=True, _nrt=False)
def _range(w, d, coef, seq, C, fc, lo, hi, delta):
    """Exact cost change of positions lo..hi all shifted by delta."""
    if delta == 0:
        return 0
    total = 0
    for q in range(lo, hi + 1):
        total += _f(w, d, coef, seq[q], C[q] + delta) - fc[q]
    return total


@njit(cache=True, inline="always")
def _better(delta, ds, best):
    return delta < best[0] or (delta == best[0] and ds < best[1])


@njit(cache=True, _nrt=False)
def _right(p, w, d, S, coef, seq, C, fc, F, WT, NT, s, L, best, only, reach):
    """Best move of the block s..s+L-1 to after a later position; best = [delta, dsetup,
    kind, s, target, L] is updated in place (kind 0: right)."""
    n = len(seq)
    if s + L >= n:
        return
    cs = coef[2]
    prev = seq[s - 1] if s > 0 else n
    c_prev = C[s - 1] if s > 0 else 0
    a, z, nb = seq[s], seq[s + L - 1], seq[s + L]
    cz = C[s + L - 1]
    d1 = c_prev + S[prev, nb] - cz - S[z, nb]
    base = S[prev, nb] - S[prev, a] - S[z, nb]
    mid = 0
    for t in range(s + L, min(n, s + L + reach)):
        b = seq[t]
        if d1 != 0:
            mid += _f(w, d, coef, b, C[t] + d1) - fc[t]
        if only >= 0 and t != only:
            continue
        e = C[t] + d1 + S[b, a] - c_prev - S[prev, a]
        if t + 1 < n:
            nj = seq[t + 1]
            ds = base + S[b, a] + S[z, nj] - S[b, nj]
        else:
            ds = base + S[b, a]
        part = cs * ds + mid
        lb = part + _bound(coef, WT, NT, s, s + L - 1, e) + _bound(coef, WT, NT, t + 1, n - 1, ds)
        if lb > best[0] or (lb == best[0] and ds >= best[1]):
            continue
        part += _range(w, d, coef, seq, C, fc, s, s + L - 1, e)
        lb = part + _bound(coef, WT, NT, t + 1, n - 1, ds)
        if lb > best[0] or (lb == best[0] and ds >= best[1]):
            continue
        delta = part + _range(w, d, coef, seq, C, fc, t + 1, n - 1, ds)
        if _better(delta, ds, best):
            best[0], best[1], best[2], best[3], best[4], best[5] = delta, ds, 0, s, t, L


@njit(cache=True, _nrt=False)
def _left(p, w, d, S, coef, seq, C, fc, F, WT, NT, s, L, best, only, reach):
    """Best move of the block s..s+L-1 to before an earlier position (kind 1)."""
    n = len(seq)
    if s == 0 or s + L > n:
        return
    cs = coef[2]
    bf, bl, pb = seq[s], seq[s + L - 1], seq[s - 1]
    c_pb, c_bl = C[s - 1], C[s + L - 1]
    has_next = s + L < n
    nj = seq[s + L] if has_next else 0
    tail = S[pb, nj] - S[bl, nj] if has_next else 0
    for t in range(s - 1, max(-1, s - 1 - reach), -1):
        if only >= 0 and t != only:
            continue
        prev = seq[t - 1] if t > 0 else n
        c_prev = C[t - 1] if t > 0 else 0
        a = seq[t]
        e = c_prev + S[prev, bf] - c_pb - S[pb, bf]
        d1 = c_bl + e + S[bl, a] - c_prev - S[prev, a]
        ds = S[prev, bf] - S[prev, a] + S[bl, a] - S[pb, bf] + tail
        d2 = ds if has_next else 0
        part = cs * ds
        lb = part + _bound(coef, WT, NT, s, s + L - 1, e) + _bound(coef, WT, NT, t, s - 1, d1)
        lb += _bound(coef, WT, NT, s + L, n - 1, d2)
        if lb > best[0] or (lb == best[0] and ds >= best[1]):
            continue
        part += _range(w, d, coef, seq, C, fc, s, s + L - 1, e)
        part += _range(w, d, coef, seq, C, fc, t, s - 1, d1)
        lb = part + _bound(coef, WT, NT, s + L, n - 1, d2)
        if lb > best[0] or (lb == best[0] and ds >= best[1]):
            continue
        delta = part + _range(w, d, coef, seq, C, fc, s + L, n - 1, d2)
        if _better(delta, ds, best):
            best[0], best[1], best[2], best[3], best[4], best[5] = delta, ds, 1, s, t, L


@njit(cache=True, _nrt=False)
def _one_right(w, d, S, coef, seq, C, fc, WT, NT, s, L, t, best):
    """The block s..s+L-1 to after position t > s+L-1, lazily evaluated (kind 0)."""
    n = len(seq)
    prev = seq[s - 1] if s > 0 else n
    c_prev = C[s - 1] if s > 0 else 0
    a, z, nb, b = seq[s], seq[s + L - 1], seq[s + L], seq[t]
    d1 = c_prev + S[prev, nb] - C[s + L - 1] - S[z, nb]
    e = C[t] + d1 + S[b, a] - c_prev - S[prev, a]
    ds = S[prev, nb] - S[prev, a] - S[z, nb] + S[b, a]
    if t + 1 < n:
        ds += S[z, seq[t + 1]] - S[b, seq[t + 1]]
    part = coef[2] * ds
    lb = part + _bound(coef, WT, NT, s + L, t, d1) + _bound(coef, WT, NT, s, s + L - 1, e)
    lb += _bound(coef, WT, NT, t + 1, n - 1, ds)
    if lb > best[0] or (lb == best[0] and ds >= best[1]):
        return
    part += _range(w, d, coef, seq, C, fc, s + L, t, d1)
    part += _range(w, d, coef, seq, C, fc, s, s + L - 1, e)
    lb = part + _bound(coef, WT, NT, t + 1, n - 1, ds)
    if lb > best[0] or (lb == best[0] and ds >= best[1]):
        return
    delta = part + _range(w, d, coef, seq, C, fc, t + 1, n - 1, ds)
    if _better(delta, ds, best):
        best[0], best[1], best[2], best[3], best[4], best[5] = delta, ds, 0, s, t, L


@njit(cache=True, _nrt=False)
def _one_left(w, d, S, coef, seq, C, fc, WT, NT, s, L, t, best):
    """The block s..s+L-1 to before position t < s, lazily evaluated (kind 1)."""
    n = len(seq)
    bf, bl, pb = seq[s], seq[s + L - 1], seq[s - 1]
    prev = seq[t - 1] if t > 0 else n
    c_prev = C[t - 1] if t > 0 else 0
    a = seq[t]
    e = c_prev + S[prev, bf] - C[s - 1] - S[pb, bf]
    d1 = C[s + L - 1] + e + S[bl, a] - c_prev - S[prev, a]
    ds = S[prev, bf] - S[prev, a] + S[bl, a] - S[pb, bf]
    if s + L < n:
        ds += S[pb, seq[s + L]] - S[bl, seq[s + L]]
    part = coef[2] * ds
    lb = part + _bound(coef, WT, NT, s, s + L - 1, e) + _bound(coef, WT, NT, t, s - 1, d1)
    lb += _bound(coef, WT, NT, s + L, n - 1, ds)
    if lb > best[0] or (lb == best[0] and ds >= best[1]):
        return
    part += _range(w, d, coef, seq, C, fc, s, s + L - 1, e)
    part += _range(w, d, coef, seq, C, fc, t, s - 1, d1)
    lb = part + _bound(coef, WT, NT, s + L, n - 1, ds)
    if lb > best[0] or (lb == best[0] and ds >= best[1]):
        return
    delta = part + _range(w, d, coef, seq, C, fc, s + L, n - 1, ds)
    if _better(delta, ds, best):
        best[0], best[1], best[2], best[3], best[4], best[5] = delta, ds, 1, s, t, L


@njit(cache=True, _nrt=False)
def _near_blocks(w, d, S, coef, seq, C, fc, WT, NT, pos, pred, succ, s, lo, hi, best):
    """Blocks of lo..hi jobs from s moved next to a near neighbour: after a job among the
    block's first job's cheapest predecessors, or before one among its last job's cheapest
    successors (the neighbour lists of travelling-salesman local search)."""
    n = len(seq)
    a = seq[s]
    for L in range(lo, min(hi, n - s) + 1):
        z = seq[s + L - 1]
        for r in range(pred.shape[1]):
            t = pos[pred[a, r]]  # insert after t
            if t >= s + L:
                _one_right(w, d, S, coef, seq, C, fc, WT, NT, s, L, t, best)
            elif t < s - 1:
                _one_left(w, d, S, coef, seq, C, fc, WT, NT, s, L, t + 1, best)
            t = pos[succ[z, r]]  # insert before t
            if t > s + L:
                _one_right(w, d, S, coef, seq, C, fc, WT, NT, s, L, t - 1, best)
            elif t < s:
                _one_left(w, d, S, coef, seq, C, fc, WT, NT, s, L, t, best)


@njit(cache=True, _nrt=False)
def _swaps(p, w, d, S, coef, seq, C, fc, F, WT, NT, i, best, only):
    """Best swap of position i with a later, non-adjacent position (kind 2)."""
    n = len(seq)
    if i + 2 >= n:
        return
    cs = coef[2]
    prev = seq[i - 1] if i > 0 else n
    c_prev = C[i - 1] if i > 0 else 0
    a, ni = seq[i], seq[i + 1]
    for j in range(i + 2, n):
        if only >= 0 and j != only:
            continue
        b, pj = seq[j], seq[j - 1]
        cb = c_prev + S[prev, b] + p[b]
        s1 = cb + S[b, ni] - C[i] - S[a, ni]
        ca = C[j - 1] + s1 + S[pj, a] + p[a]
        ds = S[prev, b] - S[prev, a] + S[b, ni] - S[a, ni] + S[pj, a] - S[pj, b]
        if j + 1 < n:
            nj = seq[j + 1]
            ds += S[a, nj] - S[b, nj]
        part = cs * ds + _f(w, d, coef, b, cb) - fc[i] + _f(w, d, coef, a, ca) - fc[j]
        lb = part + _bound(coef, WT, NT, i + 1, j - 1, s1) + _bound(coef, WT, NT, j + 1, n - 1, ds)
        if lb > best[0] or (lb == best[0] and ds >= best[1]):
            continue
        part += _range(w, d, coef, seq, C, fc, i + 1, j - 1, s1)
        lb = part + _bound(coef, WT, NT, j + 1, n - 1, ds)
        if lb > best[0] or (lb == best[0] and ds >= best[1]):
            continue
        delta = part + _range(w, d, coef, seq, C, fc, j + 1, n - 1, ds)
        if _better(delta, ds, best):
            best[0], best[1], best[2], best[3], best[4], best[5] = delta, ds, 2, i, j, 1


@njit(cache=True, _nrt=False)
def _apply(seq, tmp, kind, s, t, L):
    """Rewrite ``seq`` by a move (kind 0 block s..s+L-1 after t, 1 before t, 2 swap s, t)."""
    if kind == 2:
        seq[s], seq[t] = seq[t], seq[s]
        return
    for q in range(L):
        tmp[q] = seq[s + q]
    if kind == 0:
        for q in range(s, t - L + 1):
            seq[q] = seq[q + L]
        for q in range(L):
            seq[t - L + 1 + q] = tmp[q]
    else:
        for q in range(s - 1, t - 1, -1):
            seq[q + L] = seq[q]
        for q in range(L):
            seq[t + q] = tmp[q]


@njit(cache=True, _nrt=False)
def _scan(p, w, d, S, coef, pred, succ, seq, C, fc, F, WT, NT, pos, hoods, k, s, best, tie):
    """Best move of neighbourhood k for position s into ``best`` (kind -1: none improves)."""
    n = len(seq)
    kind, L = hoods[k, 0], hoods[k, 1]
    reach = hoods[k, 3] if hoods[k, 3] > 0 else n
    best[0], best[1] = 0, tie
    best[2] = -1
    if kind == 0:
        _right(p, w, d, S, coef, seq, C, fc, F, WT, NT, s, L, best, -1, reach)
        _left(p, w, d, S, coef, seq, C, fc, F, WT, NT, s, L, best, -1, reach)
    elif kind == 3:
        _near_blocks(w, d, S, coef, seq, C, fc, WT, NT, pos, pred, succ, s, L, hoods[k, 2], best)
    elif kind == 2:
        for LL in range(L, min(hoods[k, 2], n - 1) + 1):
            _right(p, w, d, S, coef, seq, C, fc, F, WT, NT, s, LL, best, -1, reach)
            _left(p, w, d, S, coef, seq, C, fc, F, WT, NT, s, LL, best, -1, reach)
    else:
        _swaps(p, w, d, S, coef, seq, C, fc, F, WT, NT, s, best, -1)


# fmt: off
@njit(cache=True, _nrt=False)
def _positions(seq, pos):
    for q in range(len(seq)):
        pos[seq[q]] = q


@njit(cache=True, _nrt=False)
def _descend(p, w, d, S, coef, pred, succ, seq, C, fc, F, WT, NT, tot, pos, hoods, best, tmp, rng,
             tie):
    """VND to a local minimum (lexicographic in cost, then total setup); returns the cost."""
    n = len(seq)
    _rebuild(p, w, d, S, coef, seq, C, fc, F, WT, NT, tot)
    _positions(seq, pos)
    k = 0
    while k < len(hoods):
        improved = False
        offset = _randint(rng, n) if n > 0 else 0
        for r in range(n):
            _scan(p, w, d, S, coef, pred, succ, seq, C, fc, F, WT, NT, pos, hoods, k,
                  (r + offset) % n, best, tie)
            if best[2] >= 0:
                _apply(seq, tmp, best[2], best[3], best[4], best[5])
                _rebuild(p, w, d, S, coef, seq, C, fc, F, WT, NT, tot)
                _positions(seq, pos)
                improved = True
        k = 0 if improved else k + 1
    return tot[0]


@njit(cache=True, _nrt=False)
def _activate_changed(old, seq, pos, active):
    """Mark the jobs whose predecessor differs between ``old`` and ``seq``, and their
    neighbours in ``seq`` (don't-look bits: only they are scanned again)."""
    n = len(seq)
    # pos holds the positions in old on entry
    for q in range(n):
        j = seq[q]
        before = seq[q - 1] if q > 0 else -1
        was = pos[j]
        old_before = old[was - 1] if was > 0 else -1
        if before != old_before:
            active[j] = True
            if q > 0:
                active[seq[q - 1]] = True
            if q + 1 < n:
                active[seq[q + 1]] = True


@njit(cache=True, _nrt=False)
def _descend_active(p, w, d, S, coef, pred, succ, seq, C, fc, F, WT, NT, tot, pos, hoods, best,
                    tmp, old, active, rng, tie):
    """Descent over the active jobs only: a job is scanned in every neighbourhood until one
    improves; it is set inactive when none does, and the jobs at the boundaries a move
    changes become active. Returns the cost."""
    n = len(seq)
    _rebuild(p, w, d, S, coef, seq, C, fc, F, WT, NT, tot)
    _positions(seq, pos)
    busy = True
    while busy:
        busy = False
        offset = _randint(rng, n) if n > 0 else 0
        for r in range(n):
            s = (r + offset) % n
            j = seq[s]
            if not active[j]:
                continue
            busy = True
            moved = False
            for k in range(len(hoods)):
                _scan(p, w, d, S, coef, pred, succ, seq, C, fc, F, WT, NT, pos, hoods, k, s,
                      best, tie)
                if best[2] >= 0:
                    for q in range(n):
                        old[q] = seq[q]
                    _apply(seq, tmp, best[2], best[3], best[4], best[5])
                    _rebuild(p, w, d, S, coef, seq, C, fc, F, WT, NT, tot)
                    _activate_changed(old, seq, pos, active)
                    _positions(seq, pos)
                    moved = True
                    break
            if not moved:
                active[j] = False
    return tot[0]


@njit(cache=True, _nrt=False)
def _kick(seq, tmp, fam, rng, cfg):
    """Perturb ``seq`` in place: random block moves and swaps, or a double bridge."""
    n = len(seq)
    if n < 4:
        if n >= 2:
            i = _randint(rng, n - 1)
            seq[i], seq[i + 1] = seq[i + 1], seq[i]
        return
    if _randint(rng, 16) < cfg[3]:
        # A B C D -> A C B D with random cut points
        a = 1 + _randint(rng, n - 2)
        b = a + 1 + _randint(rng, n - a - 1)
        c = b + 1 + _randint(rng, n - b)
        m = 0
        for q in range(b, c):
            tmp[m] = seq[q]
            m += 1
        for q in range(a, b):
            tmp[m] = seq[q]
            m += 1
        for q in range(m):
            seq[a + q] = tmp[q]
        return
    strength = cfg[0] + _randint(rng, cfg[1])
    for _ in range(strength):
        what = _randint(rng, 4)
        if what == 0:
            i = _randint(rng, n)
            j = _randint(rng, n)
            seq[i], seq[j] = seq[j], seq[i]
            continue
        L = 1 + _randint(rng, 3)
        s = _randint(rng, n - L + 1)
        if what == 3:
            # the run of one family around s moves as a block (at most 3 jobs)
            L = 1
            while L < 3 and s + L < n and fam[seq[s + L]] == fam[seq[s]]:
                L += 1
        reach = cfg[2] if cfg[2] > 0 else n
        t = s + 1 + _randint(rng, 2 * reach + 1) - reach
        if t >= s and t <= s + L - 1:
            t = s + L
        if t < 0:
            t = 0
        if t >= n:
            t = n - 1
        if t > s + L - 1:
            _apply(seq, tmp, 0, s, t, L)
        elif t < s:
            _apply(seq, tmp, 1, s, t, L)


@njit(cache=True)
def _atcs(p, w, d, S, coef, seq, rng):
    """A randomised ATCS order into ``seq``: look-ahead k1 in [0.2, 6), k2 in [0.1, 3), and
    priorities scaled by up to 10 % noise (a fresh start for a restart of the walk)."""
    n = len(seq)
    pbar = max(1.0, p[:n].mean())
    sbar = max(1.0, S[:, :n].mean())
    k1 = 0.2 + 5.8 * (_randint(rng, 1000) / 1000.0)
    k2 = 0.1 + 2.9 * (_randint(rng, 1000) / 1000.0)
    left = np.ones(n, dtype=np.bool_)
    t, prev = 0, n
    for k in range(n):
        pick, top = -1, -1.0
        for j in range(n):
            if not left[j]:
                continue
            slack = max(d[j] - p[j] - t - S[prev, j], 0)
            prio = (w[j] * coef[0] + coef[1] + 1e-3) / p[j]
            prio *= np.exp(-slack / (k1 * pbar) - S[prev, j] / (k2 * sbar))
            prio *= 1.0 + 0.1 * (_randint(rng, 1000) / 1000.0)
            if prio > top:
                pick, top = j, prio
        seq[k] = pick
        left[pick] = False
        t += S[prev, pick] + p[pick]
        prev = pick


@njit(cache=True)
def ils_chunk(
    p, w, d, S, coef, fam, pred, succ, hoods, cfg, state, cur, best_seq, elite, ecost, rng, count
):
    """Run ``count`` ILS iterations; state = [current cost, best cost, stale, done, stop]."""
    n = len(cur)
    seq = np.empty(n, dtype=np.int64)
    C = np.empty(n, dtype=np.int64)
    fc = np.empty(n, dtype=np.int64)
    F = np.zeros(n + 1, dtype=np.int64)
    WT = np.zeros(n + 1, dtype=np.int64)
    NT = np.zeros(n + 1, dtype=np.int64)
    tot = np.zeros(2, dtype=np.int64)
    best = np.zeros(6, dtype=np.int64)
    tmp = np.empty(n, dtype=np.int64)
    pos = np.empty(n, dtype=np.int64)
    old = np.empty(n, dtype=np.int64)
    active = np.zeros(n, dtype=np.bool_)
    for _ in range(count):
        if state[1] == 0:
            state[4] = 1
            return
        seq[:] = cur
        _kick(seq, tmp, fam, rng, cfg)
        if cfg[10]:
            _positions(cur, pos)
            active[:] = False
            _activate_changed(cur, seq, pos, active)
            cost = _descend_active(p, w, d, S, coef, pred, succ, seq, C, fc, F, WT, NT, tot, pos,
                                   hoods, best, tmp, old, active, rng, cfg[6])
        else:
            cost = _descend(p, w, d, S, coef, pred, succ, seq, C, fc, F, WT, NT, tot, pos,
                            hoods[:cfg[7]], best, tmp, rng, cfg[6])
        if not cfg[10] and cfg[7] < len(hoods) and cost - state[0] <= state[0] // cfg[8]:
            cost = _descend(p, w, d, S, coef, pred, succ, seq, C, fc, F, WT, NT, tot, pos, hoods,
                            best, tmp, rng, cfg[6])
        state[3] += 1
        state[2] += 1
        if cost < state[1]:
            state[1] = cost
            state[2] = 0
            best_seq[:] = seq
        _elite_add(elite, ecost, seq, cost)
        if cost - state[0] <= state[0] // cfg[4]:
            state[0] = cost
            cur[:] = seq
        elif state[2] > cfg[5] and cfg[9]:
            _atcs(p, w, d, S, coef, seq, rng)
            cost = _descend(p, w, d, S, coef, pred, succ, seq, C, fc, F, WT, NT, tot, pos, hoods,
                            best, tmp, rng, cfg[6])
            if cost < state[1]:
                state[1] = cost
                best_seq[:] = seq
            cur[:] = seq
            state[0] = cost
            state[2] = 0
        elif state[2] > cfg[5]:
            e = _randint(rng, len(ecost))
            if ecost[e] >= BIG:
                e = int(np.argmin(ecost))
            cur[:] = elite[e]
            state[0] = ecost[e]
            state[2] = 0


@njit(cache=True)
def _elite_add(elite, ecost, seq, cost):
    """Keep ``seq`` in the pool if it beats the worst member and is not already there."""
    worst = 0
    for e in range(len(ecost)):
        if ecost[e] == cost:
            same = True
            for q in range(len(seq)):
                if elite[e, q] != seq[q]:
                    same = False
                    break
            if same:
                return False
        if ecost[e] > ecost[worst]:
            worst = e
    if cost >= ecost[worst]:
        return False
    ecost[worst] = cost
    elite[worst] = seq
    return True


@njit(cache=True)
def descend_order(p, w, d, S, coef, pred, succ, hoods, seq, rng, tie=0):
    """Descend ``seq`` in place; returns its cost."""
    n = len(seq)
    C = np.empty(n, dtype=np.int64)
    fc = np.empty(n, dtype=np.int64)
    F = np.zeros(n + 1, dtype=np.int64)
    WT = np.zeros(n + 1, dtype=np.int64)
    NT = np.zeros(n + 1, dtype=np.int64)
    tot = np.zeros(2, dtype=np.int64)
    best = np.zeros(6, dtype=np.int64)
    tmp = np.empty(n, dtype=np.int64)
    pos = np.empty(n, dtype=np.int64)
    return _descend(p, w, d, S, coef, pred, succ, seq, C, fc, F, WT, NT, tot, pos, hoods, best, tmp,
                    rng, tie)


@njit(cache=True)
def order_cost(p, w, d, S, coef, seq):
    """Cost of ``seq`` as the search counts it (the exact decoder's on a plain line)."""
    n = len(seq)
    C = np.empty(n, dtype=np.int64)
    fc = np.empty(n, dtype=np.int64)
    F = np.zeros(n + 1, dtype=np.int64)
    WT = np.zeros(n + 1, dtype=np.int64)
    NT = np.zeros(n + 1, dtype=np.int64)
    tot = np.zeros(2, dtype=np.int64)
    _rebuild(p, w, d, S, coef, seq, C, fc, F, WT, NT, tot)
    return tot[0]


@njit(cache=True)
def move_delta(p, w, d, S, coef, seq, kind, s, t, L):
    """(cost change, setup change) of one move by the incremental evaluation (for tests):
    kind 0 block s..s+L-1 after position t > s+L-1, 1 before position t < s, 2 swap s < t."""
    n = len(seq)
    C = np.empty(n, dtype=np.int64)
    fc = np.empty(n, dtype=np.int64)
    F = np.zeros(n + 1, dtype=np.int64)
    WT = np.zeros(n + 1, dtype=np.int64)
    NT = np.zeros(n + 1, dtype=np.int64)
    tot = np.zeros(2, dtype=np.int64)
    _rebuild(p, w, d, S, coef, seq, C, fc, F, WT, NT, tot)
    # restricted to one target and with nothing to beat, a scan returns this move's change
    best = np.zeros(6, dtype=np.int64)
    best[0], best[1], best[2] = BIG, BIG, -1
    if kind == 0:
        _right(p, w, d, S, coef, seq, C, fc, F, WT, NT, s, L, best, t, n)
    elif kind == 1:
        _left(p, w, d, S, coef, seq, C, fc, F, WT, NT, s, L, best, t, n)
    elif kind == 2:
        _swaps(p, w, d, S, coef, seq, C, fc, F, WT, NT, s, best, t)
    elif kind == 3:
        _one_right(w, d, S, coef, seq, C, fc, WT, NT, s, L, t, best)
    else:
        _one_left(w, d, S, coef, seq, C, fc, WT, NT, s, L, t, best)
    return best[0], best[1]


# fmt: on


def arrays(sm: SingleMachine, families: np.ndarray | None = None) -> tuple:
    """(p, w, d, S, coef, family) as the compiled functions take them."""
    fam = np.zeros(sm.n, dtype=np.int64) if families is None else families.astype(np.int64)
    coef = np.array([sm.ct, sm.cl, sm.cs], dtype=np.int64)
    return (sm.p, sm.w, sm.d, np.ascontiguousarray(sm.setup), coef, fam)


def neighbour_lists(S: np.ndarray, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """For every job its ``k`` cheapest predecessors and successors by setup time."""
    k = max(1, min(k, n - 1))
    inner = S[:n, :n].astype(np.float64)
    np.fill_diagonal(inner, np.inf)
    pred = np.argsort(inner, axis=0, kind="stable")[:k].T  # pred[a]: b with small S[b, a]
    succ = np.argsort(inner, axis=1, kind="stable")[:, :k]  # succ[z]: c with small S[z, c]
    return np.ascontiguousarray(pred, dtype=np.int64), np.ascontiguousarray(succ, dtype=np.int64)


def search(
    sm: SingleMachine,
    starts: list[np.ndarray],
    deadline: float,
    seed: int,
    iterations: int | None,
    families: np.ndarray | None = None,
    settings: tuple[int, ...] | None = None,
    hoods: np.ndarray | None = None,
    near: int | None = None,
) -> tuple[np.ndarray, int, int]:
    """ILS/VND from the best of ``starts`` until the deadline, the budget or a zero cost.

    Returns the best order, its cost and the iterations (kicks) done.
    """
    p, w, d, S, coef, fam = arrays(sm, families)
    n = sm.n
    pred, succ = neighbour_lists(S, n, NEAR if near is None else near)
    hoods = NEIGHBOURHOODS if hoods is None else hoods.astype(np.int64)
    cfg = np.array(settings if settings is not None else SETTINGS, dtype=np.int64)
    mixed = (0x9E3779B97F4A7C15 ^ (seed * 0x2545F4914F6CDD1D + 1)) % 2**64
    rng = np.array([mixed or 1], dtype=np.uint64)
    ecost = np.full(ELITE, BIG, dtype=np.int64)
    elite = np.zeros((ELITE, n), dtype=np.int64)
    best_seq, best_cost = None, BIG
    for start in starts[:ELITE]:
        seq = np.array(start, dtype=np.int64)
        cost = int(descend_order(p, w, d, S, coef, pred, succ, hoods, seq, rng, cfg[6]))
        _elite_add(elite, ecost, seq, cost)
        if cost < best_cost:
            best_seq, best_cost = seq.copy(), cost
        if iterations is None and time.perf_counter() >= deadline:
            break
    cur = best_seq.copy()
    state = np.array([best_cost, best_cost, 0, 0, 0], dtype=np.int64)
    chunk = 1
    while state[4] == 0 and (iterations is None or state[3] < iterations):
        began = time.perf_counter()
        if iterations is None and began >= deadline:
            break
        count = chunk if iterations is None else min(chunk, iterations - int(state[3]))
        ils_chunk(p, w, d, S, coef, fam, pred, succ, hoods, cfg, state, cur, best_seq, elite, ecost,
                  rng, count)  # fmt: skip
        now = time.perf_counter()
        per = (now - began) / max(count, 1)
        chunk = max(1, min(chunk * 2, int(0.25 * (deadline - now) / per) if per > 0 else 64))
    return best_seq, int(state[1]), int(state[3])


def warm_up() -> None:
    """Compile (or load from Numba's cache) the functions, outside any time limit."""
    n = 6
    rng = np.random.default_rng(0)
    setup = rng.integers(0, 5, size=(n + 1, n + 1)).astype(np.int64)
    setup[:, n] = 0
    sm = SingleMachine(
        p=np.array([3, 4, 2, 5, 3, 2, 0], dtype=np.int64),
        w=np.array([1, 2, 1, 3, 1, 2, 0], dtype=np.int64),
        d=np.array([4, 6, 9, 3, 12, 5, 0], dtype=np.int64),
        setup=setup,
    )
    search(sm, [np.arange(n)], time.perf_counter() + 60, 0, 3)
    move_delta(*arrays(sm)[:5], np.arange(n), 0, 0, 3, 1)
    order_cost(*arrays(sm)[:5], np.arange(n))
