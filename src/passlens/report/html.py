"""Self-contained HTML page of the exploration report.

One file: figures embedded as base64 PNG, inline CSS (light and dark through
``prefers-color-scheme``; figures sit on white cards so they read on both), no
network, no external script, stylesheet or font. A few lines of inline script
record load errors into the document title and mark the body with
``data-figures="ok"`` once every image has decoded (used by the browser test).
Every number on the page is read from the metrics dict.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from ..metrics import METRICS
from ..uncertainty import SMALL_P
from .plots import FIGURE_TITLES
from .text import format_k_ranges

__all__ = ["render_html"]

_CSS = """
:root { --bg:#fafafa; --fg:#1d1d1f; --muted:#5f6368; --card:#ffffff; --line:#d9d9de;
  --accent:#2156c9; --good:#137333; --bad:#b3261e; --verdict:#eef3fd; }
@media (prefers-color-scheme: dark) {
  :root { --bg:#15171a; --fg:#e8eaed; --muted:#a0a4aa; --card:#1f2226; --line:#3a3e44;
    --accent:#8ab4f8; --good:#81c995; --bad:#f28b82; --verdict:#1e2a3d; }
}
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 20px 60px; }
h1 { font-size: 1.6em; margin: 0 0 4px; }
h1, h2, h3, p, li, summary, figcaption { overflow-wrap: anywhere; }
h2 { font-size: 1.25em; margin: 32px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 1.05em; margin: 18px 0 6px; }
p.sub, .muted { color: var(--muted); }
.verdict { background: var(--verdict); border-left: 4px solid var(--accent); border-radius: 6px;
  padding: 10px 18px; margin: 16px 0; }
.verdict li { margin: 4px 0; }
figure { margin: 14px 0; background: #ffffff; border: 1px solid var(--line); border-radius: 8px; padding: 8px; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { color: #444; font-size: 0.9em; text-align: center; padding-top: 4px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 8px 0; font-size: 0.9em; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 10px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
.nm { width: max-content; max-width: 22em; white-space: normal; overflow-wrap: anywhere; }
th .nm { margin-left: auto; }
th:first-child .nm { margin-left: 0; }
th { background: var(--card); position: sticky; top: 0; }
.better { color: var(--good); font-weight: 600; }
.worse { color: var(--bad); font-weight: 600; }
code { font-size: 0.92em; }
details { margin: 8px 0; }
ul.ids { columns: 2; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.85em; }
"""

_SCRIPT = """
window.onerror = function (msg) { document.title = "ERROR: " + msg; };
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.every(function (im) { return im.complete && im.naturalWidth > 0; });
  document.body.setAttribute("data-figures", ok ? "ok" : "broken");
  document.body.setAttribute("data-figure-count", String(imgs.length));
});
"""


def _f(x: Any, digits: int = 4) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return escape(str(x))


def _pct(x: Any) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _dn(m: dict[str, Any], label: str) -> str:
    """Escaped display name of a group ("step 400", "rl", "data")."""
    return escape(m.get("display_names", {}).get(label) or label or "data")


def _dn_head(m: dict[str, Any]) -> str:
    """Escaped header of a column of group names ("step", "group")."""
    name = m.get("label_name")
    return escape(name if name and name not in ("file",) else "group")


def _table(head: list[str], rows: list[list[str]]) -> str:
    # headers and the first column hold names (groups, problem ids, files) of any length: they wrap
    # at a fixed width (class nm) instead of pushing the numbers off the page
    h = "".join(f"<th><div class='nm'>{c}</div></th>" for c in head)
    body = "".join("<tr>" + "".join(f"<td><div class='nm'>{c}</div></td>" if j == 0 else f"<td>{c}</td>"
                                    for j, c in enumerate(r)) + "</tr>" for r in rows)
    return f'<div class="scroll"><table><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table></div>'


def _figure(name: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    cap = escape(FIGURE_TITLES.get(name, name))
    return f'<figure><img alt="{cap}" src="data:image/png;base64,{data}"><figcaption>{cap}</figcaption></figure>'


def _pow2(ks: list[int]) -> list[int]:
    return [k for k in ks if k & (k - 1) == 0 or k == ks[-1]]


def _curves_section(m: dict[str, Any], figs: dict[str, bytes]) -> str:
    out = ["<h2>1. pass@k curves</h2>"]
    if "curves.png" in figs:
        out.append(_figure("curves.png", figs["curves.png"]))
    lev = int(round(100 * m["settings"]["ci"]))
    for met, label in ((m.name, m.label) for m in METRICS.values()):
        groups = [g for g in m["labels"] if met in m["groups"][g]["curves"]]
        if not groups:
            continue
        curves = {g: m["groups"][g]["curves"][met] for g in groups}
        ks = sorted({k for cur in curves.values() for k in cur["k"]})
        show = _pow2(ks)

        def cell(g: str, k: int) -> str:
            cur = curves[g]
            if k not in cur["k"]:
                return ""
            i = cur["k"].index(k)
            return f"{_f(cur['estimate'][i])} <span class='muted'>[{_f(cur['lo'][i])}, {_f(cur['hi'][i])}]</span>"

        methods = sorted({cur["method"] for cur in curves.values()})
        size = {g: f"{m['groups'][g]['problems']} problems, n = {m['groups'][g]['n_min']}"
                + ("" if m["groups"][g]["n_min"] == m["groups"][g]["n_max"] else f"–{m['groups'][g]['n_max']}")
                for g in groups}
        if len(set(size.values())) == 1:  # one line, not one clause per group (a series has dozens)
            sizes = next(iter(size.values())) + (" in every group" if len(groups) > 1 else "")
        else:
            sizes = "; ".join(f"{_dn(m, g)}: {size[g]}" for g in groups)
        out.append(f"<h3>{label} <span class='muted'>(estimate [{lev}% {escape('/'.join(methods))} interval]; "
                   f"{sizes})</span></h3>")
        if len(groups) > len(show):  # many groups (a training series): one row per group, budgets across
            rows = [[_dn(m, g)] + [cell(g, k) for k in show] for g in groups]
            out.append(_table([_dn_head(m)] + [f"k={k}" for k in show], rows))
        else:
            rows = [[str(k)] + [cell(g, k) for g in groups] for k in show]
            out.append(_table(["k"] + [_dn(m, g) for g in groups], rows))
    out.append("<p class='muted'>Rows at powers of two and the largest k; every k is in curves.csv and metrics.json.</p>")
    return "\n".join(out)


def _comparison_section(m: dict[str, Any], figs: dict[str, bytes]) -> str:
    if not m["comparisons"]:
        return ""
    scheme = "each group against the first" if m["kind"] == "series" else "B (second) against A (first)"
    out = [f"<h2>2. Paired comparison</h2><p class='sub'>Differences B − A, {escape(scheme)}, "
           "on the same problems, with a simultaneous band over the whole k grid (sup-t multiplier bootstrap over "
           "problems). Inconclusive is not evidence of equality.</p>"]
    if "comparison.png" in figs:
        out.append(_figure("comparison.png", figs["comparison.png"]))
    for idx, comp in enumerate(m["comparisons"]):
        c = comp["comparison"]
        last = idx == len(m["comparisons"]) - 1
        band = f"{int(round(100 * (1 - c['alpha'])))}% band"
        ks = c["k"]
        show = set(_pow2(ks))
        verdict = [1 if (lo is not None and lo > 0) else -1 if (hi is not None and hi < 0) else 0
                   for lo, hi in zip(c["lo"], c["hi"])]
        for i in range(1, len(ks)):
            if verdict[i] != verdict[i - 1]:
                show |= {ks[i - 1], ks[i]}
        rows = []
        for i, k in enumerate(ks):
            if k not in show:
                continue
            v = ("<span class='better'>B better</span>" if verdict[i] > 0
                 else "<span class='worse'>B worse</span>" if verdict[i] < 0 else "inconclusive")
            rows.append([str(k), _f(c["a"][i]), _f(c["b"][i]), f"{c['diff'][i]:+.4f}",
                         f"[{c['lo'][i]:+.4f}, {c['hi'][i]:+.4f}]", v])
        head = (f"{_dn(m, comp['b'])} vs {_dn(m, comp['a'])} <span class='muted'>({c['problems']} paired "
                f"problems; critical value {c['critical_value']:.3f}, {c['n_boot']} draws, seed {c['seed']})</span>")
        if not last:  # a series: earlier steps folded, the last one open
            out.append(f"<details><summary>{head}</summary>")
        else:
            out.append(f"<h3>{head}</h3>")
        out.append(_table(["k", "A", "B", "B − A", band, "verdict"], rows))
        fl = c["first_loss_interval"]
        items = [
            f"B better at k = {format_k_ranges(c['better'])}",
            f"B worse at k = {format_k_ranges(c['worse'])}",
            f"inconclusive at k = {format_k_ranges(c['inconclusive'])}",
            ("first-loss budget set: " + (f"[{fl[0]}, {fl[1] if fl[1] is not None else '∞'}]" if fl
                                          else ("{" + format_k_ranges(c['first_loss']) + "}" if c["first_loss"] else "empty"))),
            "mean curves cross at k = " + (str(c["crossover"]) if c["crossover"] is not None else "— (no crossing)"),
        ]
        out.append("<ul>" + "".join(f"<li>{escape(t)}</li>" for t in items) + "</ul>")
        if c["problems"] < SMALL_P:
            out.append(f"<p class='worse'>Only {c['problems']} paired problems: the band is a large-sample "
                       f"approximation and may cover less than {100 * (1 - c['alpha']):g}% (more so when the "
                       f"difference sits on a few problems); at least {SMALL_P} are needed for the stated level.</p>")
        if c["degenerate"]:
            out.append(f"<p class='muted'>At k = {format_k_ranges(c['degenerate'])} every problem has the same difference "
                       "(zero variance); the band there is the whole range [−1, 1].</p>")
        if not last:
            out.append("</details>")
    return "\n".join(out)


def _collapse_section(m: dict[str, Any], figs: dict[str, bytes]) -> str:
    out = ["<h2>3. Collapse diagnostics</h2>",
           "<p class='sub'>Per problem the pass@k gradient is the pass@1 gradient times α_k(p) = k(1 − p)^{k−1} "
           "(Yu 2025, arXiv 2511.16231); α̂_k and the signal ŝ_k ≈ k²p(1 − p)^{2k−1} are their unbiased "
           "estimates from (n, c). Never- and always-solved problems give zero group-relative advantage.</p>"]
    if "collapse.png" in figs:
        out.append(_figure("collapse.png", figs["collapse.png"]))
    labels = m["labels"]
    ks_sig = m["k_signal"]
    G = m["settings"]["group_size"]
    head = ["group", "problems", "pass@1", "never solved", "always solved", f"zero-signal groups (G={G})",
            f"Σ ŝ_{ks_sig}", f"median α̂_{ks_sig}"]
    rows = []
    for g in labels:
        th = m["groups"][g]["theory"]
        j = th["ks"].index(ks_sig) if ks_sig in th["ks"] else None
        lv = th["alpha_quantile_levels"]
        med = th["alpha_quantiles"][j][lv.index(0.5)] if j is not None and 0.5 in lv else None
        rows.append([_dn(m, g), str(th["n_problems"]), _f(th["pass1_mean"]), _pct(th["frac_never_solved"]),
                     _pct(th["frac_always_solved"]), _pct(th["zero_signal_fraction"]),
                     _f(th["signal_total"][j] if j is not None else None, 3), _f(med, 3)])
    out.append(_table(head, rows))
    # gap and alpha per k
    ks = m["groups"][labels[0]]["theory"]["ks"]
    out.append("<h3>Gap pass@k − pass@1 and mean α̂_k per k</h3>")
    head = ["group", "statistic"] + [f"k={k}" for k in ks]
    rows = []
    for g in labels:
        th = m["groups"][g]["theory"]
        rows.append([_dn(m, g), "gap"] + [_f(_get(th, "gap_mean", k), 3) for k in ks])
        rows.append([_dn(m, g), "mean α̂_k"] + [_f(_get(th, "alpha_mean", k), 3) for k in ks])
    out.append(_table(head, rows))
    # signal share per bucket
    out.append(f"<h3>Share of total pass@{ks_sig} signal by difficulty bucket of p̂ (problems in bucket)</h3>")
    buckets = m["groups"][labels[0]]["theory"]["bucket_labels"]
    rows = []
    for g in labels:
        th = m["groups"][g]["theory"]
        j = th["ks"].index(ks_sig) if ks_sig in th["ks"] else None
        rows.append([_dn(m, g)] + [
            f"{_pct(th['signal_share'][b][j] if j is not None else None)} ({th['bucket_counts'][b]})"
            for b in range(len(buckets))])
    out.append(_table(["group"] + [escape(b) for b in buckets], rows))
    answers = [g for g in labels if "answers" in m["groups"][g]]
    if answers:
        out.append("<h3>Distinct correct answers (answer classes)</h3>")
        cks = m["groups"][answers[0]]["answers"]["coverage_k"]
        head = ["group", "distinct correct / problem (mean)", "median", "≥ 2 correct answers"] + [
            f"coverage@{k}" for k in cks]
        rows = []
        for g in answers:
            a = m["groups"][g]["answers"]
            cov = dict(zip(a["coverage_k"], a["coverage_mean"]))
            rows.append([_dn(m, g), _f(a["distinct_correct_mean"], 3), _f(a["distinct_correct_median"], 1),
                         _pct(a["frac_two_or_more_correct"])] + [_f(cov.get(k), 3) for k in cks])
        out.append(_table(head, rows))
        out.append("<p class='muted'>coverage@k = expected number of distinct correct answers among k samples "
                   "(unbiased from answer counts). pass@k cannot see this: it depends only on the total "
                   "probability of a correct answer.</p>")
    return "\n".join(out)


def _get(th: dict[str, Any], key: str, k: int) -> Any:
    return th[key][th["ks"].index(k)] if k in th["ks"] else None


def _series_section(m: dict[str, Any], figs: dict[str, bytes]) -> str:
    if m["kind"] != "series":
        return ""
    tr = m["trend"]
    out = [f"<h2>Series: diagnostics against {escape(m.get('label_name') or 'group')}</h2>"]
    if "series.png" in figs:
        out.append(_figure("series.png", figs["series.png"]))
    keys = [k for k in tr if k != "group" and any(v is not None for v in tr[k])]
    rows = []
    for i, g in enumerate(tr["group"]):
        rows.append([_dn(m, g)] + [_f(tr[k][i], 4) for k in keys])
    out.append(_table([escape(m.get("label_name") or "group")] + [escape(k) for k in keys], rows))
    return "\n".join(out)


def _per_problem_section(m: dict[str, Any], figs: dict[str, bytes]) -> str:
    if not m["comparisons"]:
        return ""
    comp = m["comparisons"][-1]
    out = [f"<h2>4. Per-problem view: {_dn(m, comp['b'])} vs {_dn(m, comp['a'])}</h2>"]
    if "per_problem.png" in figs:
        out.append(_figure("per_problem.png", figs["per_problem.png"]))
    out.append(f"<p>Lost (solved at least once in {_dn(m, comp['a'])}, never in {_dn(m, comp['b'])}): "
               f"<b>{comp['lost_count']}</b> problems; gained: <b>{comp['gained_count']}</b>. "
               f"Mean |Δp̂| = {comp['mean_abs_phat_change']:.4f}.</p>")
    for key, title in (("lost_shown", "lost"), ("gained_shown", "gained")):
        items = comp[key]
        if not items:
            continue
        rows = [[escape(r["id"]), f"{r['c_a']}/{r['n_a']}", f"{r['c_b']}/{r['n_b']}"] for r in items]
        total = comp[f"{title}_count"]
        more = f" (first {len(items)} of {total}; all in metrics.json)" if total > len(items) else ""
        out.append(f"<details{' open' if title == 'lost' else ''}><summary>Problems {title}{more}</summary>"
                   + _table(["problem", f"c/n in {_dn(m, comp['a'])}", f"c/n in {_dn(m, comp['b'])}"], rows)
                   + "</details>")
    return "\n".join(out)


def render_html(metrics: dict[str, Any], figures: dict[str, bytes]) -> str:
    """The report page.

    Args:
      metrics: the dict of :func:`passlens.report.build.build_report` (``Report.metrics``).
      figures: file name → PNG bytes (:func:`passlens.report.plots.make_figures`); may be empty.

    Returns:
      one self-contained HTML document (str).
    """
    m = metrics
    labels = m["labels"]
    title = "passlens exploration report"
    if m["kind"] == "pair":
        title += f": {m['display_names'][labels[1]]} vs {m['display_names'][labels[0]]}"
    elif m["kind"] == "series":
        name = m.get("label_name") or "group"
        title += f": {len(labels)} {name}s"
    verdict = "".join(f"<li>{escape(v['text'])}</li>" for v in m["verdict"])
    inputs = m.get("inputs", {})
    files = inputs.get("files", [])
    sha = inputs.get("sha256", {})
    prov_rows = [[escape(str(f)), f"<code>{escape(sha.get(str(f), '') or '')[:16]}…</code>"] for f in files]
    s = m["settings"]
    settings_txt = (f"ci {s['ci']}, alpha {s['alpha']}, n_boot {s['n_boot']}, seed {s['seed']}, group size "
                    f"{s['group_size']}, k grid {escape(format_k_ranges(s['ks']) if s['ks'] else ('all 1..n' if s.get('grid', 'all') == 'all' else 'powers of two'))}, "
                    f"interval method {escape(s['method'])}")
    notes = "".join(f"<li>{escape(n)}</li>" for n in m["notes"])
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        f"<title>{escape(title)}</title>",
        f"<style>{_CSS}</style>",
        f"<script>{_SCRIPT}</script>",
        "</head><body><main>",
        f"<h1>{escape(title)}</h1>",
        f"<p class='sub'>passlens {escape(str(m['passlens_version']))} · {settings_txt}</p>",
        "".join(f"<p class='muted'><b>Note:</b> {escape(n)}</p>" for n in m["notes"] if n.startswith("large input")),
        f"<div class='verdict'><b>Verdict</b><ul>{verdict}</ul></div>",
        _curves_section(m, figures),
        _comparison_section(m, figures),
        _collapse_section(m, figures),
        _series_section(m, figures),
        _per_problem_section(m, figures),
        "<h2>Inputs and notes</h2>",
        _table(["file", "sha256"], prov_rows) if prov_rows else "<p class='muted'>in-memory input</p>",
        f"<ul>{notes}</ul>" if notes else "",
        "<p class='muted'>All numbers on this page are in metrics.json; curves in curves.csv.</p>",
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p)
