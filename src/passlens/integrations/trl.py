"""TRL's GRPO trainer with registry advantages and unbiased pass@k metrics.

:class:`PasslensGRPOTrainer` is ``trl.GRPOTrainer`` (TRL ≥ 1.10, < 2) with two things added:

* ``advantage="pkpo:k=8"`` (any :data:`passlens.advantages.REGISTRY` spec, or a composite such
  as ``"coverage:k=8/200-400/rloo"`` whose step is TRL's ``state.global_step``) replaces the
  advantages TRL computed, group by group, with the registry's;
* ``passlens/pass@k``, ``pass^k``, ``maj@k``, ``coverage@k``, ``max@k`` and the collapse
  indicators of :func:`passlens.integrations.exploration_metrics` are logged through TRL's own
  metric log, at every generation batch, in training and evaluation (``eval_passlens/...``).

TRL has no advantage hook: it computes advantages inline in
``GRPOTrainer._generate_and_score_completions`` (TRL 1.16.0, ``grpo_trainer.py`` L2759–2818), and
its maintainers' advice is to subclass and override that method (huggingface/trl#4525). This
module overrides two methods and copies none of TRL's code:

* ``_calculate_rewards``: calls TRL's, keeps the gathered ``rewards_per_func`` (N, F) and, when
  ``answer_fn`` is given, gathers one answer per sample from every process;
* ``_generate_and_score_completions``: calls TRL's, then recomputes the advantages of the whole
  gathered batch with :func:`trl_advantages`, keeps this process's slice (:func:`process_slice`)
  and writes the values used into the completions table (``self._logs["advantages"]``).

What "reward" means here is TRL's ``multi_objective_aggregation="sum_then_normalize"``
definition before any normalisation: r_i = Σ_f w_f · r_{i,f} over the reward functions that
scored sample i (``nansum``, ``reward_weights`` respected). A sample that every reward function
returned ``None`` for is *unscorable*: it is left out of its group (the group becomes ragged, see
:func:`passlens.integrations.grouped_advantage`) and gets advantage 0, as in TRL.

Shapes: N = total samples in the gathered batch = num_processes · n_local, grouped in contiguous
runs of G = ``num_generations`` (TRL's ``RepeatSampler`` repeats each prompt G times in a row and
``gather`` concatenates processes in order).

Switch point: should TRL merge its advantage hook (huggingface/trl#7298,
``_transform_advantages(advantages)``, applied to the gathered advantages before logging and
slicing), :meth:`PasslensGRPOTrainer._passlens_advantages` can be returned from that hook instead
of being patched in after ``_generate_and_score_completions``; the ``_calculate_rewards`` capture
stays, since that hook receives advantages only.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import importlib.metadata
import inspect
import math
import warnings
from typing import Any, Callable, Hashable, Literal, Mapping, Sequence

import numpy as np

from ..advantages import Composite, EstimatorSpec
from ..grouping import (
    GroupedAdvantage,
    SmallGroups,
    estimator_entry,
    group_size_problem,
    grouped_advantage_info,
    object_array,
)
from ..diagnostics import exploration_metrics

__all__ = [
    "PasslensGRPOTrainer",
    "SUPPORTED_TRL",
    "check_trl_version",
    "check_trainer_api",
    "process_slice",
    "weighted_rewards",
    "correctness",
    "trl_advantages",
    "trl_metrics",
    "replace_tail",
    "UNBIASED_LOSS_TYPES",
]

#: TRL versions this adapter supports (the overridden methods have one structure there: read in
#: the 1.10.0.dev0 sources and tested against the 1.16.0 release).
SUPPORTED_TRL = ">=1.10,<2"
_MIN_TRL = (1, 10)
_MAX_TRL = (2,)

#: TRL ``loss_type`` values whose normaliser is a constant, so that the loss gradient is
#: c · Σ_i A_i ∇log π(y_i) and a registry estimator marked ``unbiased`` stays unbiased.
UNBIASED_LOSS_TYPES = ("dr_grpo",)

#: The methods this adapter overrides, with the parameters it calls them with.
_OVERRIDDEN = {
    "_calculate_rewards": ("inputs", "prompts", "completions", "completion_ids_list"),
    "_generate_and_score_completions": ("inputs",),
}

AnswerFn = Callable[..., Sequence[Hashable]]
PromptKeyFn = Callable[[Mapping[str, Any]], Hashable]
Mode = Literal["train", "eval"]


# ---------------------------------------------------------------------------------------
# version and API checks (pure)


def check_trl_version(version: str) -> None:
    """Raise ImportError unless ``version`` is a TRL release this adapter supports.

    Pre-releases count as their release (``1.10.0.dev0`` is 1.10).

    Args:
      version: the installed TRL version string (``importlib.metadata.version("trl")``).

    Raises:
      ImportError: one line naming the installed version and :data:`SUPPORTED_TRL`.
    """
    from packaging.version import InvalidVersion, Version

    try:
        release = Version(version).release
    except InvalidVersion:
        raise ImportError(
            f"passlens.integrations.trl supports trl{SUPPORTED_TRL}; cannot read the installed version {version!r}"
        ) from None
    if not (_MIN_TRL <= release < _MAX_TRL):
        raise ImportError(
            f"passlens.integrations.trl supports trl{SUPPORTED_TRL}, found trl {version}; "
            f"install a supported version: pip install 'trl{SUPPORTED_TRL}'"
        )


def check_trainer_api(trainer_cls: type, version: str = "?") -> None:
    """Raise ImportError unless ``trainer_cls`` has the methods this adapter overrides.

    Checks that ``_calculate_rewards(inputs, prompts, completions, completion_ids_list)`` and
    ``_generate_and_score_completions(inputs)`` exist with those parameter names.

    Args:
      trainer_cls: ``trl.GRPOTrainer``.
      version: the TRL version, for the message.

    Raises:
      ImportError: one line naming the missing or changed method.
    """
    for name, params in _OVERRIDDEN.items():
        fn = getattr(trainer_cls, name, None)
        if not callable(fn):
            raise ImportError(
                f"passlens.integrations.trl: trl {version} GRPOTrainer has no {name}(); supported: trl{SUPPORTED_TRL}"
            )
        got = tuple(inspect.signature(fn).parameters)[1:]
        if got != params:
            raise ImportError(
                f"passlens.integrations.trl: trl {version} GRPOTrainer.{name} takes ({', '.join(got)}), "
                f"expected ({', '.join(params)}); supported: trl{SUPPORTED_TRL}"
            )


try:
    _TRL_VERSION = importlib.metadata.version("trl")
except importlib.metadata.PackageNotFoundError:
    raise ImportError(
        f"passlens.integrations.trl needs TRL: pip install 'passlens[trl]' (trl{SUPPORTED_TRL})"
    ) from None
check_trl_version(_TRL_VERSION)

import torch  # noqa: E402  (after the version check: a clear message first)
from accelerate.utils import gather_object  # type: ignore[import-untyped]  # noqa: E402
from trl import GRPOTrainer  # noqa: E402

check_trainer_api(GRPOTrainer, _TRL_VERSION)


# ---------------------------------------------------------------------------------------
# pure helpers (no trainer)


def process_slice(process_index: int, num_processes: int, n_local: int, n_global: int) -> slice:
    """This process's rows of the gathered batch, as TRL slices them.

    TRL gathers equal local batches in process order, so process p holds rows
    [p · n_local, (p + 1) · n_local) of the N = num_processes · n_local gathered rows.

    Args:
      process_index: p, 0 ≤ p < num_processes (``accelerator.process_index``).
      num_processes: ``accelerator.num_processes``.
      n_local: samples on this process (``len(prompts)``).
      n_global: rows of the gathered batch.

    Returns:
      ``slice(p · n_local, (p + 1) · n_local)``.

    Raises:
      ValueError: a process index out of range, or n_global ≠ num_processes · n_local.
    """
    if num_processes < 1 or not 0 <= process_index < num_processes:
        raise ValueError(f"process_index must be in [0, {num_processes}), got {process_index}")
    if n_local < 0 or n_global != num_processes * n_local:
        raise ValueError(
            f"the gathered batch has {n_global} rows, expected {num_processes} processes × {n_local} local samples"
        )
    return slice(process_index * n_local, (process_index + 1) * n_local)


def weighted_rewards(rewards_per_func: torch.Tensor, reward_weights: torch.Tensor) -> torch.Tensor:
    """Per-sample reward r_i = Σ_f w_f · r_{i,f} over the functions that scored sample i.

    TRL's ``sum_then_normalize`` reward before normalisation (``nansum`` over reward
    functions); a row every function returned ``None`` for (all NaN) is unscorable: NaN.

    Args:
      rewards_per_func: float (N, F), NaN where a reward function returned ``None``.
      reward_weights: float (F,).

    Returns:
      float (N,), same dtype and device as ``rewards_per_func``; NaN on unscorable rows.
    """
    if rewards_per_func.ndim != 2 or reward_weights.shape != (rewards_per_func.shape[1],):
        raise ValueError(
            f"rewards_per_func must be (N, F) and reward_weights (F,); got {tuple(rewards_per_func.shape)} "
            f"and {tuple(reward_weights.shape)}"
        )
    w = reward_weights.to(device=rewards_per_func.device, dtype=rewards_per_func.dtype)
    r = (rewards_per_func * w.unsqueeze(0)).nansum(dim=1)  # (N,)
    return r.masked_fill(torch.isnan(rewards_per_func).all(dim=1), float("nan"))


def correctness(
    rewards_per_func: torch.Tensor,
    reward_weights: torch.Tensor,
    *,
    threshold: float = 0.0,
    reward_index: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which samples count as correct for the metrics: reward > threshold.

    The reward is the weighted sum r_i (:func:`weighted_rewards`), or reward function
    ``reward_index`` alone (e.g. the accuracy reward next to a format reward). Samples
    whose reward is NaN (unscorable, or that function returned ``None``) are left out.

    Args:
      rewards_per_func: float (N, F).
      reward_weights: float (F,).
      threshold: correct ⇔ reward > threshold (0.0: a 0/1 reward's 1 is correct).
      reward_index: column of the reward function that alone defines correctness, or None.

    Returns:
      (values, valid, correct): float64 (N,) rewards (NaN where left out), bool (N,)
      valid, bool (N,) correct (False where not valid).
    """
    if reward_index is None:
        values = weighted_rewards(rewards_per_func, reward_weights)
    else:
        values = rewards_per_func[:, reward_index]
    v = values.detach().to(device="cpu", dtype=torch.float64).numpy()  # (N,)
    valid = ~np.isnan(v)
    return v, valid, valid & (v > threshold)


