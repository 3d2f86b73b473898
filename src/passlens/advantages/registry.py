"""The advantage-estimator registry: :func:`register` at each estimator's definition, and the
calls that go through it (:func:`advantage`, :func:`parse_spec`, :func:`format_spec`).

An estimator module registers its functions as it defines them::

    @register("pkpo", params=(K, Param("variant", str, "loo-1", ("s", "loo", "loo-1"))),
              target="max@k = E[max of k rewards]", unbiased=True, binary_only=False,
              source="Walder & Karkhanis 2025, arXiv 2505.15201")
    def pkpo(rewards, k, *, variant="loo-1"): ...

:data:`REGISTRY` lists the entries in registration order (the package imports its estimator
modules in the order of its table). The decorator checks the entry against the function's
signature, so metadata and code cannot drift apart: ``rewards`` first, then the declared
``inputs`` in :data:`INPUTS` order, then exactly the declared params with the same defaults.
Registering a name twice is an error. This module imports no estimator, so every estimator
module can import it.
"""

from __future__ import annotations

import dataclasses
import inspect
import numbers
import operator
from typing import Any, Callable, Mapping, TypeVar

import numpy as np

__all__ = [
    "register",
    "advantage",
    "parse_spec",
    "format_spec",
    "REGISTRY",
    "EstimatorSpec",
    "Param",
    "REQUIRED",
    "INPUTS",
    "K",
    "EPS",
    "DDOF",
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


def _always(params: Mapping[str, Any]) -> bool:
    return True


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
    zero_on_identical: Callable[[Mapping[str, Any]], bool] = _always
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


_ENTRIES: dict[str, EstimatorSpec] = {}
#: name → :class:`EstimatorSpec` for every estimator, in registration order (read-only by type).
REGISTRY: Mapping[str, EstimatorSpec] = _ENTRIES

#: Parameter names no estimator may declare: ``step`` is :func:`advantage`'s, ``steps`` a k ramp's window.
RESERVED = ("step", "steps")

#: Shared hyperparameters.
K = Param("k", int, doc="budget: the k of pass@k / max@k / coverage@k, 1 ≤ k ≤ n")
EPS = Param("eps", float, 1e-6, doc="added to the group std")
DDOF = Param("ddof", int, 1, (0, 1), doc="std degrees of freedom (1 = torch.std, as in verl/TRL)")

_F = TypeVar("_F", bound=Callable[..., Any])


def _check_signature(spec: EstimatorSpec) -> None:
    """TypeError unless ``spec.fn`` takes (rewards, *inputs) and then exactly ``spec.params``, same defaults."""
    sig = inspect.signature(spec.fn).parameters
    names = list(sig)
    lead = ["rewards", *spec.inputs]
    if names[: len(lead)] != lead or list(spec.inputs) != [i for i in INPUTS if i in spec.inputs]:
        raise TypeError(f"register {spec.name!r}: {spec.fn.__name__} must take ({', '.join(lead)}, ...) "
                        f"with inputs in the order {INPUTS}")
    if sorted(names[len(lead):]) != sorted(p.name for p in spec.params):
        raise TypeError(f"register {spec.name!r}: params {[p.name for p in spec.params]} do not match "
                        f"{spec.fn.__name__}'s parameters {names[len(lead):]}")
    for p in spec.params:
        default = sig[p.name].default
        if (default is inspect.Parameter.empty) != p.required or (not p.required and default != p.default):
            raise TypeError(f"register {spec.name!r}: default of {p.name} is {p.default!r} in the registry, "
                            f"{default!r} in {spec.fn.__name__}")


def register(
    name: str,
    *,
    target: str,
    unbiased: bool,
    binary_only: bool,
    source: str,
    inputs: tuple[str, ...] = (),
    params: tuple[Param, ...] = (),
    zero_on_identical: Callable[[Mapping[str, Any]], bool] = _always,
    new_state: Callable[[], Any] | None = None,
) -> Callable[[_F], _F]:
    """Decorator: add the decorated estimator to :data:`REGISTRY` under ``name`` (the function is returned unchanged).

    The keywords are the fields of :class:`EstimatorSpec`. Raises ValueError for a name
    registered before and TypeError when the metadata does not match the function's
    signature (see the module docstring).
    """

    def add(fn: _F) -> _F:
        reserved = sorted({p.name for p in params} & set(RESERVED))
        if reserved:
            raise TypeError(f"register {name!r}: parameter name(s) {', '.join(reserved)} are reserved "
                            "(composite specs and advantage() use them)")
        if name in _ENTRIES:
            raise ValueError(f"advantage estimator {name!r} is already registered (by {_ENTRIES[name].fn.__module__})")
        spec = EstimatorSpec(name, fn, tuple(inputs), tuple(params), target, unbiased, binary_only, source,
                             zero_on_identical, new_state)
        _check_signature(spec)
        _ENTRIES[name] = spec
        return fn

    return add


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


def _composite_syntax(spec: str) -> bool:
    from .compose import is_composite

    return is_composite(spec)


def advantage(
    name: Any,
    rewards: Any,
    *,
    answers: Any = None,
    logprobs: Any = None,
    state: Any = None,
    step: Any = None,
    **params: Any,
) -> Any:
    """Compute group advantages with the registry estimator ``name``.

    Args:
      name: a registry name (``"pkpo"``) or a spec string (``"pkpo:k=8,variant=s"``);
        keyword ``params`` add to the spec's (giving one twice is an error). A composite
        spec (``"rloo@0.7+coverage:k=8@0.3"``, ``"coverage:k=8/300/rloo"``, see
        :mod:`passlens.advantages.compose`) or a parsed :class:`~passlens.advantages.compose.Composite`
        is computed part by part and takes no keyword params.
      rewards: float (B, n), numpy or torch.
      answers: int (B, n) answer-class ids (``novelty``, ``coverage``).
      logprobs: float (B, n) sequence log-probabilities (``unlikeliness``).
      state: persistent per-prompt memory (``novelty``: an :class:`AnswerCounts`;
        ``REGISTRY[name].new_state()`` makes one).
      **params: the estimator's hyperparameters (see ``REGISTRY[name].params``),
        plus ``prompt_ids`` (B,) for estimators whose ``inputs`` list it. Inputs an
        estimator does not use are ignored, so a trainer may always pass them.
      step: policy updates already taken (0 at the first); required by a spec that changes
        over training steps (a schedule or a k ramp), ignored by every other.

    Returns:
      float (B, n), same type, dtype and device as ``rewards``.

    Raises:
      ValueError: unknown name (the message lists the valid ones), unknown or missing
        params, a missing input, or bad rewards/shapes/k (naming the group).
    """
    if not isinstance(name, str) or _composite_syntax(name):
        from .compose import Composite, as_composite

        if not isinstance(name, (str, Composite)):
            _spec(name)  # the unknown-estimator message
        comp = as_composite(name)
        prompt_ids = params.pop("prompt_ids", None)
        if params:
            raise ValueError(f"objective {str(comp)!r}: keyword parameter(s) {', '.join(sorted(params))} apply to "
                             "one estimator; write them into the spec")
        return comp.advantage(rewards, answers=answers, logprobs=logprobs, state=state, prompt_ids=prompt_ids,
                              step=step)
    base_name, spec_params = parse_spec(name)  # a plain name too: " rloo " as " pkpo:k=2 " (both stripped)
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
