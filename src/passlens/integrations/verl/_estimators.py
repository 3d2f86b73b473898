"""The registry estimators as verl advantage estimators, and the per-sample inputs verl does not pass them."""

from __future__ import annotations

import contextvars
import dataclasses
import math
import sys
import warnings
from types import ModuleType
from typing import Any, Callable, Mapping

import numpy as np

from ...advantages import REGISTRY
from ...advantages._array import is_torch
from ...grouping import Groups, answer_ids, group_index, grouped_advantage_info, object_array, to_numpy
from ...diagnostics import exploration_metrics
from ._config import _REGISTERED, _SUB, OBJECTIVE, PREFIX, Settings, _section, _settings

__all__ = ["estimator", "register", "state_dict", "load_state_dict"]


# ---------------------------------------------------------------------------------------
# per-sample extras: side channel from the passlens trainers, and the wrapped compute_advantage


@dataclasses.dataclass
class _RowExtras:
    """Per-row inputs a passlens trainer hands the estimator for one ``_compute_advantage`` call.

    Rows are in the order of ``batch.keys``, the order the parent trainer fetches them in.

    Attributes:
      uids: object (N,) the uid of each row (from its key ``{uid}_{session}_{index}``).
      owner: int64 (N,) for each row, the row holding its session's final output (a
        multi-output agent loop stores one row per output), or None when every row is final.
      answers: (N,) answers, or None when the estimator does not need them.
      prompts: (N,) prompt-key values, or None.
      want_metrics: whether to compute training metrics into ``stats``.
      step: updates already taken (the trainer's ``global_steps`` − 1), for a scheduled spec.
      stats: filled by the estimator: {metric: value}.
    """

    uids: np.ndarray
    owner: np.ndarray | None = None
    answers: list[Any] | None = None
    prompts: list[Any] | None = None
    want_metrics: bool = False
    step: int | None = None
    stats: dict[str, float] = dataclasses.field(default_factory=dict)


_SIDE: contextvars.ContextVar[_RowExtras | None] = contextvars.ContextVar("passlens_verl_side", default=None)
_DATA: contextvars.ContextVar[Any] = contextvars.ContextVar("passlens_verl_data", default=None)


def _wrap_compute_advantage(orig: Callable[..., Any]) -> Callable[..., Any]:
    """verl's ``compute_advantage`` unchanged, except that it remembers its DataProto for the call."""
    if getattr(orig, "__passlens_wrapped__", None) is not None:
        return orig

    def compute_advantage(data: Any, *args: Any, **kwargs: Any) -> Any:
        token = _DATA.set(data)
        try:
            return orig(data, *args, **kwargs)
        finally:
            _DATA.reset(token)

    for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(compute_advantage, attr, getattr(orig, attr, None))
    compute_advantage.__wrapped__ = orig  # type: ignore[attr-defined]
    compute_advantage.__passlens_wrapped__ = orig  # type: ignore[attr-defined]
    return compute_advantage


def _patch_compute_advantage(module: ModuleType) -> None:
    """Wrap ``module.compute_advantage`` (ray_trainer, or v1.utils which imported it by name)."""
    fn = getattr(module, "compute_advantage", None)
    if callable(fn):
        module.compute_advantage = _wrap_compute_advantage(fn)  # type: ignore[attr-defined]


def _same_rows(index: Any, uids: Any, N: int) -> bool:
    if uids is None or len(uids) != N:
        return False
    if uids is index:
        return True
    return bool(np.array_equal(np.asarray(uids, dtype=object), np.asarray(index, dtype=object)))


# ---------------------------------------------------------------------------------------
# the estimators


_STATES: dict[str, Any] = {}  # verl name → the estimator's state across steps (novelty: AnswerCounts)
_ESTIMATORS: dict[str, Callable[..., Any]] = {}  # verl name → the one function object registered


def _take(x: Any, rows: np.ndarray) -> Any:
    """x[rows] for numpy or torch (rows: int64 numpy)."""
    if is_torch(x):
        torch = sys.modules["torch"]
        return x[torch.as_tensor(rows, device=x.device)]
    return x[rows]


def _scatter(template: Any, rows: np.ndarray, values: Any) -> Any:
    """A zero (N,) array like ``template`` with ``values`` at ``rows``."""
    out = template.new_zeros(template.shape) if is_torch(template) else np.zeros_like(template)
    if is_torch(template):
        torch = sys.modules["torch"]
        out[torch.as_tensor(rows, device=template.device)] = values.to(out.dtype)
    else:
        out[rows] = values
    return out


