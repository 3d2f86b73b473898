"""Group advantage estimators for RLVR, one verified registry (numpy and torch, same math).

A batch is B groups (prompts) of n samples: ``rewards`` float (B, n), numpy or
torch; the result has the same type, dtype and device (torch is imported lazily:
numpy users never need it). Optional inputs: ``answers`` int (B, n) answer-class
ids, ``logprobs`` float (B, n) sequence log-probabilities, ``state`` a persistent
per-prompt memory (:class:`AnswerCounts`) with ``prompt_ids`` (B,) naming the prompts.

Scale convention
----------------
Advantages are scaled so that the group *mean* (1/n) Σ_i A_i ∇_θ log π(y_i) is the
gradient estimate of the target (trainers average the loss over samples). PKPO's
published weights s_i, which are *summed*, are therefore multiplied by n here;
RLOO's are used as published. An estimator marked ``unbiased`` satisfies
E[(1/n) Σ_i A_i ∇_θ log π(y_i)] = ∇_θ target exactly (checked by exhaustive
enumeration in the test suite).

Threads
-------
The estimators that sort each group (``pkpo`` on non-binary rewards, ``unlikeliness``,
``novelty`` with wide answer ids such as hashes) split large batches (≥ 2¹⁶ elements per thread) into blocks of groups computed on
threads; results are bit-identical for any thread count. :func:`set_num_threads`
(or the environment variable ``PASSLENS_NUM_THREADS``) sets the count; the default
is the CPUs available to the process, at most 4.

Use
---
>>> import numpy as np
>>> from passlens.advantages import advantage, parse_spec
>>> r = np.array([[1.0, 0.0, 0.0, 1.0]])
>>> advantage("rloo", r)
array([[ 0.66666667, -0.66666667, -0.66666667,  0.66666667]])
>>> name, params = parse_spec("pkpo:k=2,variant=loo-1")
>>> advantage(name, r, **params)
array([[1.33333333, 0.        , 0.        , 1.33333333]])

========================  =====================================  ==========
name                      target                                 unbiased
========================  =====================================  ==========
rloo                      E[r] (pass@1)                          yes
grpo                      surrogate 2·arcsin√p                   no
dr_grpo                   (n−1)/n · E[r]                         no
pkpo (k, variant)         max@k (pass@k on {0,1})                yes
passk_analytic (k)        GRPO on the pass@k reward              no
alpha_rloo (k)            pass@k                                 yes
best_minus_second         max@n (pass@n)                         yes
unlikeliness (beta)       heuristic (rarer correct preferred)    no
novelty (bonus, decay)    heuristic (count bonus across steps)   no
coverage (k, variant)     coverage@k (distinct correct answers)  yes
========================  =====================================  ==========
"""

from __future__ import annotations

import dataclasses
import numbers
import operator
from typing import Any, Callable, Mapping

import numpy as np

from .exploration import coverage, coverage_at_k, unlikeliness
from .novelty import AnswerCounts, novelty
from ._parallel import get_num_threads, set_num_threads
from .passk import alpha_rloo, best_minus_second, passk_analytic, pkpo
from .policy_gradient import dr_grpo, grpo, rloo

__all__ = [
    "advantage",
    "parse_spec",
    "format_spec",
    "REGISTRY",
    "EstimatorSpec",
    "Param",
    "REQUIRED",
    "INPUTS",
    "rloo",
    "grpo",
    "dr_grpo",
    "pkpo",
    "passk_analytic",
    "alpha_rloo",
    "best_minus_second",
    "unlikeliness",
    "novelty",
    "coverage",
    "coverage_at_k",
    "AnswerCounts",
    "set_num_threads",
    "get_num_threads",
]


class _Required:
    """Marker for a parameter without a default."""

    def __repr__(self) -> str:
        return "REQUIRED"


#: Default of a parameter that must be given.
REQUIRED: Any = _Required()

#: Inputs an estimator may need besides ``rewards`` (``prompt_ids`` travels in ``**params``).
INPUTS = ("answers", "logprobs", "state", "prompt_ids")


