"""The exploration-collapse lab: policy-gradient dynamics of pass@k-family objectives over problem populations.

Populations of P problems with M answer classes (:mod:`.population`), tabular,
shared linear or shared MLP softmax policies (:mod:`.policies`), exact objectives and their
registry estimators (:mod:`.objectives`), exact or sampled updates
(:mod:`.dynamics`), exact per-step diagnostics (:mod:`.tracking`), the
seed paper's testable claims as numerical experiments (:mod:`.claims`) and the
Monte Carlo variance of the pass@k gradient estimators (:mod:`.variance`).
"""

from .claims import CLAIMS, ClaimResult, run_claims
from .dynamics import (
    LabConfig,
    build_populations,
    inverse_cdf,
    run_lab,
    run_objective,
    sample_answers,
    sampled_logit_gradient,
    save_run,
)
from .objectives import EXACT_KINDS, Objective, logit_gradient, objective_value, parse_objective, score_weights, softmax
from .policies import LinearSoftmax, MLPSoftmax, Tabular, make_policy
from .population import Population, make_population, population_from_counts, read_counts
from .tracking import entropy, success, track

__all__ = [
    "Population",
    "make_population",
    "population_from_counts",
    "read_counts",
    "Tabular",
    "LinearSoftmax",
    "MLPSoftmax",
    "make_policy",
    "Objective",
    "parse_objective",
    "EXACT_KINDS",
    "score_weights",
    "objective_value",
    "logit_gradient",
    "softmax",
    "track",
    "success",
    "entropy",
    "LabConfig",
    "build_populations",
    "run_objective",
    "run_lab",
    "save_run",
    "sample_answers",
    "sampled_logit_gradient",
    "inverse_cdf",
    "run_claims",
    "ClaimResult",
    "CLAIMS",
]
