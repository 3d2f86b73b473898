"""Self-contained HTML page of the exploration report, and the building blocks its sections use.

One file: figures embedded as base64 PNG, inline CSS (light and dark through
``prefers-color-scheme``; figures sit on white cards so they read on both), no
network, no external script, stylesheet or font. A few lines of inline script
record load errors into the document title and mark the body with
``data-figures="ok"`` once every image has decoded (used by the browser test).

The page is a frame (title, settings, the verdict, inputs and notes) around the
sections' own HTML (:meth:`passlens.report.section.Section.html`), in registry order.
The sections write their parts with :func:`table`, :func:`figure`, :func:`num`,
:func:`pct`, :func:`name` and :func:`pow2_rows`.
"""

from __future__ import annotations

import base64
from html import escape
from typing import TYPE_CHECKING, Any, Mapping

from .section import ReportInfo, Section
from .text import format_k_ranges

if TYPE_CHECKING:
    from .build import Report

__all__ = ["render_html", "num", "pct", "name", "name_head", "table", "figure", "pow2_rows"]

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


def num(x: Any, digits: int = 4) -> str:
    """A number with ``digits`` decimals; 'n/a' for None (see :func:`passlens.report.section.value`)."""
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return escape(str(x))


def pct(x: Any) -> str:
    """A fraction as a percentage with one decimal; 'n/a' for None."""
    return "n/a" if x is None else f"{100 * x:.1f}%"


def name(info: ReportInfo, label: str) -> str:
    """Escaped display name of a group ("step 400", "rl", "data")."""
    return escape(info.name(label))


def name_head(info: ReportInfo) -> str:
    """Escaped header of a column of group names ("step", "group")."""
    what = info.label_name
    return escape(what if what and what not in ("file",) else "group")


def table(head: list[str], rows: list[list[str]]) -> str:
    """A table of already escaped cells."""
    # headers and the first column hold names (groups, problem ids, files) of any length: they wrap
    # at a fixed width (class nm) instead of pushing the numbers off the page
    h = "".join(f"<th><div class='nm'>{c}</div></th>" for c in head)
    body = "".join("<tr>" + "".join(f"<td><div class='nm'>{c}</div></td>" if j == 0 else f"<td>{c}</td>"
                                    for j, c in enumerate(r)) + "</tr>" for r in rows)
    return f'<div class="scroll"><table><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table></div>'


def figure(section: Section, figures: Mapping[str, bytes]) -> str:
    """The section's figure embedded as a captioned base64 PNG, or '' when it was not made."""
    png = figures.get(section.figure_name or "")
    if png is None:
        return ""
    data = base64.b64encode(png).decode("ascii")
    cap = escape(section.figure_title or section.figure_name or "")
    return f'<figure><img alt="{cap}" src="data:image/png;base64,{data}"><figcaption>{cap}</figcaption></figure>'


def pow2_rows(ks: list[int]) -> list[int]:
    """The budgets a table shows: powers of two and the largest."""
    return [k for k in ks if k & (k - 1) == 0 or k == ks[-1]]


def render_html(report: Report, figures: Mapping[str, bytes]) -> str:
    """The report page.

    Args:
      report: :class:`passlens.report.build.Report` (of :func:`~passlens.report.build.build_report`).
      figures: file name → PNG bytes (:func:`passlens.report.make_figures`); may be empty.

    Returns:
      one self-contained HTML document (str).
    """
    from .build import Report

    if not isinstance(report, Report):
        raise TypeError(f"render_html takes the Report of build_report, got {type(report).__name__}")
    info = report.info
    labels = info.labels
    title = "passlens exploration report"
    if info.kind == "pair":
        title += f": {info.display_names[labels[1]]} vs {info.display_names[labels[0]]}"
    elif info.kind == "series":
        title += f": {len(labels)} {info.label_name or 'group'}s"
    inputs = report.inputs
    files = inputs.get("files", [])
    sha = inputs.get("sha256", {})
    prov_rows = [[escape(str(f)), f"<code>{escape(sha.get(str(f), '') or '')[:16]}…</code>"] for f in files]
    s = info.settings
    grid = format_k_ranges(s.ks) if s.ks else ("all 1..n" if s.grid == "all" else "powers of two")
    settings_txt = (f"ci {s.ci}, alpha {s.alpha}, n_boot {s.n_boot}, seed {s.seed}, group size "
                    f"{s.group_size}, k grid {escape(grid)}, interval method {escape(s.method)}")
    notes = "".join(f"<li>{escape(n)}</li>" for n in report.notes)
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
        f"<p class='sub'>passlens {escape(str(report.version))} · {settings_txt}</p>",
        "".join(f"<p class='muted'><b>Note:</b> {escape(n)}</p>" for n in report.notes if n.startswith("large input")),
        report.verdict.html(figures),
        *(section.html(figures) for section in report.sections),
        "<h2>Inputs and notes</h2>",
        table(["file", "sha256"], prov_rows) if prov_rows else "<p class='muted'>in-memory input</p>",
        f"<ul>{notes}</ul>" if notes else "",
        "<p class='muted'>All numbers on this page are in metrics.json; curves in curves.csv.</p>",
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p)
