"""What every ``passlens`` command shares: consoles, limits, one-line user errors, option checks,
budget parsing, reading the inputs and writing machine output.

The bottom of :mod:`passlens.cli`: it imports the library, never a command module nor the
package itself. A problem with the user's input raises :class:`UserError` (a ``ValueError``);
the entry point prints it as one line and exits 2.
"""

from __future__ import annotations

import csv
import io as _stdio
import json
import math
import re
import sys
from pathlib import Path
from typing import Any, List, NoReturn, Optional

import numpy as np
from rich.console import Console

from .._output import OutputError, resolve_target, write_file
from .._validate import pow2_grid

__all__ = [
    "K_MAX",
    "MAX_BUDGETS",
    "N_BOOT_MAX",
    "SEED_MAX",
    "UserError",
    "Interrupted",
    "console",
    "wide_console",
    "stderr_console",
    "error_console",
    "fail",
    "fail_not_binary",
    "comma_items",
    "parse_k_list",
    "parse_ks",
    "check_seed",
    "check_n_boot",
    "check_threshold",
    "check_shared_options",
    "read",
    "column_options",
    "write_machine",
    "human_console",
    "ENGINE_HELP",
    "check_engine",
]

# emoji=False: ':thumbs_up:' in an id or a file name stays as written. Every user string that goes
# into rich markup (titles, cells, notes) is escaped; errors are printed with markup=False.
#: Tables and notes.
console = Console(emoji=False)
#: The lab's tables: wide tables stay readable in logs and pipes.
wide_console = console if console.is_terminal else Console(width=160, emoji=False)
#: Tables and notes when --json/--csv write to stdout.
stderr_console = Console(stderr=True, emoji=False)
#: One-line errors (no markup, no highlighting).
error_console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)

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


def fail(message: str) -> NoReturn:
    raise UserError(message)


def fail_not_binary(where: str, table: Any, notes: list[str], alternatives: str) -> NoReturn:
    """pass@k needs 0/1 rewards: say where the first other value is, how to go on, and which other
    reward-like columns the input has (the note that would otherwise print only after a success)."""
    other = next((note for note in notes if "also reward-like" in note), None)
    fail(f"{where}rewards are not all 0/1 (first at {table.nonbinary_at}); use {alternatives}"
         + (f"; {other}" if other else ""))


def comma_items(text: str, option: str, what: str, example: str) -> list[str]:
    """The stripped items of a comma list; ValueError naming ``option`` for an empty list or a blank item."""
    parts = [p.strip() for p in text.split(",")]
    if not any(parts):
        raise ValueError(f"{option}: empty list of {what}s {text!r}; give e.g. {option} {example}")
    blank = [i for i, p in enumerate(parts, 1) if not p]
    if blank:
        raise ValueError(f"{option}: blank {what} at position {blank[0]} of {text!r}; "
                         f"separate {what}s by single commas, e.g. {example}")
    return parts


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
                fail(f"{option}: reversed range {part!r}{where} (write {last}-{first})")
        elif _INT_RE.fullmatch(part):
            first = last = int(part)
        else:
            fail(f"{option}: cannot parse {part!r}{where} ({hint})")
        for v in (first, last):
            if v < 1:
                fail(f"{option}: budgets must be ≥ 1, got {v} in {part!r}")
            if v > K_MAX:
                fail(f"{option}: budget {v} is too large (at most 2^53 − 1 = {K_MAX})")
        count += last - first + 1
        if count > MAX_BUDGETS:  # checked before expanding: '1-9999999999' must not allocate
            fail(f"{option}: {part!r} makes more than {MAX_BUDGETS:,} budgets; give fewer (e.g. 'pow2' or a list)")
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
        return pow2_grid(n_min)
    if word == "all":
        if n_min > MAX_BUDGETS:
            fail(f"{option} all: 1..{n_min} is more than {MAX_BUDGETS:,} budgets; give 'pow2' or a list")
        return np.arange(1, n_min + 1, dtype=np.int64)
    return np.array(parse_k_list(word, option), dtype=np.int64)


