"""Proofs by exhaustive enumeration for the advantage estimators.

For every estimator that claims unbiasedness: a tabular softmax policy over M answer
classes, all M^n outcome tuples of a group of n samples, and the exact expectation

    E[(1/n) Σ_i A_i ∇_θ log π(y_i)] = Σ_y P(y) (1/n) Σ_i A_i(y) (e_{y_i} − π)

compared with torch autograd (float64) of the exact target objective, to 1e-10.
Anchors A5/A6/A9/A11 of the literature notes and the defining properties of the
heuristic estimators follow.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from fractions import Fraction

import numpy as np
import pytest
import torch

from passlens.advantages import (
    REGISTRY,
    AnswerCounts,
    advantage,
    alpha_rloo,
    best_minus_second,
    coverage,
    coverage_at_k,
    dr_grpo,
    grpo,
    novelty,
    passk_analytic,
    pkpo,
    rloo,
    unlikeliness,
)
from passlens.advantages.passk import _pkpo_binary, _pkpo_sorted
from passlens.estimators import max_at_k, pass_at_k

TOL = 1e-10

# (M classes, n samples, class rewards). Binary problems have 1–3 correct classes.
BINARY_PROBLEMS = [
    (3, 6, (1.0, 0.0, 0.0)),
    (4, 5, (1.0, 1.0, 0.0, 0.0)),
    (5, 4, (0.0, 1.0, 1.0, 1.0, 0.0)),
]
CONTINUOUS_PROBLEMS = [
    (3, 6, (0.9, 0.25, 0.0)),
    (4, 5, (0.3, 1.0, 0.7, 0.3)),  # a tie between two classes
    (5, 4, (0.1, 0.5, 0.95, 0.0, 0.6)),
]
SEEDS = (0, 1, 2)


def _logits(M: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=1.2, size=M)


@functools.lru_cache(maxsize=None)
def _outcomes(M: int, n: int) -> np.ndarray:
    """All M^n outcome tuples, int64 (M^n, n) (cached; read-only)."""
    out = np.array(list(itertools.product(range(M), repeat=n)), dtype=np.int64)
    out.flags.writeable = False
    return out


def _expected_grad(adv: np.ndarray, Y: np.ndarray, pi: np.ndarray) -> np.ndarray:
    """Σ_y P(y) (1/n) Σ_i A_i (e_{y_i} − π) for advantages (M^n, n), float64 (M,)."""
    n = Y.shape[1]
    prob = np.prod(pi[Y], axis=1)  # (M^n,)
    w = prob[:, None] * adv / n  # (M^n, n)
    return np.bincount(Y.ravel(), weights=w.ravel(), minlength=pi.size) - w.sum() * pi


def _autograd(objective, logits: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    theta = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    objective(torch.softmax(theta, dim=0)).backward()
    return theta.grad.numpy()


def _pass_k(values: np.ndarray, k: int):  # type: ignore[no-untyped-def]
    mask = torch.tensor(values == 1.0)
    return lambda pi: 1 - (1 - pi[mask].sum()) ** k


def _max_k(values: np.ndarray, k: int):  # type: ignore[no-untyped-def]
    """E[max of k i.i.d. draws], summed over all M^k k-tuples."""
    tuples = torch.tensor(_outcomes(values.size, k))
    best = torch.tensor(values)[tuples].max(dim=1).values
    return lambda pi: (pi[tuples].prod(dim=1) * best).sum()


def _coverage_k(values: np.ndarray, k: int):  # type: ignore[no-untyped-def]
    mask = torch.tensor(values == 1.0)
    return lambda pi: (1 - (1 - pi[mask]) ** k).sum()


def _mean_reward(values: np.ndarray, scale: float = 1.0):  # type: ignore[no-untyped-def]
    v = torch.tensor(values)
    return lambda pi: scale * (pi * v).sum()


def _cases() -> list[tuple[str, dict, str, str]]:
    """(estimator, params, reward kind, target) for every unbiasedness claim."""
    out: list[tuple[str, dict, str, str]] = []
    for kind in ("binary", "continuous"):
        out.append(("rloo", {}, kind, "mean"))
        out.append(("best_minus_second", {}, kind, "max@n"))
        for k in range(1, 7):
            for variant in ("s", "loo", "loo-1"):
                out.append(("pkpo", {"k": k, "variant": variant}, kind, "max@k"))
    for k in range(1, 7):
        out.append(("alpha_rloo", {"k": k}, "binary", "pass@k"))
        for variant in ("rloo", "loo-1", "s"):
            out.append(("coverage", {"k": k, "variant": variant}, "binary", "coverage@k"))
    return out


def _applicable(name: str, params: dict, n: int) -> bool:
    k = params.get("k", 1)
    if k > n:
        return False
    if name == "pkpo" and params["variant"] == "loo" and k >= n:
        return False
    if name == "pkpo" and params["variant"] == "loo-1" and k < 2:
        return False
    return True


# Keep the cases that at least one problem is large enough for.
CASES = [case for case in _cases() if any(_applicable(case[0], case[1], n) for _, n, _ in BINARY_PROBLEMS)]


def _target(target: str, values: np.ndarray, params: dict, n: int):  # type: ignore[no-untyped-def]
    k = params.get("k", 1)
    if target == "mean":
        return _mean_reward(values)
    if target == "max@k":
        return _max_k(values, k)
    if target == "max@n":
        return _max_k(values, n)
    if target == "pass@k":
        return _pass_k(values, k)
    if target == "coverage@k":
        return _coverage_k(values, k)
    raise AssertionError(target)


def test_every_unbiased_claim_has_a_proof() -> None:
    claimed = {name for name, spec in REGISTRY.items() if spec.unbiased}
    proved = {name for name, *_ in CASES}
    assert claimed == proved


@pytest.mark.parametrize("name,params,kind,target", CASES, ids=lambda v: str(v))
def test_unbiased_by_enumeration(name: str, params: dict, kind: str, target: str) -> None:
    problems = BINARY_PROBLEMS if kind == "binary" else CONTINUOUS_PROBLEMS
    checked = 0
    for M, n, vals in problems:
        if not _applicable(name, params, n):
            continue
        values = np.array(vals)
        Y = _outcomes(M, n)
        adv = np.asarray(advantage(name, values[Y], answers=Y, **params))
        for seed in SEEDS:
            logits = _logits(M, seed)
            pi = np.exp(logits - logits.max())
            pi /= pi.sum()
            got = _expected_grad(adv, Y, pi)
            want = _autograd(_target(target, values, params, n), logits)
            np.testing.assert_allclose(got, want, rtol=0, atol=TOL, err_msg=f"{name} {params} M={M} n={n}")
            checked += 1
    assert checked > 0


# Composite specs: (spec, step, [(weight, target, params)]) — the mix of targets in force at that step.
MIX_CASES = [
    ("rloo@0.7+coverage:k=3@0.3", None, [(0.7, "mean", {}), (0.3, "coverage@k", {"k": 3})]),
    ("pkpo:k=2@2+alpha_rloo:k=3@0.5+best_minus_second", None,
     [(2.0, "max@k", {"k": 2}), (0.5, "pass@k", {"k": 3}), (1.0, "max@n", {})]),
    ("coverage:k=4/10-20/rloo", 15, [(0.5, "coverage@k", {"k": 4}), (0.5, "mean", {})]),
    ("coverage:k=2@0.5+rloo@0.5/10/pkpo:k=3,variant=s", 10, [(1.0, "max@k", {"k": 3})]),
    ("pkpo:k=4-2,steps=0-4", 2, [(1.0, "max@k", {"k": 3})]),
]


@pytest.mark.parametrize("spec,step,targets", MIX_CASES, ids=[c[0] for c in MIX_CASES])
def test_composite_unbiased_for_the_mix_of_targets(spec: str, step: int | None, targets: list) -> None:
    """E[(1/n) Σ_j A_j ∇log π(y_j)] of a mix = Σ_i λ_i ∇J_i exactly (linearity), every part unbiased."""
    from passlens.advantages import parse_composite

    assert parse_composite(spec).unbiased
    for M, n, vals in BINARY_PROBLEMS:
        values = np.array(vals)
        Y = _outcomes(M, n)
        adv = np.asarray(advantage(spec, values[Y], answers=Y, step=step))
        for seed in SEEDS:
            logits = _logits(M, seed)
            pi = np.exp(logits - logits.max())
            pi /= pi.sum()
            got = _expected_grad(adv, Y, pi)
            want = sum(w * _autograd(_target(t, values, p, n), logits) for w, t, p in targets)
            np.testing.assert_allclose(got, want, rtol=0, atol=TOL, err_msg=f"{spec} M={M} n={n}")


def test_a_mix_with_a_biased_part_is_marked_and_is_biased() -> None:
    from passlens.advantages import parse_composite

    spec = "rloo@0.5+grpo@0.5"
    assert not parse_composite(spec).unbiased
    M, n, vals = BINARY_PROBLEMS[1]
    values = np.array(vals)
    Y = _outcomes(M, n)
    logits = _logits(M, 0)
    pi = np.exp(logits) / np.exp(logits).sum()
    got = _expected_grad(np.asarray(advantage(spec, values[Y])), Y, pi)
    assert np.abs(got - _autograd(_mean_reward(values), logits)).max() > 1e-3


def test_enumeration_detects_bias() -> None:
    """The machinery can fail: GRPO and Dr. GRPO are not unbiased for ∇E[r]; Dr. GRPO is off by exactly (n−1)/n."""
    M, n, vals = BINARY_PROBLEMS[1]
    values = np.array(vals)
    Y = _outcomes(M, n)
    logits = _logits(M, 0)
    pi = np.exp(logits) / np.exp(logits).sum()
    want = _autograd(_mean_reward(values), logits)
    g_grpo = _expected_grad(np.asarray(grpo(values[Y])), Y, pi)
    g_dr = _expected_grad(np.asarray(dr_grpo(values[Y])), Y, pi)
    assert np.abs(g_grpo - want).max() > 1e-2
    assert np.abs(g_dr - want).max() > 1e-3
    np.testing.assert_allclose(g_dr, (n - 1) / n * want, rtol=0, atol=TOL)


def test_coverage_value_estimate_unbiased() -> None:
    for M, n, vals in BINARY_PROBLEMS:
        values = np.array(vals)
        Y = _outcomes(M, n)
        for k in range(1, n + 1):
            est = np.asarray(coverage_at_k(values[Y], Y, k))
            for seed in SEEDS:
                logits = _logits(M, seed)
                pi = np.exp(logits) / np.exp(logits).sum()
                exact = float(np.sum(1 - (1 - pi[values == 1.0]) ** k))
                assert abs(float(np.prod(pi[Y], axis=1) @ est) - exact) < TOL


def test_coverage_value_special_cases() -> None:
    rng = np.random.default_rng(3)
    r = (rng.random((50, 9)) < 0.5).astype(float)
    a = rng.integers(0, 4, size=(50, 9))
    c = r.sum(axis=1).astype(int)
    np.testing.assert_allclose(coverage_at_k(r, a, 1), c / 9, atol=1e-14)  # coverage@1 = pass@1
    for k in (2, 5, 9):
        cov = np.asarray(coverage_at_k(r, a, k))
        pk = pass_at_k(np.full(50, 9), c, k)
        assert (cov >= pk - 1e-12).all() and (cov <= k + 1e-12).all()
        # One answer for every correct sample: coverage@k = pass@k.
        np.testing.assert_allclose(coverage_at_k(r, np.zeros_like(a), k), pk, atol=1e-12)
    # k = n: the number of distinct correct answers.
    distinct = [len(set(a[b][r[b] == 1])) for b in range(50)]
    np.testing.assert_allclose(coverage_at_k(r, a, 9), distinct, atol=1e-12)


# --------------------------------------------------------------------------- A5 / A6


def _subset_weight(g: np.ndarray, k: int, i: int, others: list[int] | None = None) -> Fraction:
    """C(m,k)⁻¹ Σ_{|I|=k, I∋i, I⊆pool} max_I g over pool = others (default: all)."""
    pool = list(range(len(g))) if others is None else others
    subsets = [I for I in itertools.combinations(pool, k) if i in I]
    return Fraction(sum(Fraction(max(g[j] for j in I)) for I in subsets)) / math.comb(len(pool), k)


def _brute_pkpo(g: list[Fraction], k: int, variant: str) -> list[Fraction]:
    """PKPO's weights straight from their subset definitions (Eqs. 27, 29, 33), ×n."""
    n = len(g)
    out = []
    for i in range(n):
        s_i = _subset_weight(g, k, i)
        if variant == "s":
            w = s_i
        elif variant == "loo":
            rest = [j for j in range(n) if j != i]
            w = s_i - sum(_subset_weight(g, k, j, rest) for j in rest) / (n - 1)
        else:
            subsets = [I for I in itertools.combinations(range(n), k) if i in I]
            total = sum(max(g[j] for j in I) - max(g[j] for j in I if j != i) for I in subsets)
            w = Fraction(total) / math.comb(n, k)
        out.append(n * w)
    return out


