"""Objectives of the collapse lab: exact targets and their registry estimators.

Every exact objective of one problem x is a function J_x(π) of the softmax policy
π = softmax(z) over the M answer classes, and its gradient in the logits has the
same "weighted score" form

    ∂J_x/∂z_b = π_b (w_b − Σ_a π_a w_a)                                   (★)

with a per-class weight w (the REINFORCE identity E_π[w(y) (e_y − π)] for the
softmax score e_y − π; Williams 1992). With V the 0/1 mask of correct classes
and p = Σ_a π_a V_a:

    objective        J_x                               w_a
    pass@1           p                                 V_a
    pass@k           1 − (1 − p)^k                     α_k(p) V_a,  α_k = k (1 − p)^{k−1}   (Yu 2025, arXiv 2511.16231, §3)
    coverage@k       Σ_a V_a [1 − (1 − π_a)^k]         k (1 − π_a)^{k−1} V_a
    arcsin (GRPO)    2 arcsin √p                       V_a / √(p (1 − p))   (GRPO's implied surrogate,
                                                                             Thrampoulidis et al. 2025, arXiv 2510.23049)
    + entropy β      + β H(π) = −β Σ π_a log π_a       − β log π_a

Naming (``spec`` strings, as on the command line):

* exact mode takes the exact names ``pass@1``, ``pass@k:k=K``, ``coverage:k=K``,
  ``arcsin``, or a registry name mapped to the target it is an estimator of:
  ``rloo``/``dr_grpo`` → pass@1, ``grpo`` → arcsin, ``pkpo:k=K``/``alpha_rloo:k=K`` →
  pass@k, ``best_minus_second`` → pass@n (k = the group size n), ``coverage:k=K`` →
  coverage@k. ``passk_analytic``, ``unlikeliness`` and ``novelty`` have no exact
  target (biased or heuristic) and run only in sampled mode.
* sampled mode takes any registry spec (``pkpo:k=8,variant=s``); the exact
  names map to unbiased estimators: ``pass@1`` → ``rloo``, ``pass@k:k=K`` → ``pkpo:k=K``.
* any spec may add ``beta=B``: an entropy bonus β H(π), whose exact gradient
  is added in both modes (``rloo:beta=0.01``).
* a composite spec of registry names (:mod:`passlens.advantages.compose`: a mix
  ``rloo@0.7+coverage:k=8@0.3``, a schedule ``coverage:k=8/300/rloo`` or
  ``coverage:k=8/200-400/rloo``, a k ramp ``pkpo:k=16-2,steps=0-300``) runs in both modes,
  the step t being the number of updates taken. Exact mode needs every part to have an exact
  target; since (★) is linear in w, the mix Σ_i λ_i(t) J_i has the weights
  w = Σ_i λ_i(t) w_i (:func:`mix_score_weights`). Sampled mode takes the composite's
  advantages (``advantage(spec, ..., step=t)``). No ``beta`` in a composite.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..advantages import REGISTRY, Composite, is_composite, parse_composite, parse_spec

__all__ = [
    "Objective",
    "parse_objective",
    "EXACT_KINDS",
    "EXACT_NAMES",
    "score_weights",
    "exact_parts",
    "mix_score_weights",
    "mix_objective_value",
    "objective_value",
    "logit_gradient",
    "softmax",
    "correct_entries",
    "row_sums",
]

Kind = Literal["pass@1", "pass@k", "coverage", "arcsin"]

#: exact objective kinds.
EXACT_KINDS: tuple[str, ...] = ("pass@1", "pass@k", "coverage", "arcsin")

#: names accepted in exact mode → (kind, needs k).
EXACT_NAMES: dict[str, tuple[str, bool]] = {
    "pass@1": ("pass@1", False),
    "rloo": ("pass@1", False),
    "dr_grpo": ("pass@1", False),
    "pass@k": ("pass@k", True),
    "pkpo": ("pass@k", True),
    "alpha_rloo": ("pass@k", True),
    "best_minus_second": ("pass@k", False),
    "coverage": ("coverage", True),
    "arcsin": ("arcsin", False),
    "grpo": ("arcsin", False),
}

#: exact names accepted in sampled mode → registry estimator.
_SAMPLED_ALIASES = {"pass@1": "rloo", "pass@k": "pkpo"}


@dataclass(frozen=True)
class Objective:
    """A parsed objective.

    Attributes:
      spec: the string as given.
      mode: "exact" or "sampled".
      kind: the exact target (one of :data:`EXACT_KINDS`); in sampled mode the
        target the estimator is unbiased for, or None for biased/heuristic ones.
      k: budget of pass@k / coverage@k targets, else None.
      beta: entropy-bonus coefficient β ≥ 0.
      estimator: registry name (sampled mode), else None.
      params: registry parameters (sampled mode).
      composite: the parsed composite spec (then ``kind``, ``k`` and ``estimator`` are None;
        :func:`exact_parts` gives the exact targets in force at a step).
    """

    spec: str
    mode: str
    kind: str | None
    k: int | None = None
    beta: float = 0.0
    estimator: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    composite: Composite | None = None

    @property
    def label(self) -> str:
        """Short label for tables and figures."""
        return self.spec


def _valid_list(mode: str) -> str:
    if mode == "exact":
        return ", ".join(EXACT_NAMES)
    return ", ".join(list(_SAMPLED_ALIASES) + list(REGISTRY))


def _split(spec: str) -> tuple[str, dict[str, str]]:
    name, _, rest = spec.strip().partition(":")
    params: dict[str, str] = {}
    if rest.strip():
        for item in rest.split(","):
            key, eq, value = item.partition("=")
            if not eq or not key.strip():
                raise ValueError(f"objective {spec!r}: expected key=value, got {item!r}")
            if key.strip() in params:
                raise ValueError(f"objective {spec!r}: parameter {key.strip()!r} given twice")
            params[key.strip()] = value.strip()
    return name.strip(), params


def _int_param(spec: str, key: str, value: str) -> int:
    try:
        v = int(value)
    except ValueError:
        raise ValueError(f"objective {spec!r}: {key} must be an int, got {value!r}") from None
    if v < 1:
        raise ValueError(f"objective {spec!r}: {key} must be ≥ 1, got {v}")
    return v


def parse_objective(spec: str, mode: str = "exact", *, n: int | None = None) -> Objective:
    """Parse an objective spec for ``mode`` ("exact" or "sampled").

    Args:
      spec: ``name[:key=value,...]`` (see the module docstring for the names).
      mode: "exact" (n → ∞ gradient of the target) or "sampled" (n draws per problem,
        registry advantages).
      n: samples per problem in sampled mode (k ≤ n is checked); in exact mode only
        used for ``best_minus_second`` (pass@n).

    Returns:
      :class:`Objective`.

    Raises:
      ValueError: unknown name (the message lists the valid ones), bad or missing
        parameters, k > n in sampled mode, an estimator without an exact target in
        exact mode.
    """
    if mode not in ("exact", "sampled"):
        raise ValueError(f"mode must be 'exact' or 'sampled', got {mode!r}")
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"objective must be a non-empty string, got {spec!r}")
    if is_composite(spec) and spec.partition(":")[0].strip() not in ("pass@1", "pass@k"):
        return _parse_composite_objective(spec, mode, n)
    name, raw = _split(spec)
    beta = 0.0
    if "beta" in raw and name != "unlikeliness":  # unlikeliness has its own β (rank penalty)
        try:
            beta = float(raw.pop("beta"))
        except ValueError:
            raise ValueError(f"objective {spec!r}: beta must be a float") from None
        if not np.isfinite(beta) or beta < 0:
            raise ValueError(f"objective {spec!r}: beta must be finite and ≥ 0, got {beta}")
    if mode == "exact":
        if name not in EXACT_NAMES:
            extra = ""
            if name in REGISTRY:
                extra = f" ({name} is biased or heuristic: it has no exact target; use --mode sampled)"
            raise ValueError(f"unknown exact objective {name!r}{extra}; valid: {_valid_list('exact')}")
        kind: str | None
        kind, needs_k = EXACT_NAMES[name]
        if name in REGISTRY:
            parse_spec(name + (":" + ",".join(f"{a}={b}" for a, b in raw.items()) if raw else ""))  # validate params
        elif set(raw) - {"k"}:
            raise ValueError(f"objective {spec!r}: unknown parameter(s) {', '.join(sorted(set(raw) - {'k'}))}; accepted: k, beta")
        k: int | None = None
        if needs_k:
            if "k" not in raw:
                raise ValueError(f"objective {spec!r} needs k (e.g. {name}:k=8)")
            k = _int_param(spec, "k", raw["k"])
        if name == "best_minus_second":
            if n is None:
                raise ValueError("objective best_minus_second targets pass@n: give the group size n")
            k = int(n)
        if kind == "pass@k" and k == 1:
            kind = "pass@1"
        return Objective(spec=spec, mode=mode, kind=kind, k=k, beta=beta)
    # sampled
    est = _SAMPLED_ALIASES.get(name, name)
    if name == "pass@k" and raw.get("k") == "1":
        est = "rloo"  # pass@1: RLOO is its unbiased estimator (PKPO loo-1 needs k ≥ 2)
        raw.pop("k")
    if est not in REGISTRY:
        raise ValueError(f"unknown objective/estimator {name!r}; valid: {_valid_list('sampled')}")
    reg_spec = est + (":" + ",".join(f"{a}={b}" for a, b in raw.items()) if raw else "")
    est, params = parse_spec(reg_spec)
    entry = REGISTRY[est]
    if "k" in entry.required and "k" not in params:
        raise ValueError(f"objective {spec!r} needs k (e.g. {name}:k=8)")
    k = params.get("k")
    if n is not None and k is not None and k > n:
        raise ValueError(
            f"objective {spec!r}: k={k} exceeds n={n} samples per problem; no unbiased estimate exists for k > n"
            " (raise --n or lower k)"
        )
    if est == "pkpo" and params.get("variant", "loo-1") == "loo-1" and k == 1:
        raise ValueError(f"objective {spec!r}: pkpo variant loo-1 needs k ≥ 2 (use rloo for pass@1)")
    if est == "pkpo" and params.get("variant") == "loo" and n is not None and k is not None and k >= n:
        raise ValueError(f"objective {spec!r}: pkpo variant loo needs n > k (n={n})")
    kind = {"rloo": "pass@1", "pkpo": "pass@k", "alpha_rloo": "pass@k", "coverage": "coverage",
            "best_minus_second": "pass@k"}.get(est)
    if kind == "pass@k" and k == 1:
        kind = "pass@1"
    if est == "best_minus_second":
        k = n
    return Objective(spec=spec, mode=mode, kind=kind, k=k, beta=beta, estimator=est, params=dict(params))


def _parse_composite_objective(spec: str, mode: str, n: int | None) -> Objective:
    """A composite spec: every term some step uses must parse as an objective of ``mode`` on its own."""
    comp = parse_composite(spec)
    for term in comp.concrete():
        try:
            parse_objective(str(term), mode, n=n)
        except ValueError as exc:
            raise ValueError(f"objective {spec!r}: {exc}") from None
    return Objective(spec=spec, mode=mode, kind=None, composite=comp)


def exact_parts(obj: Objective, step: int, n: int | None = None) -> list[tuple[float, str, int | None]]:
    """The exact targets of a composite objective at ``step``: (λ_i, kind_i, k_i) per part.

    Raises:
      ValueError: a part without an exact target (a biased or heuristic estimator).
    """
    assert obj.composite is not None
    return [(w, *_exact_kind(str(t), n)) for w, t in obj.composite.weights_at(step)]


@functools.lru_cache(maxsize=1024)
def _exact_kind(term: str, n: int | None) -> tuple[str, int | None]:
    o = parse_objective(term, "exact", n=n)
    assert o.kind is not None
    return o.kind, o.k


def mix_score_weights(parts: list[tuple[float, str, int | None]], pi: np.ndarray, correct: np.ndarray) -> np.ndarray:
    """w = Σ_i λ_i w_i of (★) for the mix Σ_i λ_i J_i (parts from :func:`exact_parts`); float64 (..., M)."""
    w = np.zeros(np.shape(pi), dtype=np.float64)
    for lam, kind, k in parts:
        w += lam * score_weights(kind, k, pi, correct)
    return w


def mix_objective_value(parts: list[tuple[float, str, int | None]], pi: np.ndarray, correct: np.ndarray,
                        beta: float = 0.0) -> np.ndarray:
    """Σ_i λ_i J_i per problem (+ β H(π)); float64 (...,)."""
    j = sum(lam * objective_value(kind, k, pi, correct) for lam, kind, k in parts)
    if beta:
        j = j + beta * _entropy(pi)
    return np.asarray(j, dtype=np.float64)


def softmax(z: np.ndarray) -> np.ndarray:
    """π = softmax(z) along the last axis, float64, same shape as z (a new array)."""
    # subtract the row max before exp: no overflow for large logits.
    e = np.subtract(z, z.max(axis=-1, keepdims=True))
    np.exp(e, out=e)
    e /= e.sum(axis=-1, keepdims=True)
    return e


def correct_entries(correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sparse correct set of V: flat indices of its True entries and the flat row of each.

    V has a few correct classes per problem, so sums over them are cheaper as a gather
    ``x.reshape(-1)[index]`` and a per-row :func:`row_sums` than as masked passes over (..., M).

    Args:
      correct: bool (..., M).

    Returns:
      (index, row_of), int64 (K,) each: ``index`` into the flattened array, ``row_of`` into the
      flattened leading axes (row r = the problem at ``np.unravel_index(r, correct.shape[:-1])``).
    """
    v = np.asarray(correct)
    index = np.flatnonzero(v.reshape(-1))
    return index, index // v.shape[-1]


