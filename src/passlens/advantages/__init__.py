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

Registry
--------
Each estimator is registered where it is defined, with the decorator
:func:`~passlens.advantages.registry.register` and its metadata (target, inputs,
params, unbiasedness claim, source); :data:`REGISTRY` lists them in the order of
the table below. A new estimator is one new module with one decorated function,
imported here.

Threads
-------
The estimators that sort each group by value (``pkpo`` on non-binary rewards,
``unlikeliness``) split large batches (≥ 2¹⁶ elements per thread) into blocks of
groups computed on threads; results are bit-identical for any thread count.
:func:`set_num_threads` (or the environment variable ``PASSLENS_NUM_THREADS``) sets
the count; the default is the CPUs available to the process, at most 4. The
answer-class estimators (``novelty``, ``coverage``) run on the calling thread.

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

The Monte Carlo variance study of these estimators is :mod:`passlens.lab.variance`.
"""

from __future__ import annotations

# The estimator modules register their functions on import, in this order (REGISTRY's order).
from .policy_gradient import dr_grpo, grpo, rloo
from .passk import alpha_rloo, best_minus_second, passk_analytic, pkpo
from .exploration import unlikeliness
from .novelty import AnswerCounts, novelty
from .coverage import coverage, coverage_at_k
from ._parallel import get_num_threads, set_num_threads
from .registry import INPUTS, REGISTRY, REQUIRED, EstimatorSpec, Param, advantage, format_spec, parse_spec

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
