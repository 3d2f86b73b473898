"""Composite objectives: weighted mixes of registry estimators, schedules over training steps, k annealed.

A composite is one string, as written on a command line or in a config file (letters, digits
and ``: = , . + @ / _ -``), wherever a registry spec is accepted::

    rloo@0.7+coverage:k=8@0.3       mix       A = 0.7·A_rloo + 0.3·A_coverage
    coverage:k=8/300/rloo           switch    coverage:k=8 before step 300, rloo from step 300 on
    coverage:k=8/200-400/rloo       anneal    A = (1 − λ)·A_coverage + λ·A_rloo,  λ = clip((t − 200)/200, 0, 1)
    pkpo:k=16-2,steps=0-300         k ramp    k(t) = ⌊16 + (2 − 16)·clip(t/300, 0, 1) + ½⌋

Grammar, ``/`` binding loosest, then ``+``, then ``@``::

    spec   := phase ( "/" window "/" phase )*
    window := T | T0 "-" T1                 switch at step T, or linear anneal over [T0, T1]
    phase  := term ( "+" term )*            (a "+" followed by a letter starts a term)
    term   := name [ ":" key=value,... ] [ "@" weight ]
    k      := K | K0 "-" K1  with  steps=T | T0-T1   (a ramp: the window belongs to the parameter)

The step t is the number of policy updates already taken (0 for the first update); windows
follow one another (T0 of a window ≥ T1 of the one before). At a switch T, step T uses the
later phase; over an anneal window λ goes 0 → 1 linearly, so step T0 is the earlier phase alone
and step T1 the later one alone. A ramped k is rounded half up to an integer.

Weights are positive and finite and need not sum to 1: a mix estimates the gradient of
Σ_i λ_i J_i exactly as written (scaling every weight scales the gradient, i.e. the learning
rate). A term without ``@`` has weight 1. Since the expectation is linear,

    E[(1/n) Σ_j (Σ_i λ_i A_j^(i)) ∇ log π(y_j)] = Σ_i λ_i E[(1/n) Σ_j A_j^(i) ∇ log π(y_j)] = Σ_i λ_i ∇J_i

whenever every part is unbiased for its target J_i: a composite is marked ``unbiased`` (for
the mix of targets at each step, see :attr:`Composite.target`) iff all its parts are. The
test suite checks this by exhaustive enumeration.

Estimators that keep a memory across steps (``novelty``) cannot be part of a mix or a
schedule: two parts, or a part at weight 0, would update it differently from the estimator
alone.

Use
---
>>> import numpy as np
>>> from passlens.advantages import advantage, parse_composite
>>> r = np.array([[1.0, 0.0, 0.0, 1.0]])
>>> advantage("rloo@0.5+pkpo:k=2@0.5", r)
array([[ 1.        , -0.33333333, -0.33333333,  1.        ]])
>>> s = parse_composite("coverage:k=8/200-400/rloo")
>>> str(s.at(300))
'coverage:k=8@0.5+rloo@0.5'
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from typing import Any, Callable, Iterator, Union

from .registry import INPUTS, REGISTRY, advantage, parse_spec

__all__ = ["Composite", "Term", "Mix", "Schedule", "Window", "Ramp", "parse_composite", "is_composite", "as_composite"]

# a "+" starts a new term only before a name, so a number such as 1e+3 stays one value
_TERM_SPLIT = re.compile(r"\+(?=[A-Za-z_])")
_STEPS = re.compile(r"^(\d+)(?:-(\d+))?$")
_RAMP = re.compile(r"^(\d+)-(\d+)$")
_SYNTAX = re.compile(r"[@/]|\+(?=[A-Za-z_])|(?:^|[:,])\s*(?:k\s*=\s*\d+\s*-|steps\s*=)")


def is_composite(spec: str) -> bool:
    """Whether the spec string uses composite syntax (``@``, ``/``, ``+name``, a k ramp or ``steps=``).

    A plain registry spec (``"pkpo:k=8"``) is not: it goes through :func:`parse_spec` unchanged.
    """
    return bool(_SYNTAX.search(spec))


def _fmt_weight(w: float) -> str:
    text = repr(float(w))  # shortest text that reads back to the same float
    return text[:-2] if text.endswith(".0") else text


@dataclasses.dataclass(frozen=True)
class Window:
    """Steps over which a schedule or a k ramp moves from its first value to its last.

    Attributes:
      start, end: 0 ≤ start ≤ end; start == end is a switch at that step.
    """

    start: int
    end: int

    def fraction(self, step: int) -> float:
        """λ(t) = clip((t − start)/(end − start), 0, 1); a switch gives 0 before ``start``, 1 from it on."""
        if step >= self.end:
            return 1.0
        if step <= self.start:
            return 0.0
        return (step - self.start) / (self.end - self.start)

    def __str__(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}-{self.end}"


@dataclasses.dataclass(frozen=True)
class Ramp:
    """k annealed over steps: k(t) = ⌊first + (last − first)·λ(t) + ½⌋ with λ of ``window``."""

    first: int
    last: int
    window: Window

    def at(self, step: int) -> int:
        return int(math.floor(self.first + (self.last - self.first) * self.window.fraction(step) + 0.5))


class Composite:
    """What :func:`parse_composite` returns: a :class:`Term`, a :class:`Mix` or a :class:`Schedule`.

    ``str(c)`` is the canonical spec string (``parse_composite(str(c)) == c``). The attributes
    ``name``, ``inputs``, ``binary_only``, ``unbiased``, ``target`` and ``new_state`` answer as a
    registry entry (:class:`~passlens.advantages.EstimatorSpec`) does, for the whole composite.
    """

    def terms(self) -> tuple["Term", ...]:
        """Every term as written (ramps unresolved), in order."""
        raise NotImplementedError

    def weights_at(self, step: int) -> tuple[tuple[float, "Term"], ...]:
        """The weighted terms in force at ``step``, k resolved; equal estimators merged, weight-0 terms dropped."""
        raise NotImplementedError

    @property
    def target(self) -> str:
        """The quantity whose gradient it estimates, in words."""
        raise NotImplementedError

    @property
    def scheduled(self) -> bool:
        """Whether it depends on the training step (a schedule or a k ramp): ``step`` is then required."""
        return any(t.ramp is not None for t in self.terms())

    @property
    def name(self) -> str:
        return str(self)

    @property
    def inputs(self) -> tuple[str, ...]:
        """Inputs besides ``rewards`` that some part needs, in :data:`INPUTS` order."""
        need = {i for t in self.terms() for i in REGISTRY[t.estimator].inputs}
        return tuple(i for i in INPUTS if i in need)

    @property
    def binary_only(self) -> bool:
        return any(REGISTRY[t.estimator].binary_only for t in self.terms())

    @property
    def unbiased(self) -> bool:
        """Unbiased for :attr:`target` at every step: all parts are unbiased for theirs."""
        return all(REGISTRY[t.estimator].unbiased for t in self.terms())

    @property
    def new_state(self) -> Callable[[], Any] | None:
        return None

    def check_step(self, step: Any) -> int:
        """``step`` as an int ≥ 0 when scheduled (ValueError if missing or bad); 0 otherwise (ignored)."""
        if not self.scheduled:
            return 0
        if step is None:
            raise ValueError(f"objective {str(self)!r} changes over training steps: pass step= "
                             "(the number of updates already taken)")
        if isinstance(step, bool) or not isinstance(step, int) and not hasattr(step, "__index__"):
            raise ValueError(f"objective {str(self)!r}: step must be an integer ≥ 0, got {step!r}")
        s = int(step.__index__())
        if s < 0:
            raise ValueError(f"objective {str(self)!r}: step must be an integer ≥ 0, got {s}")
        return s

    def at(self, step: int | None = None) -> "Term | Mix":
        """The static composite in force at ``step`` (a plain :class:`Term` when one part has weight 1)."""
        parts = self.weights_at(self.check_step(step))
        if len(parts) == 1 and parts[0][0] == 1.0:
            return parts[0][1]
        return Mix(parts)

    def concrete(self) -> tuple["Term", ...]:
        """Every static term some step can use: ramps at both ends (the estimators' constraints on
        k are intervals, so the values between are valid when both ends are)."""
        out: list[Term] = []
        for t in self.terms():
            for kk in ((t.ramp.first, t.ramp.last) if t.ramp is not None else (None,)):
                term = t if kk is None else dataclasses.replace(t, params=_with_k(t, kk), ramp=None)
                if term not in out:
                    out.append(term)
        return tuple(out)

    def advantage(self, rewards: Any, *, answers: Any = None, logprobs: Any = None, state: Any = None,
                  prompt_ids: Any = None, step: int | None = None) -> Any:
        """A = Σ_i λ_i(t) A^(i) over the parts in force at ``step``; same type, dtype and device as ``rewards``.

        Args:
          rewards: float (B, n), numpy or torch; answers, logprobs: (B, n); prompt_ids: (B,)
            — as :func:`~passlens.advantages.advantage`, each part taking what it needs.
          step: updates already taken; required when :attr:`scheduled`, ignored otherwise.
        """
        out = None
        for w, term in self.weights_at(self.check_step(step)):
            a = advantage(term.estimator, rewards, answers=answers, logprobs=logprobs, state=state,
                          prompt_ids=prompt_ids, **term.params_dict())
            if w != 1.0:
                a = a * w
            out = a if out is None else out + a
        return out


def _with_k(term: "Term", k: int) -> tuple[tuple[str, Any], ...]:
    order = [p.name for p in REGISTRY[term.estimator].params]
    items = dict(term.params)
    items["k"] = k
    return tuple(sorted(items.items(), key=lambda kv: order.index(kv[0])))


@dataclasses.dataclass(frozen=True)
class Term(Composite):
    """One registry estimator with its parameters (as given, converted), k possibly ramped.

    Attributes:
      estimator: registry name.
      params: (key, value) pairs in the registry's parameter order; ``k`` is absent when ramped.
      ramp: the k ramp, or None.
    """

    estimator: str
    params: tuple[tuple[str, Any], ...] = ()
    ramp: Ramp | None = None

    def terms(self) -> tuple["Term", ...]:
        return (self,)

    def params_dict(self, step: int = 0) -> dict[str, Any]:
        """The parameters at ``step`` (k resolved from the ramp)."""
        d = dict(self.params)
        if self.ramp is not None:
            d["k"] = self.ramp.at(step)
        return d

    def _key(self, step: int) -> tuple[str, tuple[tuple[str, Any], ...]]:
        resolved = REGISTRY[self.estimator].resolve(self.params_dict(step))
        return self.estimator, tuple(sorted(resolved.items()))

    def weights_at(self, step: int) -> tuple[tuple[float, "Term"], ...]:
        if self.ramp is None:
            return ((1.0, self),)
        return ((1.0, Term(self.estimator, _with_k(self, self.ramp.at(step)))),)

    @property
    def new_state(self) -> Callable[[], Any] | None:
        return REGISTRY[self.estimator].new_state

    @property
    def target(self) -> str:
        t = REGISTRY[self.estimator].target
        given = [f"{k}={v}" for k, v in self.params if k == "k"]
        if self.ramp is not None:
            r = self.ramp
            given = [f"k = {r.first}→{r.last} over steps {r.window.start}–{r.window.end} (rounded)"]
        return t + (f" with {', '.join(given)}" if given else "")

    def __str__(self) -> str:
        items = [f"{k}={v}" for k, v in self.params]
        if self.ramp is not None:
            order = [p.name for p in REGISTRY[self.estimator].params]
            before = sum(order.index(k) < order.index("k") for k, _ in self.params)
            items[before:before] = [f"k={self.ramp.first}-{self.ramp.last}", f"steps={self.ramp.window}"]
        return self.estimator + (":" + ",".join(items) if items else "")


@dataclasses.dataclass(frozen=True)
class Mix(Composite):
    """A weighted sum of terms: A = Σ_i λ_i A^(i), target Σ_i λ_i J_i.

    Attributes:
      parts: (weight λ_i > 0, term) pairs.
    """

    parts: tuple[tuple[float, Term], ...]

    def terms(self) -> tuple[Term, ...]:
        return tuple(t for _, t in self.parts)

    def weights_at(self, step: int) -> tuple[tuple[float, Term], ...]:
        return _merge((w * wt, t) for w, term in self.parts for wt, t in term.weights_at(step))

    @property
    def target(self) -> str:
        return " + ".join(f"{_fmt_weight(w)}·[{t.target}]" for w, t in self.parts)

    def __str__(self) -> str:
        return "+".join(str(t) + ("" if w == 1.0 else "@" + _fmt_weight(w)) for w, t in self.parts)


Phase = Union[Term, Mix]


@dataclasses.dataclass(frozen=True)
class Schedule(Composite):
    """Phases over training steps, each window a switch or a linear anneal between its neighbours.

    At step t inside window j (start < t < end): A = (1 − λ_j(t))·A^(phase j) + λ_j(t)·A^(phase j+1);
    before it, phase j alone; from its end on, phase j + 1 (until the next window).

    Attributes:
      phases: P ≥ 2 terms or mixes.
      windows: P − 1 windows in order.
    """

    phases: tuple[Phase, ...]
    windows: tuple[Window, ...]

    @property
    def scheduled(self) -> bool:
        return True

    def terms(self) -> tuple[Term, ...]:
        return tuple(t for p in self.phases for t in p.terms())

    def weights_at(self, step: int) -> tuple[tuple[float, Term], ...]:
        j = 0
        for win in self.windows:
            lam = win.fraction(step)
            if lam >= 1.0:
                j += 1
                continue
            if lam > 0.0:
                return _merge([((1.0 - lam) * w, t) for w, t in self.phases[j].weights_at(step)]
                              + [(lam * w, t) for w, t in self.phases[j + 1].weights_at(step)])
            break
        return self.phases[j].weights_at(step)

    @property
    def target(self) -> str:
        out = [f"[{self.phases[0].target}]"]
        for win, phase in zip(self.windows, self.phases[1:]):
            if win.start == win.end:
                out.append(f"from step {win.start}: [{phase.target}]")
            else:
                out.append(f"steps {win.start}–{win.end}: linear anneal to [{phase.target}]")
        return "; ".join(out)

    def __str__(self) -> str:
        items = [str(self.phases[0])]
        for win, phase in zip(self.windows, self.phases[1:]):
            items += [str(win), str(phase)]
        return "/".join(items)


def _merge(parts: Any) -> tuple[tuple[float, Term], ...]:
    """Sum the weights of terms that are the same estimator with the same resolved parameters; drop zeros."""
    acc: dict[Any, list[Any]] = {}
    for w, t in parts:
        if w == 0.0:
            continue
        key = t._key(0)
        if key in acc:
            acc[key][0] += w
        else:
            acc[key] = [w, t]
    return tuple((w, t) for w, t in acc.values())


# ---------------------------------------------------------------------------------------------
# parsing


class _Bad(ValueError):
    pass


def _steps(text: str, what: str) -> Window:
    m = _STEPS.match(text.strip())
    if not m:
        raise _Bad(f"{what} {text!r} is not a step T or a step range T0-T1")
    a, b = int(m.group(1)), int(m.group(2) if m.group(2) is not None else m.group(1))
    if b < a:
        raise _Bad(f"{what} {text!r} ends before it starts")
    return Window(a, b)


def _term(text: str, *, alone: bool) -> tuple[float | None, Term]:
    body, at, wtext = text.rpartition("@")
    if not at:
        body, wtext = text, ""
    weight: float | None = None
    if at:
        try:
            weight = float(wtext)
        except ValueError:
            raise _Bad(f"weight {wtext!r} is not a number") from None
        if not (math.isfinite(weight) and weight > 0):
            raise _Bad(f"weight {wtext!r} must be positive and finite")
    body = body.strip()
    if not body:
        raise _Bad(f"{text!r} names no estimator")
    name, _, rest = body.partition(":")
    name = name.strip()
    if "+" in name:
        raise _Bad(f"{text!r}: a '+' joins two terms and must be followed by an estimator's name")
    if name not in REGISTRY:
        raise _Bad(f"unknown advantage estimator {name!r}; valid names: {', '.join(REGISTRY)}")
    ramp_k: tuple[int, int] | None = None
    window: Window | None = None
    plain: list[str] = []
    if rest.strip():
        for item in rest.split(","):
            key, eq, value = item.partition("=")
            key = key.strip()
            if eq and key == "steps":
                if window is not None:
                    raise _Bad(f"{name}: parameter 'steps' given twice")
                window = _steps(value, f"{name}: steps")
            elif eq and key == "k" and _RAMP.match(value.strip()):
                if ramp_k is not None or any(p.partition("=")[0].strip() == "k" for p in plain):
                    raise _Bad(f"{name}: parameter 'k' given twice")
                m = _RAMP.match(value.strip())
                assert m is not None
                ramp_k = (int(m.group(1)), int(m.group(2)))
            else:
                plain.append(item)
    if ramp_k is not None and "k" not in {p.name for p in REGISTRY[name].params}:
        raise _Bad(f"{name} has no parameter k to anneal")
    if ramp_k is None and window is not None:
        raise _Bad(f"{name}: steps= is the window of a k ramp; write k=K0-K1,steps={window}")
    if ramp_k is not None and window is None:
        raise _Bad(f"{name}: k={ramp_k[0]}-{ramp_k[1]} needs steps=T0-T1, the steps over which k goes "
                   f"from {ramp_k[0]} to {ramp_k[1]}")
    _, params = parse_spec(name + (":" + ",".join(plain) if plain else ""))
    if ramp_k is not None:
        if "k" in params:
            raise _Bad(f"{name}: parameter 'k' given twice")
        if min(ramp_k) < 1:
            raise _Bad(f"{name}: k must be ≥ 1, got k={ramp_k[0]}-{ramp_k[1]}")
    est = REGISTRY[name]
    est.resolve({**params, **({"k": ramp_k[0]} if ramp_k else {})})  # missing required parameters
    order = [p.name for p in est.params]
    ordered = tuple(sorted(params.items(), key=lambda kv: order.index(kv[0])))
    ramp = Ramp(ramp_k[0], ramp_k[1], window) if ramp_k is not None and window is not None else None
    if ramp is not None and ramp.first == ramp.last:
        ordered, ramp = _with_k(Term(name, ordered), ramp.first), None
    if not alone and est.new_state is not None:
        raise _Bad(f"{name} keeps a memory across steps and cannot be part of a mix or a schedule")
    return weight, Term(name, ordered, ramp)


def _phase(text: str, *, alone: bool) -> Phase:
    items = _TERM_SPLIT.split(text)
    if any(not s.strip() for s in items):
        raise _Bad("empty term (two '+' in a row, or one at an end)")
    single = alone and len(items) == 1
    parts = [_term(s, alone=single) for s in items]
    if len(parts) == 1 and parts[0][0] in (None, 1.0):
        return parts[0][1]  # weight 1 alone is the estimator itself
    if single and parts[0][1].new_state is not None:
        raise _Bad(f"{parts[0][1].estimator} keeps a memory across steps and cannot be weighted")
    return Mix(tuple((1.0 if w is None else w, t) for w, t in parts))


@functools.lru_cache(maxsize=1024)
def _parse(spec: str) -> Composite:
    items = spec.strip().split("/")
    if len(items) % 2 == 0:
        raise _Bad("a schedule alternates phases and windows (phase/T/phase or phase/T0-T1/phase) "
                   "and ends with a phase")
    alone = len(items) == 1
    if any(not s.strip() for s in items):
        raise _Bad("empty part (two '/' in a row, or one at an end)")
    phases = tuple(_phase(items[i], alone=alone) for i in range(0, len(items), 2))
    windows = tuple(_steps(items[i], "window") for i in range(1, len(items), 2))
    for a, b in zip(windows, windows[1:]):
        if b.start < a.end:
            raise _Bad(f"window {b} starts before window {a} ends; windows must follow one another")
    return phases[0] if alone else Schedule(phases, windows)


def parse_composite(spec: str) -> Composite:
    """Parse a spec (plain or composite, see the module docstring) into a :class:`Composite`.

    Every term is checked as the registry checks it (unknown names and parameters, bad values,
    missing required ones). ``str`` of the result is the canonical spec:
    ``parse_composite("pkpo:variant=s,k=8@1")`` prints ``pkpo:k=8,variant=s``.

    Args:
      spec: the spec string.

    Returns:
      a :class:`Term`, :class:`Mix` or :class:`Schedule` (frozen; equal specs give equal objects).

    Raises:
      ValueError: one line, ``objective '<spec>': <what is wrong>``.
    """
    if not isinstance(spec, str):
        raise ValueError(f"objective must be a spec string, got {type(spec).__name__}")
    try:
        return _parse(spec)
    except ValueError as exc:
        raise ValueError(f"objective {spec!r}: {exc}") from None


def as_composite(spec: Any) -> Composite:
    """``spec`` itself when it is a :class:`Composite`, else :func:`parse_composite` of it."""
    return spec if isinstance(spec, Composite) else parse_composite(spec)


def iter_terms(spec: Any) -> Iterator[Term]:
    """The static terms of :meth:`Composite.concrete` (for callers that validate each estimator)."""
    yield from as_composite(spec).concrete()
