"""MkDocs hooks: the parts of the site that the package itself makes, at build time.

Nothing generated here is committed, so nothing can go stale:

* figures (``figures/*.png``): ``passlens theory --plot`` (α_k, the gap, the signal) and the
  report's figures on the bundled DeepScaleR pair;
* markers in the pages, each replaced by what the code says now:

  ``<!-- gen:cli -->``             every command and option, from the typer app's own help
  ``<!-- gen:columns -->``         the accepted column spellings (``passlens.io.COLUMN_SPELLINGS``)
  ``<!-- gen:file-formats -->``    the file formats (``passlens.io.formats.FORMATS``)
  ``<!-- gen:presets -->``         the tools' logs read with no flags (``passlens.io.formats.presets``)
  ``<!-- gen:report-terminal -->`` the terminal summary of ``passlens report`` on the bundled data
  ``<!-- gen:metrics-schema -->``  every key of metrics.json, with its type and the section writing it
  ``<!-- gen:claims -->``          the ``passlens reproduce`` table (``docs/claims.json``, checked by
                                   ``tests/test_docs.py`` against :func:`passlens.lab.run_claims`)
  ``<!-- gen:registry -->``        the advantage estimator registry (``passlens.advantages.REGISTRY``)

``tests/test_docs.py`` builds the site with ``--strict`` and imports this module for its checks.
"""

from __future__ import annotations

import functools
import io
import json
import re
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CLAIMS_JSON = DOCS / "claims.json"
MARKER = re.compile(r"<!-- gen:([a-z-]+) -->")

# ---------------------------------------------------------------------------------------- mkdocs events


def on_files(files: Any, config: Any) -> Any:
    """Add the generated figures as site files (so pages may link them and --strict checks the links)."""
    from mkdocs.structure.files import File

    for name, data in figures().items():
        files.append(File.generated(config, f"figures/{name}", content=data))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return MARKER.sub(lambda m: generate(m.group(1)), markdown)


# ---------------------------------------------------------------------------------------- generators


def generate(name: str) -> str:
    """The markdown for marker ``name`` (KeyError for an unknown marker: the build fails)."""
    return {
        "cli": cli_reference,
        "columns": columns_table,
        "file-formats": file_formats_table,
        "presets": presets_table,
        "report-terminal": report_terminal,
        "metrics-schema": metrics_schema,
        "claims": claims_table,
        "registry": registry_table,
    }[name]()


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


# --- CLI --------------------------------------------------------------------------------------------


def cli_commands() -> list[tuple[list[str], Any]]:
    """(path, command) for the root and every command and subcommand, in --help order."""
    import typer

    from passlens.cli import app

    out: list[tuple[list[str], Any]] = []

    def walk(cmd: Any, path: list[str]) -> None:
        out.append((path, cmd))
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            if not sub.hidden:
                walk(sub, [*path, name])

    walk(typer.main.get_command(app), ["passlens"])
    return out


def _usage(path: list[str], cmd: Any) -> str:
    pieces = [" ".join(path)]
    if any(p.param_type_name == "option" for p in cmd.params):
        pieces.append("[OPTIONS]")
    for p in cmd.params:
        if p.param_type_name == "argument":
            arg = p.name.upper() + ("..." if p.nargs == -1 else "")
            pieces.append(arg if p.required else f"[{arg}]")
    if getattr(cmd, "commands", None):
        pieces.append("COMMAND [ARGS]...")
    return " ".join(pieces)


def _default(p: Any) -> str:
    d = p.default
    if d is None or (getattr(p, "is_flag", False) and d is False and not p.secondary_opts):
        return ""
    if getattr(p, "is_flag", False) and p.secondary_opts:
        return p.opts[0] if d else p.secondary_opts[0]
    if isinstance(d, (list, tuple)):
        return ", ".join(map(str, d)) if d else ""
    return f"`{d}`"


def _help_text(text: str) -> str:
    """A command's docstring as markdown: paragraphs as text, the example lines as a console block."""
    out: list[str] = []
    for para in (text or "").strip().split("\n\n"):
        if para.startswith("Example:"):
            lines = [ln.strip() for ln in para[len("Example:"):].splitlines()]
            out.append("Example:\n\n```text\n" + "\n".join(ln for ln in lines if ln) + "\n```")
        else:
            out.append(" ".join(ln.strip() for ln in para.splitlines()))
    return "\n\n".join(out)


def cli_reference() -> str:
    parts: list[str] = []
    for path, cmd in cli_commands():
        level = "#" * min(len(path) + 1, 4)
        parts.append(f"{level} `{' '.join(path)}`")
        parts.append(f"```text\n{_usage(path, cmd)}\n```")
        parts.append(_help_text(cmd.help or ""))
        rows = []
        for p in cmd.params:
            if p.hidden:
                continue
            if p.param_type_name == "argument":
                name = f"`{p.name.upper()}`" + (" (required)" if p.required else "")
            else:
                name = ", ".join(f"`{o}`" for o in [*p.opts, *p.secondary_opts])
                name += " (required)" if p.required else ""
                name += " (repeatable)" if p.multiple else ""
            rows.append(f"| {name} | {_cell(p.help or '')} | {_default(p)} |")
        if rows:
            parts.append("| argument / option | what it does | default |\n|---|---|---|\n" + "\n".join(rows))
    return "\n\n".join(parts)