def row_sums(row_of: np.ndarray, values: np.ndarray, lead_shape: tuple[int, ...]) -> np.ndarray:
    """Σ of ``values`` (K,) per row of :func:`correct_entries`, float64 of shape ``lead_shape``."""
    R = int(np.prod(lead_shape, dtype=np.int64))
    return np.bincount(row_of, weights=values, minlength=R).reshape(lead_shape)


def _ipow(x: np.ndarray, m: int) -> np.ndarray:
    """x**m for an integer m ≥ 0 by repeated squaring (O(log m) multiplies instead of a pow() per element)."""
    out = np.ones_like(x)
    base = x.copy()
    while m:
        if m & 1:
            out *= base
        m >>= 1
        if m:
            base *= base
    return out


def score_weights(kind: str, k: int | None, pi: np.ndarray, correct: np.ndarray, p: np.ndarray | None = None) -> np.ndarray:
    """Per-class weights w of (★) for an exact target.

    Args:
      kind: one of :data:`EXACT_KINDS`.
      k: budget (pass@k, coverage).
      pi: float (..., M), the policy.
      correct: bool (..., M), V.
      p: optional float (...,), Σ π V (computed when None).

    Returns:
      float64 (..., M).
    """
    v = correct
    if p is None:
        p = (pi * v).sum(axis=-1)
    if kind == "pass@1":
        return v.astype(np.float64)
    if kind == "pass@k":
        assert k is not None
        q = np.clip(1.0 - p, 0.0, 1.0)
        return (k * q ** (k - 1))[..., None] * v
    if kind == "coverage":
        assert k is not None
        q = np.subtract(1.0, pi)
        np.clip(q, 0.0, 1.0, out=q)
        w = _ipow(q, k - 1)
        w *= k
        w *= v
        return w
    if kind == "arcsin":
        # clip p away from {0, 1}: F'(p) = 1/√(p(1−p)) is infinite there, while π(V − p)F'(p) → 0.
        pc = np.clip(p, 1e-300, 1.0 - 1e-16)
        return (1.0 / np.sqrt(pc * (1.0 - pc)))[..., None] * v
    raise ValueError(f"unknown exact objective kind {kind!r}; valid: {', '.join(EXACT_KINDS)}")


