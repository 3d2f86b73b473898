"""``passlens report``: files written, numbers equal to the API, pair / series / run directory, browser."""

from __future__ import annotations

import json
import math
from fractions import Fraction
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import passlens
from passlens import compare, curve, theory
from passlens import io as pio
from passlens.cli.report import parse_k_spec
from passlens.report import (
    ReportSettings,
    build_report,
    distinct_correct,
    make_report,
    phat_histogram,
)
from passlens.report import build as build_mod
from passlens.report.sections import Collapse, Comparisons, Curves, PerProblem

N_BOOT = "150"  # small: the tests check plumbing and equality with the API, not interval quality
FIGS_PAIR = {"curves.png", "comparison.png", "collapse.png", "per_problem.png"}


@pytest.fixture(scope="module")
def cli(cli):
    """The entry point with nothing of the user's environment but PATH, 120 columns."""
    return cli.configured(clean_env=True, COLUMNS="120")


# ---------------------------------------------------------------------------------------
# the default report, end to end, and its numbers against the API


@pytest.fixture(scope="module")
def default_report(cli, tmp_path_factory):
    out = tmp_path_factory.mktemp("rep") / "report"
    res = cli.run("report", "--out", str(out), "--n-boot", N_BOOT)
    return out, res


def test_default_report_writes_every_file_and_prints_the_verdict(default_report):
    out, res = default_report
    assert res.returncode == 0, res.stderr
    names = {p.name for p in out.iterdir()}
    assert {"report.html", "metrics.json", "curves.csv"} | FIGS_PAIR <= names
    for png in FIGS_PAIR:
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Verdict" in res.stdout
    assert "rl raised pass@1 by 0.076" in res.stdout
    assert "B worse than A at k = 61–128" in res.stdout  # with 150 draws the band is close to the 4000-draw one
    html = (out / "report.html").read_text()
    assert "<script src" not in html and "<link" not in html and "http://" not in html and "https://" not in html
    assert html.count("data:image/png;base64,") == len(FIGS_PAIR)
    assert "prefers-color-scheme: dark" in html


def test_metrics_json_equals_direct_api_calls(default_report):
    out, res = default_report
    assert res.returncode == 0, res.stderr
    m = json.loads((out / "metrics.json").read_text())
    base_path, rl_path = pio.bundled_deepscaler()
    ta = next(iter(pio.read([base_path]).groups.values()))
    tb = next(iter(pio.read([rl_path]).groups.values()))
    ks = np.arange(1, 129)
    nb = int(N_BOOT)
    for label, t in (("base", ta), ("rl", tb)):
        cur = curve(t.n, t.c, ks, n_boot=nb, seed=0, ids=t.ids)
        got = m["groups"][label]["curves"]["pass"]
        assert got["k"] == ks.tolist()
        np.testing.assert_allclose(got["estimate"], cur.estimate, rtol=0, atol=1e-15)
        np.testing.assert_allclose(got["lo"], cur.lo, rtol=0, atol=1e-15)
        np.testing.assert_allclose(got["hi"], cur.hi, rtol=0, atol=1e-15)
        summ = theory.summarize(t.n, t.c, ks=[1, 2, 4, 8, 16, 32, 64, 128], group_size=16).to_dict()
        th = m["groups"][label]["theory"]
        for key in ("pass1_mean", "frac_never_solved", "frac_always_solved", "zero_signal_fraction"):
            assert th[key] == summ[key], key
        assert th["signal_total"] == summ["signal_total"]
        assert th["alpha_quantiles"] == summ["alpha_quantiles"]
        assert th["signal_share"] == summ["signal_share"]
    cmp = compare(ta, tb, ks, alpha=0.05, n_boot=nb, seed=0)
    (pair,) = m["comparisons"]
    got = pair["comparison"]
    np.testing.assert_allclose(got["diff"], cmp.diff, atol=1e-15)
    np.testing.assert_allclose(got["lo"], cmp.lo, atol=1e-15)
    assert got["better"] == cmp.better.tolist() and got["worse"] == cmp.worse.tolist()
    assert got["crossover"] == cmp.crossover == 22
    # lost / gained by an explicit loop over problems
    cb = dict(zip(tb.ids.tolist(), tb.c.tolist()))
    lost = [i for i, c in zip(ta.ids.tolist(), ta.c.tolist()) if c > 0 and cb[i] == 0]
    gained = [i for i, c in zip(ta.ids.tolist(), ta.c.tolist()) if c == 0 and cb[i] > 0]
    assert pair["lost_ids"] == lost and pair["lost_count"] == len(lost) > 0
    assert pair["gained_ids"] == gained
    # provenance
    assert m["passlens_version"] == passlens.__version__
    assert set(m["inputs"]["sha256"]) == {str(base_path), str(rl_path)}
    assert all(len(h) == 64 for h in m["inputs"]["sha256"].values())
    assert m["settings"]["n_boot"] == nb


