"""A new report section is one module: the section below, defined and registered here and nowhere else,
shows up in metrics.json, on the page, in the terminal summary, as a figure and in the notes, and
leaves everything the other sections write as it was."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import pytest
from rich.console import RenderableType

from passlens.report import ReportSettings, build_report, plots, register, render_html, sections
from passlens.report import html as page
from passlens.report.section import Context, ReportInfo, Section
from passlens.report.sections import Comparisons, Curves


@dataclass(frozen=True, eq=False)
class SolvedShare(Section):
    """Share of problems solved at least once (c > 0), per group."""

    stage = "groups"
    figure_name = "solved_share.png"
    figure_title = "Share of problems solved at least once"

    info: ReportInfo
    share: Mapping[str, float]

    @classmethod
    def build(cls, ctx: Context) -> SolvedShare:
        return cls(ctx.info, {g: float(np.mean(t.c > 0)) for g, t in ctx.tables.items()})

    def to_dict(self) -> dict[str, Any]:
        return {"groups": {g: {"solved_share": v} for g, v in self.share.items()},
                "solved_share_spread": max(self.share.values()) - min(self.share.values())}

    def html(self, figures: Mapping[str, bytes]) -> str:
        rows = [[page.name(self.info, g), page.pct(v)] for g, v in self.share.items()]
        parts = ["<h2>5. Solved at least once</h2>", page.figure(self, figures), page.table(["group", "solved"], rows)]
        return "\n".join(p for p in parts if p)

    def terminal(self) -> list[RenderableType]:
        shares = ", ".join(f"{self.info.name(g)} {100 * v:.1f}%" for g, v in self.share.items())
        return [f"solved at least once: {shares}"]

    def figure(self) -> Any:
        fig, axes = plots.new_figure(4.0, 3.0)
        axes[0][0].bar(range(len(self.share)), list(self.share.values()))
        return fig

    def footnotes(self) -> list[str]:
        return ["solved_share counts a problem solved by any of its n samples."]


@pytest.fixture
def solved_share() -> Iterator[type[SolvedShare]]:
    register(SolvedShare)
    try:
        yield SolvedShare
    finally:
        sections.SECTIONS.remove(SolvedShare)


def _counts_file(path: Path, c: np.ndarray, n: int = 8) -> Path:
    path.write_text("problem_id,n,c\n" + "".join(f"q{i:03d},{n},{v}\n" for i, v in enumerate(c)))
    return path


@pytest.fixture
def pair_files(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    p = rng.beta(0.5, 0.8, 60)
    return (_counts_file(tmp_path / "base.csv", rng.binomial(8, p)),
            _counts_file(tmp_path / "rl.csv", rng.binomial(8, np.sqrt(p))))


def _without(metrics: dict[str, Any]) -> dict[str, Any]:
    """metrics.json less what SolvedShare writes (its keys and its footnote)."""
    out = json.loads(json.dumps(metrics))
    out.pop("solved_share_spread")
    for g in out["groups"].values():
        g.pop("solved_share")
    out["notes"].remove("solved_share counts a problem solved by any of its n samples.")
    return out


def test_a_section_defined_here_appears_everywhere_through_the_cli(cli, pair_files, solved_share, tmp_path):
    base, rl = pair_files
    out = tmp_path / "rep"
    res = cli.invoke("report", str(base), str(rl), "--out", str(out), "--n-boot", "50")
    assert res.returncode == 0, res.stderr
    m = json.loads((out / "metrics.json").read_text())
    for g, path in (("base", base), ("rl", rl)):
        c = [int(line.split(",")[2]) for line in path.read_text().splitlines()[1:]]
        assert m["groups"][g]["solved_share"] == sum(v > 0 for v in c) / 60
    assert m["solved_share_spread"] == pytest.approx(abs(m["groups"]["rl"]["solved_share"]
                                                         - m["groups"]["base"]["solved_share"]))
    assert "solved_share counts a problem solved by any of its n samples." in m["notes"]
    html = (out / "report.html").read_text()
    # registered last: after the built-in sections, before the inputs
    assert html.index("<h2>4. Per-problem view") < html.index("<h2>5. Solved at least once</h2>") < html.index(
        "<h2>Inputs and notes</h2>")
    assert "<figcaption>Share of problems solved at least once</figcaption>" in html
    assert html.count("data:image/png;base64,") == 5  # the four built-in figures of a pair and this one
    assert (out / "solved_share.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    share = {g: m["groups"][g]["solved_share"] for g in ("base", "rl")}
    assert f"solved at least once: base {100 * share['base']:.1f}%, rl {100 * share['rl']:.1f}%" in res.stdout
    assert res.stdout.index("solved at least once") < res.stdout.index("Verdict")  # the sections, then the verdict


def test_a_new_section_leaves_the_others_as_they_were(pair_files, tmp_path):
    from passlens.report import load_groups

    groups, inputs, label_name = load_groups(list(pair_files))
    settings = ReportSettings(n_boot=50)
    before = build_report(groups, settings, inputs=inputs, label_name=label_name)
    register(SolvedShare, before=Comparisons)
    try:
        after = build_report(groups, settings, inputs=inputs, label_name=label_name)
    finally:
        sections.SECTIONS.remove(SolvedShare)
    assert json.dumps(_without(after.metrics)) == json.dumps(before.metrics)  # same keys, same order, same values
    order = [type(s) for s in after.sections]
    assert order.index(SolvedShare) == order.index(Comparisons) - 1
    html_after, html_before = render_html(after, {}), render_html(before, {})
    extra = after[SolvedShare].html({})
    assert html_after.index("<h2>1. pass@k curves") < html_after.index(extra) < html_after.index("<h2>2. Paired")
    note = "<li>solved_share counts a problem solved by any of its n samples.</li>"
    assert html_after.replace(extra + "\n", "").replace(note, "") == html_before


def test_sections_reading_a_later_stage_or_writing_a_taken_key_fail_with_one_line(pair_files):
    from passlens.report import load_groups

    groups, inputs, label_name = load_groups(list(pair_files))

    @dataclass(frozen=True, eq=False)
    class TooEarly(Section):
        stage = "groups"  # comparisons are built in the "pairs" stage, after this one

        @classmethod
        def build(cls, ctx: Context) -> TooEarly:
            ctx.section(Comparisons)
            return cls()

    @dataclass(frozen=True, eq=False)
    class Clash(Section):
        @classmethod
        def build(cls, ctx: Context) -> Clash:
            ctx.section(Curves)  # a summary section reads the group sections
            return cls()

        def to_dict(self) -> dict[str, Any]:
            return {"groups": {"base": {"problems": 60}}}  # the frame's

    for cls, match in ((TooEarly, "section Comparisons is not built before this one"),
                       (Clash, "section Clash writes metrics.json key groups.base.problems, which is already written")):
        register(cls)
        try:
            with pytest.raises((LookupError, ValueError), match=match):
                build_report(groups, ReportSettings(n_boot=20, ks=(1, 2)), inputs=inputs, label_name=label_name).metrics
        finally:
            sections.SECTIONS.remove(cls)
    with pytest.raises(ValueError, match="already registered"):
        register(Curves)
    with pytest.raises(ValueError, match="a Section subclass"):
        register(dict)  # type: ignore[type-var]
