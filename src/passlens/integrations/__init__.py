"""passlens inside the trainers people use.

* :mod:`passlens.integrations.verl`: every registry estimator as a verl advantage
  estimator (``algorithm.adv_estimator=passlens_pkpo``), unbiased validation metrics,
  a trainer subclass for the answer- and log-prob-based estimators.
* :mod:`passlens.integrations.trl`: ``PasslensGRPOTrainer``, TRL's GRPO trainer with
  registry advantages and pass@k metrics.
* :mod:`passlens.integrations.openrlhf`: a pure function on OpenRLHF's
  (prompts, n_samples_per_prompt) rewards and a patch recipe.

This package imports no framework; each adapter module imports its framework when
imported. The adapters share a framework-free core, re-exported here:
:func:`grouped_advantage` (the registry's advantages over a flat batch grouped by an
index in any order; :mod:`passlens.grouping`) and :func:`exploration_metrics` (unbiased
pass@k and collapse indicators of a batch; :mod:`passlens.diagnostics`).
"""

from ..diagnostics import exploration_metrics
from ..grouping import GroupedAdvantage, Groups, answer_ids, group_index, grouped_advantage, grouped_advantage_info

__all__ = [
    "grouped_advantage",
    "grouped_advantage_info",
    "GroupedAdvantage",
    "group_index",
    "Groups",
    "answer_ids",
    "exploration_metrics",
]