def test_verdict_numbers_are_backed_by_metrics_and_shown_on_the_page(default_report):
    out, _ = default_report
    m = json.loads((out / "metrics.json").read_text())
    html = (out / "report.html").read_text()
    c = m["comparisons"][0]["comparison"]
    v = m["verdict"]
    first = v[0]
    assert first["refs"]["k"] == 1 and first["refs"]["diff"] == c["diff"][0]
    assert f"{c['diff'][0]:.3f}" in first["text"]
    th_a, th_b = m["groups"]["base"]["theory"], m["groups"]["rl"]["theory"]
    pol = [s for s in v if s["text"].startswith("Polarized")][0]
    assert f"{100 * (th_a['frac_never_solved'] + th_a['frac_always_solved']):.1f}%" in pol["text"]
    assert f"{100 * (th_b['frac_never_solved'] + th_b['frac_always_solved']):.1f}%" in pol["text"]
    sig = [s for s in v if "learning signal" in s["text"]][0]
    j = th_a["ks"].index(8)
    ra = th_a["signal_total"][j] / th_a["signal_problems"][j]
    assert sig["refs"]["a"] == pytest.approx(ra, rel=1e-12)
    for s in v:  # every sentence is on the page
        assert s["text"].replace("&", "&amp;") in html.replace("&#x27;", "'")


def test_curves_csv_matches_metrics(default_report):
    out, _ = default_report
    m = json.loads((out / "metrics.json").read_text())
    lines = (out / "curves.csv").read_text().splitlines()
    assert lines[0].split(",")[:4] == ["group", "metric", "k", "estimate"]
    assert len(lines) == 1 + 2 * 128
    row = lines[1 + 128 + 7].split(",")  # rl, k = 8
    assert row[0] == "rl" and row[2] == "8"
    assert float(row[3]) == m["groups"]["rl"]["curves"]["pass"]["estimate"][7]


# ---------------------------------------------------------------------------------------
# pair from two files, series by step, run directory


def _counts_file(path: Path, n: np.ndarray, c: np.ndarray) -> None:
    path.write_text("problem_id,n,c\n" + "".join(f"q{i:03d},{n[i]},{c[i]}\n" for i in range(n.size)))


def test_verdict_on_a_budget_where_every_problem_moves_alike(tmp_path):
    # k = 1: every problem gains the same 6/8; k = 8: both models solve everything. The
    # verdict must not call the first "the same".
    _counts_file(tmp_path / "x.csv", np.full(3, 8), np.array([1, 1, 2]))
    _counts_file(tmp_path / "y.csv", np.full(3, 8), np.array([7, 7, 8]))
    report = make_report([tmp_path / "x.csv", tmp_path / "y.csv"], ReportSettings(n_boot=200))
    texts = [v["text"] for v in report.metrics["verdict"]]
    assert any(t.startswith("y changed pass@1 by the same +0.750 on every problem vs x") for t in texts), texts
    assert any(t.startswith("pass@8 is the same for x and y on every problem") for t in texts), texts


def test_pair_from_two_files_in_given_order(cli, tmp_path):
    rng = np.random.default_rng(1)
    P, n = 60, 16
    p = rng.beta(0.5, 0.5, P)
    ca = rng.binomial(n, p)
    cb = rng.binomial(n, np.clip(p * 1.3, 0, 1))
    _counts_file(tmp_path / "zeta.csv", np.full(P, n), ca)  # A sorts after B by name: order must be kept
    _counts_file(tmp_path / "alpha.csv", np.full(P, n), cb)
    out = tmp_path / "out"
    res = cli.invoke("report", str(tmp_path / "zeta.csv"), str(tmp_path / "alpha.csv"), "--out", str(out),
                 "--n-boot", N_BOOT, "--passhat", "--k", "1-16")
    assert res.returncode == 0, res.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert m["kind"] == "pair" and m["labels"] == ["zeta", "alpha"]
    comp = m["comparisons"][0]
    assert comp["a"] == "zeta" and comp["b"] == "alpha"
    direct = compare((np.full(P, n), ca), (np.full(P, n), cb), np.arange(1, 17), n_boot=int(N_BOOT), seed=0)
    np.testing.assert_allclose(comp["comparison"]["diff"], direct.diff, atol=1e-15)
    assert "passhat" in m["groups"]["zeta"]["curves"]
    assert comp["lost_count"] == int(np.sum((ca > 0) & (cb == 0)))
    assert (out / "per_problem.png").exists()