def objective_value(kind: str, k: int | None, pi: np.ndarray, correct: np.ndarray, beta: float = 0.0) -> np.ndarray:
    """Per-problem objective J_x (+ β H(π_x)).

    Args:
      kind, k: the target; pi: float (..., M); correct: bool (..., M); beta: entropy coefficient.

    Returns:
      float64 (...,).
    """
    index, row_of = correct_entries(correct)
    pc = np.asarray(pi).reshape(-1)[index].astype(np.float64)  # (K,) π on the correct entries
    lead = tuple(np.shape(pi)[:-1])
    p = np.clip(row_sums(row_of, pc, lead), 0.0, 1.0)  # the sum can overshoot 1 by an ulp
    if kind == "pass@1":
        j = p
    elif kind == "pass@k":
        # −expm1(k·log1p(−p)) instead of 1 − (1 − p)^k: no cancellation at small p.
        with np.errstate(divide="ignore"):
            j = -np.expm1(k * np.log1p(-p))
    elif kind == "coverage":
        with np.errstate(divide="ignore"):
            j = row_sums(row_of, -np.expm1(k * np.log1p(-np.clip(pc, 0.0, 1.0))), lead)
    elif kind == "arcsin":
        j = 2.0 * np.arcsin(np.sqrt(p))
    else:
        raise ValueError(f"unknown exact objective kind {kind!r}; valid: {', '.join(EXACT_KINDS)}")
    if beta:
        j = j + beta * _entropy(pi)
    return j