@dataclasses.dataclass(frozen=True)
class Param:
    """One hyperparameter of an estimator.

    Attributes:
      name: keyword name.
      type: int, float, str or bool; spec strings are converted with it.
      default: value used when omitted, or :data:`REQUIRED`.
      choices: allowed values, or None for any value of ``type``.
      doc: one line.
    """

    name: str
    type: type
    default: Any = REQUIRED
    choices: tuple[Any, ...] | None = None
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def convert(self, value: Any, who: str) -> Any:
        """Coerce ``value`` (possibly a string from a spec) to ``type``; ValueError if impossible."""
        bad = ValueError(f"{who}: parameter {self.name} must be {self.type.__name__}, got {value!r}")
        v = value
        if isinstance(v, str) and self.type is not str:
            text = v.strip().lower()
            if self.type is bool:
                if text not in ("true", "false", "1", "0", "yes", "no"):
                    raise bad
                v = text in ("true", "1", "yes")
            else:
                try:
                    v = self.type(text)
                except ValueError:
                    raise bad from None
        if self.type is bool:
            if not isinstance(v, (bool, np.bool_)):
                raise bad
            v = bool(v)
        elif self.type is int:
            if isinstance(v, (bool, np.bool_)):
                raise bad
            try:
                v = operator.index(v)
            except TypeError:
                raise bad from None
        elif self.type is float:
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
                raise bad
            v = float(v)
        elif not isinstance(v, self.type):
            raise bad
        if self.choices is not None and v not in self.choices:
            raise ValueError(f"{who}: parameter {self.name} must be one of {list(self.choices)}, got {v!r}")
        return v