def _samples_with_answers(path: Path, steps: list[int], P: int = 30, n: int = 16, seed: int = 0) -> dict:
    """Per-sample rows (problem, sample, step, answer, reward); answers 'c0'..'c3' correct, 'w0'..'w2' wrong.

    Later steps concentrate on fewer correct answers (collapse). Returns the truth per step:
    {step: {problem: (n, c, distinct correct answers)}}.
    """
    rng = np.random.default_rng(seed)
    truth: dict[int, dict[str, tuple[int, int, int]]] = {}
    lines = []
    for si, step in enumerate(steps):
        truth[step] = {}
        for i in range(P):
            base_p = (i + 1) / (P + 1)
            p_correct = min(0.98, base_p + 0.15 * si)
            spread = max(1, 4 - 2 * si)  # number of correct answer classes in use
            correct_seen, c = set(), 0
            for j in range(n):
                if rng.random() < p_correct:
                    a = f"c{rng.integers(spread)}"
                    r = 1
                    correct_seen.add(a)
                    c += 1
                else:
                    a = f"w{rng.integers(3)}"
                    r = 0
                lines.append(json.dumps({"problem_id": f"p{i:02d}", "sample_id": j, "step": step, "answer": a,
                                         "reward": r}))
            truth[step][f"p{i:02d}"] = (n, c, len(correct_seen))
    path.write_text("\n".join(lines) + "\n")
    return truth


def test_series_by_step_with_answers(cli, tmp_path):
    f = tmp_path / "samples.jsonl"
    truth = _samples_with_answers(f, [0, 50, 100])
    out = tmp_path / "series"
    res = cli.invoke("report", str(f), "--by", "step", "--out", str(out), "--n-boot", N_BOOT)
    assert res.returncode == 0, res.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert m["kind"] == "series" and m["labels"] == ["0", "50", "100"]
    assert m["comparison_scheme"] == "each group vs the first"
    assert [(c["a"], c["b"]) for c in m["comparisons"]] == [("0", "50"), ("0", "100")]
    for step in (0, 50, 100):
        want = np.mean([d for (_, _, d) in truth[step].values()])
        got = m["groups"][str(step)]["answers"]["distinct_correct_mean"]
        assert got == pytest.approx(want, abs=1e-12)
        assert m["trend"]["distinct_correct_mean"][m["labels"].index(str(step))] == pytest.approx(want)
        assert "maj" in m["groups"][str(step)]["curves"]
        # coverage@k has a curve with intervals wherever answers exist, equal to the estimator's mean
        cov = m["groups"][str(step)]["curves"]["coverage"]
        ans = m["groups"][str(step)]["answers"]
        for k, est in zip(ans["coverage_k"], ans["coverage_mean"]):
            assert cov["estimate"][cov["k"].index(k)] == pytest.approx(est, rel=1e-12)
        assert all(lo <= e <= hi for lo, e, hi in zip(cov["lo"], cov["estimate"], cov["hi"]) if lo is not None)
        assert cov["estimate"][0] == pytest.approx(m["groups"][str(step)]["curves"]["pass"]["estimate"][0])  # @1
    assert m["schema_version"] == 1
    assert (out / "series.png").exists()
    html = (out / "report.html").read_text()
    assert "Distinct correct answers" in html and "Series: diagnostics against step" in html
    assert "<h3>coverage@k" in html and ",coverage,1," in (out / "curves.csv").read_text()
    assert any(s["text"].startswith("Distinct correct answers per problem") for s in m["verdict"])


