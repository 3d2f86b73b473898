"""The ``passlens`` command line: a thin typer layer over the library (no math here).

Every user error (bad file, bad option, k > n, …) ends with one line on stderr
and exit status 2; nothing prints a traceback.
"""

from __future__ import annotations

import csv
import io as _stdio
import json
import math
import re
import sys
from pathlib import Path
from typing import Any, Callable, List, NoReturn, Optional, TypeVar

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import __version__
from .report.text import describe_ks

__all__ = ["app", "main", "parse_ks", "parse_k_list", "UserError"]

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="passlens",
    help=(
        "Is my policy still exploring? Exact pass@k / pass^k / max@k / maj@k from sample logs, with "
        "confidence intervals, paired model comparison and exploration diagnostics.\n\n"
        "Example: passlens report   (the bundled DeepScaleR base vs RL counts)"
    ),
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# emoji=False: ':thumbs_up:' in an id or a file name stays as written. Every user string that goes
# into rich markup (titles, cells, notes) is escaped; errors are printed with markup=False.
_out = Console(emoji=False)
_human_err = Console(stderr=True, emoji=False)  # tables and notes when --json/--csv write to stdout
_err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)

#: Largest budget k (and --group-size) accepted: integers above 2⁵³ are not exact in float64.
K_MAX = 2**53 - 1
#: Most budgets one --k (or --show) spec may expand to, e.g. through a range '1-1000000'.
MAX_BUDGETS = 1_000_000
#: Most bootstrap replicates / multiplier draws (--n-boot): the replicate matrix is n_boot × budgets
#: float64 (10⁶ × 128 budgets = 1 GB), and percentile intervals gain nothing beyond that.
N_BOOT_MAX = 1_000_000
#: Seeds accepted by --seed (the range of the lab and training seeds too).
SEED_MAX = 2**32 - 1


class UserError(ValueError):
    """A problem with the user's input or options: one line, exit 2."""


class Interrupted(Exception):
    """Ctrl-C during a command that says what it kept and how to go on: printed as one line, exit 130."""


def _fail(message: str) -> NoReturn:
    raise UserError(message)


def _fail_not_binary(where: str, table: Any, notes: list[str], alternatives: str) -> NoReturn:
    """pass@k needs 0/1 rewards: say where the first other value is, how to go on, and which other
    reward-like columns the input has (the note that would otherwise print only after a success)."""
    other = next((note for note in notes if "also reward-like" in note), None)
    _fail(f"{where}rewards are not all 0/1 (first at {table.nonbinary_at}); use {alternatives}"
          + (f"; {other}" if other else ""))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# [0-9], not \d: \d also matches e.g. Arabic-Indic digits, which int() would read as budgets.
_INT_RE = re.compile(r"[+-]?[0-9]+")
_RANGE_RE = re.compile(r"([0-9]+)\s*-\s*([0-9]+)")


def parse_k_list(spec: str, option: str = "--k", hint: str = "use e.g. 1,2,4,8 or 1-16, 'all' or 'pow2'") -> list[int]:
    """Sorted distinct budgets of a comma list with ranges, e.g. '1,2,4,8' or '1-16,32'.

    Every budget must lie in [1, :data:`K_MAX`], a range must run upwards, and the spec may
    expand to at most :data:`MAX_BUDGETS` budgets. Errors are one line naming ``option``
    and the offending part.
    """
    values: set[int] = set()
    count = 0
    for raw in spec.split(","):
        part = raw.strip()
        where = "" if part == spec.strip() else f" in {spec!r}"
        m = _RANGE_RE.fullmatch(part)
        if m:
            first, last = int(m[1]), int(m[2])
            if first > last:
                _fail(f"{option}: reversed range {part!r}{where} (write {last}-{first})")
        elif _INT_RE.fullmatch(part):
            first = last = int(part)
        else:
            _fail(f"{option}: cannot parse {part!r}{where} ({hint})")
        for v in (first, last):
            if v < 1:
                _fail(f"{option}: budgets must be ≥ 1, got {v} in {part!r}")
            if v > K_MAX:
                _fail(f"{option}: budget {v} is too large (at most 2^53 − 1 = {K_MAX})")
        count += last - first + 1
        if count > MAX_BUDGETS:  # checked before expanding: '1-9999999999' must not allocate
            _fail(f"{option}: {part!r} makes more than {MAX_BUDGETS:,} budgets; give fewer (e.g. 'pow2' or a list)")
        values.update(range(first, last + 1))
    return sorted(values)


