"""Samples grouped by an index, and the registry's advantages applied per group.

Trainers hand advantage estimators a flat batch: one score per sample (N,) and an
``index`` (N,) naming each sample's group (verl's ``uid``: one uuid string per prompt
and step). The samples of a group need not be adjacent (verl's ``balance_batch``
reorders them) and groups need not have one size (DAPO-style filtering, evicted
failed rollouts). :func:`group_index` finds the groups; :func:`grouped_advantage`
runs :func:`passlens.advantage` on each bucket of equal-size groups, reshaped to the
registry's (B, n) convention, and scatters the result back to sample order.

Conventions (shared by every adapter):

* a group of one sample gets advantage 0 (no baseline exists: verl's
  ``rloo_vectorized`` does the same; verl's loop ``grpo`` / ``rloo`` return A = r);
* a group smaller than the estimator needs (``pkpo:k=8`` on a group cut to 3) is a
  one-line ValueError naming the group and its size, unless ``small_groups="zero"``
  (advantage 0, counted in :class:`GroupedAdvantage`); never a silent wrong value;
* numpy or torch in, the same type, dtype and device out (the math runs in numpy).

numpy and polars only: nothing here imports a training framework. The trainer adapters of
:mod:`passlens.integrations` and the package's own RL loop share it.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import sys
from typing import Any, Callable, Iterator, Literal

import numpy as np

from .advantages import REGISTRY, Composite, EstimatorSpec, Term, advantage, as_composite, is_composite, parse_spec
from .advantages._array import MAX_REWARD, is_torch

__all__ = [
    "Groups",
    "group_index",
    "group_size_problem",
    "estimator_entry",
    "object_array",
    "to_numpy",
    "answer_ids",
    "grouped_advantage",
    "GroupedAdvantage",
    "grouped_advantage_info",
    "SmallGroups",
]

SmallGroups = Literal["error", "zero"]


# ---------------------------------------------------------------------------------------
# grouping


@dataclasses.dataclass(frozen=True)
class Groups:
    """A partition of N samples into G groups of equal index values.

    Groups are numbered in order of first appearance; inside a group, samples keep
    their batch order.

    Attributes:
      positions: int64 (N,) sample positions, group after group; None when the batch
        is already laid out that way (every group a contiguous run), i.e. arange(N).
      starts: int64 (G + 1,) offsets into ``positions``: group g holds
        ``positions[starts[g]:starts[g + 1]]``.
      keys: (G,) the index value of each group (for messages), as given.
    """

    positions: np.ndarray | None
    starts: np.ndarray
    keys: np.ndarray

    @property
    def n_samples(self) -> int:
        return int(self.starts[-1])

    @property
    def n_groups(self) -> int:
        return int(self.starts.size - 1)

    @property
    def sizes(self) -> np.ndarray:
        """int64 (G,) samples per group."""
        return np.diff(self.starts)

    @property
    def contiguous(self) -> bool:
        return self.positions is None

    def ordered(self) -> np.ndarray:
        """int64 (N,) sample positions, group after group (``positions`` or arange(N))."""
        return np.arange(self.n_samples, dtype=np.int64) if self.positions is None else self.positions

    def group_of(self) -> np.ndarray:
        """int64 (N,) the group number of every sample, in batch order."""
        g = np.repeat(np.arange(self.n_groups, dtype=np.int64), self.sizes)  # (N,) in grouped order
        if self.positions is None:
            return g
        out = np.empty_like(g)
        out[self.positions] = g
        return out

    def buckets(self) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Groups of one size at a time, smallest size first.

        Yields:
          (s, groups, pos): the size s, int64 (G_s,) group numbers, and int64 (G_s, s)
          the sample positions of those groups (row g = one group, batch order).
        """
        sizes = self.sizes
        if sizes.size == 0:
            return
        s0 = int(sizes[0])
        if bool((sizes == s0).all()):  # the common case: one size, a reshape instead of a gather
            yield s0, np.arange(sizes.size, dtype=np.int64), self.ordered().reshape(-1, s0)
            return
        ordered = self.ordered()
        for s in np.unique(sizes).tolist():
            gs = np.flatnonzero(sizes == s)
            yield s, gs, ordered[self.starts[gs][:, None] + np.arange(s)]