def _missing(verl_name: str, what: str, s: Settings, under_trainer: bool, stale: bool = False) -> ValueError:
    if stale:
        return ValueError(
            f"{verl_name}: the batch verl passed is not the one the passlens trainer read from TransferQueue "
            f"(other rows or another order), so its {what} do not apply; this verl version needs a newer passlens"
        )
    if what == "answers":
        if under_trainer:
            return ValueError(
                f"{verl_name}: no sample's reward extra info holds {s.answer_key!r}: return it from compute_score "
                f"(a dict such as {{'score': ..., {s.answer_key!r}: ...}}) or set +algorithm.{_SUB}.answer_key=<key>"
            )
        return ValueError(
            f"{verl_name} needs each sample's answer ({s.answer_key!r} from compute_score's dict), which verl does not "
            f"pass to advantage estimators: set trainer.v1.trainer_mode=passlens_sync (or passlens_<mode> for "
            f"another v1 mode); on the legacy trainer return {s.answer_key!r} from compute_score"
        )
    if what == "prompt_ids":
        return ValueError(
            f"{verl_name} needs a stable prompt key per sample (field {s.prompt_key!r}), and none reached it: "
            f"set trainer.v1.trainer_mode=passlens_sync, or +algorithm.{_SUB}.prompt_key=<a field the batch holds, "
            f"e.g. index or raw_prompt>"
        )
    return ValueError(
        f"{verl_name} needs sequence log-probabilities (old_log_probs in the batch) and none reached it: "
        f"import passlens.integrations.verl before verl.trainer.ppo.ray_trainer (the verl.plugins entry point "
        f"does this on `import verl`), or set trainer.v1.trainer_mode=passlens_sync"
    )


def _estimate(
    verl_name: str,
    name: str,
    token_level_rewards: Any,
    response_mask: Any,
    index: Any,
    config: Any,
    kwargs: dict[str, Any],
) -> tuple[Any, Any]:
    """The body of every registered estimator (see the module docstring for the contract)."""
    if index is None:
        raise ValueError(f"{verl_name}: verl passed no index; passlens estimators group samples by "
                         "data.non_tensor_batch['uid'] (one uid per prompt)")
    s = _settings(name, verl_name, _section(config))
    spec = s.spec
    assert spec is not None
    if token_level_rewards.ndim != 2 or tuple(response_mask.shape) != tuple(token_level_rewards.shape):
        raise ValueError(f"{verl_name}: token_level_rewards {tuple(token_level_rewards.shape)} and response_mask "
                         f"{tuple(response_mask.shape)} must both be (bs, response_length)")
    scores = token_level_rewards.sum(-1)  # (bs,)
    if s.threshold is not None:
        hit = scores >= s.threshold
        scores = hit.to(scores.dtype) if is_torch(hit) else hit.astype(scores.dtype)
    N = int(scores.shape[0])
    uid = np.asarray(index, dtype=object) if not isinstance(index, np.ndarray) else index
    if uid.shape != (N,):
        raise ValueError(f"{verl_name}: index has shape {uid.shape}, expected ({N},): one uid per sample")

    side = _SIDE.get()
    stale = side is not None and not _same_rows(uid, side.uids, N)
    if stale:
        side = None  # not the batch the trainer read (another compute_advantage call): its rows do not apply
    ntb = kwargs.get("non_tensor_batch")
    tb = kwargs.get("batch")
    if ntb is None or tb is None:
        data = _DATA.get()
        if data is not None and _same_rows(uid, getattr(data, "non_tensor_batch", {}).get("uid"), N):
            ntb = data.non_tensor_batch if ntb is None else ntb
            tb = data.batch if tb is None else tb

    inputs: dict[str, Any] = {}
    if "answers" in spec.inputs:
        if side is not None and side.answers is not None:
            answers = side.answers
        elif ntb is not None and s.answer_key in ntb:
            answers = list(ntb[s.answer_key])
        else:
            raise _missing(verl_name, "answers", s, under_trainer=False, stale=stale)
        # numpy string scalars as str: one answer is one class whatever container carried it
        answers = [str(a) if isinstance(a, str) else a for a in answers]
        inputs["answers"] = answer_ids(answers, stable=True) if "state" in spec.inputs else object_array(answers)
    if "prompt_ids" in spec.inputs:
        if side is not None and side.prompts is not None:
            prompts = side.prompts
        elif ntb is not None and s.prompt_key in ntb:
            prompts = list(ntb[s.prompt_key])
        else:
            raise _missing(verl_name, "prompt_ids", s, under_trainer=False, stale=stale)
        # one key per uid group, read from its first row (the field is per prompt): G hashes, not N
        g_all = group_index(uid)
        first = g_all.ordered()[g_all.starts[:-1]]  # (G,)
        inputs["prompt_ids"] = answer_ids([prompts[i] for i in first.tolist()], stable=True)[g_all.group_of()]
    if "logprobs" in spec.inputs:
        if tb is None or "old_log_probs" not in tb.keys():
            raise _missing(verl_name, "logprobs", s, under_trainer=side is not None)
        olp = tb["old_log_probs"]
        inputs["logprobs"] = to_numpy((olp * response_mask).sum(-1)).astype(np.float64)  # (bs,) sequence log-prob
    if "state" in spec.inputs:
        inputs["state"] = _STATES.setdefault(verl_name, spec.new_state() if spec.new_state else None)

    # Rows that take part: the final output of each session (multi-output agent loops store one
    # row per output; the session's result is broadcast to its other rows, as verl does for grpo),
    # in groups with at least one response token (verl's synthetic padding rows form a group of
    # their own with an all-zero mask: their advantages are masked out whatever they are).
    has_tokens = to_numpy((response_mask != 0).any(-1)).astype(bool)  # (bs,)
    final = np.ones(N, dtype=bool)
    if side is not None and side.owner is not None:
        final = side.owner == np.arange(N)
    empty_groups = 0
    if not bool(has_tokens.all()):
        g = group_index(uid)
        live = np.bincount(g.group_of(), weights=has_tokens, minlength=g.n_groups) > 0  # (G,)
        empty_groups = int((~live).sum())
        final &= live[g.group_of()]
    rows = np.flatnonzero(final)
    everything = rows.size == N
    sub_scores = scores if everything else _take(scores, rows)
    sub_uid = uid if everything else uid[rows]
    sub_inputs = {k: v if everything else (np.asarray(v)[rows]) for k, v in inputs.items() if k != "state"}
    groups = group_index(sub_uid)
    step = None
    if s.objective is not None and spec.scheduled:  # type: ignore[union-attr]  # objective: a Composite
        step = _step(verl_name, side, _DATA.get())
    info = grouped_advantage_info(
        s.objective if s.objective is not None else name, sub_scores, sub_uid, state=inputs.get("state"),
        small_groups=s.small_groups, groups=groups, step=step, **sub_inputs, **s.params,  # type: ignore[arg-type]
    )
    adv = info.advantages if everything else _scatter(scores, rows, info.advantages)  # (bs,)
    if side is not None and side.owner is not None and not bool(final.all()):
        adv = _take(adv, side.owner)  # every output of a session gets the session's advantage
    out = adv[:, None] * response_mask  # (bs, L); zero outside the mask
    if is_torch(out) and out.dtype != token_level_rewards.dtype:
        out = out.to(token_level_rewards.dtype)
    elif not is_torch(out):
        out = np.asarray(out, dtype=np.result_type(token_level_rewards.dtype, np.float32))

    if side is not None and side.want_metrics:
        side.stats.update(_train_stats(s, info, groups, to_numpy(sub_scores).astype(np.float64),
                                       sub_inputs.get("answers"), empty_groups))
    return out, out


