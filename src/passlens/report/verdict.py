"""The verdict: plain-language sentences about the first and the last group, each with the numbers it cites.

Built from the typed sections (:mod:`passlens.report.sections`) after them: for two or more
groups, the paired comparison of the last group against the first (or, when their problems
differ, the change in pass@k), then polarization, the pass@k learning signal, zero-signal
groups, the gap pass@k − pass@1 and distinct correct answers; for one group its headline
numbers. Every cited number is also elsewhere in metrics.json. The page shows it on top,
the terminal after the tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any, Mapping

from rich.console import RenderableType
from rich.markup import escape as markup
from rich.panel import Panel

from ..uncertainty import SMALL_P
from .section import Context, ReportInfo, Section, value
from .sections.answers import Answers
from .sections.collapse import Collapse
from .sections.comparison import Comparisons, Pair
from .sections.curves import Curves
from .text import format_k_ranges

__all__ = ["Verdict", "Sentence"]


@dataclass(frozen=True)
class Sentence:
    """One sentence of the verdict and the numbers it cites (name → value)."""

    text: str
    refs: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "refs": dict(self.refs)}


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _signed(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.3f}"


def _plural(count: int, one: str, many: str | None = None) -> str:
    """"1 budget", "3 budgets"."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


@dataclass(frozen=True)
class Verdict(Section):
    """The verdict's sentences, in order."""

    sentences: tuple[Sentence, ...]

    @classmethod
    def build(cls, ctx: Context) -> Verdict:
        info = ctx.info
        curves, collapse, answers = ctx.section(Curves), ctx.section(Collapse), ctx.section(Answers)
        if len(info.labels) == 1:
            return cls(tuple(_single(info, curves, collapse)))
        pair = ctx.section(Comparisons).last_pair()
        return cls(tuple(_between(info, curves, collapse, answers, pair)))

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": [s.to_dict() for s in self.sentences]}

    def html(self, figures: Mapping[str, bytes]) -> str:
        items = "".join(f"<li>{escape(s.text)}</li>" for s in self.sentences)
        return f"<div class='verdict'><b>Verdict</b><ul>{items}</ul></div>"

    def terminal(self) -> list[RenderableType]:
        text = "\n".join(f"• {markup(s.text)}" for s in self.sentences)
        return [Panel(text, title="Verdict", title_align="left", border_style="cyan")]


def _paired(info: ReportInfo, pair: Pair) -> list[Sentence]:
    """What the comparison of the last group against the first says at k = 1 and its largest k."""
    name_a, name_b = info.name(pair.a), info.name(pair.b)
    cmp = pair.comparison
    ks = cmp.k.tolist()
    degenerate = cmp.degenerate.tolist()
    band = f"{int(round(100 * (1 - cmp.alpha)))}% simultaneous band"
    few = cmp.problems < SMALL_P
    out = []
    if few:
        # the band is a central-limit approximation over problems: say so before any "significant"
        out.append(Sentence(
            f"Only {_plural(cmp.problems, 'paired problem')}: the band is a large-sample "
            f"approximation and may cover less than {100 * (1 - cmp.alpha):g}%; read \"significant\" "
            f"below as nominal (at least {SMALL_P} problems are needed for the stated level).",
            {"problems": cmp.problems, "small_p": SMALL_P},
        ))
    for kk in dict.fromkeys([1, ks[-1]]):
        if kk not in ks:
            continue
        i = ks.index(kk)
        a, b, d = float(cmp.a[i]), float(cmp.b[i]), float(cmp.diff[i])  # means over problems: finite
        lo, hi = value(cmp.lo[i]), value(cmp.hi[i])
        verdict = "significant" if (lo is not None and lo > 0) or (hi is not None and hi < 0) else "inconclusive"
        if few and verdict == "significant":
            verdict = "nominally significant"
        if kk in degenerate and d == 0:
            text = f"pass@{kk} is the same for {name_a} and {name_b} on every problem ({a:.3f} → {b:.3f})."
        elif kk in degenerate:
            text = (f"{name_b} changed pass@{kk} by the same {d:+.3f} on every problem vs {name_a} "
                    f"({a:.3f} → {b:.3f}); with no spread over problems the bootstrap gives no interval there "
                    "(inconclusive).")
        else:
            move = "left" if round(d, 3) == 0 else "raised" if d > 0 else "lowered"
            text = (f"{name_b} {move} pass@{kk} " + ("unchanged" if move == "left" else f"by {abs(d):.3f}")
                    + f" vs {name_a} ({a:.3f} → {b:.3f}; {band} [{_signed(lo)}, {_signed(hi)}], {verdict}).")
        out.append(Sentence(text, {"k": kk, "a": a, "b": b, "diff": d, "lo": lo, "hi": hi}))
    better, worse = cmp.better.tolist(), cmp.worse.tolist()
    if worse or better:
        parts = []
        if better:
            parts.append(f"better at {_plural(len(better), 'budget')} (k = {format_k_ranges(better)})")
        if worse:
            parts.append(f"worse at {_plural(len(worse), 'budget')} (k = {format_k_ranges(worse)})")
        cross = f"; the mean curves cross at k = {cmp.crossover}" if cmp.crossover is not None else ""
        out.append(Sentence(
            f"{name_b} is {'nominally ' if few else ''}significantly " + " and ".join(parts) + cross + ".",
            {"better": better, "worse": worse, "crossover": cmp.crossover},
        ))
    else:
        out.append(Sentence(f"No budget shows a significant difference at level {cmp.alpha}.", {}))
    lost, gained = pair.lost_count, pair.gained_count
    out.append(Sentence(
        f"{_plural(lost, 'problem')} solved at least once by {name_a} {'is' if lost == 1 else 'are'} never solved by "
        f"{name_b}; {gained} {'goes' if gained == 1 else 'go'} the other way.",
        {"lost": lost, "gained": gained},
    ))
    return out