def _object_array(values: Sequence[Any], name: str, n: int) -> np.ndarray:
    """(n,) object array of arbitrary values (tuples stay elements, not a second axis)."""
    if len(values) != n:
        raise ValueError(f"{name} has {len(values)} entries, the batch has {n} samples; one per sample is needed")
    return object_array(values)


def trl_advantages(
    spec: str,
    rewards: torch.Tensor,
    num_generations: int,
    *,
    answers: Sequence[Hashable] | None = None,
    logprobs: torch.Tensor | None = None,
    state: Any = None,
    prompt_ids: Sequence[Hashable] | None = None,
    small_groups: SmallGroups = "error",
    step: int | None = None,
) -> GroupedAdvantage:
    """Registry advantages of a gathered TRL batch, groups = contiguous runs of G samples.

    For each group g (rows gG … gG + G − 1) with scorable samples S_g:
    A[S_g] = advantage(spec, r[S_g][None])[0]; unscorable samples (r = NaN) get 0 and are
    left out of the group's baseline. A group with one scorable sample gets 0; a group
    left with fewer samples than the estimator needs is a ValueError naming it, unless
    ``small_groups="zero"``.

    Args:
      spec: registry spec (``"pkpo:k=8"``).
      rewards: float (N,) weighted rewards, NaN on unscorable rows (:func:`weighted_rewards`).
      num_generations: G; N must be a multiple of it.
      answers: (N,) hashable answers (``coverage``, ``novelty``).
      logprobs: float (N,) sequence log-probabilities (``unlikeliness``).
      state: the estimator's memory across steps (``novelty``).
      prompt_ids: (N,) stable prompt keys (``novelty``).
      small_groups: "error" or "zero" (see :func:`passlens.integrations.grouped_advantage`).
      step: optimizer steps taken (TRL's ``state.global_step``); required by a composite spec
        that changes over steps (``"coverage:k=8/300/rloo"``), ignored otherwise.

    Returns:
      :class:`GroupedAdvantage` whose ``advantages`` are (N,), same dtype and device as
      ``rewards``, 0 on unscorable rows.

    Raises:
      ValueError: N not a multiple of G, non-0/1 rewards for a binary-only estimator
        (naming the sample), or what :func:`grouped_advantage_info` raises.
    """
    est = estimator_entry(spec)
    N = int(rewards.shape[0])
    if rewards.ndim != 1 or num_generations < 1 or N % num_generations:
        raise ValueError(
            f"rewards must be (N,) with N a multiple of num_generations={num_generations}; got {tuple(rewards.shape)}"
        )
    scorable_t = ~torch.isnan(rewards)  # (N,)
    keep = scorable_t.cpu().numpy()
    r = rewards[scorable_t]  # (S,)
    if est.binary_only and r.numel():
        bad = (r != 0) & (r != 1)
        if bool(bad.any()):
            i = int(np.flatnonzero(keep)[int(torch.nonzero(bad)[0, 0])])
            raise ValueError(
                f"{est.name} needs 0/1 rewards, but sample {i} (group {i // num_generations}) has weighted reward "
                f"{float(rewards[i])!r}; give it one 0/1 reward function or reward_weights that keep sums in {{0, 1}}"
            )
    index = (np.arange(N, dtype=np.int64) // num_generations)[keep]  # (S,) group of each scorable sample
    info = grouped_advantage_info(
        spec,
        r,
        index,
        answers=None if answers is None else _object_array(answers, "answers", N)[keep],
        logprobs=None if logprobs is None else logprobs.reshape(-1)[scorable_t.to(logprobs.device)],
        state=state,
        prompt_ids=None if prompt_ids is None else _object_array(prompt_ids, "prompt keys", N)[keep],
        small_groups=small_groups,
        step=step,
    )
    out = torch.zeros_like(rewards)  # (N,)
    out[scorable_t] = info.advantages
    return dataclasses.replace(info, advantages=out)


#: exploration_metrics keys not logged (the batch shape, known from the config).
_UNLOGGED = ("prompts", "samples")


def trl_metrics(
    values: np.ndarray,
    valid: np.ndarray,
    correct: np.ndarray,
    num_generations: int,
    ks: Sequence[int],
    *,
    answers: Sequence[Hashable] | None = None,
) -> dict[str, float]:
    """The ``passlens/...`` metrics of one gathered batch (groups = contiguous runs of G).

    Args:
      values: float (N,) rewards that define correctness (:func:`correctness`).
      valid: bool (N,) samples to use (others are left out of their group).
      correct: bool (N,).
      num_generations: G.
      ks: budgets for pass@k, pass^k, maj@k, coverage@k, max@k; those > G are dropped.
      answers: optional (N,) hashable answers.

    Returns:
      {``"passlens/<name>"``: value} for the keys of
      :func:`passlens.integrations.exploration_metrics` (``zero_signal@G`` for G ≥ 2), plus
      ``passlens/unscored``: the share of samples left out. A budget k that no group
      has k samples for (left-out samples) is not in the dict; ``passlens/prompts@k``
      counts the groups that have.
    """
    N = int(valid.size)
    if N % num_generations:
        raise ValueError(f"the batch has {N} samples, not a multiple of num_generations={num_generations}")
    out = {"passlens/unscored": float(1.0 - valid.mean()) if N else 0.0}
    if not valid.any():
        return out
    index = (np.arange(N, dtype=np.int64) // num_generations)[valid]
    metrics = exploration_metrics(
        correct[valid],
        index,
        answers=None if answers is None else _object_array(answers, "answers", N)[valid],
        rewards=values[valid],
        ks=[k for k in ks if k <= num_generations] or [1],
        group_size=num_generations if num_generations >= 2 else None,
    )
    # a budget no group has k samples left for is not in `metrics` (prompts@k = 0 says why)
    out.update({f"passlens/{k}": v for k, v in metrics.items() if k not in _UNLOGGED})
    return out


def replace_tail(log: collections.deque[Any] | list[Any], values: Sequence[Any]) -> None:
    """Overwrite the last len(values) entries of ``log`` (a bounded deque) with ``values``.

    TRL appends the gathered advantages of each batch to ``self._logs["advantages"]``, a
    deque bounded to one generation batch; entries already dropped by the bound stay
    dropped (only the newest ones are written).

    Args:
      log: the deque TRL extended with the batch's N advantages.
      values: (N,) the advantages actually used.
    """
    m = min(len(values), len(log))
    for _ in range(m):
        log.pop()
    log.extend(list(values)[len(values) - m:])


# ---------------------------------------------------------------------------------------
# the trainer


@dataclasses.dataclass
class _Captured:
    """What ``_calculate_rewards`` saw for one batch (all gathered, in batch order)."""

    rewards_per_func: torch.Tensor  # (N, F)
    n_local: int
    answers: list[Hashable] | None  # (N,)
    prompt_ids: list[Hashable] | None  # (N,)


class PasslensGRPOTrainer(GRPOTrainer):
    """``trl.GRPOTrainer`` with registry advantages and unbiased pass@k metrics.

    Takes every argument of ``GRPOTrainer`` plus the keywords below.

    Advantages (``advantage`` set, training batches only): for the gathered batch of N
    samples in groups of G = ``num_generations`` and rewards r (N,) = Σ_f w_f r_f
    (:func:`weighted_rewards`), A = :func:`trl_advantages` (the registry's value per group,
    unscorable samples left out with A = 0), then this process's slice
    (:func:`process_slice`). TRL's ``scale_rewards`` and its ε = 1e-4 normalisation are
    bypassed (pass ``"grpo:eps=0.0001"`` to reproduce TRL's default advantages).

    Unbiasedness: an estimator marked ``unbiased`` in the registry satisfies
    E[(1/n) Σ_i A_i ∇log π(y_i)] = ∇target. TRL's loss keeps that (up to a constant
    factor) only when every sequence's token-sum of the per-token loss gets one constant
    weight: ``loss_type="dr_grpo"`` (normaliser B · max_completion_length). Other loss
    types divide by the sequence length (``grpo``) or by a batch's token count (``dapo``,
    ``bnpo``, ...): a warning is given once, at construction.

    Metrics (training and evaluation, ``eval_`` prefixed by TRL): :func:`trl_metrics` on
    the gathered batch, appended to ``self._metrics[mode]`` once per generation batch:
    ``passlens/pass@k``, ``pass^k`` (k in ``passk``, k ≤ G), ``maj@k``, ``coverage@k``,
    ``distinct_correct``, ``answer_conflicts`` (with ``answer_fn``), ``max@k`` (rewards not
    all 0/1), ``never_solved``, ``always_solved``, ``polarized``, ``zero_signal@G``,
    ``prompts@k`` (when some groups lost samples), ``unscored``. Correct ⇔ reward >
    ``correct_threshold``, the reward being r or the reward function ``correct_reward``.

    Args (keyword-only, besides ``GRPOTrainer``'s):
      advantage: registry spec (``"pkpo:k=8"``, ``"coverage:k=4"``), or None to keep TRL's
        advantages and only add metrics. Checked at construction against G.
      answer_fn: called like a TRL reward function, on every process, for its local
        samples: ``answer_fn(prompts=..., completions=..., completion_ids=..., **columns)``
        (dataset columns, ``trainer_state``, ``log_extra``, ``log_metric``) → one hashable
        answer per sample (e.g. the extracted final answer; None allowed). Needed by
        ``coverage`` and ``novelty``; enables the answer metrics.
      passk: budgets k for the metrics (those > G are not logged).
      correct_threshold: correct ⇔ reward > this.
      correct_reward: name of one reward function (as in ``reward_func_names``) whose
        reward alone defines correctness; None: the weighted sum r.
      small_groups: "error" (default) or "zero": what to do with a group that unscorable
        samples left smaller than the estimator needs.
      prompt_key_fn: ``novelty`` only: a stable key per dataset row (``row -> hashable``);
        default: the row's ``"prompt"`` (its text, or its messages).

    ``unlikeliness`` uses sequence log-probabilities Σ_t log π(y_t | x, y_<t) over the
    completion's model tokens (``completion_mask`` × ``tool_mask``): TRL's
    ``old_per_token_logps`` when it computed them, else one extra no-grad forward pass
    through TRL's ``_get_per_token_logps_and_entropies`` (text models only).

    Attributes:
      passlens_state: the estimator's memory across steps (``novelty``: an
        :class:`passlens.advantages.AnswerCounts`), or None; not saved in checkpoints.
    """

    def __init__(
        self,
        *args: Any,
        advantage: str | None = None,
        answer_fn: AnswerFn | None = None,
        passk: Sequence[int] = (1, 2, 4, 8),
        correct_threshold: float = 0.0,
        correct_reward: str | None = None,
        small_groups: SmallGroups = "error",
        prompt_key_fn: PromptKeyFn | None = None,
        **kwargs: Any,
    ) -> None:
        # Checks that need no TRL state first: they fail before a model is loaded.
        est = _check_spec(advantage, answer_fn)
        ks = _check_passk(passk)
        if small_groups not in ("error", "zero"):
            raise ValueError(f"small_groups must be 'error' or 'zero', got {small_groups!r}")
        if answer_fn is not None and not callable(answer_fn):
            raise ValueError(f"answer_fn must be callable, got {type(answer_fn).__name__}")
        if prompt_key_fn is not None and not callable(prompt_key_fn):
            raise ValueError(f"prompt_key_fn must be callable, got {type(prompt_key_fn).__name__}")
        if not (isinstance(correct_threshold, (int, float)) and math.isfinite(correct_threshold)):
            raise ValueError(f"correct_threshold must be a finite number, got {correct_threshold!r}")

        super().__init__(*args, **kwargs)

        self.passlens_advantage = advantage
        self.passlens_answer_fn = answer_fn
        self.passlens_passk = ks
        self.passlens_correct_threshold = float(correct_threshold)
        self.passlens_small_groups: SmallGroups = small_groups
        self.passlens_prompt_key_fn = prompt_key_fn
        self.passlens_state = est.new_state() if est is not None and est.new_state else None
        self._passlens_needs = frozenset(est.inputs) if est is not None else frozenset()
        self._passlens_captured: _Captured | None = None
        self._passlens_correct_index: int | None = None
        if correct_reward is not None:
            names = list(self.reward_func_names)
            if correct_reward not in names:
                raise ValueError(f"correct_reward={correct_reward!r} is not a reward function; they are: {names}")
            self._passlens_correct_index = names.index(correct_reward)
        self._passlens_check_config(est)

    # -- construction checks that need TRL's resolved configuration ---------------------

    def _passlens_check_config(self, est: EstimatorSpec | Composite | None) -> None:
        G, G_eval = self._passlens_group_size("train"), self._passlens_group_size("eval")
        too_big = [k for k in self.passlens_passk if k > max(G, G_eval)]
        if too_big and self.passlens_passk != (1, 2, 4, 8):  # the default ladder is cut quietly
            warnings.warn(
                f"passk budgets {too_big} exceed num_generations={G} (eval: {G_eval}) and will not be logged",
                stacklevel=3,
            )
        if est is None:
            return
        spec = str(self.passlens_advantage)
        if self.multi_objective_aggregation != "sum_then_normalize":
            raise ValueError(
                f"advantage={spec!r} needs multi_objective_aggregation='sum_then_normalize' (raw weighted rewards); "
                f"got {self.multi_objective_aggregation!r}"
            )
        problem = group_size_problem(spec, G)
        if problem is not None:
            raise ValueError(f"advantage={spec!r} cannot run on groups of num_generations={G}: {problem}")
        if "logprobs" in est.inputs and getattr(self, "_is_vlm", False):
            raise ValueError(f"advantage={spec!r} needs sequence log-probabilities, supplied for text models only")
        if self.scale_rewards != "group":
            warnings.warn(
                f"scale_rewards={self.scale_rewards!r} is ignored: advantage={spec!r} replaces TRL's advantages",
                stacklevel=3,
            )
        if est.unbiased and self.loss_type not in UNBIASED_LOSS_TYPES:
            warnings.warn(
                f"{est.name} is unbiased for the sequence-level mean (1/n) Σ A_i ∇log π(y_i); "
                f"loss_type={self.loss_type!r} weights sequences by length or batch token count: "
                "use loss_type='dr_grpo' to keep it unbiased",
                stacklevel=3,
            )

    # -- overrides ----------------------------------------------------------------------

    def _calculate_rewards(
        self, inputs: list[dict[str, Any]], prompts: list[Any], completions: list[Any], completion_ids_list: Any
    ) -> torch.Tensor:
        """TRL's gathered rewards (N, F), kept with the gathered answers and prompt keys."""
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        answers = prompt_ids = None
        if self.passlens_answer_fn is not None:
            local = self.passlens_answer_fn(
                prompts=prompts, completions=completions, completion_ids=completion_ids_list,
                **self._passlens_reward_kwargs(inputs),
            )
            local = list(local)
            if len(local) != len(prompts):
                raise ValueError(
                    f"answer_fn returned {len(local)} answers for {len(prompts)} completions; "
                    "one per completion is needed"
                )
            answers = list(gather_object(local))  # collective: every process calls it
        if "prompt_ids" in self._passlens_needs:
            prompt_ids = list(gather_object([self._passlens_prompt_key(row) for row in inputs]))
        self._passlens_captured = _Captured(rewards_per_func, len(prompts), answers, prompt_ids)
        return rewards_per_func

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        """TRL's output, with ``advantages`` replaced (training, ``advantage`` set) and metrics logged."""
        self._passlens_captured = None
        output = super()._generate_and_score_completions(inputs)
        captured, self._passlens_captured = self._passlens_captured, None
        if captured is None:
            raise RuntimeError(
                f"passlens: trl {_TRL_VERSION} did not call _calculate_rewards from _generate_and_score_completions; "
                f"supported: trl{SUPPORTED_TRL}"
            )
        mode: Mode = "train" if self.model.training else "eval"
        G = self._passlens_group_size(mode)
        rpf = captured.rewards_per_func
        if int(output["advantages"].shape[0]) != captured.n_local:
            raise RuntimeError(
                f"passlens: trl {_TRL_VERSION} returned {int(output['advantages'].shape[0])} advantages for "
                f"{captured.n_local} local samples; supported: trl{SUPPORTED_TRL}"
            )
        where = process_slice(
            self.accelerator.process_index, self.accelerator.num_processes, captured.n_local, int(rpf.shape[0])
        )

        if mode == "train" and self.passlens_advantage is not None:
            adv = self._passlens_advantages(captured, output, G)  # (N,)
            output["advantages"] = adv[where].to(output["advantages"].dtype)
            replace_tail(self._logs["advantages"], adv.tolist())

        values, valid, correct = correctness(
            rpf, self.reward_weights, threshold=self.passlens_correct_threshold,
            reward_index=self._passlens_correct_index,
        )
        metrics = trl_metrics(values, valid, correct, G, self.passlens_passk, answers=captured.answers)
        for name, value in metrics.items():
            self._metrics[mode][name].append(value)
        return output

    # -- the advantage step (the body of a `_transform_advantages` hook, should TRL add one) --

    def _passlens_advantages(self, captured: _Captured, output: Mapping[str, Any], G: int) -> torch.Tensor:
        """Registry advantages (N,) of the gathered batch (see :func:`trl_advantages`)."""
        spec = str(self.passlens_advantage)
        rewards = weighted_rewards(captured.rewards_per_func, self.reward_weights)
        logprobs = self._passlens_sequence_logprobs(output) if "logprobs" in self._passlens_needs else None
        info = trl_advantages(
            spec, rewards, G, answers=captured.answers, logprobs=logprobs, state=self.passlens_state,
            prompt_ids=captured.prompt_ids, small_groups=self.passlens_small_groups,
            step=int(self.state.global_step),  # optimizer steps taken: the step of a scheduled spec
        )
        if self.passlens_small_groups == "zero":
            self._metrics["train"]["passlens/zeroed_groups"].append(float(info.zeroed))
        return info.advantages

    def _passlens_sequence_logprobs(self, output: Mapping[str, Any]) -> torch.Tensor:
        """Gathered sequence log-probabilities (N,): Σ_t log π(y_t | x, y_<t) over model tokens."""
        mask = output["completion_mask"]  # (B, C)
        if output.get("tool_mask") is not None:
            mask = mask * output["tool_mask"]  # tool output tokens are not the model's choices
        logps = output.get("old_per_token_logps")  # (B, C) when TRL computed them
        if logps is None:
            if any(key in output for key in ("pixel_values", "num_images", "image_grid_thw")):
                raise ValueError("unlikeliness: sequence log-probabilities are supplied for text models only")
            ids = torch.cat([output["prompt_ids"], output["completion_ids"]], dim=1)  # (B, P + C)
            attention = torch.cat([output["prompt_mask"], output["completion_mask"]], dim=1)  # (B, P + C)
            with torch.no_grad(), _no_checkpointing(self.model, self.args.gradient_checkpointing_kwargs):
                logps, _, _ = self._get_per_token_logps_and_entropies(
                    self.model, ids, attention, output["completion_ids"].size(1),
                    batch_size=self.args.per_device_train_batch_size,
                )
        seq = (logps * mask).sum(dim=-1).float()  # (B,)
        return self.accelerator.gather(seq)  # (N,)

    # -- small helpers ----------------------------------------------------------------

    def _passlens_group_size(self, mode: Mode) -> int:
        """G: ``num_generations`` in training, ``num_generations_eval`` in evaluation."""
        G = self.num_generations if mode == "train" else self.num_generations_eval
        if G is None:
            raise RuntimeError(
                f"passlens: trl {_TRL_VERSION} left num_generations unset; supported: trl{SUPPORTED_TRL}"
            )
        return int(G)

    def _passlens_reward_kwargs(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        """The keyword arguments TRL gives reward functions (dataset columns and hooks)."""
        skip = ("prompt", "completion", "completion_ids")
        kwargs: dict[str, Any] = {key: [row[key] for row in inputs] for key in inputs[0] if key not in skip}
        kwargs["trainer_state"] = self.state
        for name, attr in (("log_extra", "_log_completion_extra"), ("log_metric", "_log_metric")):
            if hasattr(self, attr):
                kwargs[name] = getattr(self, attr)
        if getattr(self, "environments", None) is not None:
            kwargs["environments"] = self.environments
        return kwargs

    def _passlens_prompt_key(self, row: Mapping[str, Any]) -> Hashable:
        if self.passlens_prompt_key_fn is not None:
            return self.passlens_prompt_key_fn(row)
        if "prompt" not in row:
            raise ValueError(
                "novelty needs a stable prompt key: the dataset has no 'prompt' column; pass prompt_key_fn="
            )
        prompt = row["prompt"]
        return prompt if isinstance(prompt, str) else repr(prompt)


def _no_checkpointing(model: Any, kwargs: Any) -> contextlib.AbstractContextManager[Any]:
    """TRL's ``disable_gradient_checkpointing`` (avoids a warning under no_grad) where it exists."""
    try:
        from trl.models.utils import disable_gradient_checkpointing
    except ImportError:
        return contextlib.nullcontext()
    return disable_gradient_checkpointing(model, kwargs)


def _check_spec(advantage: str | None, answer_fn: AnswerFn | None) -> EstimatorSpec | Composite | None:
    """The registry entry (or parsed composite) of ``advantage`` with its parameters checked, or None."""
    if advantage is None:
        return None
    if not isinstance(advantage, str):
        raise ValueError(f"advantage must be a registry spec string such as 'pkpo:k=8', got {type(advantage).__name__}")
    try:
        est = estimator_entry(advantage)
    except ValueError as e:
        raise ValueError(f"advantage={advantage!r}: {e}") from None
    if "answers" in est.inputs and answer_fn is None:
        raise ValueError(f"advantage={advantage!r} needs answers: pass answer_fn= (one answer per completion)")
    return est


def _check_passk(passk: Sequence[int]) -> tuple[int, ...]:
    """The metric budgets as a sorted tuple of distinct ints ≥ 1."""
    items = list(passk) if isinstance(passk, (list, tuple, range, np.ndarray)) else []
    if not items or not all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1 for k in items):
        raise ValueError(f"passk must be a non-empty sequence of integers ≥ 1, got {passk!r}")
    return tuple(sorted({int(k) for k in items}))