def _step(verl_name: str, side: _RowExtras | None, data: Any) -> int:
    """Updates already taken, for a spec that changes over steps: verl's ``global_steps`` counts from 1 at
    the first update, so t = global_steps − 1 (from the passlens trainer, else the batch's meta_info)."""
    if side is not None and side.step is not None:
        return side.step
    meta = getattr(data, "meta_info", None) or {}
    if isinstance(meta.get("global_steps"), (int, np.integer)) and int(meta["global_steps"]) >= 1:
        return int(meta["global_steps"]) - 1
    raise ValueError(f"{verl_name}: the objective changes over training steps, and verl did not say which step this "
                     f"is: set trainer.v1.trainer_mode=passlens_sync (the passlens trainer passes global_steps)")


def _train_stats(s: Settings, info: Any, groups: Groups, r: np.ndarray, answers: Any,
                 empty_groups: int) -> dict[str, float]:
    """Cheap per-update metrics of the training batch (groups as the estimator saw them)."""
    stats = {
        "groups": float(info.groups),
        "singleton_groups": float(info.singletons),
        "zeroed_groups": float(info.zeroed),
        "zeroed_samples": float(info.zeroed_samples),
        "padding_groups": float(empty_groups),
    }
    sizes = groups.sizes
    if r.size:
        order = groups.ordered()
        lo = np.minimum.reduceat(r[order], groups.starts[:-1])
        hi = np.maximum.reduceat(r[order], groups.starts[:-1])
        multi = sizes >= 2
        if multi.any():
            # share of groups whose samples all scored the same: no signal for a baseline estimator
            stats["flat_group_share"] = float(np.mean((lo == hi)[multi]))
        if bool(np.isin(r, (0.0, 1.0)).all()):
            k = s.params.get("k")
            ks = sorted({1} | ({int(k)} if isinstance(k, int) and 1 <= k <= int(sizes.max()) else set()))
            m = exploration_metrics(r == 1.0, None, groups=groups, ks=ks, answers=answers)
            for key in [f"pass@{k}" for k in ks] + ["never_solved", "always_solved", "distinct_correct"]:
                if key in m and not math.isnan(m[key]):
                    stats[key] = m[key]
    return stats