def _between(
    info: ReportInfo, curves: Curves, collapse: Collapse, answers: Answers, pair: Pair | None
) -> list[Sentence]:
    """The verdict on the last group against the first."""
    first, last = info.labels[0], info.labels[-1]
    name_a, name_b = info.name(first), info.name(last)
    k_top, k_sig = info.k_top, info.k_signal
    out: list[Sentence] = []
    if pair is not None:
        out += _paired(info, pair)
    else:
        for kk in dict.fromkeys([1, k_top]):
            ea, eb = curves.pass_at(first, kk), curves.pass_at(last, kk)
            if ea is None or eb is None:
                continue
            out.append(Sentence(
                f"pass@{kk}: {name_a} {ea:.3f} → {name_b} {eb:.3f} (change {eb - ea:+.3f}; "
                "not paired: the problem sets differ).",
                {"k": kk, "a": ea, "b": eb},
            ))
    ta, tb = collapse.theory[first], collapse.theory[last]
    never_a, never_b = ta.frac_never_solved, tb.frac_never_solved
    always_a, always_b = ta.frac_always_solved, tb.frac_always_solved
    # with one sample per problem every problem is "never" or "always" solved: no polarization claim then
    single_sample = info.groups[first].n_max == 1 and info.groups[last].n_max == 1
    out.append(Sentence(
        f"With n = 1 sample per problem every problem is either never or always solved, so polarization is not "
        f"measured (solved: {_pct(always_a)} → {_pct(always_b)})." if single_sample else
        f"Polarized problems (never or always solved) went from {_pct(never_a + always_a)} to "
        f"{_pct(never_b + always_b)} (never {_pct(never_a)} → {_pct(never_b)}, always {_pct(always_a)} → "
        f"{_pct(always_b)}).",
        {"never_a": never_a, "never_b": never_b, "always_a": always_a, "always_b": always_b},
    ))
    sa, sb = collapse.signal_total(first, k_sig), collapse.signal_total(last, k_sig)
    ra, rb = collapse.signal_per_problem(first, k_sig), collapse.signal_per_problem(last, k_sig)
    if sa and sb is not None and ra is not None and rb is not None:  # a relative change needs signal in A
        change = (rb - ra) / ra
        moved = ("is unchanged" if round(100 * change, 1) == 0 else
                 f"{'fell' if change < 0 else 'rose'} by {abs(100 * change):.1f}%")
        out.append(Sentence(
            f"pass@k learning signal at k={k_sig} (mean ŝ_{k_sig} per problem) {moved} ({ra:.4g} → {rb:.4g}).",
            {"k": k_sig, "a": ra, "b": rb, "relative_change": change},
        ))
    za, zb = value(ta.zero_signal_fraction), value(tb.zero_signal_fraction)
    if za is not None and zb is not None:
        out.append(Sentence(
            f"Expected fraction of zero-signal training groups at G={ta.group_size}: {_pct(za)} → {_pct(zb)}.",
            {"group_size": ta.group_size, "a": za, "b": zb},
        ))
    ga, gb = collapse.gap(first, k_top), collapse.gap(last, k_top)
    if ga is not None and gb is not None and k_top > 1:  # pass@1 − pass@1 is 0 by definition
        out.append(Sentence(
            f"Gap pass@{k_top} − pass@1: {ga:.3f} → {gb:.3f} "
            + ("(unchanged)." if round(gb, 3) == round(ga, 3) else "(the gap shrank)." if gb < ga
               else "(the gap grew)."),
            {"k": k_top, "a": ga, "b": gb},
        ))
    ans_a, ans_b = answers.groups.get(first), answers.groups.get(last)
    if ans_a is not None and ans_b is not None:
        da, db = ans_a.distinct_correct_mean, ans_b.distinct_correct_mean
        out.append(Sentence(f"Distinct correct answers per problem: {da:.2f} → {db:.2f}.", {"a": da, "b": db}))
    return out


def _single(info: ReportInfo, curves: Curves, collapse: Collapse) -> list[Sentence]:
    """The verdict on a single group: its headline numbers."""
    label = info.labels[0]
    k_top = info.k_top
    th = collapse.theory[label]
    e1, et = curves.pass_at(label, 1), curves.pass_at(label, k_top)
    out = []
    if e1 is not None and et is not None:
        text = f"pass@1 = {e1:.3f}" + (f", pass@{k_top} = {et:.3f}." if k_top > 1 else " (one sample per problem).")
        out.append(Sentence(text, {"pass1": e1, "pass_top": et}))
    never, always = th.frac_never_solved, th.frac_always_solved
    out.append(Sentence(
        f"{_pct(never)} of problems are never solved and {_pct(always)} always solved "
        + ("(with n = 1 sample per problem every problem is one or the other)." if info.groups[label].n_max == 1 else
           "(no group-relative signal from either)."),
        {"never": never, "always": always},
    ))
    zero = value(th.zero_signal_fraction)
    if zero is not None:
        out.append(Sentence(
            f"Expected fraction of zero-signal training groups at G={th.group_size}: {_pct(zero)}.",
            {"zero_signal": zero},
        ))
    return out