def test_run_directory_with_evals(cli, tmp_path):
    """The trainer's layout: evals/step_XXXXXX.parquet rows next to step_XXXXXX.json summaries."""
    import polars as pl

    run = tmp_path / "run"
    (run / "evals").mkdir(parents=True)
    rng = np.random.default_rng(3)
    for step in (0, 10, 20):
        rows = []
        for i in range(20):
            p = min(1.0, (i + 1) / 21 + 0.1 * step / 10)
            for j in range(8):
                ok = int(rng.random() < p)
                rows.append({"problem_id": f"t{i}", "sample_id": j, "reward": float(ok),
                             "answer": f"a{ok}{rng.integers(2)}", "step": step})
        pl.DataFrame(rows).write_parquet(run / "evals" / f"step_{step:06d}.parquet")
        (run / "evals" / f"step_{step:06d}.json").write_text(json.dumps({"step": step, "pass@1": 0.5}))
    (run / "config.json").write_text(json.dumps({"task": "addition", "n": 4}))  # the run trained on groups of 4
    out = tmp_path / "rep"
    res = cli.invoke("report", str(run), "--out", str(out), "--n-boot", N_BOOT, "--no-html")
    assert res.returncode == 0, res.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert m["labels"] == ["0", "10", "20"] and m["label_name"] == "step"
    assert not (out / "report.html").exists()
    assert len(m["inputs"]["files"]) == 3 and all(f.endswith(".parquet") for f in m["inputs"]["files"])
    assert "answers" in m["groups"]["20"]
    # the zero-signal fraction is for the run's own training groups, unless --group-size says otherwise
    assert m["settings"]["group_size"] == 4 and m["inputs"]["source"].endswith("(trained on groups of n = 4)")
    res = cli.invoke("report", str(run), "--out", str(out), "--n-boot", N_BOOT, "--no-html", "--group-size", "2")
    assert res.returncode == 0, res.stderr
    assert json.loads((out / "metrics.json").read_text())["settings"]["group_size"] == 2
    (run / "config.json").write_text("{}")  # no n: the default G, and a note that says so
    res = cli.invoke("report", str(run), "--out", str(out), "--n-boot", N_BOOT, "--no-html")
    assert res.returncode == 0, res.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert m["settings"]["group_size"] == 16
    assert any("no training group size n found" in note for note in m["notes"])


def test_rerun_into_same_dir_replaces_cleanly(tmp_path):
    f = tmp_path / "a.csv"
    rng = np.random.default_rng(5)
    _counts_file(f, np.full(40, 8), rng.binomial(8, 0.4, 40))
    out = tmp_path / "rep"
    make_report([f], ReportSettings(n_boot=50), out_dir=out)
    (out / "stale.txt").write_text("old")
    first = json.loads((out / "metrics.json").read_text())
    assert first["kind"] == "single" and "comparison.png" not in {p.name for p in out.iterdir()}
    make_report([f], ReportSettings(n_boot=50, seed=1), out_dir=out)
    assert not (out / "stale.txt").exists()
    assert json.loads((out / "metrics.json").read_text())["settings"]["seed"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "rep"]  # no temp or old folders left


# ---------------------------------------------------------------------------------------
# errors


def test_unwritable_out_is_one_line_error(cli, tmp_path, bundled):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    res = cli.run("report", str(bundled / "rl.jsonl"), "--out",
                  str(blocker / "sub"), "--n-boot", "20", "--k", "1,2")
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "passlens: error: --out" in res.stderr