def parse_ks(spec: Optional[str], n_min: int, n_max: int, option: str = "--k") -> np.ndarray:
    """Budgets from a CLI spec.

    "all" → 1..n_min; "pow2" (default when spec is None) → 1, 2, 4, … ≤ n_min plus
    n_min itself; otherwise a comma list "1,2,4,8" with ranges "1-16" allowed
    (:func:`parse_k_list`: budgets in [1, 2⁵³ − 1], at most 10⁶ of them).
    """
    word = None if spec is None else spec.strip()
    if word is None or word == "pow2":
        ks = [1 << i for i in range(0, max(1, n_min).bit_length()) if (1 << i) <= n_min]
        if n_min not in ks:
            ks.append(n_min)
        return np.array(ks, dtype=np.int64)
    if word == "all":
        if n_min > MAX_BUDGETS:
            _fail(f"{option} all: 1..{n_min} is more than {MAX_BUDGETS:,} budgets; give 'pow2' or a list")
        return np.arange(1, n_min + 1, dtype=np.int64)
    return np.array(parse_k_list(word, option), dtype=np.int64)


def check_seed(seed: int, option: str = "--seed") -> None:
    if not 0 <= seed <= SEED_MAX:
        _fail(f"{option}: must be an integer in [0, {SEED_MAX}], got {seed}")


def check_n_boot(n_boot: int, option: str = "--n-boot") -> None:
    if not 2 <= n_boot <= N_BOOT_MAX:
        _fail(f"{option}: must be between 2 and {N_BOOT_MAX:,}, got {n_boot}")


def check_threshold(threshold: Optional[float]) -> None:
    if threshold is not None and not math.isfinite(threshold):
        _fail(f"--threshold: must be a finite number, got {threshold}")


def _check_shared_options(n_boot: int, seed: int, threshold: Optional[float], k: Optional[str]) -> None:
    """The options eval and compare share, checked before any file is read (a bad --k fails fast)."""
    check_n_boot(n_boot)
    check_seed(seed)
    check_threshold(threshold)
    if k is not None and k.strip() not in ("all", "pow2"):
        parse_k_list(k.strip())


def _read(files: List[Path], **options: Any) -> Any:
    from . import io as pio

    return pio.read([str(f) for f in files], **options)


def _column_options(
    id_col: Optional[str],
    reward_col: Optional[str],
    c_col: Optional[str],
    n_col: Optional[str],
    answer_col: Optional[str],
    sample_col: Optional[str],
) -> dict[str, Any]:
    return {
        "id_col": id_col,
        "reward_col": reward_col,
        "c_col": c_col,
        "n_col": n_col,
        "answer_col": answer_col,
        "sample_col": sample_col,
    }


def _missing(x: Any) -> bool:
    return x is None or not np.isfinite(x)


def _fmt(x: Any) -> str:
    """A statistic with 4 decimals; 'n/a' where it is undefined (None or NaN, e.g. the SE of one problem)."""
    return "n/a" if _missing(x) else f"{x:.4f}"


def _fmt_signed(x: Any) -> str:
    return "n/a" if _missing(x) else f"{x:+.4f}"


def _write_machine(option: str, out: str, fmt: str, records: list[dict[str, Any]], as_json: Any) -> None:
    """Write ``records`` as CSV (fmt 'csv') or ``as_json`` as JSON (fmt 'json') to a path, or stdout for '-'.

    NaN is written as JSON null and as an empty CSV cell.
    """
    from ._json import json_ready

    if fmt == "csv":
        rows = json_ready(records)
        buf = _stdio.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0].keys()) if rows else [])
        writer.writeheader()
        writer.writerows(rows)
        text = buf.getvalue()
    else:
        text = json.dumps(json_ready(as_json), indent=2, allow_nan=False) + "\n"
    if out == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        path = Path(out)
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.write_text(text)
            tmp.replace(path)
        except OSError as exc:
            _fail(f"{option} {out}: cannot write: {exc.strerror or exc}")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:  # either does not exist (yet): not the same file
        return False