@dataclasses.dataclass(frozen=True)
class EstimatorSpec:
    """A registry entry.

    Attributes:
      name: registry key.
      fn: the estimator function ``fn(rewards, [answers], [logprobs], [state], [prompt_ids], **params)``.
      inputs: inputs besides ``rewards`` it needs, a subset of :data:`INPUTS` in that order.
      params: its hyperparameters.
      target: the quantity whose gradient it estimates, in words.
      unbiased: whether E[(1/n) Σ A_i ∇ log π(y_i)] = ∇ target exactly.
      binary_only: whether rewards must be in {0, 1}.
      source: paper and equation.
      zero_on_identical: given the params, whether a group of identical samples
        (same reward, answer and log-prob) gets advantage 0.
      new_state: factory for ``state`` when the estimator needs one.
    """

    name: str
    fn: Callable[..., Any]
    inputs: tuple[str, ...]
    params: tuple[Param, ...]
    target: str
    unbiased: bool
    binary_only: bool
    source: str
    zero_on_identical: Callable[[Mapping[str, Any]], bool] = lambda p: True
    new_state: Callable[[], Any] | None = None

    @property
    def defaults(self) -> dict[str, Any]:
        """Defaults of the optional params."""
        return {p.name: p.default for p in self.params if not p.required}

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the params without a default."""
        return tuple(p.name for p in self.params if p.required)

    def resolve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Validated params with defaults filled; ValueError on unknown, missing or ill-typed ones."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(params) - set(known))
        if unknown:
            accepted = ", ".join(known) or "none"
            raise ValueError(f"{self.name}: unknown parameter(s) {', '.join(unknown)}; accepted: {accepted}")
        missing = [name for name in self.required if name not in params]
        if missing:
            raise ValueError(f"{self.name}: missing required parameter(s) {', '.join(missing)}")
        out = dict(self.defaults)
        for key, value in params.items():
            out[key] = known[key].convert(value, self.name)
        return out


_K = Param("k", int, doc="budget: the k of pass@k / max@k / coverage@k, 1 ≤ k ≤ n")
_EPS = Param("eps", float, 1e-6, doc="added to the group std")
_DDOF = Param("ddof", int, 1, (0, 1), doc="std degrees of freedom (1 = torch.std, as in verl/TRL)")

_SPECS = (
    EstimatorSpec(
        "rloo", rloo, (), (), "E[r] (pass@1 on binary rewards)", True, False,
        "Kool et al. 2019; Ahmadian et al. 2024, arXiv 2402.14740 (RLOO)",
    ),
    EstimatorSpec(
        "grpo", grpo, (), (_EPS, _DDOF), "biased: ascends the surrogate 2·arcsin√p (binary rewards)", False, False,
        "Shao et al. 2024, arXiv 2402.03300 (GRPO); surrogate: Thrampoulidis et al. 2025, arXiv 2510.23049",
    ),
    EstimatorSpec(
        "dr_grpo", dr_grpo, (), (), "(n−1)/n · ∇E[r] (pass@1 shrunk by (n−1)/n)", False, False,
        "Liu et al. 2025, arXiv 2503.20783 (Dr. GRPO)",
    ),
    EstimatorSpec(
        "pkpo", pkpo, (),
        (_K, Param("variant", str, "loo-1", ("s", "loo", "loo-1"), "s (Eq. 18–21), loo (Eq. 29), loo-1 (Eq. 33–34)")),
        "max@k = E[max of k rewards] (pass@k on binary rewards)", True, False,
        "Walder & Karkhanis 2025, arXiv 2505.15201, Eqs. 8, 18–21, 29, 33–34",
        zero_on_identical=lambda p: p["variant"] == "loo-1",
    ),
    EstimatorSpec(
        "passk_analytic", passk_analytic, (), (_K, _EPS),
        "biased: GRPO on the pass@k reward, ((n/k)·r^PKPO − ρ)/σ", False, True,
        "Chen et al. 2025, arXiv 2508.10751, Eqs. 11–15",
    ),
    EstimatorSpec(
        "alpha_rloo", alpha_rloo, (), (_K,), "pass@k = 1 − (1 − p)^k", True, True,
        "Yu 2025, arXiv 2511.16231 (∇pass@k = k(1−p)^{k−1}∇p), made unbiased with leave-one-out α̂",
    ),
    EstimatorSpec(
        "best_minus_second", best_minus_second, (), (), "max@n (pass@n on binary rewards)", True, False,
        "Tang et al. 2025, arXiv 2503.19595; = PKPO s^(loo−1) with k = n",
    ),
    EstimatorSpec(
        "unlikeliness", unlikeliness, ("logprobs",),
        (Param("beta", float, 0.25, doc="rank penalty"), _EPS, _DDOF),
        "heuristic: GRPO on r·(1 − β·rank/n), favours rarer correct samples", False, False,
        "He, Fried & Welleck 2025, arXiv 2506.02355 (form of the released code)",
    ),
    EstimatorSpec(
        "novelty", novelty, ("answers", "state", "prompt_ids"),
        (
            Param("bonus", float, 0.1, doc="bonus of a never-seen answer"),
            Param("decay", float, 0.5, doc="bonus ∝ (1 + count)^(−decay)"),
            Param("correct_only", bool, True, doc="bonus only for samples with positive reward"),
            Param("update", bool, True, doc="record this batch in the state"),
        ),
        "heuristic: RLOO on r + bonus·(1 + N(x, a))^(−decay)", False, False,
        "after Song, Kempe & Munos 2025, arXiv 2509.06941 (historical exploration)",
        new_state=AnswerCounts,
    ),
    EstimatorSpec(
        "coverage", coverage, ("answers",),
        (_K, Param("variant", str, "rloo", ("rloo", "loo-1", "s"), "per-class α-RLOO, PKPO loo-1 or PKPO s")),
        "coverage@k = Σ_{a correct} [1 − (1 − π(a))^k]", True, True,
        "this package (per-class PKPO, Walder & Karkhanis 2025, Eqs. 8, 33)",
        zero_on_identical=lambda p: p["variant"] == "rloo" or (p["variant"] == "loo-1" and p["k"] >= 2),
    ),
)

#: name → :class:`EstimatorSpec` for every estimator.
REGISTRY: Mapping[str, EstimatorSpec] = {s.name: s for s in _SPECS}


def _spec(name: str) -> EstimatorSpec:
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown advantage estimator {name!r}; valid names: {', '.join(REGISTRY)}") from None


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Parse ``"name"`` or ``"name:key=value,key=value"`` into (name, params).

    Values are converted with each parameter's type (``"pkpo:k=8,variant=loo-1"`` →
    ``("pkpo", {"k": 8, "variant": "loo-1"})``). Unknown names and parameters, bad
    values and repeated keys raise ValueError; missing required parameters do not
    (a caller may add them, e.g. k from a CLI option) — :func:`advantage` checks those.

    Args:
      spec: the spec string.

    Returns:
      (name, params) with params holding only the keys given in the string.
    """
    if not isinstance(spec, str):
        raise ValueError(f"spec must be a string, got {type(spec).__name__}")
    name, _, rest = spec.strip().partition(":")
    est = _spec(name.strip())
    known = {p.name: p for p in est.params}
    params: dict[str, Any] = {}
    if rest.strip():
        for item in rest.split(","):
            key, eq, value = item.partition("=")
            key = key.strip()
            if not eq or not key:
                raise ValueError(f"{spec!r}: expected key=value, got {item!r}")
            if key not in known:
                raise ValueError(f"{est.name}: unknown parameter {key!r}; accepted: {', '.join(known) or 'none'}")
            if key in params:
                raise ValueError(f"{spec!r}: parameter {key!r} given twice")
            params[key] = known[key].convert(value.strip(), est.name)
    return est.name, params


