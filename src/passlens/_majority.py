"""Exact majority-vote accuracy maj@k from per-problem answer vote counts.

The sufficient statistic of a problem is its vote vector: v_b = number of the n
samples whose final answer is b (Σ_b v_b = n), and which answers are correct.
maj@k is the average, over all C(n, k) size-k subsets of the n samples, of the
accuracy of a majority vote within the subset — a U-statistic, hence unbiased
for the majority-vote accuracy of k i.i.d. samples from the model.

Derivation (used by :func:`maj_at_k`)
-------------------------------------
A uniformly random k-subset has answer counts x = (x_b) with the multivariate
hypergeometric law P(x) = Π_b C(v_b, x_b) / C(n, k). Write t = max_b x_b for
the winning count and J for the number of *other* answers that also reach t.
Summing the subset accuracy over subsets, one correct answer a at a time:

    maj@k = 1/C(n,k) · Σ_{a correct} Σ_{t≥1} C(v_a, t) Σ_J W_t^{(−a)}[k − t, J] / (J + 1)

with W_t^{(−a)}[s, J] the number of ways to pick s samples from the answers
other than a so that each gets at most t and exactly J get t. The 1/(J + 1) is
removed with 1/(J + 1) = ∫₀¹ u^J du, which turns W into a product of
polynomials P_{b,t}(z, u) = Σ_{x<t} C(v_b, x) z^x + u C(v_b, t) z^t:

    maj@k = 1/C(n,k) · Σ_t [z^k] ∫₀¹ D_t(z, u) du,
    D_t   = Σ_{a correct} C(v_a, t) z^t Π_{b≠a} P_{b,t}(z, u).

D_t is built in one pass over the answers by carrying the pair (F, D) with
F = Π_b P_{b,t} (forward-mode differentiation of Π_b P_{b,t} with respect to
a marker on the correct answers' top terms): an answer b updates
F ← F·P_{b,t} and, if correct, D ← D·P_{b,t} + F·C(v_b, t) z^t. The integrand
has degree ≤ m − 1 in u (m answers), so Gauss–Legendre with ⌈m/2⌉ nodes on
[0, 1] integrates it exactly; its nodes and weights are positive, so every
term summed anywhere is nonnegative (no cancellation).

Implementation
--------------
The state is (F, D) as float (2, levels t, nodes u_q, degrees s ≤ max k): one
recursion serves every k. Three shortcuts keep it cheap, none changes a value:
answers are multiplied in ascending order of count, and a level t is only
stored once an answer with ≥ t votes has arrived (before that F = (1 + z)^M
and D = 0, and the first answer reaching t is applied in closed form with
cumulative sums); the last (largest) answer is folded directly into
Σ_t ∫ D_t du without materializing its per-level product; identical vote
patterns are computed once per call. The per-level work, O(t · S) per
answer and level, is therefore paid only below the third-largest count.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ._validate import KPolicy, as_ks, as_votes, check_k_le_n

__all__ = ["maj_at_k"]

#: Distinct vote patterns remembered within one call (identical problems share a value).
_MEMO_LIMIT = 1 << 16

#: Up to this n plain float64 counts are used: C(1000, 500) ≈ 2.7e299, and the
#: largest intermediate is ≤ (#answers) · C(n, ⌊n/2⌋) < 1.8e308. Larger n switches
#: to coefficients divided by C(M, s) (see _merge_kernel), which never overflow.
_FLOAT_MAX_N = 1000


def maj_at_k(
    votes: Sequence[ArrayLike],
    correct: Sequence[ArrayLike],
    k: int | ArrayLike,
    *,
    k_exceeds_n: KPolicy = "raise",
    ids: Sequence[object] | np.ndarray | None = None,
) -> np.ndarray:
    """Exact expected majority-vote accuracy of k samples drawn without replacement.

        maj@k = (1 / C(n, k)) Σ_{S ⊆ samples, |S| = k} acc(S),
        acc(S) = |top(S) ∩ correct| / |top(S)|,

    where top(S) is the set of answers tied for the largest count within S.
    **Tie rule:** the winner is drawn uniformly among the tied answers, so a
    subset scores the fraction of its tied-top answers that are correct (1 if
    the unique winner is correct, 1/J for a J-way tie with one correct answer).
    Every one of the C(n, k) subsets is equally likely — this is neither "the
    first k samples" nor a bootstrap. Being the mean of a symmetric statistic
    over all k-subsets (a U-statistic; the construction of Chen et al. 2021,
    Eq. 1, applied to the majority vote), it is unbiased for the accuracy of a
    majority vote over k i.i.d. samples (self-consistency, Wang et al. 2023;
    "maj@k" after Lewkowycz et al. 2022). maj@1 = (correct votes)/n.

    Algorithm (module docstring): condition on the winning count t and on a
    correct answer reaching it; count the other answers' choices by a
    polynomial product over answers, with 1/(#tied) = ∫₀¹ u^J du done by exact
    Gauss–Legendre quadrature. One pass serves every k ≤ max k.

    Numerics: for n ≤ 1000 the polynomial coefficients are plain float64
    counts (each ≤ m · C(n, ⌊n/2⌋) < 1e303) divided by C(n, k) at the end.
    C(n, k) overflows float64 once n > 1029, so for n > 1000 the coefficients
    are kept divided by C(M, s) (M = samples multiplied in so far, s = degree),
    i.e. as probabilities, with each step's weights C(v, x) C(M, s − x) /
    C(M + v, s) formed from exact integer binomials split into mantissa and
    binary exponent: nothing overflows at any n. Every summand is nonnegative
    (no cancellation), so results carry ~1e-15 relative error (tests demand
    ≤ 1e-12 against exact rationals); in the n > 1000 path values below
    ~1e-300 may underflow, an absolute error of that size.

    Args:
      votes: sequence of P 1-D int arrays; votes[i] (A_i,) holds the count of
        each distinct answer among problem i's n_i samples, n_i = Σ votes[i]
        ≥ 1. Zero counts are allowed and ignored. A 2-D int array (P, A) works
        too (one row per problem).
      correct: sequence of P 1-D bool arrays; correct[i] (A_i,) marks which of
        problem i's answers are correct (any number, including none → 0).
        Integer 0/1 flags are accepted.
      k: int or int array (K,), budgets ≥ 1.
      k_exceeds_n: "raise" (default) → ValueError naming the problem and its n
        when any k > n_i; "nan" → NaN in those entries.
      ids: optional (P,) problem ids used in error messages.

    Returns:
      float64 (P, K) for array k, (P,) for scalar k; values in [0, 1].

    Raises:
      ValueError: lists of different lengths, a non-1-D row, negative or
        non-integer counts, flags that are not booleans, len(votes[i]) ≠
        len(correct[i]), a problem with n = 0, or k > n (per ``k_exceeds_n``).

    Cost, per problem with m answers, Q = ⌈m/2⌉ quadrature nodes, S = max k + 1
    degrees and T = min(largest correct count, max k) levels: O(m · Q · S · T₃²),
    T₃ = min(T, third-largest count), plus O(m · Q · S · T);
    memory O(Q · S · T₂) floats, T₂ = min(T, second-largest count). A call
    with 1000 problems of n = 128 samples over 10 answers and k = 1..128 takes
    a few seconds; n = 2000 with three answers about a second per problem.
    Problems with the same vote pattern are computed once per call.
    """
    scalar_k = np.ndim(k) == 0
    ks = as_ks(k)
    counts, flags = as_votes(votes, correct, ids)
    n = np.array([int(c.sum()) for c in counts], dtype=np.int64)
    too_big = check_k_le_n(n, ks, ids, k_exceeds_n)  # (P, K); raises unless "nan"
    out = np.full((n.size, ks.size), np.nan)
    memo: dict[tuple[tuple[int, ...], tuple[int, ...], bytes], np.ndarray] = {}
    for i in range(n.size):
        ok = ~too_big[i]
        if not ok.any():
            continue
        v, good = _canonical(counts[i], flags[i])
        key = (tuple(v.tolist()), tuple(good.tolist()), ks[ok].tobytes())
        val = memo.get(key)
        if val is None:
            val = _maj_one(v, good, ks[ok])
            if len(memo) < _MEMO_LIMIT:
                memo[key] = val
        out[i, ok] = val
    return out[:, 0] if scalar_k else out


def _canonical(v: np.ndarray, good: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop empty answers and sort the rest by count, ascending (incorrect first on ties).

    Ascending order keeps few levels t "active" early on (see _maj_one); putting
    incorrect answers first on ties keeps D zero a little longer. The order also
    makes equal vote patterns share one memo key.
    """
    keep = v > 0
    v, good = v[keep], good[keep]
    order = np.lexsort((good, v))  # primary key: count, then correctness
    return v[order], good[order]


@functools.lru_cache(maxsize=8)
def _gauss_legendre01(q: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes u (q,) and weights w (q,) on [0, 1]: exact for polynomials of degree ≤ 2q − 1."""
    x, w = np.polynomial.legendre.leggauss(q)
    return (x + 1.0) / 2.0, w / 2.0


def _comb_row(m: int, smax: int) -> tuple[np.ndarray, np.ndarray]:
    """C(m, s) for s = 0..smax as mantissa float64 (smax+1,) in [0.5, 1) and int64 exponent.

    Exact Python integers split as mantissa · 2^exponent: C(m, s) itself would
    overflow float64 for m > 1029. Entries with s > m are (0.0, 0). Rows are
    cached per m (the longest prefix asked for), so a dataset with one n
    computes each row once.
    """
    top = min(m, smax)
    hit = _ROWS.get(m)
    if hit is None or hit[0].size <= top:
        hit = _comb_prefix(m, top)
        _ROWS[m] = hit
        if len(_ROWS) > _ROWS_LIMIT:
            _ROWS.popitem(last=False)
    else:
        _ROWS.move_to_end(m)
    mant, expo = hit[0][: top + 1], hit[1][: top + 1]
    if smax == top:
        return mant, expo
    pad = smax - top
    return np.concatenate([mant, np.zeros(pad)]), np.concatenate([expo, np.zeros(pad, dtype=np.int64)])


#: Cached binomial rows, least recently used first.
_ROWS: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
_ROWS_LIMIT = 512


def _comb_prefix(m: int, top: int) -> tuple[np.ndarray, np.ndarray]:
    """C(m, s) for s = 0..top, split as in _comb_row (read-only arrays)."""
    floats: list[float] = []
    shifts: list[int] = []
    c = 1
    for s in range(top + 1):
        shift = max(c.bit_length() - 62, 0)
        floats.append(float(c >> shift))  # ≤ 62 significant bits, then one rounding: < 1.01 ulp
        shifts.append(shift)
        c = c * (m - s) // (s + 1)  # exact: C(m, s+1) = C(m, s)(m − s)/(s + 1)
    frac, e2 = np.frexp(np.array(floats))
    expo = e2.astype(np.int64) + np.array(shifts, dtype=np.int64)
    frac.flags.writeable = False
    expo.flags.writeable = False
    return frac, expo


def _comb_floats(m: int, smax: int) -> np.ndarray:
    """C(m, s) for s = 0..smax as float64 (smax+1,), zero for s > m; only for m ≤ _FLOAT_MAX_N."""
    mant, expo = _comb_row(m, smax)
    return np.ldexp(mant, expo.astype(np.int32))


def _merge_kernel(v: int, m: int, smax: int, xmax: int) -> np.ndarray:
    """Weights K[s, x] = C(v, x) C(m, s − x) / C(m + v, s), float64 (smax+1, xmax+1).

    K[s, ·] is the hypergeometric law of how many of s samples drawn from m + v
    come from the v new ones; it maps coefficients normalized by C(m, ·) to
    coefficients normalized by C(m + v, ·). Zero where s − x ∉ [0, m] or s > m + v.
    """
    mv, ev = _comb_row(v, xmax)
    mm, em = _comb_row(m, smax)
    mn, en = _comb_row(m + v, smax)
    s = np.arange(smax + 1)[:, None]
    x = np.arange(xmax + 1)[None, :]
    j = s - x
    valid = (j >= 0) & (j <= m) & (s <= m + v)
    jc = np.where(valid, j, 0)
    sc = np.minimum(s, m + v)
    mant = mv[x] * mm[jc] / mn[sc]  # in (0.25, 2): mantissas only, exponents apart
    expo = ev[x] + em[jc] - en[sc]  # log2 of the weight up to ±2: no overflow
    # Power-of-two scaling is exact; a weight below ~1e-308 underflows to (sub)normal/0.
    expo = np.where(valid, np.maximum(expo, -1100), 0).astype(np.int32)
    kern = np.ldexp(np.where(valid, mant, 0.0), expo)
    return kern


def _maj_one(v: np.ndarray, good: np.ndarray, ks: np.ndarray, scaled: bool | None = None) -> np.ndarray:
    """maj@k for one problem: v int64 (m,) > 0 ascending, good bool (m,), ks int64 (K,) ≤ n → float (K,).

    ``scaled`` picks the representation of the polynomial coefficients: False →
    plain counts (C(n, ·) fits float64), True → counts divided by C(M, s) at
    every step (any n). Default: scaled only when n > _FLOAT_MAX_N.

    Levels t (winning counts) become *active* once an answer with v_b ≥ t has
    been multiplied in. Before that every answer seen has fewer than t votes, so
    level t's F is the unconstrained (1 + z)^M and its D is 0, and the first
    answer reaching t is applied in closed form. With answers in ascending order
    the step-by-step update runs only over levels ≤ the previous answer's count,
    and the last answer is folded straight into Σ_t ∫ D du (_last_answer), so
    the quadratic-in-t work is bounded by the third-largest count.
    """
    assert (np.diff(v) >= 0).all() and (v > 0).all(), "counts must come from _canonical"
    out = np.zeros(ks.size)
    if not good.any():
        return out
    n = int(v.sum())
    if scaled is None:
        scaled = n > _FLOAT_MAX_N
    kmax = int(ks.max())
    T = min(int(v[good].max()), kmax)  # winning counts t = 1..T (t ≤ k and some correct x_a = t)
    # With every answer capped at T votes no subset is larger than Σ min(v_b, T): maj@k = 0 beyond.
    S = min(kmax, int(np.minimum(v, T).sum())) + 1  # degrees s = 0..S−1
    Q = (v.size + 1) // 2
    u, w = _gauss_legendre01(Q)
    # Only the last (largest) answer reaches levels above the second-largest count: no rows for them.
    t_rows = min(T, int(v[-2])) if v.size > 1 else 0
    # state[0] = F, state[1] = D, indexed [t − 1, node, s]; rows ≥ `active` not yet used.
    state = np.zeros((2, t_rows, Q, S))
    m_done = 0
    cap = 0  # largest degree reachable so far: Σ min(v_b, T) over the answers multiplied in
    active = 0  # levels 1..active are active
    d_nonzero = False  # D stays zero until a correct answer has been multiplied in
    with np.errstate(under="ignore"):
        for vb, is_good in zip(v[:-1].tolist(), good[:-1].tolist()):
            hi = min(vb, T)
            state = _multiply_answer(state, vb, m_done, cap, active, hi, bool(is_good), d_nonzero, u, scaled)
            d_nonzero |= is_good
            m_done += vb
            cap += hi
            active = max(active, hi)
        total = _last_answer(state, int(v[-1]), m_done, active, T, bool(good[-1]), d_nonzero, u, w, scaled)
    fit = ks < S
    val = total[ks[fit]]
    if not scaled:
        val /= _comb_floats(n, kmax)[ks[fit]]  # counts → probability: mean over the C(n, k) subsets
    out[fit] = np.minimum(val, 1.0)  # exact value is ≤ 1; this only removes last-ulp excursions
    return out


def _first_reach_kernel(kern: np.ndarray | None, binom: np.ndarray, m: int, S: int) -> np.ndarray:
    """Weights K (S, X+1) of x votes from this answer: given (scaled), or C(v, x) C(m, s − x) counts."""
    if kern is not None:
        return kern
    # Plain counts: F = (1 + z)^m = Σ_j C(m, j) z^j on a level no earlier answer reached.
    cm = _comb_floats(m, S - 1)
    j = np.arange(S)[:, None] - np.arange(binom.size)[None, :]
    return np.where(j >= 0, binom[None, :] * cm[np.maximum(j, 0)], 0.0)


def _multiply_answer(
    state: np.ndarray,
    v: int,
    m: int,
    cap: int,
    active: int,
    hi: int,
    is_good: bool,
    d_nonzero: bool,
    u: np.ndarray,
    scaled: bool,
) -> np.ndarray:
    """Multiply every level t ≤ hi = min(v, T) by P_{b,t}(z, u) for one answer with v votes.

    state: float (2, R, Q, S) (F, D) over the m samples multiplied in so far,
    levels 1..``active`` filled (active ≤ hi ≤ R), zero beyond degree ``cap``;
    plain counts, or (``scaled``) counts divided by C(m, s). ``d_nonzero``: D
    may be nonzero. Returns the state over m + v samples.

    Active levels, one x (votes drawn from this answer) at a time: levels t > x
    take the plain term C(v, x) z^x, level t = x the tie term u·C(v, t) z^t, and
    a correct answer's tie term also feeds F into D (D ← D·P + F·C(v, t) z^t).
    Levels active < t ≤ hi, from F = (1 + z)^m and D = 0:
    F ← Σ_{x<t} K[·, x] + u·K[·, t], D ← K[·, t] if correct, with K[s, x] the
    number (or, scaled, the probability) of s-subsets taking x of these v votes.
    """
    Q, S = state.shape[2], state.shape[3]
    new = np.zeros_like(state)
    # Weight of x votes from this answer: C(v, x) for plain counts (the same for every degree),
    # or per target degree, K (S, hi+1), for scaled ones.
    binom = np.zeros(0) if scaled else _comb_floats(v, hi)
    kern = _merge_kernel(v, m, S - 1, hi) if scaled else None
    r_hi = 2 if d_nonzero else 1  # D is still zero before the first correct answer
    src_hi = min(m, cap, S - 1) + 1  # nonzero source degrees
    # Level factors for one x: row x−1 (t = x, tie term) gets u, rows x.. (t > x) get 1.
    ufac = np.ones((active + 1, Q, 1))
    ufac[0, :, 0] = u
    for x in range(min(hi, active) + 1):  # x ≤ t ≤ active
        L = min(src_hi, S - x)
        if L <= 0:
            break
        kx = kern[x : x + L, x] if kern is not None else float(binom[x])  # target degrees x..x+L−1
        r0 = max(x - 1, 0)  # first level index touched: t = x (tie) or t = 1 when x = 0
        fac = ufac[(x == 0) : (x == 0) + active - r0] * kx  # (active − r0, Q, 1 or L)
        tgt = new[:r_hi, r0:active, :, x : x + L]
        np.add(tgt, state[:r_hi, r0:active, :, :L] * fac, out=tgt)
        if is_good and x >= 1:  # tie term of a correct answer: F at level t = x feeds D
            new[1, x - 1, :, x : x + L] += kx * state[0, x - 1, :, :L]
    if hi > active:  # levels active+1..hi are reached for the first time
        first = _first_reach_kernel(kern, binom, m, S)
        t = np.arange(active + 1, hi + 1)
        tie = first[:, t].T[:, None, :]  # (levels, 1, S)
        cum = np.cumsum(first, axis=1)  # cum[s, j] = Σ_{x ≤ j} K[s, x]: nonnegative terms, no cancellation
        new[0, active:hi] = cum[:, t - 1].T[:, None, :] + u[None, :, None] * tie
        if is_good:
            new[1, active:hi] = tie
    return new


def _last_answer(
    state: np.ndarray,
    v: int,
    m: int,
    active: int,
    T: int,
    is_good: bool,
    d_nonzero: bool,
    u: np.ndarray,
    w: np.ndarray,
    scaled: bool,
) -> np.ndarray:
    """Σ_t ∫₀¹ D_t du after multiplying in the last (largest) answer, float (S,).

    Only this sum is needed, so the update is not materialized per level. With
    D̄_t = Σ_q w_q D_t(u_q), D̃_t = Σ_q w_q u_q D_t(u_q), F̄_t = Σ_q w_q F_t(u_q):

        Σ_t ∫ D'_t = Σ_x K[·, x] ⋆ (Σ_{t>x} D̄_t + D̃_x)      (plain and tie terms)
                   + Σ_t K[·, t] ⋆ F̄_t                       (correct: F feeds D)
                   + Σ_{t > active} K[·, t]                   (levels first reached here)

    where (K ⋆ G)[s] = K[s, x] G[s − x]; O(T·S) instead of O(T²·S).
    """
    S = state.shape[3]
    hi = min(v, T)  # = T: the largest answer reaches every level
    binom = np.zeros(0) if scaled else _comb_floats(v, hi)  # unused when scaled
    kern = _merge_kernel(v, m, S - 1, hi) if scaled else None
    total = np.zeros(S)
    X = min(hi, active)
    s_idx = np.arange(S)[:, None]

    def fold(cols: np.ndarray, rows: np.ndarray, g: np.ndarray) -> np.ndarray:
        """Σ_i K[s, cols_i] · g[rows_i, s − cols_i] over i, float (S,)."""
        j = s_idx - cols[None, :]  # (S, len(cols))
        gathered = np.where(j >= 0, g[rows[None, :], np.maximum(j, 0)], 0.0)
        weight = kern[:, cols] if kern is not None else binom[cols][None, :]
        return (weight * gathered).sum(axis=1)

    if d_nonzero and active > 0:
        d_bar = np.einsum("tqs,q->ts", state[1, :active], w)  # (active, S)
        d_tilde = np.einsum("tqs,q->ts", state[1, :active], w * u)
        # above[x] = Σ_{t > x} D̄_t (row r ↔ t = r + 1): suffix sums of nonnegative rows
        above = np.zeros((active + 1, S))
        above[:active] = np.cumsum(d_bar[::-1], axis=0)[::-1]
        g = above[: X + 1]
        g[1:] += d_tilde[:X]  # level t = x takes the tie term u·C(v, x) z^x
        cols = np.arange(X + 1)
        total += fold(cols, cols, g)
    if is_good and X >= 1:
        f_bar = np.einsum("tqs,q->ts", state[0, :active], w)
        cols = np.arange(1, X + 1)
        total += fold(cols, cols - 1, f_bar)
    if is_good and hi > active:  # D_t = K[·, t] for the levels first reached here; Σ_q w_q = 1
        first = _first_reach_kernel(kern, binom, m, S)
        total += first[:, active + 1 : hi + 1].sum(axis=1)
    return total