@pytest.mark.parametrize("n", [2, 3, 5, 7])
def test_pkpo_matches_subset_sums(n: int) -> None:
    """A5: s, s^(loo), s^(loo−1) equal brute-force subset sums (exact rationals), ties included."""
    rng = np.random.default_rng(n)
    for trial in range(3):
        levels = [Fraction(int(v), 8) for v in rng.integers(-4, 9, size=n)]  # small grid → ties
        g = np.array([float(v) for v in levels])
        for k in range(1, n + 1):
            for variant in ("s", "loo", "loo-1"):
                if (variant == "loo" and k >= n) or (variant == "loo-1" and k < 2):
                    continue
                want = np.array([float(v) for v in _brute_pkpo(levels, k, variant)])
                got = np.asarray(pkpo(g[None, :], k, variant=variant))[0]
                np.testing.assert_allclose(got, want, rtol=0, atol=1e-12, err_msg=f"{variant} k={k} {levels}")


def test_pkpo_sum_of_s_is_k_rho() -> None:
    """A5: Σ_i s_i = k·ρ^(g)(n, k), i.e. mean of A^s = k·max@k estimate."""
    rng = np.random.default_rng(5)
    g = rng.normal(size=(40, 9))
    for k in range(1, 10):
        a = np.asarray(pkpo(g, k, variant="s"))
        np.testing.assert_allclose(a.mean(axis=1), k * max_at_k(g, k), rtol=1e-12, atol=1e-12)