def check_seed(seed: int, option: str = "--seed") -> None:
    if not 0 <= seed <= SEED_MAX:
        fail(f"{option}: must be an integer in [0, {SEED_MAX}], got {seed}")


def check_n_boot(n_boot: int, option: str = "--n-boot") -> None:
    if not 2 <= n_boot <= N_BOOT_MAX:
        fail(f"{option}: must be between 2 and {N_BOOT_MAX:,}, got {n_boot}")


def check_threshold(threshold: Optional[float]) -> None:
    if threshold is not None and not math.isfinite(threshold):
        fail(f"--threshold: must be a finite number, got {threshold}")


def check_shared_options(n_boot: int, seed: int, threshold: Optional[float], k: Optional[str]) -> None:
    """The options eval and compare share, checked before any file is read (a bad --k fails fast)."""
    check_n_boot(n_boot)
    check_seed(seed)
    check_threshold(threshold)
    if k is not None and k.strip() not in ("all", "pow2"):
        parse_k_list(k.strip())


def read(files: List[Any], **options: Any) -> Any:
    """:func:`passlens.io.read` of the paths (polars is imported here, when a command reads)."""
    import passlens.io as pio

    return pio.read([str(f) for f in files], **options)


def column_options(
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


def write_machine(option: str, out: str, fmt: str, records: list[dict[str, Any]], as_json: Any) -> None:
    """Write ``records`` as CSV (fmt 'csv') or ``as_json`` as JSON (fmt 'json') to a path, or stdout for '-'.

    NaN is written as JSON null and as an empty CSV cell.
    """
    from .._json import json_ready

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
        return
    try:
        write_file(out, text, label=f"{option} {out}")
    except OutputError as exc:
        fail(str(exc))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:  # either does not exist (yet): not the same file
        return False


def human_console(inputs: List[Optional[Path]], **machine: Optional[str]) -> Console:
    """Where tables and notes go: stderr when a machine output (option → value) writes to stdout ('-').

    Also refuses an empty output path and one that names an input file (it would be replaced).
    """
    for opt, value in machine.items():
        if value is None:
            continue
        if not value.strip():
            fail(f"{opt}: empty path; give a file path, or '-' for stdout")
        if value != "-" and any(f is not None and _same_file(Path(value), f) for f in inputs):
            fail(f"{opt} {value}: is one of the input files and would be overwritten; write elsewhere")
    paths = [(opt, value) for opt, value in machine.items() if value and value.strip() and value != "-"]
    for i, (opt, value) in enumerate(paths):
        for other, other_value in paths[:i]:
            if resolve_target(value).absolute() == resolve_target(other_value).absolute() or _same_file(
                    Path(value), Path(other_value)):
                fail(f"{other} and {opt} both write {value}: the second would replace the first; give two paths")
    to_stdout = [opt for opt, value in machine.items() if value == "-"]
    if len(to_stdout) > 1:
        fail(f"{' and '.join(o + ' -' for o in to_stdout)}: only one output can go to stdout; give the other a path")
    return stderr_console if to_stdout else console


#: The --engine option of the commands that read rows (eval, report).
ENGINE_HELP = (
    "Aggregate where the data is, with polars, duckdb, spark or ray (only per-problem counts come back): FILES "
    "are then Parquet/CSV/JSONL paths, globs ('logs/*.parquet') or the engine's URLs ('s3://bucket/logs/*.parquet')."
)


def check_engine(engine: Optional[str]) -> None:
    """--engine names a known engine (checked before anything is read)."""
    from ..io.engines import ENGINES  # (imports polars: only when a command reads)

    if engine is not None and engine not in ENGINES:
        fail(f"--engine: must be one of {', '.join(ENGINES)}, got {engine!r}")
