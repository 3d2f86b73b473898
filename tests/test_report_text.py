"""The words about the numbers: budget ranges and the sentences of a paired comparison (passlens.report.text)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from passlens import uncertainty
from passlens.report.text import describe_comparison, describe_ks, format_k_ranges
from passlens.uncertainty import SMALL_P, compare


def test_format_k_ranges_writes_runs() -> None:
    assert format_k_ranges([1, 2, 3, 7, 8, 10]) == "1–3, 7–8, 10"
    assert format_k_ranges(np.array([4])) == "4"
    assert format_k_ranges([]) == "none"


def test_describe_ks() -> None:
    assert describe_ks([1, 2, 3, 4, 8]) == "1–4, 8"
    assert describe_ks([1, 2, 8]) == "1, 2, 8"
    assert describe_ks(range(1, 40, 2)) == "1, 3, 5, 7, 9, 11, …, 39"


def test_describe_comparison_explains_zero_spread_budgets():
    # Every problem gains the same 6/8 at k = 1, and both models solve all at k = 8.
    a = (np.full(3, 8), np.array([1, 1, 2]))
    b = (np.full(3, 8), np.array([7, 7, 8]))
    res = compare(a, b, [1, 2, 8], n_boot=200)
    assert res.degenerate.tolist() == [1, 8]
    text = "\n".join(describe_comparison(res))
    assert "B − A = 0 on every problem at k = 8" in text
    assert "B − A is the same on every problem at k = 1 (e.g. +0.7500 at k = 1)" in text
    assert "no interval" in text


def test_describe_comparison_warns_only_below_small_p():
    rng = np.random.default_rng(0)
    for P, warned in ((10, True), (SMALL_P, False)):
        c = rng.binomial(8, 0.4, size=(2, P))
        res = compare((np.full(P, 8), c[0]), (np.full(P, 8), c[1]), [1, 8], n_boot=200)
        text = "\n".join(describe_comparison(res))
        assert (f"only {P} problems: the band is a large-sample approximation" in text) is warned
        assert ("may cover less than 95%" in text) is warned


def test_uncertainty_keeps_deprecated_aliases_for_one_release() -> None:
    res = compare((np.full(12, 8), np.arange(12) % 9), (np.full(12, 8), (np.arange(12) + 3) % 9), [1, 4], n_boot=50)
    with pytest.warns(DeprecationWarning, match=r"passlens\.report\.text\.describe_comparison"):
        assert uncertainty.describe_comparison(res) == describe_comparison(res)
    with pytest.warns(DeprecationWarning, match=r"passlens\.report\.text\.format_k_ranges") as record:
        assert uncertainty.format_k_ranges([1, 2, 5]) == "1–2, 5"
    if not hasattr(uncertainty, "x__moved__mutmut_orig"):  # mutmut's trampolines add frames before warn()
        assert record[0].filename == __file__  # the warning points at the caller
    with warnings.catch_warnings():  # importing the names alone does not warn
        warnings.simplefilter("error")
        from passlens.uncertainty import describe_comparison as _a, format_k_ranges as _b  # noqa: F401
