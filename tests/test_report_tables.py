"""Terminal tables from typed results (passlens.report.tables), rendered without a terminal."""

from __future__ import annotations

import io

import numpy as np
from rich.console import Console

from passlens import compare, curve
from passlens.report.tables import comparison_notes, comparison_table, curve_notes, curve_table


def render(*renderables) -> str:
    con = Console(file=io.StringIO(), width=200, emoji=False, color_system=None)
    for r in renderables:
        con.print(r)
    return con.file.getvalue()  # type: ignore[attr-defined]


def table_ks(text: str) -> list[int]:
    return [int(line.split("│")[1]) for line in text.splitlines() if line.startswith("│")]


def test_curve_table_titles_cells_and_notes() -> None:
    cur = curve([4, 8, 8], [1, 3, 8], [1, 8], k_exceeds_n="drop", method="analytic", ci=0.9)
    text = render(curve_table(cur, problems=3, group="[b]x", label_name="model"), *curve_notes(cur))
    assert text.splitlines()[0].startswith("pass@k — model=[b]x  (3 problems)")  # the label is not markup
    assert "90% CI" in text
    assert table_ks(text) == [1, 8]
    assert "1 problem(s) with n < 8 left out at k=8 (--drop-small-n)" in text
    one = curve([8], [3], [1, 2], method="analytic")
    text = render(curve_table(one, problems=1), *curve_notes(one))
    assert "note: k=1, 2: one problem, no interval" in text and "pass@k  (1 problem)" in text


def test_comparison_table_rows() -> None:
    rng = np.random.default_rng(0)
    P, n = 60, 16
    a = (np.full(P, n), rng.binomial(n, 0.3, P))
    b = (np.full(P, n), rng.binomial(n, 0.45, P))
    res = compare(a, b, np.arange(1, n + 1), n_boot=300)
    assert table_ks(render(comparison_table(res, show="all"))) == list(range(1, n + 1))
    assert table_ks(render(comparison_table(res, show=[3, 5]))) == [3, 5]
    verdict = (res.lo > 0).astype(int) - (res.hi < 0).astype(int)
    changes = {int(k) for i, k in enumerate(res.k[1:]) if verdict[i + 1] != verdict[i]}
    changes |= {int(res.k[i]) for i in range(n - 1) if verdict[i + 1] != verdict[i]}
    assert set(table_ks(render(comparison_table(res)))) == {1, 2, 4, 8, 16} | changes
    notes = render(*comparison_notes(res))
    assert "B better than A at k = " in notes and f"({res.n_boot} multiplier draws, seed 0)" in notes
