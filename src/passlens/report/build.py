"""Numbers of the exploration report: per-group tables → one JSON-ready metrics dict.

No plotting and no printing here. Everything the terminal summary, the HTML page
and ``metrics.json`` show comes from the dict :func:`build_report` returns, so
the three cannot disagree; the page is a view of the dict.

What is computed, per group (a model, a checkpoint, a training step):

* pass@k curves with confidence intervals (:func:`passlens.curve`), pass^k on
  request, max@k when continuous rewards are present, maj@k when answers are;
* the pass@k theory summary (:func:`passlens.theory.summarize`: α̂_k, signal
  ŝ_k and its share per difficulty bucket, polarized problems, expected
  zero-signal group fraction at the training group size G, mean gap
  pass@k − pass@1) — the instrument of Yu 2025 (arXiv 2511.16231);
* a histogram of the per-problem p̂ = c/n;
* with answers: distinct correct answers observed per problem and the unbiased
  coverage@k = Σ_{a correct} [1 − C(n − m_a, k)/C(n, k)] (expected number of
  distinct correct answers among k samples).

Between groups: a pair (two groups) is B against A; a series (three or more,
e.g. training steps) compares **every group against the first** (the question
is what training changed relative to its start), with the paired simultaneous
band of :func:`passlens.compare`, plus the problems lost (solved at least once
before, never after) and gained.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .._json import json_ready
from .._pairing import PairingError, align_by_id
from .._validate import as_counts, log_grid, pow2_grid
from ..estimators import coverage_at_k
from ..uncertainty import SMALL_P
from .text import format_k_ranges

__all__ = [
    "ReportSettings",
    "Report",
    "build_report",
    "distinct_correct",
    "phat_histogram",
    "LARGE_CELLS",
    "SCHEMA_VERSION",
]

#: Version of the metrics.json layout. 1: the first versioned one (the layout of passlens 0.1.0,
#: with ``curves.coverage`` where answers exist). Readers should check it; fields are only added
#: within a version.
SCHEMA_VERSION = 1

#: Above this many (problem × budget) cells per group the report switches to its large-input plan:
#: analytic curve intervals on a log-spaced k grid, the comparison on powers of two with fewer draws.
LARGE_CELLS = 2_000_000

#: Multiplier-bootstrap normal draws allowed per comparison in the large-input plan (n_boot · P).
_LARGE_DRAWS = 100_000_000

#: Interior edges of the p̂ histogram (exact 0 and exact 1 get their own bars).
HIST_BINS = 20


@dataclass(frozen=True)
class ReportSettings:
    """How the report is computed.

    Attributes:
      ks: budgets (K,) for the curves and comparisons; None → the ``grid``.
      grid: with ks None, "all" → 1..min n of each group/pair (a log-spaced subset of it for
        large inputs), "pow2" → 1, 2, 4, … ≤ min n plus min n.
      ci: level of the per-curve intervals.
      alpha: family-wise error of the comparison's simultaneous band.
      n_boot: bootstrap replicates (curves) and multiplier draws (comparisons).
      seed: seed of every random draw.
      group_size: training group size G of the zero-signal fraction.
      passhat: also compute pass^k.
      method: "auto" (bootstrap, analytic for large inputs), "bootstrap" or "analytic".
      max_listed: at most this many lost / gained problem ids are listed on the page
        (metrics.json holds all of them).
    """

    ks: tuple[int, ...] | None = None
    grid: str = "all"
    ci: float = 0.95
    alpha: float = 0.05
    n_boot: int = 2000
    seed: int = 0
    group_size: int = 16
    passhat: bool = False
    method: str = "auto"
    max_listed: int = 40


@dataclass
class Report:
    """The report's numbers (``metrics``, JSON-ready) and per-problem arrays for figures.

    Attributes:
      metrics: nested dict of plain Python values (None for NaN); written as metrics.json.
      per_problem: group label → {"ids": object (P,), "p_hat": float (P,)}; for figures only.
      pairs: list of (label_a, label_b) compared, in order.
    """

    metrics: dict[str, Any]
    per_problem: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    pairs: list[tuple[str, str]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------
# small per-problem statistics


def distinct_correct(correct: Sequence[np.ndarray]) -> np.ndarray:
    """Distinct correct answers observed per problem.

    Args:
      correct: list of P bool arrays (m_i,), whether each distinct answer is correct.

    Returns:
      int64 (P,), Σ_a 1[a correct].
    """
    return np.array([int(np.count_nonzero(c)) for c in correct], dtype=np.int64)


def phat_histogram(n: object, c: object, bins: int = HIST_BINS) -> dict[str, Any]:
    """Histogram of p̂ = c/n with exact 0 and exact 1 as their own bars.

    Args:
      n, c: int arrays (P,).
      bins: number of equal-width bins over the open interval (0, 1).

    Returns:
      {"edges": float (bins + 1,), "zero": count of p̂ = 0, "one": count of p̂ = 1,
       "counts": int (bins,) counts of 0 < p̂ < 1 per bin [j/bins, (j+1)/bins)}.
    """
    n_, c_ = as_counts(n, c)
    inner = (c_ > 0) & (c_ < n_)
    # bin index floor(bins·c/n) in integer arithmetic: p̂ on an edge (e.g. 3/5 = 0.6) lands in the upper bin exactly.
    idx = np.minimum((c_[inner] * bins) // n_[inner], bins - 1)
    counts = np.bincount(idx, minlength=bins)
    edges = np.linspace(0.0, 1.0, bins + 1)
    return {
        "edges": edges.tolist(),
        "zero": int(np.sum(c_ == 0)),
        "one": int(np.sum(c_ == n_)),
        "counts": counts.astype(int).tolist(),
    }


# ---------------------------------------------------------------------------------------
# helpers


def _signal_k(n_min: int) -> int:
    """Budget for the signal headline: 8, or the largest power of two with 4k ≤ n (k = 1 below n = 4).

    ŝ_k needs n ≥ 2k, but it is non-zero only for c ≤ n − 2k + 1: at n = 2k every problem
    with c ≥ 2 shows zero signal, and the share by difficulty bucket of p̂ = c/n piles into
    the lowest bucket. With 4k ≤ n problems up to p̂ ≈ 1/2 keep their signal, beyond which
    k²p(1 − p)^{2k−1} is small anyway.
    """
    k = 8
    while k > 1 and 4 * k > n_min:
        k //= 2
    return k


def display_name(label: str, label_name: str | None) -> str:
    """How the page names a group: "step 400" for numeric labels of a step-like column, else the label."""
    if not label:
        return "data"
    if label_name and label_name not in ("file", "model"):
        try:
            float(label)
        except ValueError:
            return label
        return f"{label_name} {label}"
    return label


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _signed(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.3f}"


def _plural(count: int, one: str, many: str | None = None) -> str:
    """"1 budget", "3 budgets"."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _num(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _at(values: Sequence[Any], ks: Sequence[int], k: int) -> Any:
    ks = list(ks)
    return values[ks.index(k)] if k in ks else None


