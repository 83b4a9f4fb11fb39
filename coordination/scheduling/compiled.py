"""Compiled (Numba) iterated local search with variable neighbourhood descent.

Covers one or several lines with sequence-dependent setups, eligibility, releases, windows
(resumable jobs included) and locked jobs that lead a line (the running job); the search
cost is exact for all of them, the same semi-active schedule as ``instance.walk_line``.

Move evaluation: every move (insertion of a job or a block, swap, run of one family moved,
a job or block moved to another line, a swap across lines) rewrites at most two lines, and
each rewritten line is an unchanged prefix followed by a few *segments* of old sequences.
A segment of the same line keeps its internal setups; only the setups at its first job (the
changed boundary) are recomputed, and on a plain line (no windows, no release after the
line's start) all its jobs shift by one constant. Its cost change is then O(1) from range
minimum / maximum slack tables (sparse tables) and prefix weights: all on time before and
after, or all late before and after (then it is the shift times the weight), else one row
of prefix cost changes under that shift, built on first use and reused until the line
changes. On lines with windows or releases a segment is walked job by job until its times
agree with the old ones again (resynchronised), after which the old prefix sums give the
rest. Measured: about 0.2 us per move on n = 60 (a whole insertion neighbourhood in
0.7 ms on the loaded 2-core machine), far from the ~20 ns a hand-specialised loop reaches.

Search: VND over (insertion, move to another line, swap, swap across lines, 2- and 3-job
blocks, same-family runs), first improvement per neighbourhood, back to the first after
each improvement; moves within a line reach REACH positions. ILS on top: perturbations are
double bridges, random insertions, runs of one family moved elsewhere and jobs moved across
lines; the walk accepts local minima up to 1 % worse and restarts from an elite pool (the
descended constructive starts and the bests found) after a run of non-improving kicks. Own
xorshift random numbers keep it deterministic for a seed and an iteration budget; the Python
driver runs it in chunks so that the wall-clock limit is checked between them.

The search cost is lexicographic: G x (SUM_lines (ct x weighted tardiness + cl x late jobs
+ cs x changeover) + cm x makespan) + SUM of line ends (a guide across plateaus, only
when makespan is a criterion; else G = 1 and no guide).
"""

from __future__ import annotations

import time
from collections import namedtuple

import numpy as np
from numba import njit

from .cpsat import _horizon as cpsat_horizon
from .instance import Instance, finish

#: Kicks per ILS iteration: KICK_MIN + U[0, KICK_SPREAD) random perturbation moves.
KICK_MIN, KICK_SPREAD = 2, 4
#: Non-improving iterations before the walk restarts from a member of the elite pool.
RESTART_AFTER = 8
#: The walk accepts a local minimum up to 1 / ACCEPT_WORSE_DIV worse than the current one.
ACCEPT_WORSE_DIV = 100
#: Insertions and swaps on a line move a job at most this many positions.
REACH = 20
#: Improving moves per call of the first descents, between which the deadline is checked.
DESCENT_STEPS = 20
#: Take the first improving move of a neighbourhood instead of the best one.
FIRST_IMPROVEMENT = True
ELITE = 4
#: Neighbourhoods of the VND in order: (kind, block length); kind 0 insertion on a line,
#: 1 swap on a line, 2 move to another line, 3 swap across lines, 4 same-family run moved.
NEIGHBOURHOODS = np.array(
    [[0, 1], [2, 1], [1, 1], [3, 1], [0, 2], [0, 3], [4, 0], [2, 2]], dtype=np.int64
)

#: Arrays of a problem: proc [line, job] (0: not eligible), setup [line, prev or n, job or
#: n], job [due, weight, release, resumable, family][job], win [line, k, start / end], line
#: [window count, plain, first prev, first start, end if empty][line], coef [ct, cl, cs, cm,
#: G]. The compiled functions take them unpacked: Numba passes a tuple of arrays by value
#: on every call (about 200 ns), plain array arguments cost nothing.
Prob = namedtuple("Prob", "proc setup job win line coef")
#: Search state: seq [line, position], ln [line], T [line, (completion, setup before, prefix
#: cost, prefix setups, prefix weight), position], mn / mx [line, level, position] sparse
#: tables of the slack, lv [(cost, end, version), line], logt [length] floor(log2), tab
#: [line, shift, position] prefix cost changes under a constant shift, built on demand and
#: valid while stamp [line, shift] equals the line's version.
Work = namedtuple("Work", "seq ln T mn mx lv logt tab stamp")


