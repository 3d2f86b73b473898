"""Sentences for people to read: budget ranges and the summary of a paired comparison.

The statistics modules return numbers; the words the terminal, the HTML page and
``metrics.json`` ("describe") show about them are written here, once.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from ..uncertainty import SMALL_P, Comparison

__all__ = ["format_k_ranges", "describe_ks", "describe_comparison"]


def format_k_ranges(ks: Sequence[int] | np.ndarray) -> str:
    """Budgets as runs for people to read: [1, 2, 3, 7, 8] → '1–3, 7–8'; [] → 'none'."""
    ks = [int(v) for v in ks]
    if not ks:
        return "none"
    parts, start, prev = [], ks[0], ks[0]
    for v in ks[1:] + [None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        parts.append(f"{start}" if start == prev else f"{start}–{prev}")
        if v is not None:
            start = prev = v
    return ", ".join(parts)


def describe_ks(values: Iterable[int], limit: int = 8) -> str:
    """Budgets as compact text: runs of consecutive k as 'a–b', e.g. '1–10, 16, 32'; long lists elided.

    Unlike :func:`format_k_ranges` (the report's wording), a run of two is written '1, 2', the
    values are sorted and de-duplicated first, and more than ``limit`` parts are cut to
    'first parts, …, last' (the command line's notes and option errors).
    """
    runs: list[list[int]] = []
    for v in sorted(set(int(x) for x in values)):
        if runs and v == runs[-1][1] + 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    parts = [f"{a}" if a == b else f"{a}, {b}" if b == a + 1 else f"{a}–{b}" for a, b in runs]
    if len(parts) > limit:
        parts = [*parts[: limit - 2], "…", parts[-1]]
    return ", ".join(parts)


def describe_comparison(cmp: Comparison) -> list[str]:
    """Plain sentences summarizing a :class:`~passlens.uncertainty.Comparison`.

    Where B is better, worse or inconclusive; the first-loss budget set; budgets with no spread
    over problems (band set to [−1, 1]); and, below :data:`~passlens.uncertainty.SMALL_P`
    paired problems, that the band is a large-sample approximation.
    """
    lines = [
        f"B better than A at k = {format_k_ranges(cmp.better)}",
        f"B worse than A at k = {format_k_ranges(cmp.worse)}",
        f"inconclusive at k = {format_k_ranges(cmp.inconclusive)}",
    ]
    if cmp.first_loss_interval is not None:
        lo, hi = cmp.first_loss_interval
        lines.append(f"first-loss budget set: [{lo}, {hi if hi is not None else '∞'}]")
    elif cmp.first_loss.size:
        lines.append(f"first-loss budget set: {{{format_k_ranges(cmp.first_loss)}}}")
    if cmp.degenerate.size:
        d = cmp.diff[np.searchsorted(cmp.k, cmp.degenerate)]
        same, shifted = cmp.degenerate[d == 0], cmp.degenerate[d != 0]
        if same.size:
            lines.append(f"B − A = 0 on every problem at k = {format_k_ranges(same)}")
        if shifted.size:
            lines.append(f"B − A is the same on every problem at k = {format_k_ranges(shifted)} "
                         f"(e.g. {d[d != 0][0]:+.4f} at k = {int(shifted[0])})")
        lines.append("  with no spread over problems there, the bootstrap has no interval: band set to [−1, 1]")
    if cmp.problems < SMALL_P:
        lines.append(
            f"only {cmp.problems} problems: the band is a large-sample approximation and may cover less than"
            f" {100 * (1 - cmp.alpha):g}% (more so when the difference sits on a few problems)"
        )
    return lines