def _human_console(inputs: List[Optional[Path]], **machine: Optional[str]) -> Console:
    """Where tables and notes go: stderr when a machine output (option → value) writes to stdout ('-').

    Also refuses an empty output path and one that names an input file (it would be replaced).
    """
    for opt, value in machine.items():
        if value is None:
            continue
        if not value.strip():
            _fail(f"{opt}: empty path; give a file path, or '-' for stdout")
        if value != "-" and any(f is not None and _same_file(Path(value), f) for f in inputs):
            _fail(f"{opt} {value}: is one of the input files and would be overwritten; write elsewhere")
    to_stdout = [opt for opt, value in machine.items() if value == "-"]
    if len(to_stdout) > 1:
        _fail(f"{' and '.join(o + ' -' for o in to_stdout)}: only one output can go to stdout; give the other a path")
    return _human_err if to_stdout else _out


METRIC_NAMES = {"pass": "pass@k", "passhat": "pass^k", "max": "max@k", "maj": "maj@k"}


@app.command("eval")
def eval_cmd(
    files: List[Path] = typer.Argument(..., help="Sample logs: per-sample or per-problem count rows (JSONL, CSV, Parquet)."),
    k: Optional[str] = typer.Option(None, "--k", help="Budgets: '1,2,4,8', '1-16', 'all' (1..min n) or 'pow2' (default)."),
    ci: float = typer.Option(0.95, "--ci", help="Confidence level of the intervals."),
    by: Optional[str] = typer.Option(None, "--by", help="Group rows by this column (e.g. model, step)."),
    metric: str = typer.Option("pass", "--metric", help="pass | passhat | max | maj."),
    method: str = typer.Option("bootstrap", "--method", help="Interval: bootstrap (problem-level) or analytic."),
    n_boot: int = typer.Option(2000, "--n-boot", help=f"Bootstrap replicates (2 to {N_BOOT_MAX:,})."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Count a continuous reward ≥ this as correct (not used by --metric max)."),
    drop: bool = typer.Option(False, "--drop-small-n", help="Leave out problems with n < k at that k (counted) instead of failing."),
    json_out: Optional[str] = typer.Option(None, "--json", help="Also write the curves as JSON to this path ('-' for stdout; the table then goes to stderr)."),
    csv_out: Optional[str] = typer.Option(None, "--csv", help="Also write the curves as CSV to this path ('-' for stdout; the table then goes to stderr)."),
    id_col: Optional[str] = typer.Option(None, "--id-col", help="Problem id column (default: auto-detected)."),
    reward_col: Optional[str] = typer.Option(None, "--reward-col", help="Reward/correctness column."),
    c_col: Optional[str] = typer.Option(None, "--c-col", help="Success-count column (count files)."),
    n_col: Optional[str] = typer.Option(None, "--n-col", help="Sample-count column (count files)."),
    answer_col: Optional[str] = typer.Option(None, "--answer-col", help="Answer column (for maj@k)."),
    sample_col: Optional[str] = typer.Option(None, "--sample-col", help="Sample id column (duplicates are errors)."),
) -> None:
    """Dataset-level pass@k-family curves with confidence intervals, per group.

    Example: passlens eval samples.jsonl --k 1,4,16,64 --by model --json curves.json
    """
    from .uncertainty import curve

    if metric not in METRIC_NAMES:
        _fail(f"--metric: must be one of {', '.join(METRIC_NAMES)}, got {metric!r}")
    if method not in ("bootstrap", "analytic"):
        _fail(f"--method: must be 'bootstrap' or 'analytic', got {method!r}")
    if not (0 < ci < 1):
        _fail(f"--ci: must be in (0, 1), got {ci}")
    _check_shared_options(n_boot, seed, threshold, k)
    con = _human_console(list(files), **{"--json": json_out, "--csv": csv_out})
    data = _read(
        files,
        by=by,
        threshold=threshold,
        keep_rewards=True if metric == "max" else None,  # binary rewards are otherwise kept as (n, c) only
        **_column_options(id_col, reward_col, c_col, n_col, answer_col, sample_col),
    )
    label_name = by or data.by  # "file" when several files are one group each
    results: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    for group, table in data.groups.items():
        if metric in ("pass", "passhat") and table.c is None:
            _fail_not_binary("", table, data.notes, "--threshold T to binarize, or --metric max")
        if metric == "maj" and table.answer_conflict is not None:
            _fail(f"--metric maj: {table.answer_conflict}")
        n_min, n_max = int(table.n.min()), int(table.n.max())
        ks = parse_ks(k, n_max if drop else n_min, n_max)
        cur = curve(
            table.n,
            table.c,
            ks,
            metric=metric,  # type: ignore[arg-type]  # checked against METRIC_NAMES above
            rewards=table.rewards,
            votes=table.votes,
            correct=table.vote_correct,
            ci=ci,
            method=method,  # type: ignore[arg-type]  # checked above
            n_boot=n_boot,
            seed=seed,
            k_exceeds_n="drop" if drop else "raise",
            ids=table.ids,
        )
        results[group] = cur.to_dict() | {"problems_total": int(table.n.size)}
        records.extend({"group": group, **row} for row in cur.rows())
        where = "" if not group else f" — {label_name}={group}" if label_name else f" — {group}"
        title = f"{METRIC_NAMES[metric]}{escape(where)}  ({_plural(int(table.n.size), 'problem')})"
        tab = Table(title=title, title_justify="left")
        for col in ("k", "estimate", f"{int(ci * 100)}% CI", "SE", "problems"):
            tab.add_column(col, justify="right")
        no_interval: list[tuple[int, int]] = []  # (k, problems) where no interval exists
        for row in cur.rows():
            missing = row["problems"] < 2 or _missing(row["lo"]) or _missing(row["hi"])
            if missing:
                no_interval.append((row["k"], row["problems"]))
            ci_cell = "n/a" if missing else escape(f"[{_fmt(row['lo'])}, {_fmt(row['hi'])}]")
            se_cell = "n/a" if row["problems"] < 2 else _fmt(row["se"])
            tab.add_row(str(row["k"]), _fmt(row["estimate"]), ci_cell, se_cell, str(row["problems"]))
        con.print(tab)
        few = [kk for kk, p in no_interval if p < 2]
        if few:
            who = "one problem" if all(p == 1 for _, p in no_interval if p < 2) else "fewer than 2 problems"
            con.print(f"  note: k={describe_ks(few)}: {who}, no interval", highlight=False)
        flat = [kk for kk, p in no_interval if p >= 2]
        if flat:  # see curve_from_rows: no spread, and max@k has no known range to bound the mean
            con.print(f"  note: k={describe_ks(flat)}: no spread over problems, unknown reward range: no interval",
                      highlight=False)
        if cur.dropped:
            con.print(f"  {cur.dropped} problem(s) with n < {int(ks[-1])} left out at k={int(ks[-1])} (--drop-small-n)")
    notes = list(data.notes)
    if threshold is not None and metric == "max":
        notes.append(f"--threshold {threshold:g} ignored: --metric max uses the raw rewards")
    for note in notes:
        con.print(f"  note: {escape(note)}")
    payload = {"files": data.files, "sha256": data.sha256, "metric": metric, "groups": results}
    if json_out:
        _write_machine("--json", json_out, "json", records, payload)
    if csv_out:
        _write_machine("--csv", csv_out, "csv", records, payload)


@app.command("compare")
def compare_cmd(
    a: Optional[Path] = typer.Argument(None, help="Model A (reference) counts or samples. Default: bundled DeepScaleR base."),
    b: Optional[Path] = typer.Argument(None, help="Model B counts or samples. Default: bundled DeepScaleR RL model."),
    k: Optional[str] = typer.Option("all", "--k", help="Budgets: 'all' (1..min n, default), 'pow2', '1,2,4' or '1-16'."),
    alpha: float = typer.Option(0.05, "--alpha", help="Family-wise error level of the simultaneous band."),
    n_boot: int = typer.Option(4000, "--n-boot", help=f"Multiplier-bootstrap draws (2 to {N_BOOT_MAX:,})."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Count a continuous reward ≥ this as correct."),
    json_out: Optional[str] = typer.Option(None, "--json", help="Write the full result as JSON to this path ('-' for stdout; the table then goes to stderr)."),
    show: str = typer.Option("pow2", "--show", help="Rows of the table: 'pow2' (powers of 2, the first and last budget, and the budgets where the verdict changes), 'all' or a list of compared budgets."),
    id_col: Optional[str] = typer.Option(None, "--id-col", help="Problem id column (default: auto-detected)."),
    reward_col: Optional[str] = typer.Option(None, "--reward-col", help="Reward/correctness column."),
    c_col: Optional[str] = typer.Option(None, "--c-col", help="Success-count column (count files)."),
    n_col: Optional[str] = typer.Option(None, "--n-col", help="Sample-count column (count files)."),
) -> None:
    """Paired pass@k comparison of model B against model A on the same problems.

    A simultaneous confidence band over the whole k grid (sup-t multiplier
    bootstrap over problems) gives the budgets where B is significantly better,
    worse, or inconclusive, and the set of budgets that may be B's first loss.

    Example: passlens compare base.jsonl rl.jsonl --k all --alpha 0.05
    """
    from .report.text import describe_comparison
    from .uncertainty import compare

    if (a is None) != (b is None):
        _fail("give two files (A and B), or none for the bundled DeepScaleR example")
    if not (0 < alpha < 1):
        _fail(f"--alpha: must be in (0, 1), got {alpha}")
    _check_shared_options(n_boot, seed, threshold, k)
    show = show.strip()
    show_list = None if show in ("all", "pow2") else parse_k_list(show, "--show")
    con = _human_console([a, b], **{"--json": json_out})
    if a is None:
        from .io import bundled_deepscaler

        base, rl = bundled_deepscaler()
        a, b = Path(base), Path(rl)
        con.print("[bold]DeepScaleR (bundled):[/] A = DeepSeek-R1-Distill-Qwen-1.5B, B = DeepScaleR-1.5B-Preview (RL)")
    assert b is not None
    cols = _column_options(id_col, reward_col, c_col, n_col, None, None)
    tables = []
    from .io import MixedGroupError  # (compare reads files anyway: polars is loaded either way)

    for f in (a, b):
        try:
            data = _read([f], threshold=threshold, **cols)
        except MixedGroupError as exc:  # read()'s advice is --by, which compare does not take
            _fail(f"{exc.located}; compare takes one group per file: give one file per {exc.column!r} value, "
                  f"or compare them with 'passlens report {f} --by {exc.column}'")
        if len(data.groups) != 1:
            _fail(f"{f}: holds {len(data.groups)} groups ({', '.join(data.groups)}); compare takes one model per file")
        t = next(iter(data.groups.values()))
        if t.c is None:
            _fail_not_binary(f"{f}: ", t, data.notes, "--threshold T to binarize")
        tables.append(t)
    ta, tb = tables
    n_min = int(min(ta.n.min(), tb.n.min()))
    ks = parse_ks(k, n_min, n_min)
    if int(ks[-1]) > n_min:
        _fail(f"--k: k={int(ks[-1])} exceeds the smallest n={n_min}; no unbiased estimate exists for k > n")
    grid = set(ks.tolist())
    if show_list is not None:
        absent = [kk for kk in show_list if kk not in grid]
        if absent:
            _fail(f"--show: k={describe_ks(absent)} not among the compared budgets (--k: {describe_ks(grid)})")
    res = compare(ta, tb, ks, alpha=alpha, n_boot=n_boot, seed=seed)
    if show == "all":
        shown = set(res.k.tolist())
    elif show == "pow2":  # powers of 2, both ends of the grid, and the budgets where the verdict changes
        shown = set(parse_ks("pow2", n_min, n_min).tolist()) | {int(res.k[0]), int(res.k[-1])}
        verdict = (res.lo > 0).astype(int) - (res.hi < 0).astype(int)
        change = np.flatnonzero(np.diff(verdict) != 0)
        shown |= set(res.k[change].tolist()) | set(res.k[change + 1].tolist())
    else:
        shown = set(show_list or [])
    band = f"{int(round((1 - alpha) * 100))}% simultaneous band"
    tab = Table(title=f"pass@k, B − A over {res.problems} paired problems", title_justify="left")
    for col in ("k", "A", "B", "B − A", band, "verdict"):
        tab.add_column(col, justify="right")
    for i, kk in enumerate(res.k.tolist()):
        if kk not in shown:
            continue
        verdict = "[green]B better[/]" if res.lo[i] > 0 else "[red]B worse[/]" if res.hi[i] < 0 else "inconclusive"
        band_cell = "n/a" if _missing(res.lo[i]) or _missing(res.hi[i]) else escape(
            f"[{_fmt_signed(res.lo[i])}, {_fmt_signed(res.hi[i])}]"
        )
        tab.add_row(str(kk), _fmt(res.a[i]), _fmt(res.b[i]), _fmt_signed(res.diff[i]), band_cell, verdict)
    con.print(tab)
    for line in describe_comparison(res):
        con.print(f"  {escape(line)}")
    if res.crossover is not None:
        con.print(f"  mean curves cross at k = {res.crossover} (point estimate)")
    con.print(
        f"  sup-t critical value {res.critical:.3f} ({res.n_boot} multiplier draws, seed {res.seed});"
        " inconclusive is not evidence of equality"
    )
    if json_out:
        payload = res.to_dict() | {"files": {"a": str(a), "b": str(b)}}
        _write_machine("--json", json_out, "json", [], payload)


def _version_callback(value: bool) -> None:
    if value:
        _out.print(f"passlens {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True, help="Show the version."),
) -> None:
    """Exact pass@k-family estimators, uncertainty and exploration diagnostics for RLVR."""


def _mount_optional() -> None:
    """Subcommand groups that live in their own modules."""
    try:
        from .cli_theory import theory_app
    except ImportError:  # pragma: no cover - module not present
        pass
    else:
        app.add_typer(theory_app, name="theory")
    try:
        from .cli_report import report_cmd
    except ImportError:  # pragma: no cover - module not present
        pass
    else:
        app.command("report")(report_cmd)
    try:
        from .cli_train import train_cmd
    except ImportError:  # pragma: no cover - module not present
        pass
    else:
        app.command("train")(train_cmd)
    try:
        from .cli_lab import lab_app, reproduce_cmd
    except ImportError:  # pragma: no cover - module not present
        pass
    else:
        app.add_typer(lab_app, name="lab")
        app.command("reproduce")(reproduce_cmd)


_mount_optional()


def _click_exceptions() -> Any:
    """The click exceptions module typer uses (its vendored copy in new typer, click itself in old)."""
    return sys.modules[typer.BadParameter.__module__]


def _one_line(text: str) -> str:
    """A message as one line (a multi-line message from a library is joined, not cut)."""
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


def _param_name(param: Any) -> str:
    """How the user wrote a parameter: its long option ('--n-boot') or, for an argument, its name ('FILES')."""
    opts = [o for o in (getattr(param, "opts", None) or []) if isinstance(o, str)]
    if getattr(param, "param_type_name", None) == "option" and opts:
        longs = [o for o in opts if o.startswith("--")]
        return (longs or opts)[0]
    return str(getattr(param, "metavar", None) or getattr(param, "name", None) or "argument").upper()


def _bad_value(exc: Any) -> str:
    """What is wrong with a value the option's type could not convert, e.g. "expected an integer, got '1.5'"."""
    cause = exc.__cause__
    errors = getattr(cause, "errors", None)
    if callable(errors):  # typer ≥ 0.2x converts with pydantic: take the first error
        try:
            first = errors()[0]
        except Exception:  # noqa: BLE001 - fall back to the exception's own message
            first = None
        if isinstance(first, dict):
            expected = {
                "int_parsing": "expected an integer",
                "int_from_float": "expected an integer",
                "float_parsing": "expected a number",
                "bool_parsing": "expected a boolean",
            }.get(str(first.get("type")))
            text = expected or str(first.get("msg", exc.message)).rstrip(".")
            if "input" in first:
                return f"{text[:1].lower()}{text[1:]}, got {first['input']!r}"
            return f"{text[:1].lower()}{text[1:]}"
    message = str(exc.message).rstrip(".")
    plain = _CLICK_NOT_VALID.fullmatch(message)  # click's own types (typer without pydantic conversion)
    if plain:
        return f"expected {_CLICK_KINDS[plain['kind']]}, got {plain['value']}"
    return message


# click's "'abc' is not a valid float." and the like, as older typer versions report a conversion.
_CLICK_NOT_VALID = re.compile(r"(?P<value>.+) is not a valid (?P<kind>float|integer|int|boolean|bool)(?: value)?")
_CLICK_KINDS = {"float": "a number", "integer": "an integer", "int": "an integer", "boolean": "a boolean", "bool": "a boolean"}


def _usage_message(exc: Any) -> str:
    """One line '<option>: <problem>' for a click usage error (bad or missing value, unknown option, …)."""
    mod = _click_exceptions()
    name = type(exc).__name__
    param = getattr(exc, "param", None)
    label: str | None
    if name == "MissingParameter":
        what = getattr(exc, "param_type", None) or getattr(param, "param_type_name", None) or "parameter"
        label = _param_name(param) if param is not None else _one_line(exc.format_message())
        msg = f"{label}: missing {what}"
    elif isinstance(exc, mod.BadParameter):
        label = _param_name(param) if param is not None else None
        if label is None and exc.param_hint:
            hint = exc.param_hint
            label = hint if isinstance(hint, str) else " / ".join(hint)
        msg = f"{label}: {_bad_value(exc)}" if label else _bad_value(exc)
    elif isinstance(exc, mod.NoSuchOption):
        msg = f"{exc.option_name}: no such option"
        if exc.possibilities:
            msg += f" (did you mean {' or '.join(sorted(exc.possibilities))}?)"
    elif isinstance(exc, mod.BadOptionUsage):
        text = str(exc.message).rstrip(".")
        prefix = f"Option '{exc.option_name}' "
        msg = f"{exc.option_name}: {text[len(prefix):] if text.startswith(prefix) else text}"
    else:
        text = str(exc.format_message()).rstrip(".")
        msg = f"{text[:1].lower()}{text[1:]}"
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, mod.UsageError) and ctx is not None:
        msg += f" (see '{ctx.command_path} --help')"
    return _one_line(msg)


def main(argv: Optional[List[str]] = None) -> None:
    """Entry point. Every user error — a bad file, a bad option value, an unknown option, k > n —
    prints one line ``passlens: error: …`` on stderr and exits 2, without a traceback;
    --help and --version exit 0; no arguments prints the help and exits 2 (click's convention).
    """
    mod = _click_exceptions()
    no_args_help = getattr(mod, "NoArgsIsHelpError", ())
    try:
        # standalone_mode=False: click raises its usage errors here instead of printing a usage box.
        rv = app(args=argv, standalone_mode=False)
    except no_args_help:  # the help is already printed
        sys.exit(2)
    except mod.ClickException as exc:
        _err.print(f"passlens: error: {_usage_message(exc)}", markup=False)
        sys.exit(exc.exit_code)
    except typer.Abort:  # end of input at a prompt
        _err.print("passlens: aborted", markup=False)
        sys.exit(1)
    except (UserError, ValueError) as exc:  # ValueError includes passlens.io.InputError
        _err.print(f"passlens: error: {_one_line(str(exc))}", markup=False)
        sys.exit(2)
    except Interrupted as exc:
        _err.print(f"passlens: {_one_line(str(exc))}", markup=False)
        sys.exit(130)
    # typer.Exit(code) raised inside a command comes back as the return value in this mode
    if isinstance(rv, int) and not isinstance(rv, bool) and rv != 0:
        if rv == 130:  # typer's answer to Ctrl-C (KeyboardInterrupt → Exit(130)); no command exits 130 itself
            _err.print("passlens: interrupted", markup=False)
        sys.exit(rv)
