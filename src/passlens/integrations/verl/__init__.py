"""passlens inside verl: registry advantages, unbiased validation metrics, a trainer subclass.

Importing this module (verl ≥ 0.9 does it on ``import verl`` through the ``verl.plugins``
entry point) registers every :data:`passlens.advantages.REGISTRY` estimator in verl's
advantage registry as ``passlens_<name>``::

    algorithm.adv_estimator=passlens_pkpo +algorithm.passlens.k=8 +algorithm.passlens.variant=loo-1

A composite spec (:mod:`passlens.advantages.compose`: a mix, a schedule over steps, k annealed) runs as
``passlens_objective``, its spec under ``objective`` (quoted for Hydra)::

    algorithm.adv_estimator=passlens_objective '+algorithm.passlens.objective="coverage:k=8/200-400/rloo"'

Its step is the number of updates taken, verl's ``global_steps`` − 1 (``global_steps`` is 1 at the first
update): the passlens trainers hand it over; otherwise it is read from the batch's ``meta_info``.

Where verl is not installed the import is a no-op that imports neither verl nor torch.

Estimator contract (verl's ``compute_advantage``, ``verl/trainer/ppo/ray_trainer.py``)::

    fn(token_level_rewards, response_mask, index=None, config=None, **kwargs) -> (advantages, returns)

    token_level_rewards: float (bs, L)    response_mask: (bs, L)    index: object (bs,) uid per sample
    score_i = Σ_t token_level_rewards[i, t]
    A = passlens.advantage(spec, scores of each uid group)       (any sample order, ragged groups)
    advantages = returns = A[:, None] · response_mask             (bs, L), dtype/device of the rewards

Per-sample inputs that verl does not hand to custom estimators (answers for ``coverage`` /
``novelty``, a stable prompt key for ``novelty``, sequence log-probabilities for
``unlikeliness``) reach the estimators three ways, first match wins:

1. the passlens trainers (``trainer.v1.trainer_mode=passlens_sync``, built by
   :func:`trainer_class`), which read the reward extra info out of TransferQueue;
2. ``kwargs["non_tensor_batch"]`` / ``kwargs["batch"]`` (a verl that forwards them);
3. the :class:`verl.DataProto` that verl's ``compute_advantage`` was called with: this module
   wraps that function (a pass-through that only remembers its argument), so the legacy
   trainer's ``non_tensor_batch`` (which holds ``compute_score``'s extra keys) and the v1
   trainer's ``old_log_probs`` are visible.

Validation: :func:`validation_metrics` takes the inputs of verl's
``process_validation_metrics`` and returns unbiased pass@k, pass^k, exact maj@k,
coverage@k, max@k and collapse indicators; the passlens trainers log them as
``val-passlens/{data_source}/{variable}/{metric}`` and write per-sample rows that
``passlens report`` reads as a series over training steps.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings

from ._config import INTEGRATION_KEYS, PREFIX, Settings, read_settings
from ._estimators import estimator, load_state_dict, register, state_dict
from ._trainers import (
    PasslensLegacyTrainerMixin,
    PasslensTrainerMixin,
    legacy_trainer_class,
    register_trainers,
    trainer_class,
)
from .validation import validation_metrics

__all__ = [
    "PREFIX",
    "INTEGRATION_KEYS",
    "Settings",
    "register",
    "estimator",
    "read_settings",
    "validation_metrics",
    "state_dict",
    "load_state_dict",
    "PasslensTrainerMixin",
    "PasslensLegacyTrainerMixin",
    "trainer_class",
    "register_trainers",
    "legacy_trainer_class",
]


def _verl_installed() -> bool:
    try:
        return importlib.util.find_spec("verl") is not None
    except (ImportError, ValueError):
        return "verl" in sys.modules


if _verl_installed():
    try:
        register()
    except Exception as _e:  # verl logs plugin failures at DEBUG only: say it here, in one line
        warnings.warn(f"passlens: the passlens_* advantage estimators were not registered in verl "
                      f"({type(_e).__name__}: {_e})", RuntimeWarning, stacklevel=2)