def format_spec(name: str, params: Mapping[str, Any] | None = None) -> str:
    """Inverse of :func:`parse_spec`: ``format_spec("pkpo", {"k": 8})`` → ``"pkpo:k=8"``.

    Args:
      name: a registry name.
      params: parameter values (any subset), written in the spec's parameter order.

    Returns:
      the spec string; ``parse_spec(format_spec(name, p)) == (name, p)``.

    Raises:
      ValueError: an unknown parameter, a value whose text holds ",", "=" or ":", or one
        that the parameter's type rejects (the string is checked by parsing it back).
    """
    est = _spec(name)
    if not params:
        return est.name
    order = [p.name for p in est.params]
    for key, value in params.items():
        if key not in order:
            raise ValueError(f"{est.name}: unknown parameter {key!r}; accepted: {', '.join(order) or 'none'}")
        if any(ch in str(value) for ch in ",=:"):
            raise ValueError(f"{est.name}: {key}={value!r} cannot be written in a spec (',', '=' and ':' are separators)")
    items = sorted(params.items(), key=lambda kv: order.index(kv[0]))
    spec = est.name + ":" + ",".join(f"{k}={v}" for k, v in items)
    parse_spec(spec)  # raises for values the parameter types reject
    return spec


def advantage(
    name: str,
    rewards: Any,
    *,
    answers: Any = None,
    logprobs: Any = None,
    state: Any = None,
    **params: Any,
) -> Any:
    """Compute group advantages with the registry estimator ``name``.

    Args:
      name: a registry name (``"pkpo"``) or a spec string (``"pkpo:k=8,variant=s"``);
        keyword ``params`` add to the spec's (giving one twice is an error).
      rewards: float (B, n), numpy or torch.
      answers: int (B, n) answer-class ids (``novelty``, ``coverage``).
      logprobs: float (B, n) sequence log-probabilities (``unlikeliness``).
      state: persistent per-prompt memory (``novelty``: an :class:`AnswerCounts`;
        ``REGISTRY[name].new_state()`` makes one).
      **params: the estimator's hyperparameters (see ``REGISTRY[name].params``),
        plus ``prompt_ids`` (B,) for estimators whose ``inputs`` list it. Inputs an
        estimator does not use are ignored, so a trainer may always pass them.

    Returns:
      float (B, n), same type, dtype and device as ``rewards``.

    Raises:
      ValueError: unknown name (the message lists the valid ones), unknown or missing
        params, a missing input, or bad rewards/shapes/k (naming the group).
    """
    base_name, spec_params = parse_spec(name) if isinstance(name, str) and ":" in name else (name, {})
    est = _spec(base_name)
    prompt_ids = params.pop("prompt_ids", None)
    clash = sorted(set(spec_params) & set(params))
    if clash:
        raise ValueError(f"{est.name}: parameter(s) {', '.join(clash)} given both in the spec and as keywords")
    resolved = est.resolve({**spec_params, **params})
    given = {"answers": answers, "logprobs": logprobs, "state": state, "prompt_ids": prompt_ids}
    args = []
    for inp in est.inputs:
        if given[inp] is None:
            raise ValueError(f"{est.name} needs the input {inp}=")
        args.append(given[inp])
    return est.fn(rewards, *args, **resolved)