# --- input formats ------------------------------------------------------------------------------------


def columns_table() -> str:
    from passlens.io import COLUMN_SPELLINGS

    what = {
        "id": ("problem id", "`--id-col`"),
        "reward": ("reward or correctness of one sample (or a list: one sample per element)", "`--reward-col`"),
        "c": ("number of correct samples (count rows)", "`--c-col`"),
        "n": ("number of samples (count rows)", "`--n-col`"),
        "answer": ("the sample's final answer (maj@k, coverage@k)", "`--answer-col`"),
        "sample": ("sample id within the problem (duplicates are errors)", "`--sample-col`"),
        "group": ("model / checkpoint / step / filter: splits the rows into groups", "`--by`"),
    }
    rows = ["| role | spellings, in order of preference (case-insensitive) | option |", "|---|---|---|"]
    for role, names in COLUMN_SPELLINGS.items():
        label, opt = what.get(role, (role, ""))
        rows.append(f"| {label} | {', '.join(f'`{n}`' for n in names)} | {opt} |")
    return "\n".join(rows)


_ROLE = re.compile(r":[a-z]+:`(~?)([^`]+)`")


def rst_to_markdown(text: str) -> str:
    """Sphinx roles (``:func:`~a.b```) as code spans (`` `b` ``); ``::`` before a literal block as ``:``."""
    text = _ROLE.sub(lambda m: "`" + (m.group(2).rsplit(".", 1)[-1] if m.group(1) else m.group(2)) + "`", text)
    return re.sub(r"::\n", ":\n", text)


def _first_paragraph(doc: str | None) -> str:
    return rst_to_markdown(" ".join((doc or "").strip().split("\n\n")[0].split()))


def file_formats_table() -> str:
    from passlens.io.formats import FORMATS

    rows = ["| format | suffixes | how it is read |", "|---|---|---|"]
    for fmt in FORMATS:
        exts = ", ".join(f"`{e}`" for e in sorted(fmt.extensions)) or "(a data frame in Python)"
        rows.append(f"| `{fmt.__name__}` | {exts} | {_cell(_first_paragraph(fmt.__doc__))} |")
    return "\n".join(rows)


def presets_table() -> str:
    from passlens.io.formats.presets import DOCUMENT_PRESETS, TABLE_PRESETS

    rows = ["| tool and file | read as | fields read, and what the file gives |", "|---|---|---|"]
    for kind, presets in (("JSON document", DOCUMENT_PRESETS), ("JSON lines / Parquet", TABLE_PRESETS)):
        for preset in presets:
            rows.append(f"| {_cell(preset.tool)} | {kind} | {_cell(preset.reads)} |")
    return "\n".join(rows)


# --- the report on the bundled data -------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def bundled_report() -> Any:
    from passlens.report import make_report

    return make_report([])


def _scrub(text: str) -> str:
    """Machine-specific paths out: the bundled files are named from the package down."""
    import passlens

    return text.replace(str(Path(passlens.__file__).parent), "…/passlens")


def report_terminal() -> str:
    from rich.console import Console

    from passlens.report import print_summary

    buf = io.StringIO()
    console = Console(file=buf, width=100, emoji=False, color_system=None, force_terminal=False)
    print_summary(bundled_report(), console)
    return "```console\n$ passlens report\n" + _scrub(buf.getvalue()).rstrip() + "\n```"


def _section_of_keys() -> dict[str, str]:
    """metrics.json key path → the section (or header) that writes it."""
    report = bundled_report()
    owners: dict[str, str] = {}

    def mark(tree: Any, who: str, prefix: str) -> None:
        if isinstance(tree, dict):
            for key, val in tree.items():
                path = f"{prefix}.{_generic(key)}" if prefix else _generic(key)
                owners.setdefault(path, who)
                mark(val, who, path)

    for section in report.sections:
        mark(section.to_dict(), type(section).__name__, "")
    mark(report.verdict.to_dict(), "Verdict", "")
    return owners


_GROUP_LABELS = ("base", "rl")


def _generic(key: Any) -> str:
    """Data-dependent keys (group labels, pair names, budgets) as placeholders."""
    key = str(key)
    if key in _GROUP_LABELS:
        return "<group>"
    if key in ("rl vs base", "base vs rl") or " vs " in key:
        return "<B vs A>"
    if re.fullmatch(r"-?\d+(\.\d+)?", key):
        return "<k>"
    return key