def test_pkpo_binary_closed_forms() -> None:
    """A6: binary s equals Eq. 8 (×n); s^(loo−1) gives n·C(n−c, k−1)/C(n, k) to correct, 0 to incorrect."""
    for n in range(2, 9):
        for c in range(n + 1):
            r = np.array([[1.0] * c + [0.0] * (n - c)])
            for k in range(1, n + 1):
                a_s = np.asarray(pkpo(r, k, variant="s"))[0]
                rho_nm1 = 0.0 if k == 1 or c == n else float(pass_at_k(n - 1, c, k - 1))
                want = np.where(r[0] == 1, k / n, k / n * rho_nm1) * n
                np.testing.assert_allclose(a_s, want, rtol=0, atol=1e-12)
                if k >= 2:
                    a = np.asarray(pkpo(r, k, variant="loo-1"))[0]
                    want1 = np.where(r[0] == 1, n * math.comb(n - c, k - 1) / math.comb(n, k), 0.0)
                    np.testing.assert_allclose(a, want1, rtol=0, atol=1e-12)
                    assert (a[r[0] == 0] == 0).all()  # exactly zero, not rounding noise


def test_pkpo_rllm_example() -> None:
    """A6: n=4, c=2, k=2: mean-centred Eq. 8 rewards are ±1/12."""
    r = np.array([[1.0, 1.0, 0.0, 0.0]])
    eq8 = np.asarray(pkpo(r, 2, variant="s"))[0] / 4  # back to PKPO's summed scale
    np.testing.assert_allclose(eq8 - eq8.mean(), [1 / 12, 1 / 12, -1 / 12, -1 / 12], atol=1e-15)


