"""The passlens trainers: verl's v1 trainers (and the legacy one) with passlens inputs,
validation metrics, rows and checkpointed estimator state."""

from __future__ import annotations

import json
import os
import re
import warnings
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ..._output import write_file
from ._config import _SUB, PREFIX, Settings, _cfg, _warn_once, read_settings
from ._estimators import _SIDE, _missing, _RowExtras, load_state_dict, state_dict
from .validation import _prompt_hash, _val_rows, validation_metrics

__all__ = [
    "PasslensTrainerMixin",
    "PasslensLegacyTrainerMixin",
    "trainer_class",
    "register_trainers",
    "legacy_trainer_class",
]

_BIASING_LOSS_MODES = ("token-mean", "seq-mean-token-mean")


def _split_key(key: str) -> tuple[str, str, int]:
    """A TransferQueue sample key ``{uid}_{session}_{index}`` as (uid, "uid_session", index)."""
    parts = key.rsplit("_", 2)
    if len(parts) == 3 and parts[1].lstrip("-").isdigit() and parts[2].isdigit():
        return parts[0], f"{parts[0]}_{parts[1]}", int(parts[2])
    return key, key, 0


def _owners(keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
    """uids (N,) and, when some session has several outputs, int64 (N,) the row of each session's final output."""
    uids = np.empty(len(keys), dtype=object)
    best: dict[str, tuple[int, int]] = {}
    sessions: list[str] = []
    for i, key in enumerate(keys):
        uid, session, idx = _split_key(key)
        uids[i] = uid
        sessions.append(session)
        if session not in best or idx > best[session][0]:
            best[session] = (idx, i)
    if len(best) == len(keys):
        return uids, None
    return uids, np.array([best[s][1] for s in sessions], dtype=np.int64)


if TYPE_CHECKING:
    _TrainerBase = Any
else:
    _TrainerBase = object


class _Common(_TrainerBase):
    """What both passlens trainers share: settings, the loss check, validation metrics and rows."""

    config: Any
    global_steps: int
    _passlens: Settings
    _passlens_val_inputs: list[str] | None

    def _passlens_setup(self, config: Any) -> None:
        self._passlens = read_settings(_cfg(config, "algorithm.adv_estimator"), _cfg(config, "algorithm"))
        self._passlens_val_inputs = None
        spec = self._passlens.spec
        mode = _cfg(config, "actor_rollout_ref.actor.loss_agg_mode", "token-mean")
        if spec is not None and spec.unbiased and mode in _BIASING_LOSS_MODES:
            _warn_once("loss", (
                f"passlens: {PREFIX}{spec.name} is unbiased for the sequence-level mean, but "
                f"actor_rollout_ref.actor.loss_agg_mode={mode} weights each sample by its length; set "
                f"actor_rollout_ref.actor.loss_agg_mode=seq-mean-token-sum-norm (Dr. GRPO, with a constant "
                f"actor_rollout_ref.actor.loss_scale_factor) or seq-mean-token-sum"))

    def _passlens_val_metrics(self, data_sources: Any, sample_uids: Any, infos: Mapping[str, Sequence[Any]],
                              expected_acc_counts: Mapping[tuple[str, str], int] | None) -> dict[str, float]:
        """val-passlens/{data_source}/{variable}/{metric}, and the rows file; never raises."""
        s = self._passlens
        out: dict[str, float] = {}
        group_size = _cfg(self.config, "actor_rollout_ref.rollout.n")
        # a logging add-on must not end a training run: failures become one-line warnings
        if s.val_metrics:
            try:
                vm = validation_metrics(
                    data_sources, sample_uids, infos, correct_key=s.correct_key, vote_key=s.answer_key,
                    group_size=int(group_size) if group_size else None, expected_acc_counts=expected_acc_counts,
                    threshold=s.threshold)
                for src, per_var in vm.items():
                    for var, metrics in per_var.items():
                        for metric, value in metrics.items():
                            out[f"val-passlens/{src}/{var}/{metric}"] = value
            except Exception as e:
                warnings.warn(f"passlens: val-passlens metrics skipped ({type(e).__name__}: {e})", RuntimeWarning,
                              stacklevel=2)
        if s.val_rows is not False:
            try:
                self._passlens_write_rows(data_sources, sample_uids, infos, expected_acc_counts, group_size)
            except Exception as e:
                warnings.warn(f"passlens: validation rows not written ({type(e).__name__}: {e})", RuntimeWarning,
                              stacklevel=2)
        return out

    def _passlens_rows_dir(self) -> str:
        s = self._passlens
        if isinstance(s.val_rows, str):
            return s.val_rows
        return os.path.join(str(_cfg(self.config, "trainer.default_local_dir", ".")), "passlens_val")

    def _passlens_write_rows(self, data_sources: Any, sample_uids: Any, infos: Mapping[str, Sequence[Any]],
                             expected_acc_counts: Mapping[tuple[str, str], int] | None, group_size: Any) -> None:
        """One JSON-lines file per data source and validation step (see :func:`_val_rows`)."""
        rows_by_source = _val_rows(data_sources, sample_uids, infos, self._passlens_val_inputs,
                                   int(self.global_steps), self._passlens, expected_acc_counts)
        root = self._passlens_rows_dir()
        for source, rows in rows_by_source.items():
            run = os.path.join(root, _safe_name(source))
            evals = os.path.join(run, "evals")
            os.makedirs(evals, exist_ok=True)
            config_path = os.path.join(run, "config.json")
            if not os.path.exists(config_path) and group_size:
                estimator_name = str(_cfg(self.config, "algorithm.adv_estimator"))
                write_file(config_path, json.dumps({"n": int(group_size), "source": "verl", "data_source": source,
                                                       "adv_estimator": estimator_name}))
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
            write_file(os.path.join(evals, f"step_{int(self.global_steps):06d}.jsonl"), text)
        self._passlens_val_inputs = None

    def _maybe_log_val_generations(self, inputs: Any, outputs: Any, scores: Any) -> Any:
        # verl decodes the prompts of the validation samples (aligned with sample_uids) only here,
        # right before _val_metrics_update: keep them to name problems stably across steps.
        self._passlens_val_inputs = [str(x) for x in inputs]
        return super()._maybe_log_val_generations(inputs, outputs, scores)

    # novelty's answer counts travel with verl's checkpoints
    def _save_checkpoint(self) -> Any:
        self._passlens_save_state()
        return super()._save_checkpoint()

    def _load_checkpoint(self) -> Any:
        out = super()._load_checkpoint()
        self._passlens_load_state()
        return out

    def _passlens_state_path(self, folder: str) -> str:
        return os.path.join(folder, "passlens_state.json")

    def _passlens_save_state(self) -> None:
        state = state_dict()
        if not state:
            return
        root = str(_cfg(self.config, "trainer.default_local_dir", "."))
        folder = os.path.join(root, f"global_step_{self.global_steps}")
        os.makedirs(folder, exist_ok=True)
        write_file(self._passlens_state_path(folder), json.dumps(state))

    def _passlens_load_state(self) -> None:
        if not self.global_steps or self._passlens.spec is None or self._passlens.spec.new_state is None:
            return
        mode = _cfg(self.config, "trainer.resume_mode", "auto")
        if mode == "resume_path":
            folder = str(_cfg(self.config, "trainer.resume_from_path"))
        else:
            folder = os.path.join(str(_cfg(self.config, "trainer.default_local_dir", ".")),
                                  f"global_step_{self.global_steps}")
        if not os.path.isabs(folder):
            folder = os.path.join(os.getcwd(), folder)
        path = self._passlens_state_path(folder)
        if os.path.exists(path):
            with open(path) as f:
                load_state_dict(json.load(f))
        else:
            _warn_once("state", f"passlens: no {path}; {PREFIX}{self._passlens.spec.name} starts with empty "
                                "answer counts")


def _safe_name(source: str) -> str:
    """A folder name for a data source: itself when safe, else a cleaned name plus a short hash
    (so that "a/b" and "a_b" do not share a folder)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", source).strip("._")[:100] or "unknown"
    return name if name == source else f"{name}-{_prompt_hash(source)[:8]}"


class PasslensTrainerMixin(_Common):
    """Mixin over a verl v1 trainer (``verl.trainer.ppo.v1.PPOTrainer`` subclass).

    Adds, when ``algorithm.adv_estimator`` is a passlens estimator:

    * ``_compute_advantage``: fetches from TransferQueue what the estimator needs besides the
      rewards (the answer ``reward_extra_info[answer_key]`` for ``coverage`` / ``novelty``, the
      prompt key for ``novelty``), hands it to the estimator, groups multi-output sessions on
      their final output, and logs ``passlens/train/*`` (grouping counts, flat-group share,
      pass@1 / pass@k of the training groups);
    * ``_val_metrics_update``: verl's metrics, then ``val-passlens/{data_source}/{variable}/{metric}``
      (:func:`validation_metrics`) and the validation rows file;
    * ``_save_checkpoint`` / ``_load_checkpoint``: ``novelty``'s answer counts as
      ``global_step_N/passlens_state.json``;
    * a warning when ``actor_rollout_ref.actor.loss_agg_mode`` reweights samples by length.

    The trainer runs under verl's name for the parent's mode (``passlens_sync`` behaves as
    ``sync``; its settings stay under ``trainer.v1.sync``).
    """

    _passlens_base_mode: str = "sync"

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        self._passlens_setup(config)
        v1 = _cfg(config, "trainer.v1")
        if v1 is not None and _cfg(config, "trainer.v1.trainer_mode") != self._passlens_base_mode:
            # verl branches on `trainer_mode == "sync"` and reads trainer.v1.<mode>.*: run as the parent's mode.
            try:
                v1.trainer_mode = self._passlens_base_mode
            except Exception:
                from omegaconf import open_dict

                with open_dict(config):
                    v1.trainer_mode = self._passlens_base_mode
        super().__init__(config, *args, **kwargs)

    def _passlens_extras(self, batch: Any) -> _RowExtras:
        """Per-row inputs in ``batch.keys`` order, read from TransferQueue where needed."""
        s = self._passlens
        spec = s.spec
        assert spec is not None
        keys = list(batch.keys)
        uids, owner = _owners(keys)
        # verl's global_steps is 1 at the first update: a scheduled spec's step (updates taken) is one less
        extras = _RowExtras(uids=uids, owner=owner, want_metrics=s.train_metrics,
                            step=max(int(getattr(self, "global_steps", 1) or 1) - 1, 0))
        fields = []
        if "answers" in spec.inputs:
            fields += [s.answer_key, "extra_fields"]
        if "prompt_ids" in spec.inputs:
            fields.append(s.prompt_key)
        if not fields:
            return extras
        import transfer_queue as tq  # type: ignore[import-untyped]

        data = tq.kv_batch_get(keys=keys, partition_id=batch.partition_id, select_fields=fields)
        tags = list(getattr(batch, "tags", None) or [{}] * len(keys))
        # rows that are not verl's synthetic padding (upsample_batch_to_divisible_size tags those)
        real = [i for i, t in enumerate(tags) if not (isinstance(t, dict) and t.get("is_padding"))]
        present = set(data.keys())
        verl_name = PREFIX + (s.estimator or spec.name)
        if "answers" in spec.inputs:
            if s.answer_key in present:  # a colocated reward model writes its extra keys as fields
                answers = list(data[s.answer_key])
            elif "extra_fields" in present:
                answers = [((ef.get("reward_extra_info") or {}) if isinstance(ef, dict) else {}).get(s.answer_key)
                           for ef in list(data["extra_fields"])]
            else:
                answers = [None] * len(keys)
            if real and all(answers[i] is None for i in real):
                raise _missing(verl_name, "answers", s, under_trainer=True)
            extras.answers = answers
        if "prompt_ids" in spec.inputs:
            if s.prompt_key not in present:
                raise ValueError(f"{verl_name}: the batch has no field {s.prompt_key!r} for the prompt key; set "
                                 f"+algorithm.{_SUB}.prompt_key=raw_prompt or index (the dataset's extra_info.index)")
            extras.prompts = list(data[s.prompt_key])
            n_groups = len({uids[i] for i in real})
            n_keys = len({repr(extras.prompts[i]) for i in real})
            if n_keys < n_groups:
                _warn_once("prompt_key", (
                    f"passlens: {n_groups} prompt groups share {n_keys} values of {s.prompt_key!r}; {verl_name} pools "
                    f"answer counts of groups with equal keys (with prompt_key=index, check that the dataset sets "
                    f"extra_info.index; verl defaults it to 0)"))
        return extras

    def _compute_advantage(self, batch: Any, metrics: dict[str, Any]) -> Any:
        if self._passlens.spec is None:
            return super()._compute_advantage(batch, metrics)
        extras = self._passlens_extras(batch)
        token = _SIDE.set(extras)
        try:
            out = super()._compute_advantage(batch, metrics)
        finally:
            _SIDE.reset(token)
        metrics.update({f"passlens/train/{k}": v for k, v in extras.stats.items()})
        return out

    def _val_metrics_update(self, data_sources: Any, sample_uids: Any, reward_extra_infos_dict: Any,
                            sample_turns: Any, expected_acc_counts: Any = None) -> dict[str, Any]:
        # verl's own loop parses `@<int>` out of every name it files: ours are added after it.
        out: dict[str, Any] = super()._val_metrics_update(data_sources, sample_uids, reward_extra_infos_dict,
                                                          sample_turns, expected_acc_counts=expected_acc_counts)
        out.update(self._passlens_val_metrics(data_sources, sample_uids, reward_extra_infos_dict, expected_acc_counts))
        return out


class PasslensLegacyTrainerMixin(_Common):
    """Mixin over verl's legacy ``RayPPOTrainer`` (``trainer.use_v1=false``).

    The legacy trainer merges ``compute_score``'s extra keys into the batch's
    ``non_tensor_batch``; the wrapped ``compute_advantage`` makes them (and
    ``old_log_probs``) visible to the estimators without this mixin. The mixin adds the
    ``val-passlens/*`` metrics, the validation rows, ``novelty``'s checkpointed state and
    the loss-aggregation warning (the legacy ``fit`` keeps its metrics dict local, so no
    ``passlens/train/*``).
    """

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        self._passlens_setup(config)
        super().__init__(config, *args, **kwargs)

    def _val_metrics_update(self, data_sources: Any, sample_uids: Any, reward_extra_infos_dict: Any,
                            sample_turns: Any) -> dict[str, Any]:
        out: dict[str, Any] = super()._val_metrics_update(data_sources, sample_uids, reward_extra_infos_dict,
                                                          sample_turns)
        out.update(self._passlens_val_metrics(data_sources, sample_uids, reward_extra_infos_dict, None))
        return out


_TRAINERS: dict[str, type] = {}


def trainer_class(base: str = "sync") -> type:
    """The passlens trainer over verl's v1 trainer mode ``base``, registered as ``passlens_<base>``.

    Select it with ``trainer.v1.trainer_mode=passlens_<base>``. Imports
    ``verl.trainer.ppo.v1`` (needs ``transferqueue``).

    Args:
      base: a verl v1 trainer mode (``sync``, ``colocate_async``, ``separate_async``, or one
        registered by the user).

    Returns:
      the class ``Passlens<Parent>`` (one per base).
    """
    from verl.trainer.ppo.v1 import trainer_base  # its first import registers the trainers (the hook)

    cls = _TRAINERS.get(base)
    if cls is not None:
        return cls
    parent = trainer_base.get_trainer_cls(base)
    meta: Any = type(parent)  # ABCMeta
    cls = meta(f"Passlens{parent.__name__}", (PasslensTrainerMixin, parent), {
        "_passlens_base_mode": base,
        "__module__": __name__,
        "__doc__": f"verl's {parent.__name__} with passlens inputs, metrics and rows (trainer_mode=passlens_{base}).",
    })
    trainer_base.register_trainer(f"passlens_{base}")(cls)
    _TRAINERS[base] = cls
    globals().setdefault(cls.__name__, cls)  # importable (and picklable) by its qualified name
    return cls


def register_trainers() -> list[str]:
    """Register ``passlens_<mode>`` for every verl v1 trainer mode registered so far.

    Runs automatically when ``verl.trainer.ppo.v1`` is imported in a process where this
    module was loaded (the entry point makes that every process that imports verl).

    Returns:
      the registered names.
    """
    from verl.trainer.ppo.v1 import trainer_base

    bases = [m for m in list(trainer_base.TRAINER_REGISTRY) if not m.startswith("passlens_")]
    return [f"passlens_{b}" for b in bases if trainer_class(b)]


def legacy_trainer_class() -> type:
    """``PasslensRayPPOTrainer``: verl's legacy ``RayPPOTrainer`` with :class:`PasslensLegacyTrainerMixin`."""
    cls = _TRAINERS.get("__legacy__")
    if cls is None:
        from verl.trainer.ppo.ray_trainer import RayPPOTrainer

        meta: Any = type(RayPPOTrainer)
        cls = meta("PasslensRayPPOTrainer", (PasslensLegacyTrainerMixin, RayPPOTrainer), {"__module__": __name__})
        _TRAINERS["__legacy__"] = cls
        globals().setdefault(cls.__name__, cls)
    return cls