def _type_name(val: Any) -> str:
    if val is None:
        return "null"
    if isinstance(val, bool):
        return "bool"
    if isinstance(val, int):
        return "int"
    if isinstance(val, float):
        return "number"
    if isinstance(val, str):
        return "string"
    if isinstance(val, list):
        inner = sorted({_type_name(v) for v in val[:50]})
        return f"list[{' | '.join(inner)}]" if inner else "list"
    return "object"


def metrics_rows() -> list[tuple[str, str, str, str]]:
    """(key path, type, example, written by) for every key of the bundled report's metrics.json."""
    metrics = bundled_report().metrics
    owners = _section_of_keys()
    rows: dict[str, tuple[str, str, str, str]] = {}

    def walk(tree: Any, prefix: str) -> None:
        for key, val in tree.items():
            path = f"{prefix}.{_generic(key)}" if prefix else _generic(key)
            if path in rows:
                continue
            example = "" if isinstance(val, (dict, list)) else json.dumps(val, ensure_ascii=False)
            if isinstance(val, list) and val and not isinstance(val[0], (dict, list)):
                example = json.dumps(val[:3], ensure_ascii=False)[:-1] + (", …]" if len(val) > 3 else "]")
            rows[path] = (path, _type_name(val), _scrub(example)[:80], owners.get(path, "header"))
            if isinstance(val, dict):
                walk(val, path)
            elif isinstance(val, list) and val and isinstance(val[0], dict):
                walk(val[0], path + "[]")

    walk(metrics, "")
    return list(rows.values())


def metrics_schema() -> str:
    out = ["| key | type | example (bundled pair) | written by |", "|---|---|---|---|"]
    for path, typ, example, who in metrics_rows():
        out.append(f"| `{_cell(path)}` | {typ} | {('`' + _cell(example) + '`') if example else ''} | {who} |")
    return "\n".join(out)


# --- figures ------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _figures() -> tuple[tuple[str, bytes], ...]:
    from typer.testing import CliRunner

    from passlens.cli import app
    from passlens.report import make_figures

    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        res = CliRunner().invoke(app, ["theory", "--k", "1,2,4,8,16,32", "--plot", tmp])
        if res.exit_code != 0:
            raise RuntimeError(f"passlens theory --plot failed: {res.output}")
        for png in sorted(Path(tmp).glob("*.png")):
            out[f"theory/{png.name}"] = png.read_bytes()
    for name, data in make_figures(bundled_report()).items():
        out[f"report/{name}"] = data
    return tuple(out.items())


def figures() -> dict[str, bytes]:
    """Site path under ``figures/`` → PNG bytes."""
    return dict(_figures())


# --- claims -------------------------------------------------------------------------------------------


CLAIM_FIELDS = ("id", "claim", "measured", "value", "criterion", "holds")


def claim_rows(results: Any) -> list[dict[str, Any]]:
    """The fields of :class:`passlens.lab.ClaimResult` the table shows (no timing, no raw data)."""
    return [{f: getattr(r, f) for f in CLAIM_FIELDS} for r in results]


def write_claims() -> None:
    """Regenerate ``docs/claims.json`` (seed 0, the full sizes: about a minute on 2 cores)."""
    from passlens.lab import run_claims

    rows = claim_rows(run_claims())
    CLAIMS_JSON.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def claims_table() -> str:
    rows = json.loads(CLAIMS_JSON.read_text(encoding="utf-8"))
    out = ["| # | claim | measured value | criterion | |", "|---|---|---|---|---|"]
    for r in rows:
        out.append(
            f"| {r['id']} | {_cell(r['claim'])} | {_cell(r['value'])} | {_cell(r['criterion'])} | "
            f"{'holds' if r['holds'] else '**fails**'} |"
        )
    held = sum(r["holds"] for r in rows)
    out.append(f"\n{held}/{len(rows)} hold.")
    return "\n".join(out)


# --- advantages ---------------------------------------------------------------------------------------


def registry_table() -> str:
    from passlens.advantages import REGISTRY

    out = ["| name | target (its gradient is estimated) | needs | parameters | unbiased | source |",
           "|---|---|---|---|---|---|"]
    for name, spec in sorted(REGISTRY.items()):
        params = "<br>".join(
            f"`{p.name}`" + ("" if p.required else f" = `{p.default}`") + f": {_cell(p.doc)}" for p in spec.params
        )
        needs = ", ".join(["`rewards`", *(f"`{i}`" for i in spec.inputs)]) + (" (0/1)" if spec.binary_only else "")
        out.append(
            f"| `{name}` | {_cell(spec.target)} | {needs} | {params} | {'yes' if spec.unbiased else 'no'} | "
            f"{_cell(spec.source)} |"
        )
    return "\n".join(out)


if __name__ == "__main__":  # python docs/hooks/passlens_docs.py claims
    import sys

    if sys.argv[1:] == ["claims"]:
        write_claims()
        print(f"wrote {CLAIMS_JSON}")
    else:
        raise SystemExit("usage: python docs/hooks/passlens_docs.py claims")