def test_pkpo_binary_and_sorted_paths_agree() -> None:
    """The {0,1} closed forms and the sort-based path are two implementations of one estimator."""
    rng = np.random.default_rng(11)
    for n in (2, 5, 16, 300):
        r = (rng.random((30, n)) < rng.random((30, 1))).astype(float)
        r[0] = 0.0
        r[1] = 1.0
        for k in sorted({1, 2, max(1, n // 3), n - 1, n} - {0}):
            for variant in ("s", "loo", "loo-1"):
                if (variant == "loo" and k >= n) or (variant == "loo-1" and k < 2):
                    continue
                fast = _pkpo_binary(r, k, variant)
                slow = _pkpo_sorted(r, k, variant)
                np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-9 * max(1.0, np.abs(fast).max()))


def test_best_minus_second_is_pkpo_with_k_equal_n() -> None:
    rng = np.random.default_rng(2)
    g = rng.normal(size=(30, 7))
    g[:5, 1] = g[:5, 0] = 3.0  # tied maxima → all zero
    a = np.asarray(best_minus_second(g))
    np.testing.assert_allclose(a, np.asarray(pkpo(g, 7, variant="loo-1")), atol=1e-12)
    assert (a[:5] == 0).all()
    assert ((a != 0).sum(axis=1) <= 1).all()


# --------------------------------------------------------------------------- A9 / A11 / α


def test_passk_analytic_is_grpo_on_pkpo_reward() -> None:
    """A9: Chen's advantage = ((n/k)·r^PKPO − ρ)/(σ + ε) and Σ_i A_i = 0."""
    for n in (4, 8, 32):
        c = np.arange(n + 1)
        r = (np.arange(n)[None, :] < c[:, None]).astype(float)  # (n+1, n): every c once
        for k in range(1, n + 1):
            rho = pass_at_k(np.full(n + 1, n), c, k)[:, None]
            sigma = np.sqrt(rho * (1 - rho))
            r_pkpo = np.asarray(pkpo(r, k, variant="s")) / n  # Eq. 8 reward
            for eps in (0.0, 1e-6):
                a = np.asarray(passk_analytic(r, k, eps=eps))
                den = sigma + eps
                want = np.divide((n / k) * r_pkpo - rho, den, out=np.zeros_like(r), where=den > 0)
                np.testing.assert_allclose(a, want, rtol=1e-9, atol=1e-9)
                assert (np.abs(a.sum(axis=1)) < 1e-8 * np.maximum(1.0, np.abs(a).max(axis=1))).all()


def test_passk_analytic_implied_weights() -> None:
    """Literature §4 [R]: N=32, k=8: ω_Chen = A_pos/(1 − ρ̂) = 1.79, 0.74, 0.37, 0.070, 0.001 at c = 1, 4, 8, 16, 24."""
    expected = {1: 1.79, 4: 0.74, 8: 0.37, 16: 0.070, 24: 0.001}
    for c, w in expected.items():
        r = np.array([[1.0] * c + [0.0] * (32 - c)])
        a_pos = float(np.asarray(passk_analytic(r, 8, eps=0.0))[0, 0])
        assert round(a_pos / (1 - c / 32), 3 if c == 24 else 2) == pytest.approx(w, abs=1e-12)


def test_grpo_implied_surrogate() -> None:
    """A11: with ddof=0, ε=0 on binary rewards GRPO = F'(ρ̂)(r − ρ̂), F(ρ) = 2·arcsin√ρ; F'(0.1) = 3.3333."""
    def f_prime(rho: float) -> float:
        x = torch.tensor(rho, dtype=torch.float64, requires_grad=True)
        (2 * torch.asin(torch.sqrt(x))).backward()
        return float(x.grad)

    assert f_prime(0.1) == pytest.approx(3.3333333333, abs=1e-9)
    for n in (2, 5, 10):
        for c in range(1, n):
            r = np.array([[1.0] * c + [0.0] * (n - c)])
            rho = c / n
            np.testing.assert_allclose(grpo(r, eps=0.0, ddof=0), f_prime(rho) * (r - rho), rtol=1e-12)
            # ddof = 1 is the same up to the constant √((n − 1)/n).
            np.testing.assert_allclose(grpo(r, eps=0.0, ddof=1), math.sqrt((n - 1) / n) * f_prime(rho) * (r - rho))
    # Dr. GRPO and RLOO have ω = 1: pass@1 itself.
    r = np.array([[1.0, 0, 0, 1, 1]])
    np.testing.assert_allclose(np.asarray(rloo(r)), 5 / 4 * np.asarray(dr_grpo(r)), atol=1e-15)


def test_alpha_rloo_relations() -> None:
    """α-RLOO: k = 1 is RLOO; without its baseline it is PKPO's binary s^(loo−1)."""
    rng = np.random.default_rng(4)
    r = (rng.random((40, 8)) < 0.4).astype(float)
    np.testing.assert_allclose(alpha_rloo(r, 1), rloo(r), atol=1e-14)
    for k in range(2, 9):
        a = np.asarray(alpha_rloo(r, k))
        loo1 = np.asarray(pkpo(r, k, variant="loo-1"))
        c_others = r.sum(axis=1, keepdims=True) - r
        baseline = c_others / 7
        # α̂_{−i} of a correct sample is exactly the loo-1 weight; a = α̂ (r − baseline).
        alpha_hat = np.where(r == 1, loo1, k * np.asarray([[math.comb(7 - int(m), k - 1) for m in row] for row in c_others]) / math.comb(7, k - 1))
        np.testing.assert_allclose(a, alpha_hat * (r - baseline), atol=1e-12)


def test_coverage_relations() -> None:
    """One correct class: coverage 'rloo' = alpha_rloo, 'loo-1' = pkpo loo-1, 's' = pkpo s; k = 1 'rloo' = RLOO."""
    rng = np.random.default_rng(6)
    r = (rng.random((40, 7)) < 0.5).astype(float)
    one_class = np.where(r == 1, 5, rng.integers(0, 5, size=r.shape))  # correct → class 5, wrong → others
    many = rng.integers(0, 3, size=r.shape)
    for k in range(1, 8):
        np.testing.assert_allclose(coverage(r, one_class, k, variant="rloo"), alpha_rloo(r, k), atol=1e-12)
        np.testing.assert_allclose(coverage(r, one_class, k, variant="s"), pkpo(r, k, variant="s"), atol=1e-12)
        if k >= 2:
            np.testing.assert_allclose(coverage(r, one_class, k, variant="loo-1"), pkpo(r, k, variant="loo-1"), atol=1e-12)
    np.testing.assert_allclose(coverage(r, many, 1, variant="rloo"), rloo(r), atol=1e-12)


def test_coverage_matches_per_class_loop() -> None:
    """The vectorized per-class sums equal an explicit loop over answer classes."""
    rng = np.random.default_rng(8)
    B, n = 25, 8
    r = (rng.random((B, n)) < 0.6).astype(float)
    a = rng.integers(-2, 3, size=(B, n)) * 1000003  # arbitrary, negative ids allowed
    a[:, 0] = a[:, 1]
    r[:, 0], r[:, 1] = 1.0, 0.0  # one answer both correct and wrong in a group

    def alpha(m: int, k: int) -> float:
        return k * math.comb(n - 1 - m, k - 1) / math.comb(n - 1, k - 1)

    for k in (1, 2, 4, 8):
        got = {v: np.asarray(coverage(r, a, k, variant=v)) for v in ("rloo", "loo-1", "s")}
        for b in range(B):
            classes = {int(x) for x, y in zip(a[b], r[b]) if y == 1}
            for i in range(n):
                want = {"rloo": 0.0, "loo-1": 0.0, "s": 0.0}
                for cls in classes:
                    in_i = r[b, i] == 1 and a[b, i] == cls
                    m_all = int(((a[b] == cls) & (r[b] == 1)).sum())
                    m_oth = m_all - int(in_i)
                    want["rloo"] += alpha(m_oth, k) * (float(in_i) - m_oth / (n - 1))
                    want["loo-1"] += alpha(m_oth, k) * float(in_i)
                    want["s"] += k if in_i else k * (1 - math.comb(n - 1 - m_all, k - 1) / math.comb(n - 1, k - 1))
                for v in want:
                    assert got[v][b, i] == pytest.approx(want[v], abs=1e-12), (v, k, b, i)


# --------------------------------------------------------------------------- heuristics


def test_unlikeliness_prefers_the_rarer_correct_sample() -> None:
    r = np.array([[1.0, 1.0, 0.0, 1.0, 0.0, 0.0]])
    lp = np.array([[-9.0, -1.0, -3.0, -5.0, -2.0, -4.0]])  # sample 0 is the rarest correct one
    a = np.asarray(unlikeliness(r, lp, beta=0.25))[0]
    assert a[0] > a[3] > a[1] > 0  # rarer correct → larger advantage
    assert (a[[2, 4, 5]] < 0).all()
    # β = 0 is plain GRPO; the ranks use the documented formula r(1 − β·rank/n).
    np.testing.assert_allclose(unlikeliness(r, lp, beta=0.0), grpo(r), atol=1e-14)
    shaped = r * (1 - 0.25 * np.array([[0, 5, 3, 1, 4, 2]]) / 6)
    np.testing.assert_allclose(unlikeliness(r, lp, beta=0.25), grpo(shaped), atol=1e-14)


def test_unlikeliness_ties_share_a_rank() -> None:
    r = np.array([[1.0, 1.0, 0.0, 1.0]])
    lp = np.array([[-2.0, -2.0, -1.0, -3.0]])
    a = np.asarray(unlikeliness(r, lp, beta=0.5))[0]
    assert a[0] == a[1]
    # A log-probability of 0 (a certain sequence) comes as +0.0 or −0.0 (a negated zero loss): equal.
    lp = np.array([[-0.0, 0.0, -1.0, -2.0]])
    a = np.asarray(unlikeliness(r, lp, beta=0.5))[0]
    assert a[0] == a[1]
    np.testing.assert_array_equal(a, np.asarray(unlikeliness(r, np.abs(lp) * -1.0 + 0.0, beta=0.5))[0])


def test_novelty_bonus_decays_with_repeats_and_state_round_trips() -> None:
    state = AnswerCounts()
    r = np.array([[1.0, 1.0, 0.0, 0.0]])
    answers = np.array([[7, 8, 3, 3]])
    history = []
    for step in range(4):
        a = np.asarray(novelty(r, answers if step else np.array([[7, 7, 3, 3]]), state, ["p0"], bonus=1.0))[0]
        history.append(a)
    # Answer 8 first appears at step 1 while 7 was already seen twice: 8 gets more.
    assert history[1][1] > history[1][0]
    # As both keep repeating, the gap shrinks (the bonus decays like 1/√(1 + N)).
    gaps = [h[1] - h[0] for h in history[1:]]
    assert gaps[0] > gaps[1] > gaps[2] > 0
    np.testing.assert_allclose(state.counts(["p0"], np.array([[7, 8, 3, 9]])), [[5, 3, 8, 0]])
    assert state.counts(["unseen"], answers).sum() == 0

    snap = json.loads(json.dumps(state.state_dict()))
    clone = AnswerCounts()
    clone.load_state_dict(snap)
    assert clone.state_dict() == state.state_dict()
    ids, probe = ["p0"], np.array([[7, 8, 3, 1]])
    np.testing.assert_array_equal(clone.counts(ids, probe), state.counts(ids, probe))
    a1 = np.asarray(novelty(r, answers, state, ids, bonus=1.0))
    a2 = np.asarray(novelty(r, answers, clone, ids, bonus=1.0))
    np.testing.assert_array_equal(a1, a2)
    assert clone.state_dict() == state.state_dict()


def test_novelty_update_flag_prompts_and_discount() -> None:
    r = np.array([[1.0, 0.0], [1.0, 1.0]])
    ans = np.array([[1, 2], [1, 1]])
    st = AnswerCounts()
    novelty(r, ans, st, [10, "ten"], update=False)
    assert len(st) == 0
    novelty(r, ans, st, [10, "ten"])
    np.testing.assert_allclose(st.counts([10, "ten"], ans), [[1, 1], [2, 2]])  # prompts kept apart
    half = AnswerCounts(discount=0.5)
    half.update([0], np.array([[4, 4]]))
    half.update([0], np.array([[4, 5]]))
    np.testing.assert_allclose(half.counts([0], np.array([[4, 5]])), [[2.0, 1.0]])  # 2·0.5 + 1, 1
    with pytest.raises(ValueError, match="not an"):
        st.load_state_dict({"format": "other"})
    # The bonus goes only to correct samples by default; correct_only=False rewards new wrong answers too.
    fresh = AnswerCounts()
    fresh.update([0], np.array([[1, 1, 1]]))
    a = np.asarray(novelty(np.zeros((1, 3)), np.array([[1, 1, 2]]), fresh, [0], update=False))
    assert (a == 0).all()
    b = np.asarray(novelty(np.zeros((1, 3)), np.array([[1, 1, 2]]), fresh, [0], correct_only=False, update=False))
    assert b[0, 2] > 0 > b[0, 0]