# --------------------------------------------------------------------------- primitives
# The compiled functions take the arrays of Prob and Work unpacked (see above), which makes
# long argument lists; they are kept packed rather than one argument a line.
# fmt: off


@njit(cache=True, inline="always")
def _rand(state):
    x = state[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    state[0] = x
    return np.int64((x * np.uint64(2685821657736338717)) >> np.uint64(11))


@njit(cache=True, inline="always")
def _randint(state, k):
    return _rand(state) % k


@njit(cache=True, _nrt=False)
def _earliest(proc, job, win, line, k, j, t, s):
    start = max(t + s, job[2, j])
    cnt = line[0, k]
    if cnt == 0:
        return start
    span = 1 if job[3, j] else proc[k, j]
    for q in range(cnt):
        ws, we = win[k, q, 0], win[k, q, 1]
        if we <= start - s:
            continue
        if ws >= start + span:
            break
        start = we + s
    return start


@njit(cache=True, _nrt=False)
def _finish(proc, job, win, line, k, j, start):
    end = start + proc[k, j]
    if not job[3, j]:
        return end
    for q in range(line[0, k]):
        ws, we = win[k, q, 0], win[k, q, 1]
        if we <= start:
            continue
        if ws >= end:
            break
        end += we - ws
    return end


@njit(cache=True, _nrt=False)
def _place(proc, job, win, line, k, j, t, s):
    """Completion of job j on line k after time t with setup s."""
    if line[1, k]:
        return t + s + proc[k, j]
    return _finish(proc, job, win, line, k, j, _earliest(proc, job, win, line, k, j, t, s))


@njit(cache=True, _nrt=False)
def _f(job, coef, j, c):
    late = c - job[0, j]
    if late > 0:
        return coef[0] * job[1, j] * late + coef[1]
    return 0


@njit(cache=True)
def _rebuild(proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, k):
    """Times, prefix sums and slack tables of line k from its sequence."""
    prev, t, size = line[2, k], line[3, k], ln[k]
    for q in range(size):
        j = seq[k, q]
        s = setup[k, prev, j]
        t = _place(proc, job, win, line, k, j, t, s)
        T[k, 0, q] = t
        T[k, 1, q] = s
        T[k, 2, q + 1] = T[k, 2, q] + _f(job, coef, j, t)
        T[k, 3, q + 1] = T[k, 3, q] + s
        T[k, 4, q + 1] = T[k, 4, q] + job[1, j]
        mn[k, 0, q] = mx[k, 0, q] = job[0, j] - t
        prev = j
    level, width = 1, 2
    while width <= size:
        half = width // 2
        for q in range(size - width + 1):
            mn[k, level, q] = min(mn[k, level - 1, q], mn[k, level - 1, q + half])
            mx[k, level, q] = max(mx[k, level - 1, q], mx[k, level - 1, q + half])
        level += 1
        width *= 2
    lv[0, k] = T[k, 2, size] + coef[2] * T[k, 3, size]
    lv[1, k] = t if size > 0 else line[4, k]
    lv[2, k] += 1


@njit(cache=True, _nrt=False)
def _shift_cost(
    proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, k, a, b, delta
):
    """Cost change of positions a..b of plain line k when all shift by delta."""
    if a > b or delta == 0 or (coef[0] == 0 and coef[1] == 0):
        return 0
    lg = logt[b - a + 1]
    other = b - (1 << lg) + 1
    lo = min(mn[k, lg, a], mn[k, lg, other])
    hi = max(mx[k, lg, a], mx[k, lg, other])
    if delta > 0:
        if lo >= delta:
            return 0
        if hi < 0:
            return coef[0] * delta * (T[k, 4, b + 1] - T[k, 4, a])
    else:
        if lo >= 0:
            return 0
        if hi < delta:
            return coef[0] * delta * (T[k, 4, b + 1] - T[k, 4, a])
    rows = stamp.shape[1]
    row = delta + rows // 2
    if row < 0 or row >= rows:
        total = 0
        for q in range(a, b + 1):
            total += _f(job, coef, seq[k, q], T[k, 0, q] + delta) - (T[k, 2, q + 1] - T[k, 2, q])
        return total
    if stamp[k, row] != lv[2, k]:
        # prefix sums of the cost change of the whole line under this shift, built once per
        # shift and line version: later queries with the same shift are O(1)
        acc = 0
        for q in range(ln[k]):
            tab[k, row, q] = acc
            acc += _f(job, coef, seq[k, q], T[k, 0, q] + delta) - (T[k, 2, q + 1] - T[k, 2, q])
        tab[k, row, ln[k]] = acc
        stamp[k, row] = lv[2, k]
    return tab[k, row, b + 1] - tab[k, row, a]


@njit(cache=True, _nrt=False)
def _eval_line(
    proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, k, lo, sg, ns
):
    """(line cost, line end) of line k = its prefix 0..lo-1 + segments sg[:ns].

    A segment (src, a, b) is positions a..b of line src's current sequence.
    """
    if lo == 0:
        prev, t, F, S = line[2, k], line[3, k], 0, 0
    else:
        prev, t, F, S = seq[k, lo - 1], T[k, 0, lo - 1], T[k, 2, lo], T[k, 3, lo]
    placed = lo > 0
    plain = line[1, k]
    for g in range(ns):
        src, a, b = sg[g, 0], sg[g, 1], sg[g, 2]
        if a > b:
            continue
        placed = True
        if src == k:
            j = seq[k, a]
            s = setup[k, prev, j]
            nt = _place(proc, job, win, line, k, j, t, s)
            F += _f(job, coef, j, nt)
            S += s
            if b > a:
                S += T[k, 3, b + 1] - T[k, 3, a + 1]
                if plain:
                    delta = nt - T[k, 0, a]
                    F += (
                        T[k, 2, b + 1]
                        - T[k, 2, a + 1]
                        + _shift_cost(
                            proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab,
                            stamp, k, a + 1, b, delta,
                        )
                    )
                    t = T[k, 0, b] + delta
                else:
                    t = nt
                    for q in range(a + 1, b + 1):
                        if t == T[k, 0, q - 1]:
                            F += T[k, 2, b + 1] - T[k, 2, q]
                            t = T[k, 0, b]
                            break
                        jj = seq[k, q]
                        t = _finish(
                            proc,
                            job,
                            win,
                            line,
                            k,
                            jj,
                            _earliest(proc, job, win, line, k, jj, t, T[k, 1, q]),
                        )
                        F += _f(job, coef, jj, t)
            else:
                t = nt
            prev = seq[k, b]
        else:
            for q in range(a, b + 1):
                j = seq[src, q]
                s = setup[k, prev, j]
                t = _place(proc, job, win, line, k, j, t, s)
                F += _f(job, coef, j, t)
                S += s
                prev = j
    return F + coef[2] * S, t if placed else line[4, k]


@njit(cache=True, _nrt=False)
def _total(
    proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, ka, ca, ea, kb,
    cb, eb,
):
    """Search cost with line ka (and kb if >= 0) replaced by the given cost and end."""
    cost, top, ends = 0, 0, 0
    for k in range(len(ln)):
        c, e = lv[0, k], lv[1, k]
        if k == ka:
            c, e = ca, ea
        elif k == kb:
            c, e = cb, eb
        cost += c
        ends += e
        top = max(top, e)
    if coef[4] == 1:
        return cost + coef[3] * top
    return coef[4] * (cost + coef[3] * top) + ends


@njit(cache=True, _nrt=False)
def _current(proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp):
    return _total(
        proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, -1, 0, 0, -1,
        0, 0,
    )


# --------------------------------------------------------------------------- neighbourhoods


@njit(cache=True, _nrt=False)
def _seg(sg, g, src, a, b):
    sg[g, 0], sg[g, 1], sg[g, 2] = src, a, b


@njit(cache=True, _nrt=False)
def _run_end(proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, k, i):
    """Last position of the same-family run starting at position i of line k."""
    q = i
    while q + 1 < ln[k] and job[4, seq[k, q + 1]] == job[4, seq[k, i]]:
        q += 1
    return q


@njit(cache=True, _nrt=False)
def _move_total(
    proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, mv, sa, sb
):
    """Search cost after move mv = (kind, line, i, other line, t, length), incrementally.

    kind 0: block i..i+L-1 of the line moved before old position t (t < i), or after old
    position t - 1 (t > i + L); 1: swap of positions i and t (t >= i + 2); 2: block i..i+L-1
    moved to position t of the other line; 3: swap of position i with position t of the
    other line. Lines are written as an unchanged prefix plus segments of old sequences.
    """
    kind, k, i, kb, t, L = mv[0], mv[1], mv[2], mv[3], mv[4], mv[5]
    size, lb = ln[k], ln[kb]
    nb, lob = 0, 0
    if kind == 0:
        if t < i:
            _seg(sa, 0, k, i, i + L - 1)
            _seg(sa, 1, k, t, i - 1)
            _seg(sa, 2, k, i + L, size - 1)
            lo = t
        else:
            _seg(sa, 0, k, i + L, t - 1)
            _seg(sa, 1, k, i, i + L - 1)
            _seg(sa, 2, k, t, size - 1)
            lo = i
        na = 3
    elif kind == 1:
        _seg(sa, 0, k, t, t)
        _seg(sa, 1, k, i + 1, t - 1)
        _seg(sa, 2, k, i, i)
        _seg(sa, 3, k, t + 1, size - 1)
        lo, na = i, 4
    elif kind == 2:
        _seg(sa, 0, k, i + L, size - 1)
        lo, na = i, 1
        _seg(sb, 0, k, i, i + L - 1)
        _seg(sb, 1, kb, t, lb - 1)
        lob, nb = t, 2
    else:
        _seg(sa, 0, kb, t, t)
        _seg(sa, 1, k, i + 1, size - 1)
        lo, na = i, 2
        _seg(sb, 0, k, i, i)
        _seg(sb, 1, kb, t + 1, lb - 1)
        lob, nb = t, 2
    ca, ea = _eval_line(
        proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, k, lo, sa, na
    )
    if nb == 0:
        return _total(
            proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, k, ca, ea,
            -1, 0, 0,
        )
    cb, eb = _eval_line(
        proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, kb, lob, sb, nb
    )
    return _total(
        proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, k, ca, ea, kb,
        cb, eb,
    )


@njit(cache=True, _nrt=False)
def _moves(
    proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, kind, L, out
):
    """Every move of one neighbourhood as rows (kind, line, i, other, t, length)."""
    m, r = len(ln), 0
    for k in range(m):
        size = ln[k]
        if kind == 0 or kind == 4:
            for i in range(size):
                length = L
                if kind == 4:
                    if i > 0 and job[4, seq[k, i - 1]] == job[4, seq[k, i]]:
                        continue
                    length = (
                        _run_end(
                            proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab,
                            stamp, k, i,
                        )
                        - i
                        + 1
                    )
                    if length < 2:
                        continue
                if i + length > size:
                    break
                for t in range(max(0, i - REACH), min(size, i + length + REACH) + 1):
                    if i <= t <= i + length:
                        continue
                    inside_run = 0 < t < size and job[4, seq[k, t - 1]] == job[4, seq[k, t]]
                    if kind == 4 and inside_run:
                        continue
                    out[r, 0], out[r, 1], out[r, 2], out[r, 3] = 0, k, i, k
                    out[r, 4], out[r, 5] = t, length
                    r += 1
        elif kind == 1:
            for i in range(size):
                for j in range(i + 2, min(size, i + REACH + 1)):
                    out[r, 0], out[r, 1], out[r, 2], out[r, 3], out[r, 4], out[r, 5] = (
                        1, k, i, k, j, 1,
                    )
                    r += 1
        elif kind == 2:
            for i in range(size - L + 1):
                for kb in range(m):
                    if kb == k:
                        continue
                    ok = True
                    for q in range(i, i + L):
                        if proc[kb, seq[k, q]] == 0:
                            ok = False
                    if not ok:
                        continue
                    for t in range(ln[kb] + 1):
                        out[r, 0], out[r, 1], out[r, 2], out[r, 3], out[r, 4], out[r, 5] = (
                            2, k, i, kb, t, L,
                        )
                        r += 1
        else:
            for i in range(size):
                x = seq[k, i]
                for kb in range(k + 1, m):
                    if proc[kb, x] == 0:
                        continue
                    for j in range(ln[kb]):
                        if proc[k, seq[kb, j]] == 0:
                            continue
                        out[r, 0], out[r, 1], out[r, 2], out[r, 3], out[r, 4], out[r, 5] = (
                            3, k, i, kb, j, 1,
                        )
                        r += 1
    return r


@njit(cache=True, _nrt=False)
def _scan(
    proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, kind, L, best, mv,
    sa, sb, out,
):
    """Best move of one neighbourhood that beats ``best``; copies it to mv, returns its cost."""
    count = _moves(
        proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, kind, L, out
    )
    found = -1
    for r in range(count):
        total = _move_total(
            proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, out[r],
            sa, sb,
        )
        if total < best:
            best, found = total, r
            if FIRST_IMPROVEMENT:
                break
    if found >= 0:
        for q in range(6):
            mv[q] = out[found, q]
    return best


@njit(cache=True)
def _apply(proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, mv, tmp):
    """Apply move mv and rebuild the lines it changed."""
    kind, k, i, kb, t, L = mv[0], mv[1], mv[2], mv[3], mv[4], mv[5]
    if kind == 0:
        size = ln[k]
        n = 0
        if t < i:
            order = ((0, t - 1), (i, i + L - 1), (t, i - 1), (i + L, size - 1))
        else:
            order = ((0, i - 1), (i + L, t - 1), (i, i + L - 1), (t, size - 1))
        for a, b in order:
            for q in range(a, b + 1):
                tmp[n] = seq[k, q]
                n += 1
        seq[k, :size] = tmp[:size]
        _rebuild(proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, k)
    elif kind == 1:
        seq[k, i], seq[k, t] = seq[k, t], seq[k, i]
        _rebuild(proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, k)
    elif kind == 2:
        la, lb = ln[k], ln[kb]
        tmp[:L] = seq[k, i : i + L]
        seq[k, i : la - L] = seq[k, i + L : la].copy()
        seq[kb, t + L : lb + L] = seq[kb, t:lb].copy()
        seq[kb, t : t + L] = tmp[:L]
        ln[k], ln[kb] = la - L, lb + L
        _rebuild(proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, k)
        _rebuild(proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, kb)
    else:
        seq[k, i], seq[kb, t] = seq[kb, t], seq[k, i]
        _rebuild(proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, k)
        _rebuild(proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, kb)


@njit(cache=True)
def _buffers(seq):
    m, n = seq.shape
    mv = np.zeros(6, dtype=np.int64)
    sa = np.zeros((4, 3), dtype=np.int64)
    sb = np.zeros((4, 3), dtype=np.int64)
    out = np.zeros(((n + 2) * (n + 2) * max(m, 2), 6), dtype=np.int64)
    tmp = np.zeros(n + 4, dtype=np.int64)
    return mv, sa, sb, out, tmp


@njit(cache=True)
def _descend(
    proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, hoods, mv, sa, sb,
    out, tmp, steps, status,
):
    """VND to a local minimum of every neighbourhood, or ``steps`` improving moves when
    steps >= 0; returns the search cost, status[0] = 1 if at a local minimum."""
    cost = _current(proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp)
    h = 0
    status[0] = 0
    while h < len(hoods):
        if steps == 0:
            return cost
        steps -= 1
        kind, L = hoods[h, 0], hoods[h, 1]
        found = _scan(
            proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, kind, L,
            cost, mv, sa, sb, out,
        )
        if found < cost:
            _apply(
                proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, mv, tmp
            )
            cost = found
            h = 0
        else:
            h += 1
            steps += 1
    status[0] = 1
    return cost


# --------------------------------------------------------------------------- ILS


@njit(cache=True)
def _kick(proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, rng, tmp):
    """One random perturbation move; lines are rebuilt by the caller."""
    m = len(ln)
    k = _randint(rng, m)
    tries = 0
    while ln[k] < 2 and m > 1 and tries < 4 * m:
        k = _randint(rng, m)
        tries += 1
    size = ln[k]
    choice = _randint(rng, 4)
    if choice == 0 and m > 1 and size > 0:
        # a random job to a random eligible line and position
        i = _randint(rng, size)
        x = seq[k, i]
        kb = _randint(rng, m)
        if kb == k or proc[kb, x] == 0:
            return
        seq[k, i : size - 1] = seq[k, i + 1 : size].copy()
        lb = ln[kb]
        t = _randint(rng, lb + 1)
        seq[kb, t + 1 : lb + 1] = seq[kb, t:lb].copy()
        seq[kb, t] = x
        ln[k], ln[kb] = size - 1, lb + 1
        return
    if size < 4:
        return
    if choice <= 1:
        # double bridge A B C D -> A C B D with B, C short
        p1 = _randint(rng, size - 2)
        p2 = p1 + 1 + _randint(rng, min(size - p1 - 2, 8))
        p3 = p2 + 1 + _randint(rng, min(size - p2 - 1, 8))
        n = 0
        for q in range(p2, p3):
            tmp[n] = seq[k, q]
            n += 1
        for q in range(p1, p2):
            tmp[n] = seq[k, q]
            n += 1
        seq[k, p1:p3] = tmp[:n]
    elif choice == 2:
        # a same-family run (or a single job) to a random other place
        i = _randint(rng, size)
        while i > 0 and job[4, seq[k, i - 1]] == job[4, seq[k, i]]:
            i -= 1
        e = _run_end(
            proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, k, i
        )
        rest = size - (e - i + 1)
        if rest <= 0:
            return
        t = _randint(rng, rest + 1)
        n = 0
        for q in range(size):
            if i <= q <= e:
                continue
            if n == t:
                for r in range(i, e + 1):
                    tmp[n] = seq[k, r]
                    n += 1
                t = -1
            tmp[n] = seq[k, q]
            n += 1
        if t != -1:
            for r in range(i, e + 1):
                tmp[n] = seq[k, r]
                n += 1
        seq[k, :size] = tmp[:size]
    else:
        # a random job reinserted within a distance of n / 3
        i = _randint(rng, size)
        reach = max(2, size // 3)
        j = min(size - 1, max(0, i - reach + _randint(rng, 2 * reach + 1)))
        x = seq[k, i]
        if j > i:
            seq[k, i:j] = seq[k, i + 1 : j + 1].copy()
        elif j < i:
            seq[k, j + 1 : i + 1] = seq[k, j:i].copy()
        seq[k, j] = x


@njit(cache=True)
def _load(
    proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, new_seq, new_ln
):
    seq[:] = new_seq
    ln[:] = new_ln
    for k in range(len(ln)):
        _rebuild(proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, k)


@njit(cache=True)
def ils_chunk(
    proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, hoods, state, cur,
    cur_ln, best, best_ln, elite, elite_ln, ecost, rng, count,
):
    """Run ``count`` ILS iterations; state = [current cost, best cost, stale, done, stop].

    ``W`` holds the current order on entry; on return ``cur`` / ``best`` hold the walk's
    current and best orders. Stops early (state[4] = 1) when the objective part reaches 0.
    """
    mv, sa, sb, out, tmp = _buffers(seq)
    status = np.zeros(2, dtype=np.int64)
    G = coef[4]
    for _ in range(count):
        if state[1] // G == 0:
            state[4] = 1
            return
        _load(
            proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, cur, cur_ln
        )
        strength = KICK_MIN + _randint(rng, KICK_SPREAD)
        for _s in range(strength):
            _kick(
                proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, rng,
                tmp,
            )
        for k in range(len(ln)):
            _rebuild(proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, k)
        cost = _descend(
            proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, hoods, mv,
            sa, sb, out, tmp, -1, status,
        )
        state[3] += 1
        state[2] += 1
        if cost < state[1]:
            state[1] = cost
            state[2] = 0
            best[:] = seq
            best_ln[:] = ln
            # elite pool: replace the worst member
            worst = 0
            for e in range(len(ecost)):
                if ecost[e] > ecost[worst]:
                    worst = e
            ecost[worst] = cost
            elite[worst] = seq
            elite_ln[worst] = ln
        if cost - state[0] <= state[0] // ACCEPT_WORSE_DIV:
            state[0] = cost
            cur[:] = seq
            cur_ln[:] = ln
        elif state[2] > RESTART_AFTER:
            e = _randint(rng, len(ecost))
            if ecost[e] >= 2**62:
                e = 0
            cur[:] = elite[e]
            cur_ln[:] = elite_ln[e]
            state[0] = ecost[e]
            state[2] = 0


@njit(cache=True)
def descend_orders(
    proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, hoods, start,
    start_ln, steps, status,
):
    """Load orders (unless status[1] is 0), run the VND for up to ``steps`` improving moves;
    returns the search cost (W holds the result), status[0] = 1 at a local minimum."""
    mv, sa, sb, out, tmp = _buffers(seq)
    if status[1]:
        _load(
            proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, start,
            start_ln,
        )  # fmt: skip
    return _descend(
        proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, hoods, mv, sa,
        sb, out, tmp, steps, status,
    )


@njit(cache=True)
def line_cost(
    proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, k, order, count
):
    """Cost and end of one line for the given order (testing the incremental evaluation)."""
    seq[k, :count] = order[:count]
    ln[k] = count
    _rebuild(proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, k)
    return lv[0, k], lv[1, k]


@njit(cache=True)
def move_cost(
    proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, kind, k, i, kb, t,
    L,
):
    """Search cost after one move, evaluated incrementally (for the tests)."""
    mv, sa, sb, _, _ = _buffers(seq)
    mv[:] = (kind, k, i, kb, t, L)
    return _move_total(
        proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, mv, sa, sb
    )


@njit(cache=True)
def apply_move(
    proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, kind, k, i, kb, t,
    L,
):
    mv = np.array([kind, k, i, kb, t, L], dtype=np.int64)
    tmp = np.zeros(seq.shape[1] + 4, dtype=np.int64)
    _apply(proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp, mv, tmp)
    return _current(proc, setup, job, win, line, coef, seq, ln, T, mn, mx, lv, logt, tab, stamp)


# fmt: on
# --------------------------------------------------------------------------- Python driver

_PARTS = {  # criterion -> (weighted tardiness, late jobs, changeover, makespan) coefficients
    "late_jobs": (0, 1, 0, 0),
    "changeover": (0, 0, 1, 0),
    "makespan": (0, 0, 0, 1),
}


def _leading_locked(inst: Instance, line: int) -> tuple[int, int] | None:
    """(last locked job or n, time it ends) if every locked job of the line comes before any
    free job can (the running job); None if a free job could be placed before one."""
    prev, t = inst.n, inst.available[line]
    shortest = min(
        (inst.proc[line][j] for j in inst.free if line in inst.eligible[j]), default=2**62
    )
    for start, job in inst.locked[line]:
        if start - t >= shortest:
            return None
        prev, t = job, finish(inst, line, job, start)
    return prev, t


def problem_arrays(inst: Instance) -> Prob | None:
    """Arrays of the compiled search, or None when it does not apply (a locked job later in
    a line, or lexicographic weights that would overflow int64)."""
    n, m = inst.n, inst.m
    prev0, t0, end_empty = np.zeros(m, np.int64), np.zeros(m, np.int64), np.zeros(m, np.int64)
    plain = np.zeros(m, np.int64)
    for k in range(m):
        lead = _leading_locked(inst, k)
        if lead is None:
            return None
        prev0[k], t0[k] = lead
        end_empty[k] = t0[k] if inst.locked[k] else 0
        releases = [inst.release[j] for j in inst.free if k in inst.eligible[j]]
        plain[k] = not inst.windows[k] and max(releases, default=0) <= t0[k]
    width = max((len(w) for w in inst.windows), default=0)
    win = np.zeros((m, max(width, 1), 2), np.int64)
    for k, windows in enumerate(inst.windows):
        if windows:
            win[k, : len(windows)] = windows
    setup = np.array(inst.setup, dtype=np.int64)
    horizon = cpsat_horizon(inst)
    objective = inst.problem.objective
    max_setup = int(setup.max(initial=0))
    bounds = {
        "tardiness": sum(inst.weight) * (horizon + max(0, -min(inst.due, default=0)))
        + objective.changeover_weight * n * max_setup,
        "late_jobs": n,
        "changeover": n * max_setup,
        "makespan": horizon,
    }
    coefficient = [0, 0, 0, 0]
    scale = 1
    for name in reversed(objective.criteria):
        part = _PARTS.get(name, (1, 0, objective.changeover_weight, 0))
        coefficient = [c + scale * x for c, x in zip(coefficient, part, strict=True)]
        scale *= bounds[name] + 1
    # The sum of line ends guides the makespan search across plateaus; with per-job costs
    # it would only make descents long (a travelling salesman over the setups).
    guide = m * horizon + 1 if "makespan" in objective.criteria else 1
    if scale * guide >= 2**62:
        return None
    jobs = np.array(
        [inst.due, inst.weight, inst.release, inst.resumable, family_ids(inst)], dtype=np.int64
    ).reshape(5, n)
    lines = np.array(
        [[len(w) for w in inst.windows], plain, prev0, t0, end_empty], dtype=np.int64
    ).reshape(5, m)
    coef = np.array([*coefficient, guide], dtype=np.int64)
    return Prob(np.array(inst.proc, dtype=np.int64).reshape(m, n), setup, jobs, win, lines, coef)


def family_ids(inst: Instance) -> np.ndarray:
    """Job family as an integer; jobs without a family are each their own."""
    names: dict[str, int] = {}
    out = np.zeros(inst.n, dtype=np.int64)
    for j, job in enumerate(inst.problem.jobs):
        if job.family is None:
            out[j] = -1 - j
        else:
            out[j] = names.setdefault(job.family, len(names))
    return out


def new_work(m: int, n: int, reach: int = 0) -> Work:
    """Search state; shifts up to +-reach get a table of prefix cost changes."""
    log = max(1, int(np.ceil(np.log2(max(n, 2)))) + 1)
    logt = np.zeros(n + 2, dtype=np.int64)
    for x in range(2, n + 2):
        logt[x] = logt[x // 2] + 1
    z = np.zeros
    return Work(
        seq=z((m, n), np.int64), ln=z(m, np.int64), T=z((m, 5, n + 1), np.int64),
        mn=z((m, log, n), np.int64), mx=z((m, log, n), np.int64), lv=z((3, m), np.int64),
        logt=logt, tab=z((m, 2 * reach + 1, n + 1), np.int64),
        stamp=np.full((m, 2 * reach + 1), -1, np.int64),
    )  # fmt: skip


def shift_reach(P: Prob) -> int:
    """Largest shift a move of up to 3 jobs causes on a plain line (0: no per-job cost)."""
    if P.coef[0] == 0 and P.coef[1] == 0:
        return 0
    m, n = P.proc.shape
    longest = np.sort(P.proc, axis=1)[:, -3:].sum(axis=1).max(initial=0)
    reach = int(longest + 4 * P.setup.max(initial=0))
    return min(reach, max(64, 4_000_000 // (m * (n + 1))))


def load(P: Prob, W: Work, seq: np.ndarray, ln: np.ndarray) -> None:
    """Put orders (as from ``pack``) into the search state and rebuild every line."""
    _load(*P, *W, seq, ln)


def pack(orders: list[list[int]], m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    seq = np.zeros((m, n), dtype=np.int64)
    ln = np.zeros(m, dtype=np.int64)
    for k, order in enumerate(orders):
        seq[k, : len(order)] = order
        ln[k] = len(order)
    return seq, ln


def unpack(seq: np.ndarray, ln: np.ndarray) -> list[list[int]]:
    return [[int(j) for j in seq[k, : ln[k]]] for k in range(len(ln))]


def search(
    P: Prob,
    starts: list[list[list[int]]],
    deadline: float,
    seed: int,
    iterations: int | None,
) -> tuple[list[list[int]], int, int]:
    """ILS/VND from the best of ``starts`` until the deadline, the budget or a zero objective.

    Returns the best orders, their search cost and the iterations done. Chunks of
    iterations grow while they stay well inside the remaining time.
    """
    m, n = P.proc.shape
    W = new_work(m, n, shift_reach(P))
    hoods = NEIGHBOURHOODS if m > 1 else NEIGHBOURHOODS[np.isin(NEIGHBOURHOODS[:, 0], (0, 1, 4))]
    # every start is descended; the best is the walk's start, all seed the elite pool
    ecost = np.full(ELITE, 2**62, dtype=np.int64)
    elite = np.zeros((ELITE, m, n), dtype=np.int64)
    elite_ln = np.zeros((ELITE, m), dtype=np.int64)
    status = np.zeros(2, dtype=np.int64)
    for e, orders in enumerate(starts[:ELITE]):
        seq, ln = pack(orders, m, n)
        status[1] = 1  # load, then descend in steps so that the deadline is kept
        while True:
            ecost[e] = descend_orders(*P, *W, hoods, seq, ln, DESCENT_STEPS, status)
            status[1] = 0
            if status[0] or (iterations is None and time.perf_counter() >= deadline):
                break
        elite[e], elite_ln[e] = W.seq, W.ln
        if iterations is None and time.perf_counter() >= deadline:
            break
    first = int(ecost.argmin())
    cost = int(ecost[first])
    cur, cur_ln = elite[first].copy(), elite_ln[first].copy()
    best, best_ln = cur.copy(), cur_ln.copy()
    state = np.array([cost, cost, 0, 0, 0], dtype=np.int64)
    mixed = (0x9E3779B97F4A7C15 ^ (seed * 0x2545F4914F6CDD1D + 1)) % 2**64
    rng = np.array([mixed or 1], dtype=np.uint64)
    chunk = 1
    while state[4] == 0 and (iterations is None or state[3] < iterations):
        began = time.perf_counter()
        if began >= deadline:
            break
        count = chunk if iterations is None else min(chunk, iterations - int(state[3]))
        ils_chunk(*P, *W, hoods, state, cur, cur_ln, best, best_ln, elite, elite_ln, ecost, rng,
                  count)  # fmt: skip
        now = time.perf_counter()
        per = (now - began) / max(count, 1)
        chunk = max(1, min(chunk * 2, int(0.25 * (deadline - now) / per) if per > 0 else 64))
    return unpack(best, best_ln), int(state[1]), int(state[3])


def warm_up() -> None:
    """Compile (or load from Numba's on-disk cache) every function, outside any time limit.

    The first call in a process takes about 1 s with a warm cache and tens of seconds
    without one (after an install or a change of this file); benchmarks call it first.
    """
    from .instance import build_instance
    from .model import Job, Line, Problem, Window

    jobs = [
        Job("a", {"L1": 3, "L2": 4}, due=2, family="x"),
        Job("b", {"L1": 2}, due=5, family="y", release=1),
        Job("c", {"L2": 5}, due=4, family="x", resumable=True),
    ]
    table = {"x": {"y": 1}, "y": {"x": 2}}
    lines = [Line("L1", family_changeover=table), Line("L2", [Window(2, 3)], table)]
    P = problem_arrays(build_instance(Problem(jobs, lines)))
    search(P, [[[0, 1], [2]]], time.perf_counter() + 60, 0, 3)
    from . import compiled_single

    compiled_single.warm_up()