# ---------------------------------------------------------------------------------------
# the report


def _group_ks(settings: ReportSettings, n_min: int, large: bool) -> np.ndarray:
    if settings.ks is not None:
        ks = np.asarray(sorted(set(int(v) for v in settings.ks)), dtype=np.int64)
        if ks.size == 0 or ks.min() < 1:
            raise ValueError(f"--k: budgets must be ≥ 1, got {list(settings.ks)}")
        return ks
    if settings.grid not in ("all", "pow2"):
        raise ValueError(f"grid must be 'all' or 'pow2', got {settings.grid!r}")
    if settings.grid == "pow2":
        return pow2_grid(n_min)
    return log_grid(n_min) if large else np.arange(1, n_min + 1, dtype=np.int64)


def _method(settings: ReportSettings, large: bool) -> str:
    if settings.method not in ("auto", "bootstrap", "analytic"):
        raise ValueError(f"method must be 'auto', 'bootstrap' or 'analytic', got {settings.method!r}")
    if settings.method == "auto":
        return "analytic" if large else "bootstrap"
    return settings.method


def _group_metrics(label: str, table: Any, settings: ReportSettings, notes: list[str]) -> tuple[dict[str, Any], bool]:
    """Curves, theory summary, p̂ histogram and answer diversity of one group."""
    from ..theory.summary import summarize
    from ..uncertainty import curve

    if table.c is None:
        other = next((note for note in notes if "also reward-like" in note), None)
        raise ValueError(
            f"group {label or '(all)'}: rewards are not all 0/1 (first at {table.nonbinary_at}); "
            "use --threshold T to binarize" + (f"; {other}" if other else "")
        )
    n, c, ids = table.n, table.c, table.ids
    P = int(n.size)
    n_min, n_max = int(n.min()), int(n.max())
    large = P * n_min > LARGE_CELLS
    ks = _group_ks(settings, n_min, large)
    if int(ks[-1]) > n_min:
        short = np.flatnonzero(n < int(ks[-1]))
        raise ValueError(
            f"group {label or '(all)'}: k={int(ks[-1])} exceeds n={int(n[short[0]])} of problem {ids[short[0]]!r}"
            f" ({short.size} problem(s) have n < {int(ks[-1])}; no unbiased estimate exists for k > n)"
        )
    method = _method(settings, large)
    common = dict(ci=settings.ci, method=method, n_boot=settings.n_boot, seed=settings.seed, ids=ids)
    curves: dict[str, Any] = {"pass": curve(n, c, ks, metric="pass", **common).to_dict()}
    if settings.passhat:
        curves["passhat"] = curve(n, c, ks, metric="passhat", **common).to_dict()
    if table.rewards is not None:
        curves["max"] = curve(rewards=table.rewards, k=ks, metric="max", **common).to_dict()
    if table.votes is not None and table.vote_correct is not None:
        for name in ("maj", "coverage"):
            curves[name] = curve(votes=table.votes, correct=table.vote_correct, k=ks, metric=name, **common).to_dict()

    theory_ks = pow2_grid(n_min)
    summ = summarize(n, c, ks=theory_ks, group_size=settings.group_size, ids=ids).to_dict()
    for note in summ.get("notes", []):
        if note.startswith("signal_hat at k=") and note.endswith("value is NaN"):
            continue  # by design: ŝ_k needs n ≥ 2k; one general note is added by build_report
        notes.append(f"{label or 'data'}: {note}")
    out: dict[str, Any] = {
        "problems": P,
        "n_min": n_min,
        "n_max": n_max,
        "large_input": large,
        "interval_method": method,
        "curves": curves,
        "theory": summ,
        "phat_hist": phat_histogram(n, c),
    }
    if table.votes is not None and table.vote_correct is not None:
        d = distinct_correct(table.vote_correct)
        cov_ks = pow2_grid(n_min)
        cov = coverage_at_k(table.votes, table.vote_correct, cov_ks, ids=table.ids).mean(axis=0)
        out["answers"] = {
            "distinct_correct_mean": float(d.mean()),
            "distinct_correct_median": float(np.median(d)),
            "frac_two_or_more_correct": float(np.mean(d >= 2)),
            "coverage_k": cov_ks.tolist(),
            "coverage_mean": cov.tolist(),
        }
    return out, large