def test_out_dir_that_is_not_a_report_is_refused(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a passlens report"):
        make_report([], ReportSettings(n_boot=20, ks=(1, 2)), out_dir=tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_bad_inputs_raise_value_errors(cli, tmp_path):
    with pytest.raises(ValueError, match="no evals/"):
        make_report([tmp_path])
    bad = tmp_path / "bad.csv"
    bad.write_text("problem_id,n,c\nq1,4,5\n")
    with pytest.raises(ValueError):
        make_report([bad])
    ok = tmp_path / "ok.csv"
    _counts_file(ok, np.full(5, 4), np.array([0, 1, 2, 3, 4]))
    with pytest.raises(ValueError, match=r"k=8 exceeds n=4 of problem .* \(5 problem\(s\) have n < 8"):
        make_report([ok], ReportSettings(ks=(1, 8)))
    cli.one_line_error(cli.invoke("report", str(ok), "--k", "x", "--out", str(tmp_path / "o")), "--k: cannot parse 'x'")
    assert parse_k_spec("1-3,8") == ((1, 2, 3, 8), "all") and parse_k_spec("pow2") == (None, "pow2")
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------------------------------
# small statistics against loops, and the large-input plan


def test_distinct_correct_counts_correct_classes():
    correct = [np.array([True, False, True]), np.array([False]), np.array([True])]
    assert distinct_correct(correct).tolist() == [2, 0, 1]


def test_phat_histogram_matches_loop():
    rng = np.random.default_rng(2)
    n = rng.integers(1, 30, 200)
    c = rng.binomial(n, rng.random(200))
    h = phat_histogram(n, c, bins=10)
    assert h["zero"] == sum(1 for ci in c if ci == 0)
    assert h["one"] == sum(1 for ni, ci in zip(n, c) if ci == ni)
    want = [0] * 10
    for ni, ci in zip(n, c):
        if 0 < ci < ni:
            want[min(math.floor(Fraction(int(ci), int(ni)) * 10), 9)] += 1
    assert h["counts"] == want


def test_large_input_plan_uses_analytic_intervals_and_pow2_comparison(monkeypatch):
    monkeypatch.setattr(build_mod, "LARGE_CELLS", 100)
    rng = np.random.default_rng(4)
    P, n = 50, 64

    class T:
        def __init__(self, c):
            self.ids = np.array([f"x{i:02d}" for i in range(P)], dtype=object)
            self.n = np.full(P, n, dtype=np.int64)
            self.c = c
            self.rewards = self.votes = self.vote_correct = None

    p = rng.random(P)
    rep = build_report({"a": T(rng.binomial(n, p)), "b": T(rng.binomial(n, p))}, ReportSettings(n_boot=100))
    m = rep.metrics
    assert m["groups"]["a"]["curves"]["pass"]["method"] == "analytic"
    assert len(m["groups"]["a"]["curves"]["pass"]["k"]) < n
    assert m["comparisons"][0]["comparison"]["k"] == [1, 2, 4, 8, 16, 32, 64]
    assert any("large input" in s for s in m["notes"])


# ---------------------------------------------------------------------------------------
# the page in a real browser


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium); browser test skipped")
def test_html_renders_in_headless_chromium(default_report, tmp_path):
    out, res = default_report
    assert res.returncode == 0, res.stderr
    page = (out / "report.html").as_uri()
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
             "--enable-logging=stderr", "--v=0", f"--user-data-dir={tmp_path / 'profile'}"]
    env = {**os.environ, "HOME": str(tmp_path)}
    dom = subprocess.run(flags + ["--virtual-time-budget=5000", "--dump-dom", page], capture_output=True,
                         text=True, timeout=120, env=env)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-figures="ok"' in dom.stdout  # every <img> decoded (inline script marker)
    assert f'data-figure-count="{len(FIGS_PAIR)}"' in dom.stdout
    assert "<title>ERROR" not in dom.stdout  # window.onerror writes into the title
    assert "Uncaught" not in dom.stderr and "ERROR:CONSOLE" not in dom.stderr
    shot = tmp_path / "report.png"
    res2 = subprocess.run(flags + ["--window-size=1280,2000", f"--screenshot={shot}", page], capture_output=True,
                          text=True, timeout=120, env=env)
    assert res2.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 50_000  # a rendered page, not a blank one
    if os.environ.get("PASSLENS_SAVE_SCREENSHOT"):  # e.g. docs/report.png for the README
        shutil.copyfile(shot, os.environ["PASSLENS_SAVE_SCREENSHOT"])


def test_continuous_rewards_give_max_at_k_with_threshold(tmp_path):
    rng = np.random.default_rng(9)
    rows = ["problem_id,sample_id,reward"]
    rewards = {}
    for i in range(12):
        r = rng.random(6) * (i + 1) / 12
        rewards[f"p{i:02d}"] = r
        rows += [f"p{i:02d},{j},{r[j]:.6f}" for j in range(6)]
    f = tmp_path / "cont.csv"
    f.write_text("\n".join(rows) + "\n")
    with pytest.raises(ValueError, match="--threshold"):
        make_report([f], ReportSettings(n_boot=20))
    rep = make_report([f], ReportSettings(n_boot=20), threshold=0.5)
    m = rep.metrics["groups"][""]
    c = np.array([int(np.sum(np.round(rewards[k], 6) >= 0.5)) for k in sorted(rewards)])
    assert m["curves"]["pass"]["estimate"][0] == pytest.approx(np.mean(c / 6), abs=1e-12)
    # max@1 = mean reward, max@n = mean of per-problem maxima
    mx = m["curves"]["max"]
    assert mx["estimate"][0] == pytest.approx(np.mean([np.round(r, 6).mean() for r in rewards.values()]), abs=1e-9)
    assert mx["estimate"][-1] == pytest.approx(np.mean([np.round(r, 6).max() for r in rewards.values()]), abs=1e-9)