def _entropy(pi: np.ndarray) -> np.ndarray:
    # where(π > 0): 0·log 0 = 0 without a NaN from log(0).
    return -np.where(pi > 0, pi * np.log(np.where(pi > 0, pi, 1.0)), 0.0).sum(axis=-1)


def logit_gradient(
    kind: str,
    k: int | None,
    pi: np.ndarray,
    correct: np.ndarray,
    beta: float = 0.0,
    p: np.ndarray | None = None,
    *,
    masks: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Exact per-problem gradient ∂J_x/∂z of (★), plus β ∂H/∂z.

        ∂J_x/∂z_b = π_b (w_b − Σ_a π_a w_a),   ∂H/∂z_b = −π_b (log π_b − Σ_a π_a log π_a)

    Args:
      kind, k: the target (see :func:`score_weights`).
      pi: float (..., M) policy; correct: bool (..., M); beta: entropy coefficient ≥ 0.
      p: optional (...,) success probability.
      masks: optional (V, 1 − V) as arrays of pi's dtype, (..., M) — precomputed by loops
        that call this every step (saves two conversions per call).

    Returns:
      array (..., M) of pi's dtype, the gradient of each problem's own objective in its logits.
    """
    if kind in ("pass@1", "pass@k", "arcsin") and not beta:
        # w = c(p)·V, so (★) is c(p)·π ⊙ (V − p): π·c·(1 − p) on correct classes, −π·c·p on wrong ones.
        if masks is None:
            vf = np.asarray(correct, dtype=pi.dtype)
            wf = 1.0 - vf
        else:
            vf, wf = masks
        if p is None:
            p = np.einsum("...m,...m->...", pi, vf)
        # 1 − p as the mass of the wrong classes, not 1 − p: keeps its digits when p is within 1e-8 of 1.
        q = np.einsum("...m,...m->...", pi, wf)
        p64, q64 = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
        if kind == "pass@1":
            c = np.ones_like(p64)
        elif kind == "pass@k":
            assert k is not None
            c = k * np.clip(q64, 0.0, 1.0) ** (k - 1)  # (…,) α_k(p)
        else:
            pc = np.clip(p64, 1e-300, 1.0)
            qc = np.clip(q64, 1e-300, 1.0)  # F'(p) = 1/√(p(1−p)) is infinite at {0, 1}; π(V − p)F'(p) → 0 there
            c = 1.0 / np.sqrt(pc * qc)
        up = (c * q64).astype(pi.dtype)[..., None]
        down = (-c * p64).astype(pi.dtype)[..., None]
        g = np.where(correct, up, down)
        g *= pi
        return g
    w = score_weights(kind, k, pi, correct, p)
    if beta:
        # log of π floored at the smallest normal: π log π → 0 as π → 0 without −inf·0.
        w = w - beta * np.log(np.maximum(pi, np.finfo(pi.dtype).tiny))
    return pi * (w - (pi * w).sum(axis=-1, keepdims=True))