def _pair_metrics(
    la: str, ta: Any, lb: str, tb: Any, settings: ReportSettings, notes: list[str], max_listed: int
) -> dict[str, Any] | None:
    """Paired comparison of B against A plus problems lost and gained; None when not pairable."""
    from ..uncertainty import compare
    from .text import describe_comparison

    try:
        perm = align_by_id(ta.ids, tb.ids)
    except PairingError as e:
        notes.append(
            f"{lb} vs {la}: not compared — {len(e.only_a)} problems only in {la or 'A'}, "
            f"{len(e.only_b)} only in {lb or 'B'}; a paired comparison needs the same problems"
        )
        return None
    n_min = int(min(ta.n.min(), tb.n.min()))
    P = int(ta.n.size)
    large = P * n_min > LARGE_CELLS
    n_boot = settings.n_boot
    if settings.ks is not None or settings.grid == "pow2":
        ks = _group_ks(settings, n_min, large)
    elif large:
        ks = pow2_grid(n_min)
        n_boot = int(max(200, min(n_boot, _LARGE_DRAWS // max(P, 1))))
    else:
        ks = np.arange(1, n_min + 1, dtype=np.int64)
    cmp = compare(ta, tb, ks, alpha=settings.alpha, n_boot=n_boot, seed=settings.seed)
    # per-problem view, aligned by id (tables are sorted by id, but align explicitly)
    ca, na = ta.c, ta.n
    cb, nb = tb.c[perm], tb.n[perm]
    lost = (ca > 0) & (cb == 0)
    gained = (ca == 0) & (cb > 0)
    ids = ta.ids
    d = cmp.to_dict()
    return {
        "a": la,
        "b": lb,
        "large_input": large,
        "comparison": d,
        "describe": describe_comparison(cmp),
        "lost_count": int(lost.sum()),
        "gained_count": int(gained.sum()),
        "lost_ids": [str(v) for v in ids[lost].tolist()],
        "gained_ids": [str(v) for v in ids[gained].tolist()],
        "lost_shown": [
            {"id": str(ids[i]), "c_a": int(ca[i]), "n_a": int(na[i]), "c_b": int(cb[i]), "n_b": int(nb[i])}
            for i in np.flatnonzero(lost)[np.argsort(-(ca[lost] / na[lost]), kind="stable")][:max_listed]
        ],
        "gained_shown": [
            {"id": str(ids[i]), "c_a": int(ca[i]), "n_a": int(na[i]), "c_b": int(cb[i]), "n_b": int(nb[i])}
            for i in np.flatnonzero(gained)[np.argsort(-(cb[gained] / nb[gained]), kind="stable")][:max_listed]
        ],
        "mean_abs_phat_change": float(np.mean(np.abs(cb / nb - ca / na))),
    }


def _trend(labels: list[str], groups: dict[str, Any], k_top: int, k_sig: int) -> dict[str, Any]:
    """Headline numbers per group in order (for a series: against step)."""

    def pick(g: dict[str, Any], key: str, k: int) -> Any:
        th = g["theory"]
        return _at(th[key], th["ks"], k)

    rows: dict[str, list[Any]] = {
        "group": labels,
        "pass1": [],
        f"pass_at_{k_top}": [],
        f"gap_{k_top}": [],
        "never_solved": [],
        "always_solved": [],
        "zero_signal": [],
        f"signal_{k_sig}_per_problem": [],
        f"alpha_{k_sig}_median": [],
        "distinct_correct_mean": [],
        f"coverage_{k_sig}": [],
    }
    for lab in labels:
        g = groups[lab]
        cur = g["curves"]["pass"]
        rows["pass1"].append(g["theory"]["pass1_mean"])
        rows[f"pass_at_{k_top}"].append(_at(cur["estimate"], cur["k"], k_top))
        rows[f"gap_{k_top}"].append(pick(g, "gap_mean", k_top))
        rows["never_solved"].append(g["theory"]["frac_never_solved"])
        rows["always_solved"].append(g["theory"]["frac_always_solved"])
        rows["zero_signal"].append(g["theory"]["zero_signal_fraction"])
        tot, cnt = pick(g, "signal_total", k_sig), pick(g, "signal_problems", k_sig)
        rows[f"signal_{k_sig}_per_problem"].append(None if tot is None or not cnt else tot / cnt)
        th = g["theory"]
        aq = _at(th["alpha_quantiles"], th["ks"], k_sig)
        levels = th["alpha_quantile_levels"]
        rows[f"alpha_{k_sig}_median"].append(aq[levels.index(0.5)] if aq is not None and 0.5 in levels else None)
        rows["distinct_correct_mean"].append(g.get("answers", {}).get("distinct_correct_mean"))
        ans = g.get("answers")
        rows[f"coverage_{k_sig}"].append(_at(ans["coverage_mean"], ans["coverage_k"], k_sig) if ans else None)
    return rows


def _verdict(
    metrics: dict[str, Any], first: str, last: str, pair: dict[str, Any] | None, k_top: int, k_sig: int
) -> list[dict[str, Any]]:
    """Plain-language sentences; each carries the numbers it cites (all also elsewhere in metrics)."""
    g = metrics["groups"]
    A, B = g[first], g[last]
    name_a, name_b = metrics["display_names"][first], metrics["display_names"][last]
    out: list[dict[str, Any]] = []
    if pair is not None:
        cmp = pair["comparison"]
        ks = cmp["k"]
        band = f"{int(round(100 * (1 - cmp['alpha'])))}% simultaneous band"
        few = cmp["problems"] < SMALL_P
        if few:
            # the band is a central-limit approximation over problems: say so before any "significant"
            out.append(
                {
                    "text": f"Only {_plural(cmp['problems'], 'paired problem')}: the band is a large-sample "
                    f"approximation and may cover less than {100 * (1 - cmp['alpha']):g}%; read \"significant\" "
                    f"below as nominal (at least {SMALL_P} problems are needed for the stated level).",
                    "refs": {"problems": cmp["problems"], "small_p": SMALL_P},
                }
            )
        for kk in dict.fromkeys([1, ks[-1]]):
            if kk not in ks:
                continue
            i = ks.index(kk)
            d, lo, hi = cmp["diff"][i], cmp["lo"][i], cmp["hi"][i]
            verdict = "significant" if (lo is not None and lo > 0) or (hi is not None and hi < 0) else "inconclusive"
            if few and verdict == "significant":
                verdict = "nominally significant"
            if kk in cmp["degenerate"] and d == 0:
                text = (f"pass@{kk} is the same for {name_a} and {name_b} on every problem "
                        f"({cmp['a'][i]:.3f} → {cmp['b'][i]:.3f}).")
            elif kk in cmp["degenerate"]:
                text = (f"{name_b} changed pass@{kk} by the same {d:+.3f} on every problem vs {name_a} "
                        f"({cmp['a'][i]:.3f} → {cmp['b'][i]:.3f}); with no spread over problems the bootstrap "
                        "gives no interval there (inconclusive).")
            else:
                move = "left" if round(d, 3) == 0 else "raised" if d > 0 else "lowered"
                text = (f"{name_b} {move} pass@{kk} " + ("unchanged" if move == "left" else f"by {abs(d):.3f}")
                        + f" vs {name_a} ({cmp['a'][i]:.3f} → {cmp['b'][i]:.3f}; {band} [{_signed(lo)}, {_signed(hi)}], "
                        f"{verdict}).")
            out.append(
                {
                    "text": text,
                    "refs": {"k": kk, "a": cmp["a"][i], "b": cmp["b"][i], "diff": d, "lo": lo, "hi": hi},
                }
            )
        if cmp["worse"] or cmp["better"]:
            parts = []
            if cmp["better"]:
                parts.append(f"better at {_plural(len(cmp['better']), 'budget')} (k = {format_k_ranges(cmp['better'])})")
            if cmp["worse"]:
                parts.append(f"worse at {_plural(len(cmp['worse']), 'budget')} (k = {format_k_ranges(cmp['worse'])})")
            cross = f"; the mean curves cross at k = {cmp['crossover']}" if cmp["crossover"] is not None else ""
            out.append(
                {
                    "text": f"{name_b} is {'nominally ' if few else ''}significantly " + " and ".join(parts) + cross + ".",
                    "refs": {"better": cmp["better"], "worse": cmp["worse"], "crossover": cmp["crossover"]},
                }
            )
        else:
            out.append({"text": f"No budget shows a significant difference at level {cmp['alpha']}.", "refs": {}})
        out.append(
            {
                "text": f"{_plural(pair['lost_count'], 'problem')} solved at least once by {name_a} "
                f"{'is' if pair['lost_count'] == 1 else 'are'} never solved by {name_b}; {pair['gained_count']} "
                f"{'goes' if pair['gained_count'] == 1 else 'go'} the other way.",
                "refs": {"lost": pair["lost_count"], "gained": pair["gained_count"]},
            }
        )
    else:
        ca, cb = A["curves"]["pass"], B["curves"]["pass"]
        for kk in dict.fromkeys([1, k_top]):
            ea, eb = _at(ca["estimate"], ca["k"], kk), _at(cb["estimate"], cb["k"], kk)
            if ea is None or eb is None:
                continue
            out.append(
                {
                    "text": f"pass@{kk}: {name_a} {ea:.3f} → {name_b} {eb:.3f} (change {eb - ea:+.3f}; "
                    "not paired: the problem sets differ).",
                    "refs": {"k": kk, "a": ea, "b": eb},
                }
            )
    ta, tb = A["theory"], B["theory"]
    pol_a = ta["frac_never_solved"] + ta["frac_always_solved"]
    pol_b = tb["frac_never_solved"] + tb["frac_always_solved"]
    # with one sample per problem every problem is "never" or "always" solved: no polarization claim then
    single_sample = A["n_max"] == 1 and B["n_max"] == 1
    out.append(
        {
            "text": (f"With n = 1 sample per problem every problem is either never or always solved, so "
                     f"polarization is not measured (solved: {_pct(ta['frac_always_solved'])} → "
                     f"{_pct(tb['frac_always_solved'])})." if single_sample else
                     f"Polarized problems (never or always solved) went from {_pct(pol_a)} to {_pct(pol_b)} "
                     f"(never {_pct(ta['frac_never_solved'])} → {_pct(tb['frac_never_solved'])}, "
                     f"always {_pct(ta['frac_always_solved'])} → {_pct(tb['frac_always_solved'])})."),
            "refs": {
                "never_a": ta["frac_never_solved"],
                "never_b": tb["frac_never_solved"],
                "always_a": ta["frac_always_solved"],
                "always_b": tb["frac_always_solved"],
            },
        }
    )
    sa, sb = _at(ta["signal_total"], ta["ks"], k_sig), _at(tb["signal_total"], tb["ks"], k_sig)
    pa_, pb_ = _at(ta["signal_problems"], ta["ks"], k_sig), _at(tb["signal_problems"], tb["ks"], k_sig)
    if sa and sb is not None and pa_ and pb_:
        ra, rb = sa / pa_, sb / pb_
        change = (rb - ra) / ra
        moved = ("is unchanged" if round(100 * change, 1) == 0 else
                 f"{'fell' if change < 0 else 'rose'} by {abs(100 * change):.1f}%")
        out.append(
            {
                "text": f"pass@k learning signal at k={k_sig} (mean ŝ_{k_sig} per problem) "
                f"{moved} ({ra:.4g} → {rb:.4g}).",
                "refs": {"k": k_sig, "a": ra, "b": rb, "relative_change": change},
            }
        )
    za, zb = ta["zero_signal_fraction"], tb["zero_signal_fraction"]
    if za is not None and zb is not None:
        out.append(
            {
                "text": f"Expected fraction of zero-signal training groups at G={ta['group_size']}: "
                f"{_pct(za)} → {_pct(zb)}.",
                "refs": {"group_size": ta["group_size"], "a": za, "b": zb},
            }
        )
    ga, gb = _at(ta["gap_mean"], ta["ks"], k_top), _at(tb["gap_mean"], tb["ks"], k_top)
    if ga is not None and gb is not None and k_top > 1:  # pass@1 − pass@1 is 0 by definition
        out.append(
            {
                "text": f"Gap pass@{k_top} − pass@1: {ga:.3f} → {gb:.3f} "
                + ("(unchanged)." if round(gb, 3) == round(ga, 3) else "(the gap shrank)." if gb < ga
                   else "(the gap grew)."),
                "refs": {"k": k_top, "a": ga, "b": gb},
            }
        )
    if "answers" in A and "answers" in B:
        da, db = A["answers"]["distinct_correct_mean"], B["answers"]["distinct_correct_mean"]
        out.append(
            {
                "text": f"Distinct correct answers per problem: {da:.2f} → {db:.2f}.",
                "refs": {"a": da, "b": db},
            }
        )
    return out


def build_report(
    groups: dict[str, Any],
    settings: ReportSettings | None = None,
    *,
    inputs: dict[str, Any] | None = None,
    kind: str | None = None,
    label_name: str | None = None,
) -> Report:
    """Compute every number of the report.

    Args:
      groups: ordered label → table with ``ids`` object (P,), ``n`` int (P,),
        ``c`` int (P,) (and optionally ``rewards``, ``votes``, ``vote_correct``),
        e.g. :attr:`passlens.io.Dataset.groups`. One group: a single-model
        report; two: a pair (B = second vs A = first); three or more: a series
        (each group vs the first).
      settings: :class:`ReportSettings`.
      inputs: provenance copied into metrics["inputs"] (files, sha256, notes).
      kind: force "single" | "pair" | "series" (default from the number of groups).
      label_name: what the labels are ("step", "model", "file") for axis titles.

    Returns:
      :class:`Report`.
    """
    from .._version import __version__

    settings = settings or ReportSettings()
    if not groups:
        raise ValueError("no groups to report on (empty input)")
    if not (0.0 < settings.ci < 1.0):
        raise ValueError(f"--ci must be in (0, 1), got {settings.ci}")
    if not (0.0 < settings.alpha < 1.0):
        raise ValueError(f"--alpha must be in (0, 1), got {settings.alpha}")
    if settings.n_boot < 2:
        raise ValueError(f"--n-boot must be ≥ 2, got {settings.n_boot}")
    if settings.group_size < 1:
        raise ValueError(f"--group-size must be ≥ 1, got {settings.group_size}")
    labels = list(groups)
    kind = kind or ("single" if len(labels) == 1 else "pair" if len(labels) == 2 else "series")
    notes: list[str] = list((inputs or {}).get("notes", []))
    gm: dict[str, Any] = {}
    per_problem: dict[str, dict[str, np.ndarray]] = {}
    any_large = False
    for lab in labels:
        gm[lab], large = _group_metrics(lab, groups[lab], settings, notes)
        any_large |= large
        t = groups[lab]
        per_problem[lab] = {"ids": t.ids, "p_hat": t.c / t.n}
    n_min_all = min(g["n_min"] for g in gm.values())
    k_top = n_min_all
    k_sig = _signal_k(n_min_all)
    comparisons: list[dict[str, Any]] = []
    pairs: list[tuple[str, str]] = []
    if kind in ("pair", "series"):
        first = labels[0]
        for lab in labels[1:]:
            res = _pair_metrics(first, groups[first], lab, groups[lab], settings, notes, settings.max_listed)
            if res is not None:
                comparisons.append(res)
                pairs.append((first, lab))
    if any(None in g["theory"]["signal_total"] for g in gm.values()):
        notes.append("the signal estimate ŝ_k needs n ≥ 2k samples per problem; it is n/a for larger k.")
    if any_large:
        notes.append(
            f"large input (more than {LARGE_CELLS:,} problem×budget cells in a group): curve intervals are "
            "analytic (mean ± t·SE) on a log-spaced k grid, and comparisons use the powers-of-two grid "
            "with fewer multiplier draws (see each comparison's n_boot)."
        )
    metrics: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "passlens_version": __version__,
        "kind": kind,
        "label_name": label_name,
        "comparison_scheme": "each group vs the first" if kind == "series" else ("B vs A" if kind == "pair" else None),
        "settings": {
            "ks": list(settings.ks) if settings.ks is not None else None,
            "grid": settings.grid,
            "ci": settings.ci,
            "alpha": settings.alpha,
            "n_boot": settings.n_boot,
            "seed": settings.seed,
            "group_size": settings.group_size,
            "passhat": settings.passhat,
            "method": settings.method,
        },
        "inputs": {k: v for k, v in (inputs or {}).items() if k != "notes"},
        "labels": labels,
        "display_names": {lab: display_name(lab, label_name) for lab in labels},
        "k_top": k_top,
        "k_signal": k_sig,
        "groups": gm,
        "comparisons": comparisons,
        "trend": _trend(labels, gm, k_top, k_sig),
        "notes": notes,
    }
    last_pair = comparisons[-1] if comparisons and comparisons[-1]["b"] == labels[-1] else None
    metrics["verdict"] = _verdict(metrics, labels[0], labels[-1], last_pair, k_top, k_sig) if len(labels) > 1 else (
        _single_verdict(gm[labels[0]], k_top, k_sig)
    )
    return Report(metrics=json_ready(metrics), per_problem=per_problem, pairs=pairs)


def _single_verdict(g: dict[str, Any], k_top: int, k_sig: int) -> list[dict[str, Any]]:
    th, cur = g["theory"], g["curves"]["pass"]
    e1, et = _at(cur["estimate"], cur["k"], 1), _at(cur["estimate"], cur["k"], k_top)
    out = []
    if e1 is not None and et is not None:
        text = f"pass@1 = {e1:.3f}" + (f", pass@{k_top} = {et:.3f}." if k_top > 1 else " (one sample per problem).")
        out.append({"text": text, "refs": {"pass1": e1, "pass_top": et}})
    out.append(
        {
            "text": f"{_pct(th['frac_never_solved'])} of problems are never solved and "
            f"{_pct(th['frac_always_solved'])} always solved "
            + ("(with n = 1 sample per problem every problem is one or the other)." if g["n_max"] == 1 else
               "(no group-relative signal from either)."),
            "refs": {"never": th["frac_never_solved"], "always": th["frac_always_solved"]},
        }
    )
    if th["zero_signal_fraction"] is not None:
        out.append(
            {
                "text": f"Expected fraction of zero-signal training groups at G={th['group_size']}: "
                f"{_pct(th['zero_signal_fraction'])}.",
                "refs": {"zero_signal": th["zero_signal_fraction"]},
            }
        )
    return out