def test_report_without_matplotlib_keeps_tables_and_says_why(cli, tmp_path):
    """The core install has no matplotlib: the report still runs, without figures, and says so."""
    out = tmp_path / "rep"
    (res,) = cli.many([["report", "--out", str(out), "--n-boot", "100"]], prelude="sys.modules['matplotlib'] = None\n")
    assert res.returncode == 0, res.stderr
    assert "figures skipped: matplotlib is not installed (pip install 'passlens[plot]')" in res.stdout
    assert (out / "report.html").exists() and (out / "metrics.json").exists()
    assert not list(out.glob("*.png"))


# ---------------------------------------------------------------------------------------
# scale and edge cases: small and degenerate inputs, long and odd names, long training series


def _table(ids, n, c):
    return pio.ProblemTable(ids=np.array(list(ids), dtype=object), n=np.asarray(n, dtype=np.int64),
                            c=np.asarray(c, dtype=np.int64))


def _verdict_texts(groups, label_name="file", **settings):
    rep = build_report(groups, ReportSettings(n_boot=60, **settings), label_name=label_name)
    return rep, [v["text"] for v in rep.metrics["verdict"]]


def test_verdict_with_few_problems_calls_significance_nominal():
    # 3 problems: the band is a central-limit approximation; the verdict must say so before "significant"
    ids = ["q0", "q1", "q2"]
    rep, texts = _verdict_texts({"a": _table(ids, [8] * 3, [0, 1, 2]), "b": _table(ids, [8] * 3, [8, 8, 8])})
    assert texts[0].startswith("Only 3 paired problems: the band is a large-sample approximation"), texts
    assert "nominally significant)." in texts[1], texts
    assert not any(t.endswith(", significant).") for t in texts), texts
    assert any(t.startswith("b is nominally significantly better at") for t in texts), texts
    from passlens.report.html import render_html

    page = render_html(rep, {})
    assert "Only 3 paired problems: the band is a large-sample approximation" in page  # on the page, not only in the terminal


def test_verdict_with_one_sample_per_problem_makes_no_empty_claims():
    ids = [f"q{i}" for i in range(60)]
    rng = np.random.default_rng(0)
    a, b = _table(ids, [1] * 60, rng.integers(0, 2, 60)), _table(ids, [1] * 60, rng.integers(0, 2, 60))
    _, texts = _verdict_texts({"a": a, "b": b})
    assert not any("pass@1 − pass@1" in t for t in texts), texts  # a gap of pass@1 with itself
    assert not any(t.startswith("Polarized problems") for t in texts), texts  # with n = 1 every problem is
    assert any("polarization is not measured" in t for t in texts), texts
    _, single = _verdict_texts({"a": a})
    assert single[0] == f"pass@1 = {a.c.mean():.3f} (one sample per problem).", single  # not "pass@1 = x, pass@1 = x"
    assert "every problem is one or the other" in single[1]


def test_verdict_counts_in_singular_and_unchanged_signal():
    ids = [f"q{i:02d}" for i in range(60)]
    c = np.tile([0, 1, 2, 4, 6, 8], 10)
    same = _table(ids, [8] * 60, c)
    _, texts = _verdict_texts({"a": same, "b": _table(ids, [8] * 60, c)})
    assert any(t.startswith("pass@k learning signal at k=2 (mean ŝ_2 per problem) is unchanged") for t in texts), texts
    c2 = c.copy()
    c2[0] = 3  # exactly one problem gained, no problem lost
    _, texts = _verdict_texts({"a": same, "b": _table(ids, [8] * 60, c2)})
    assert any("; 1 goes the other way." in t and t.startswith("0 problems solved") for t in texts), texts
    big = np.where(c > 0, np.minimum(c + 6, 8), 0)  # much better at k = 1, the same problems solved at k = 8
    _, texts = _verdict_texts({"a": same, "b": _table(ids, [8] * 60, big)}, ks=(1, 8))
    assert any(t.startswith("b is significantly better at 1 budget (k = 1)") for t in texts), texts