def _as_index_array(index: object) -> np.ndarray:
    """The index as a 1-D numpy array (object dtype for Python strings and mixed values)."""
    if index is None:
        raise ValueError("index is required: one group id per sample (verl's uid)")
    if is_torch(index):
        index = index.detach().cpu().numpy()
    arr = index if isinstance(index, np.ndarray) else object_array(index)
    if arr.ndim != 1:
        raise ValueError(f"index must be 1-D (one group id per sample), got shape {arr.shape}")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ValueError(f"index must name groups; sample {int(np.flatnonzero(bad)[0])} has {arr[bad][0].item()!r}")
    return arr


def object_array(values: object) -> np.ndarray:
    """A 1-D object array of the values (tuples stay elements, not rows)."""
    items = list(values)  # type: ignore[call-overload]
    return np.fromiter(items, dtype=object, count=len(items))


def _runs(arr: np.ndarray) -> np.ndarray:
    """int64 (R + 1,) offsets of the runs of equal adjacent values."""
    # One vectorized pass; on object arrays numpy compares neighbours in C (str == str is a memcmp).
    change = np.flatnonzero(arr[1:] != arr[:-1]) + 1
    return np.concatenate(([0], change, [arr.size])).astype(np.int64)


def _distinct(values: np.ndarray) -> bool:
    """Whether the run heads are pairwise distinct (then every group is one run)."""
    if values.dtype.kind in "biufUS":
        v = np.sort(values)
        return not bool((v[1:] == v[:-1]).any())
    try:
        return len(set(values.tolist())) == values.size
    except TypeError:
        raise ValueError("index values must be hashable (strings or integers)") from None


def _factorize(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group positions (N,) and offsets (G + 1,) of a non-contiguous index, exactly.

    polars does the hash group-by (one copy of the strings into Arrow memory, then a
    multi-threaded hash table); values polars cannot type (mixed kinds, tuples) go
    through a Python dict, about twice as slow.
    """
    import polars as pl

    try:
        series = pl.Series("key", arr, strict=True)
    except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
        series = None
    if series is not None and series.dtype != pl.Object:
        frame = series.to_frame().with_row_index("pos")
        # one list of positions per group; read through Arrow (offsets and flat values, no copy):
        # polars' own list.len() / explode() would run two more queries
        grouped = frame.group_by("key", maintain_order=True).agg(pl.col("pos"))["pos"].to_arrow()
        sizes = np.diff(grouped.offsets.to_numpy()).astype(np.int64)
        positions = grouped.flatten().to_numpy().astype(np.int64)
    else:
        codes: dict[Any, int] = {}
        try:
            code = np.fromiter(map(lambda v: codes.setdefault(v, len(codes)), arr.tolist()), np.int64, arr.size)
        except TypeError:
            raise ValueError("index values must be hashable (strings or integers)") from None
        positions = np.argsort(code, kind="stable").astype(np.int64)
        sizes = np.bincount(code, minlength=len(codes)).astype(np.int64)
    starts = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    return positions, starts


def group_index(index: object) -> Groups:
    """Partition samples by their index value, in any order.

    Fast path: when every group is one contiguous run (trainers that repeat each
    prompt n times in a row), the runs are found by comparing neighbours (one
    vectorized pass) and checked to have distinct values; no sort, no hashing.
    Otherwise the index is factorized exactly (polars hash group-by).

    Args:
      index: (N,) group ids: numpy or torch array, or a sequence of hashable values
        (verl: an object array of uuid strings).

    Returns:
      :class:`Groups`.
    """
    arr = _as_index_array(index)
    if arr.size == 0:
        return Groups(None, np.zeros(1, dtype=np.int64), arr[:0])
    # A shuffled batch shows a repeated run head within its first few thousand samples: look there
    # first, so that the common non-contiguous case skips the full pass over neighbours.
    prefix = arr[:4096]
    if _distinct(prefix[_runs(prefix)[:-1]]):
        starts = _runs(arr)
        heads = arr[starts[:-1]]
        if _distinct(heads):
            return Groups(None, starts, heads)
    positions, starts = _factorize(arr)
    return Groups(positions, starts, arr[positions[starts[:-1]]])


# ---------------------------------------------------------------------------------------
# per-sample inputs


def _text(value: Any) -> str:
    """The text an answer is hashed through: a string itself, anything else its type and repr."""
    return value if type(value) is str else f"\x00{type(value).__name__}:{value!r}"


def _blake2b_64(texts: list[str]) -> np.ndarray:
    """int64 (N,): the first 8 bytes of BLAKE2b of each text's UTF-8 (each distinct text hashed once)."""
    memo: dict[str, int] = {}
    for t in texts:
        if t not in memo:
            digest = hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=8).digest()
            memo[t] = int.from_bytes(digest, "little", signed=True)
    return np.fromiter(map(memo.__getitem__, texts), dtype=np.int64, count=len(texts))