def estimator(name: str, *, prefix: str = PREFIX) -> Callable[..., Any]:
    """The verl advantage estimator for the registry estimator ``name`` (one object per name).

    Args:
      name: a :data:`passlens.advantages.REGISTRY` name (``"pkpo"``).
      prefix: the prefix of its verl name.

    Returns:
      ``fn(token_level_rewards, response_mask, index=None, config=None, **kwargs)`` returning
      ``(advantages, returns)``, both (bs, L), equal, zero outside ``response_mask``, in the
      dtype and device of ``token_level_rewards``. Hyperparameters come from
      ``config.passlens`` (``+algorithm.passlens.k=8``).
    """
    if name not in REGISTRY and name != OBJECTIVE:
        raise ValueError(f"unknown passlens estimator {name!r}; valid names: {', '.join(REGISTRY)}, {OBJECTIVE}")
    verl_name = prefix + name
    fn = _ESTIMATORS.get(verl_name)
    if fn is not None:
        return fn

    def passlens_estimator(token_level_rewards: Any, response_mask: Any, index: Any = None, config: Any = None,
                           **kwargs: Any) -> tuple[Any, Any]:
        return _estimate(verl_name, name, token_level_rewards, response_mask, index, config, kwargs)

    passlens_estimator.__name__ = passlens_estimator.__qualname__ = verl_name
    what = REGISTRY[name].target if name in REGISTRY else f"the spec of algorithm.{_SUB}.{OBJECTIVE}"
    passlens_estimator.__doc__ = f"passlens '{name}' advantage estimator for verl ({what}); see passlens.integrations.verl."
    passlens_estimator.__passlens_estimator__ = name  # type: ignore[attr-defined]
    _ESTIMATORS[verl_name] = passlens_estimator
    return passlens_estimator


def register(prefix: str = PREFIX) -> list[str]:
    """Register every registry estimator in verl's advantage registry as ``<prefix><name>``.

    Idempotent: a name already bound to a passlens estimator is rebound to this module's
    function object (verl's ``register_adv_est`` refuses to rebind a name to a different
    function, so the registry is written directly then); a name bound to someone else's
    function is left alone with a warning. Also wraps verl's ``compute_advantage`` (see the
    module docstring) and arranges for the passlens trainers to be registered when verl's v1
    trainer package is imported.

    Args:
      prefix: name prefix (``algorithm.adv_estimator=<prefix><name>``).

    Returns:
      the verl names now bound to passlens estimators, in registry order.
    """
    from verl.trainer.ppo import core_algos

    registry = core_algos.ADV_ESTIMATOR_REGISTRY
    names = []
    for name in [*REGISTRY, OBJECTIVE]:
        verl_name = prefix + name
        fn = estimator(name, prefix=prefix)
        existing = registry.get(verl_name)
        if existing is None or existing is fn:
            core_algos.register_adv_est(verl_name)(fn)
        elif getattr(existing, "__passlens_estimator__", None) == name:
            registry[verl_name] = fn  # an earlier copy of this module (reload): same estimator
        else:
            warnings.warn(f"passlens: verl estimator name {verl_name!r} is taken by {existing!r}; not registered",
                          RuntimeWarning, stacklevel=2)
            continue
        _REGISTERED[verl_name] = name
        names.append(verl_name)
    from ._hooks import install_hooks

    install_hooks()
    return names


# ---------------------------------------------------------------------------------------
# state across steps (novelty)


def state_dict() -> dict[str, Any]:
    """The estimators' state in this process (``novelty``'s answer counts), JSON-friendly.

    Returns:
      {verl name: AnswerCounts.state_dict()} for every estimator that holds a state.
    """
    return {name: st.state_dict() for name, st in _STATES.items() if hasattr(st, "state_dict")}


def load_state_dict(state: Mapping[str, Any]) -> None:
    """Restore :func:`state_dict` (e.g. after a resumed run)."""
    for verl_name, snap in state.items():
        name = _REGISTERED.get(verl_name, verl_name[len(PREFIX):] if verl_name.startswith(PREFIX) else verl_name)
        spec = REGISTRY.get(name)
        if spec is None or spec.new_state is None:
            raise ValueError(f"passlens state for {verl_name!r}: not a stateful passlens estimator")
        st = spec.new_state()
        st.load_state_dict(snap)
        _STATES[verl_name] = st