def _series_groups(steps: int, P: int = 12, n: int = 4, name: str = "step"):
    rng = np.random.default_rng(1)
    ids = [f"p{i:02d}" for i in range(P)]
    return {str(10 * s): _table(ids, [n] * P, rng.integers(0, n + 1, P)) for s in range(steps)}


def test_long_series_page_stays_readable():
    from passlens.report.html import render_html

    rep = build_report(_series_groups(32), ReportSettings(n_boot=30), label_name="step")
    page = render_html(rep, {})
    # one line of sizes, not 32 clauses; the curve table has one row per step and budgets across
    assert "12 problems, n = 4 in every group" in page
    assert "step 10: 12 problems" not in page
    curves_part = page.split("<h2>2.")[0]
    assert curves_part.count("<tr>") == 1 + 32 and "k=4</div></th>" in curves_part
    # series table: no columns that are n/a for every step (no answer column here)
    series_part = page.split("Series: diagnostics")[1].split("<h2>")[0]
    assert "distinct_correct_mean" not in series_part and "coverage_" not in series_part


def test_figures_of_a_long_series_use_a_colour_bar_and_a_subset():
    pytest.importorskip("matplotlib")

    rep = build_report(_series_groups(32), ReportSettings(n_boot=30), label_name="step")
    for fig in (rep[Curves].figure(), rep[Comparisons].figure()):
        main = fig.axes[0]
        assert main.get_legend() is None  # 32 legend entries ran off the axes
        assert len(fig.axes) == 2  # the axes and its colour bar
        fig.canvas.draw()
        bar = fig.axes[1]
        right = bar.get_tightbbox().x1  # tick labels inside the figure
        assert right <= fig.bbox.x1 + 1, (right, fig.bbox.x1)
    fig = rep[Collapse].figure()
    for ax in fig.axes[:3]:
        names = [t.get_text() for t in ax.get_legend().get_texts()]
        assert {n.split(" m")[0] for n in names} <= {"step 0", "step 80", "step 160", "step 230", "step 310"}, names
        assert "step 0" in names[0] and "step 310" in names[-1]


def test_long_odd_names_are_escaped_once_shortened_in_figures_and_wrap_on_the_page():
    from passlens.report.html import render_html

    pytest.importorskip("matplotlib")
    from passlens.report import plots

    long_name = "run-<b>&amp;" + "L" * 150
    odd = ["<script>alert('x')</script>", "a & b \"q\" 'r'", "x" * 200, "ünï-数学"]
    ids = odd + [f"p{i:02d}" for i in range(56)]
    ca = np.array([5, 5, 5, 5] + [3] * 56)
    cb = np.array([0, 0, 0, 0] + [3] * 56)
    rep = build_report({"base": _table(ids, [8] * 60, ca), long_name: _table(ids, [8] * 60, cb)},
                       ReportSettings(n_boot=30), label_name="file")
    page = render_html(rep, {})
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<b>&amp;" not in page and "&lt;b&gt;&amp;amp;" in page
    # names (headers, first column) sit in wrapping boxes so a long one cannot push the numbers off the page
    assert f"<td><div class='nm'>{'x' * 200}</div></td>" in page
    assert ".nm {" in page and "overflow-wrap: anywhere" in page
    # figures: names shortened, keeping both ends
    short = plots.short_name(rep.info, long_name)
    assert len(short) == plots.MAX_NAME and short.startswith("run-<b>") and short.endswith("LLL")
    fig = rep[PerProblem].figure()
    fig.canvas.draw()
    assert fig.axes[0].title.get_window_extent().x1 <= fig.bbox.x1 + 1
    # a series whose grouping column has an HTML-special name: the title is escaped once
    ser = build_report(_series_groups(3), ReportSettings(n_boot=30), label_name="a&b")
    page = render_html(ser, {})
    assert "<title>passlens exploration report: 3 a&amp;bs</title>" in page


def test_signal_budget_leaves_room_for_the_difficulty_buckets():
    """ŝ_k is non-zero only for c ≤ n − 2k + 1: at n = 2k all signal would sit on problems with c = 1."""
    from passlens.report.build import _signal_k

    assert [_signal_k(n) for n in (1, 3, 4, 8, 15, 16, 31, 32, 128, 10**6)] == [1, 1, 1, 2, 2, 4, 4, 8, 8, 8]