def answer_ids(answers: object, *, stable: bool = False) -> np.ndarray:
    """Answer-class ids int64 (N,) from per-sample answers (equal answers, equal ids).

    Integers (numpy or torch arrays, Python or numpy ints) are used as they are. Strings
    (e.g. the ``pred`` a reward function extracted) are hashed to 64 bits; any other value
    through its type name and ``repr``, so every ``None`` is one class and ``1``, ``"1"``
    and ``1.0`` are three. Two different answers share an id with probability ≈ 2⁻⁶⁴ per
    pair: below 10⁻¹⁶ for a group of 64 samples.

    Args:
      answers: (N,) answers, one per sample.
      stable: hash with BLAKE2b (the same ids in every process and library version: for
        ids that outlive a step, such as ``novelty``'s checkpointed counts; ~1 µs per distinct
        answer) instead of polars' seeded string hash (the same in every process of one
        polars version; ~30 ns per answer, vectorized).

    Returns:
      int64 (N,).
    """
    if is_torch(answers):
        answers = to_numpy(answers)
    arr = answers if isinstance(answers, np.ndarray) else object_array(answers)
    if arr.ndim != 1:
        raise ValueError(f"answers must be 1-D (one answer per sample), got shape {arr.shape}")
    if arr.dtype.kind in "iub":
        if arr.dtype.kind == "u" and arr.size and int(arr.max()) >= 2**63:
            raise ValueError("integer answers must fit in int64")
        return arr.astype(np.int64)
    values = arr.tolist()
    kinds = set(map(type, values))
    if kinds <= {str}:
        texts = values
        ints = None
    else:
        ints = np.array([isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
                         and -2**63 <= int(v) < 2**63 for v in values], dtype=bool)  # (N,) kept as they are
        texts = [_text(v) for v in values]
    if stable:
        out = _blake2b_64(texts)
    else:
        import polars as pl

        out = pl.Series(texts, dtype=pl.String).hash().to_numpy().view(np.int64)  # uint64 → int64 (N,)
    if ints is not None and ints.any():
        out = out.copy()
        out[ints] = [int(values[i]) for i in np.flatnonzero(ints)]
    return out


def _as_scores(scores: object) -> np.ndarray:
    """Scores as a 1-D numeric numpy array (a view where possible; torch is copied to the CPU)."""
    if is_torch(scores):
        arr = scores.detach().cpu().numpy() if scores.dtype != sys.modules["torch"].bfloat16 else (
            scores.detach().cpu().double().numpy())
    else:
        arr = np.asarray(scores)
    if arr.ndim != 1:
        raise ValueError(f"scores must be 1-D (one score per sample), got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"scores must be numeric, got dtype {arr.dtype}")
    return arr


def _restorer(scores: object) -> Callable[[np.ndarray], Any]:
    """A function that puts a float64 (N,) numpy result into the type, dtype and device of ``scores``."""
    if is_torch(scores):
        torch = sys.modules["torch"]
        dtype = scores.dtype if scores.is_floating_point() else torch.get_default_dtype()
        device = scores.device
        return lambda out: torch.from_numpy(out).to(device=device, dtype=dtype)
    raw = np.asarray(scores)
    out_dtype = raw.dtype if raw.dtype.kind == "f" else np.dtype(np.float64)
    return lambda out: out.astype(out_dtype, copy=False)


def to_numpy(values: object) -> np.ndarray:
    """numpy view of an array-like; a torch tensor is detached and copied to the CPU."""
    return values.detach().cpu().numpy() if is_torch(values) else np.asarray(values)


def _per_sample(values: object, N: int, name: str) -> np.ndarray:
    arr = to_numpy(values)
    if arr.shape != (N,):
        raise ValueError(f"{name} must hold one value per sample, shape ({N},); got shape {arr.shape}")
    return arr


# ---------------------------------------------------------------------------------------
# grouped advantage


@dataclasses.dataclass(frozen=True)
class GroupedAdvantage:
    """Advantages of a flat batch and what the grouping did.

    Attributes:
      advantages: (N,) same type, dtype and device as the scores.
      groups: number of groups G.
      singletons: groups of one sample (advantage 0).
      zeroed: groups smaller than the estimator needs, given advantage 0 under
        ``small_groups="zero"`` (their samples count in ``zeroed_samples``).
      zeroed_samples: samples in those groups.
      sizes: the distinct group sizes, ascending.
    """

    advantages: Any
    groups: int
    singletons: int
    zeroed: int
    zeroed_samples: int
    sizes: tuple[int, ...]


@functools.lru_cache(maxsize=256)
def _size_problem(spec: str, params: tuple[tuple[str, Any], ...], s: int) -> str | None:
    """Why the estimator rejects groups of s samples (its own message), or None.

    Found by running it on one group of s zero rewards (with zero answers and
    log-probabilities and a fresh state where it needs them): the registry is the one
    authority on what each estimator needs of n, so nothing is restated here.
    """
    new_state = None if is_composite(spec) else REGISTRY[parse_spec(spec)[0]].new_state
    probe = {"answers": np.zeros((1, s), dtype=np.int64), "logprobs": np.zeros((1, s)),
             "state": new_state() if new_state else None, "prompt_ids": [0]}
    try:
        advantage(spec, np.zeros((1, s)), **probe, **dict(params))
    except ValueError as e:
        return str(e)
    return None


def estimator_entry(spec: Any) -> EstimatorSpec | Composite:
    """What a spec names: its registry entry (a plain spec) or the parsed composite; both answer
    ``name``, ``inputs``, ``binary_only``, ``unbiased``, ``target`` and ``new_state``.

    Raises:
      ValueError: an unknown estimator, bad or missing parameters, a bad composite.
    """
    if isinstance(spec, Composite) or is_composite(spec):
        return as_composite(spec)
    name, params = parse_spec(spec)
    est = REGISTRY[name]
    est.resolve(params)
    return est


def group_size_problem(spec: Any, size: int) -> str | None:
    """Why the estimator ``spec`` rejects a group of ``size`` samples (the registry's message), or None.

    A composite spec (:mod:`passlens.advantages.compose`) is checked on every estimator some
    step uses; the first one's problem is returned.

    Raises:
      ValueError: an unknown estimator or bad parameters.
    """
    if isinstance(spec, Composite) or is_composite(spec):
        for term in as_composite(spec).concrete():
            problem = group_size_problem(str(term), size)
            if problem is not None:
                return problem
        return None
    name, spec_params = parse_spec(spec)
    resolved = REGISTRY[name].resolve(spec_params)
    return _size_problem(name, tuple(sorted(resolved.items())), int(size))


def _label(key: Any) -> str:
    text = repr(key.item() if isinstance(key, np.generic) else key)
    return text if len(text) <= 60 else text[:57] + "..."


def grouped_advantage_info(
    spec: str,
    scores: object,
    index: object,
    *,
    answers: object = None,
    logprobs: object = None,
    state: object = None,
    prompt_ids: object = None,
    small_groups: SmallGroups = "error",
    groups: Groups | None = None,
    step: Any = None,
    **params: Any,
) -> GroupedAdvantage:
    """:func:`grouped_advantage` with counts of what the grouping did (for trainer logs).

    Args: as :func:`grouped_advantage`, plus ``groups``: a :class:`Groups` of ``index``
    computed earlier (skips the grouping; ``index`` is then only checked for length).
    """
    if small_groups not in ("error", "zero"):
        raise ValueError(f"small_groups must be 'error' or 'zero', got {small_groups!r}")
    if isinstance(spec, Composite) or (isinstance(spec, str) and is_composite(spec)):
        comp = as_composite(spec)
        if params:
            raise ValueError(f"objective {str(comp)!r}: keyword parameter(s) {', '.join(sorted(params))} apply "
                             "to one estimator; write them into the spec")
        static = comp.at(step)  # the mix in force at this step (step required when scheduled)
        if isinstance(static, Term):  # one estimator alone at this step: the plain path
            spec = str(static)
        else:  # a fixed mix, grouped as one estimator (a group too small for one part is too small for it)
            return _grouped(str(static), static.inputs, {}, scores, index, answers, logprobs, state, prompt_ids,
                            small_groups, groups)
    name, spec_params = parse_spec(spec) if isinstance(spec, str) else (spec, {})
    est = REGISTRY[name]
    clash = sorted(set(spec_params) & set(params))
    if clash:
        raise ValueError(f"{name}: parameter(s) {', '.join(clash)} given both in the spec and as keywords")
    resolved = est.resolve({**spec_params, **params})  # unknown / missing / ill-typed params fail here, once
    return _grouped(name, est.inputs, resolved, scores, index, answers, logprobs, state, prompt_ids, small_groups,
                    groups)


def _grouped(name: str, needs: tuple[str, ...], resolved: dict[str, Any], scores: object, index: object,
             answers: object, logprobs: object, state: object, prompt_ids: object, small_groups: SmallGroups,
             groups: Groups | None) -> GroupedAdvantage:
    """The body of :func:`grouped_advantage_info` for the estimator (or fixed mix) ``name`` with
    resolved params, which needs the inputs ``needs``."""
    key = tuple(sorted(resolved.items()))

    r = _as_scores(scores)
    N = r.size
    # Two reductions (NaN fails both comparisons); the offender is located only on failure.
    if N and not (-MAX_REWARD <= float(r.min()) and float(r.max()) <= MAX_REWARD):
        i = int(np.flatnonzero(~(np.abs(r.astype(np.float64)) <= MAX_REWARD))[0])
        raise ValueError(f"{name}: scores must be finite and within ±{MAX_REWARD:g}; sample {i} has {r[i].item()!r}")
    if groups is None:
        groups = group_index(index)
    if groups.n_samples != N:
        raise ValueError(f"index has {groups.n_samples} entries, scores has {N}; they must match")
    per_sample = {"answers": answers, "logprobs": logprobs, "prompt_ids": prompt_ids}
    inputs: dict[str, Any] = {}
    for inp in needs:
        if inp == "state":
            if state is None:
                raise ValueError(f"{name} needs state= (e.g. REGISTRY[{name!r}].new_state(), kept across steps)")
            continue
        if per_sample[inp] is None:
            raise ValueError(f"{name} needs the per-sample input {inp}= (one value per sample)")
        inputs[inp] = _per_sample(per_sample[inp], N, inp)
    if "answers" in inputs:
        inputs["answers"] = answer_ids(inputs["answers"])

    sizes = groups.sizes
    if groups.contiguous and N and bool((sizes == sizes[0]).all()) and sizes[0] >= 2 \
            and _size_problem(name, key, int(sizes[0])) is None and "prompt_ids" not in inputs:
        # One size, every group a run: the batch is already (G, s) in row-major order. No gather, no
        # scatter, no copy: the registry call sees a reshaped view and returns the caller's type.
        s0 = int(sizes[0])
        view: dict[str, Any] = {k: v.reshape(-1, s0) for k, v in inputs.items()}
        if "state" in needs:
            view["state"] = state
        adv = advantage(name, _reshape(scores, r, s0), **view, **resolved).reshape(-1)
        return GroupedAdvantage(adv, groups.n_groups, 0, 0, 0, (s0,))

    restore = _restorer(scores)
    out = np.zeros(N, dtype=np.float64)
    singletons = zeroed = zeroed_samples = 0
    seen: list[int] = []
    stateful = "state" in needs
    pending: list[tuple[np.ndarray, np.ndarray]] = []  # (prompt ids, answers) to record after all lookups
    for s, gs, pos in groups.buckets():
        seen.append(s)
        if s == 1:
            singletons += gs.size
            continue
        problem = _size_problem(name, key, s)
        if problem is not None:
            if _size_problem(name, key, max(2 * s, 64)) is not None:  # fails at any size: a parameter problem
                raise ValueError(problem)
            if small_groups == "error":
                raise ValueError(
                    f"{name}: group {_label(groups.keys[gs[0]])} has {s} samples, too few ({problem}); "
                    "pass small_groups='zero' to give such groups advantage 0"
                )
            zeroed += gs.size
            zeroed_samples += gs.size * s
            continue
        bucket_params: dict[str, Any] = dict(resolved)
        bucket: dict[str, Any] = {k: v[pos] for k, v in inputs.items() if k != "prompt_ids"}
        if "prompt_ids" in inputs:
            p = inputs["prompt_ids"][pos]  # (G_s, s)
            same = (p == p[:, :1]).all(axis=1)
            if not bool(same.all()):
                g = int(np.flatnonzero(~same)[0])
                raise ValueError(f"{name}: prompt_ids differ within group {_label(groups.keys[gs[g]])}")
            bucket_params["prompt_ids"] = p[:, 0]
        if stateful:
            bucket["state"] = state
            if bucket_params.get("update", False):  # record every bucket only after all have looked up
                bucket_params["update"] = False
                pending.append((bucket_params["prompt_ids"], bucket["answers"]))
        out[pos] = advantage(name, r[pos], **bucket, **bucket_params)
    if pending:
        _record_all(state, pending)
    return GroupedAdvantage(restore(out), groups.n_groups, singletons, zeroed, zeroed_samples, tuple(seen))


def _reshape(scores: object, r: np.ndarray, s: int) -> Any:
    """``scores`` as (N / s, s): the caller's torch tensor itself when it is one, else the numpy view."""
    return scores.reshape(-1, s) if is_torch(scores) else r.reshape(-1, s)


def _record_all(state: Any, batches: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """Record several buckets of one step in an AnswerCounts, discounting once."""
    discount = state.discount
    try:
        for i, (prompts, answers) in enumerate(batches):
            state.discount = discount if i == 0 else 1.0  # the step's discount applies once, not per bucket
            state.update(prompts, answers)
    finally:
        state.discount = discount


def grouped_advantage(
    spec: str,
    scores: object,
    index: object,
    *,
    answers: object = None,
    logprobs: object = None,
    state: object = None,
    prompt_ids: object = None,
    small_groups: SmallGroups = "error",
    step: Any = None,
    **params: Any,
) -> Any:
    """:func:`passlens.advantage` applied per group of equal ``index``, in any sample order.

    For each group g with samples S_g: A[S_g] = advantage(spec, scores[S_g][None])[0],
    computed for all groups of one size at once. Group sizes may differ (ragged);
    samples of a group need not be adjacent.

    Args:
      spec: a registry name or spec string (``"pkpo:k=8"``); ``params`` add to it.
      scores: float (N,), numpy or torch: one scalar reward per sample.
      index: (N,) group ids (verl's uid strings; ints; any hashable values).
      answers: (N,) answers for ``coverage`` / ``novelty``: ints, or strings and other
        values mapped to ids by :func:`answer_ids`.
      logprobs: float (N,) sequence log-probabilities (``unlikeliness``).
      state: the estimator's memory across steps (``novelty``: an ``AnswerCounts``).
      prompt_ids: (N,) a stable prompt key per sample (``novelty``; verl's uids change
        every step); must be constant within a group.
      small_groups: "error" (default): a group smaller than the estimator needs raises
        ValueError naming it; "zero": such groups get advantage 0.
      step: training updates already taken; required by a composite spec that changes over
        steps (``coverage:k=8/300/rloo``), ignored otherwise. A mix of estimators is grouped as
        one: a group too small for one part is too small for the mix.
      **params: the estimator's hyperparameters.

    Returns:
      (N,) advantages, same type, dtype and device as ``scores``; 0 for groups of one
      sample (and for small groups under ``small_groups="zero"``).

    Raises:
      ValueError: unknown spec or parameters, a missing input, lengths that differ,
        non-finite scores (naming the sample), a too-small group (naming it).
    """
    return grouped_advantage_info(
        spec, scores, index, answers=answers, logprobs=logprobs, state=state, prompt_ids=prompt_ids,
        small_groups=small_groups, step=step, **params,
    ).advantages
